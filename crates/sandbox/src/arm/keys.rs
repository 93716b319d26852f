//! Shared access policy keys as ARM returns them, for every resource type that has them (IoT hubs,
//! DPS): the whole list (`listkeys`) or one policy by name.

use super::errors::ArmError;
use crate::live::AccessPolicy;
use axum::http::StatusCode;
use serde_json::{json, Value};

fn policy_json(p: &AccessPolicy) -> Value {
    json!({"keyName": p.key_name, "primaryKey": p.primary_key, "secondaryKey": p.secondary_key, "rights": p.rights})
}

pub fn all(policies: &[AccessPolicy]) -> Value {
    json!({"value": policies.iter().map(policy_json).collect::<Vec<_>>()})
}

/// `owner` names the resource in the error, e.g. "IoT hub 'contoso-hub'".
pub fn by_name(policies: &[AccessPolicy], key_name: &str, owner: &str) -> Result<Value, ArmError> {
    policies
        .iter()
        .find(|p| p.key_name.eq_ignore_ascii_case(key_name))
        .map(policy_json)
        .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "KeyNameNotFound", format!("The key name '{key_name}' was not found on {owner}.")))
}
