//! `Microsoft.Resources`: subscriptions and resource groups (api-versions the SDKs send).

use super::errors::ArmError;
use super::{json, Ctx};
use crate::scenario::Subscription;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json as j, Value};

pub const SUBSCRIPTION_VERSIONS: &[&str] = crate::api_versions::ARM_SUBSCRIPTIONS;
const RESOURCE_GROUP_VERSIONS: &[&str] = crate::api_versions::ARM_RESOURCE_GROUPS;

pub fn check_version(version: Option<&str>, resource_type: &str, supported: &[&str]) -> Result<(), ArmError> {
    match version {
        None | Some("") => Err(ArmError::missing_api_version()),
        Some(v) if supported.contains(&v) => Ok(()),
        Some(v) => Err(ArmError::unsupported_api_version(v, resource_type, supported)),
    }
}

fn subscription_json(s: &Subscription) -> Value {
    j!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

/// The subscription, if the caller may perform `action` in it: 404 when it does not exist, 403
/// (ARM's AuthorizationFailed naming the action and scope) when the caller has no role there, or
/// only the read-only one and the action writes.
pub fn readable<'a>(ctx: &Ctx, subscriptions: &'a [Subscription], id: &str, action: &str, scope: &str) -> Result<&'a Subscription, ArmError> {
    let sub = subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "SubscriptionNotFound", format!("The subscription '{id}' could not be found.")))?;
    let full = sub.access.iter().any(|o| o == &ctx.caller.oid);
    // A reader may read and list keys (`…/read`, `…/listkeys/Action`); writes are refused.
    let lower = action.to_ascii_lowercase();
    let read_only = lower.ends_with("/read") || lower.ends_with("/listkeys/action");
    let reader = sub.readers.iter().any(|o| o == &ctx.caller.oid) && read_only;
    if !full && !reader {
        return Err(ArmError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!("The client '{oid}' with object id '{oid}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.", oid = ctx.caller.oid),
        ));
    }
    Ok(sub)
}

pub fn list(ctx: &Ctx, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, "subscriptions", SUBSCRIPTION_VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let items: Vec<Value> =
        scenario.subscriptions.iter().filter(|s| s.access.contains(&ctx.caller.oid) || s.readers.contains(&ctx.caller.oid)).map(subscription_json).collect();
    let count = items.len();
    let mut body = ctx.paged(items);
    body["count"] = j!({"type": "Total", "value": count});
    Ok(json(ctx.cloud, body))
}

pub fn get(ctx: &Ctx, id: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, "subscriptions", SUBSCRIPTION_VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let sub = readable(ctx, &scenario.subscriptions, id, "Microsoft.Resources/subscriptions/read", &format!("/subscriptions/{id}"))?;
    Ok(json(ctx.cloud, subscription_json(sub)))
}

fn group_json(sub: &Subscription, name: &str, location: &str) -> Value {
    j!({
        "id": format!("/subscriptions/{}/resourceGroups/{name}", sub.id),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    })
}

pub fn list_groups(ctx: &Ctx, id: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, "resourceGroups", RESOURCE_GROUP_VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let sub = readable(ctx, &scenario.subscriptions, id, "Microsoft.Resources/subscriptions/resourcegroups/read", &format!("/subscriptions/{id}"))?;
    let items = sub.resource_groups.iter().map(|g| group_json(sub, &g.name, &g.location)).collect();
    Ok(json(ctx.cloud, ctx.paged(items)))
}

pub fn get_group(ctx: &Ctx, id: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, "resourceGroups", RESOURCE_GROUP_VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let scope = format!("/subscriptions/{id}/resourceGroups/{name}");
    let sub = readable(ctx, &scenario.subscriptions, id, "Microsoft.Resources/subscriptions/resourcegroups/read", &scope)?;
    let group = sub
        .resource_groups
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", format!("Resource group '{name}' could not be found.")))?;
    Ok(json(ctx.cloud, group_json(sub, &group.name, &group.location)))
}

/// `ResourceGroups_CheckExistence` (HEAD): 204 when the group is there, 404 when it is not, no body.
/// `az iot hub show -g <group>` and other az commands ask it before anything else.
pub fn group_exists(ctx: &Ctx, id: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    match get_group(ctx, id, name, version) {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(StatusCode::NOT_FOUND.into_response()),
        Err(e) => Err(e),
    }
}
