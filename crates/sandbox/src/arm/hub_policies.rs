//! What an IoT hub's ARM update may carry besides its scale: `properties.authorizationPolicies`
//! (the whole set of shared access policies, which is how Azure regenerates a key — `az iot hub
//! policy renew-key` reads the keys, puts a new one in the policy and PUTs the hub) and
//! `properties.disableLocalAuth`. Both are checked before anything changes.

use super::errors::ArmError;
use crate::live::AccessPolicy;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::Value;

fn bad(message: String) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, "InvalidAuthorizationPolicies", message)
}

/// The changes an update body asks for beyond the scale.
pub struct AccessChange {
    pub policies: Option<Vec<AccessPolicy>>,
    pub disable_local_auth: Option<bool>,
}

/// A key Azure accepts: base64 of 16 to 64 bytes. A policy sent without a key keeps the one the
/// hub has for it, or gets a new one when it is new, as the service does.
fn key(entry: &Value, field: &str, index: usize, current: Option<&str>) -> Result<String, ArmError> {
    match entry[field].as_str().filter(|k| !k.is_empty()) {
        None => Ok(current.map(str::to_string).unwrap_or_else(crate::live::new_key)),
        Some(k) => match base64::engine::general_purpose::STANDARD.decode(k) {
            Ok(bytes) if (16..=64).contains(&bytes.len()) => Ok(k.to_string()),
            _ => Err(bad(format!("properties.authorizationPolicies[{index}].{field} is not a base64 key of 16 to 64 bytes."))),
        },
    }
}

/// Reads the body's access changes against the hub's current policies.
pub fn requested(body: &Value, current: &[AccessPolicy]) -> Result<AccessChange, ArmError> {
    let disable_local_auth = match &body["properties"]["disableLocalAuth"] {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        other => {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                format!("properties.disableLocalAuth must be true or false, not {other}."),
            ))
        }
    };
    let policies = match &body["properties"]["authorizationPolicies"] {
        Value::Null => None,
        Value::Array(entries) => {
            let mut policies: Vec<AccessPolicy> = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                let name = entry["keyName"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| bad(format!("properties.authorizationPolicies[{i}].keyName is required.")))?;
                if policies.iter().any(|p| p.key_name.eq_ignore_ascii_case(name)) {
                    return Err(bad(format!("The shared access policy '{name}' is listed twice.")));
                }
                let asked = entry["rights"].as_str().unwrap_or_default();
                let rights = crate::hub::access_rights(asked)
                    .ok_or_else(|| bad(format!("properties.authorizationPolicies[{i}].rights '{asked}' is not a combination of RegistryRead, RegistryWrite, ServiceConnect and DeviceConnect.")))?;
                let old = current.iter().find(|p| p.key_name == name);
                policies.push(AccessPolicy {
                    key_name: name.to_string(),
                    primary_key: key(entry, "primaryKey", i, old.map(|p| p.primary_key.as_str()))?,
                    secondary_key: key(entry, "secondaryKey", i, old.map(|p| p.secondary_key.as_str()))?,
                    rights,
                });
            }
            if policies.is_empty() {
                return Err(bad("properties.authorizationPolicies must keep at least one shared access policy.".into()));
            }
            Some(policies)
        }
        _ => return Err(bad("properties.authorizationPolicies must be an array.".into())),
    };
    Ok(AccessChange { policies, disable_local_auth })
}

impl AccessChange {
    pub fn apply(self, hub: &crate::hub::state::Hub) {
        if let Some(policies) = self.policies {
            hub.replace_policies(policies);
        }
        if let Some(disabled) = self.disable_local_auth {
            hub.set_local_auth_disabled(disabled);
        }
    }
}
