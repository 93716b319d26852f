//! Resources of the types the sandbox has no service for yet (`Microsoft.IoTOperations/instances`
//! and their children, `Microsoft.DeviceRegistry/assets`, `Microsoft.ExtendedLocation/customLocations`,
//! …): stored as written by a PUT or a deployment and served at their resource IDs — GET, PUT,
//! DELETE and list — in ARM's envelope (`id`, `name`, `type`, `properties.provisioningState`).
//! Namespaces the sandbox serves itself are never stored here, so a type it does not serve there
//! stays a clear 404 instead of a silent success.

use super::errors::{with_ids, ArmError};
use super::subscriptions::readable;
use super::Ctx;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Namespaces with services of their own (arm/*.rs): never stored generically.
const SERVED: &[&str] = &["microsoft.devices", "microsoft.storage", "microsoft.iotcentral", "microsoft.resources", "microsoft.authorization"];

/// Whether a path `…/providers/{ns}/…` is this store's.
pub fn claims(segments: &[&str]) -> bool {
    matches!(segments, ["subscriptions", _, "resourcegroups", _, "providers", ns, _, ..] if !SERVED.contains(ns))
}

/// The resource group, after ARM's RBAC check for `action`; 404 when it does not exist.
pub fn group_location(ctx: &Ctx, sub: &str, group: &str, action: &str) -> Result<String, ArmError> {
    let scenario = ctx.cloud.scenario();
    let scope = format!("/subscriptions/{sub}/resourceGroups/{group}");
    let s = readable(ctx, &scenario.subscriptions, sub, action, &scope)?;
    s.resource_groups
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(group))
        .map(|g| g.location.clone())
        .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", format!("Resource group '{group}' could not be found.")))
}

/// `Namespace/t1/t2` and the names, from the raw segments after `providers`.
fn type_and_name(after: &[&str]) -> (String, String) {
    let mut types = vec![after[0].to_string()];
    let mut names = Vec::new();
    for pair in after[1..].chunks(2) {
        types.push(pair[0].to_string());
        if let Some(n) = pair.get(1) {
            names.push(n.to_string());
        }
    }
    (types.join("/"), names.last().cloned().unwrap_or_default())
}

pub fn serve(ctx: &Ctx, method: &Method, raw: &[&str], version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    let (sub, group) = (raw[1], raw[3]);
    let after = &raw[5..];
    let (resource_type, name) = type_and_name(after);
    let is_collection = after.len().is_multiple_of(2);
    // Any version is taken (the sandbox keeps what was written); none at all is refused, as ARM does.
    if version.unwrap_or_default().is_empty() {
        return Err(ArmError::missing_api_version());
    }
    let path = format!("/{}", raw.join("/"));
    let not_found = || {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource '{resource_type}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        )
    };
    if is_collection {
        if *method != Method::GET {
            return Err(ArmError::not_found_path(method.as_str(), &path));
        }
        group_location(ctx, sub, group, &format!("{resource_type}/read"))?;
        let prefix = format!("{path}/");
        let depth = path.matches('/').count() + 1;
        let items: Vec<Value> = ctx
            .cloud
            .arm_store()
            .resources_under(&prefix)
            .into_iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.matches('/').count() == depth))
            .collect();
        return Ok(super::json(ctx.cloud, ctx.paged(items)));
    }
    match *method {
        Method::GET => {
            group_location(ctx, sub, group, &format!("{resource_type}/read"))?;
            ctx.cloud.arm_store().resource(&path).map(|r| super::json(ctx.cloud, r)).ok_or_else(not_found)
        }
        Method::DELETE => {
            group_location(ctx, sub, group, &format!("{resource_type}/delete"))?;
            let existed = ctx.cloud.arm_store().remove_resource(&path);
            Ok(if existed { with_ids(ctx.cloud, StatusCode::OK, Value::Null) } else { StatusCode::NO_CONTENT.into_response() })
        }
        Method::PUT => {
            let location = group_location(ctx, sub, group, &format!("{resource_type}/write"))?;
            let body: Value = serde_json::from_slice(body).map_err(|e| {
                ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    format!("The request content was invalid and could not be deserialized: '{e}'."),
                )
            })?;
            let Value::Object(request) = body else {
                return Err(ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", "The request content must be a JSON object."));
            };
            // ARM's envelope is checked even where the provider's schema is not known.
            for (field, ok) in [("properties", Value::is_object as fn(&Value) -> bool), ("tags", Value::is_object), ("location", Value::is_string)] {
                if request.get(field).is_some_and(|v| !v.is_null() && !ok(v)) {
                    return Err(ArmError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequestContent",
                        format!("The request content was invalid: '{field}' must be {}.", if field == "location" { "a string" } else { "an object" }),
                    ));
                }
            }
            // A child needs its parent, as on Azure.
            if after.len() > 3 {
                let parent = format!("/{}", raw[..raw.len() - 2].join("/"));
                if ctx.cloud.arm_store().resource(&parent).is_none() {
                    let parent_name = raw[raw.len() - 3];
                    return Err(ArmError::new(
                        StatusCode::NOT_FOUND,
                        "ParentResourceNotFound",
                        format!("Can not perform requested operation on nested resource. Parent resource '{parent_name}' not found."),
                    ));
                }
            }
            let existed = ctx.cloud.arm_store().resource(&path).is_some();
            let stored = envelope(&path, &resource_type, &name, &location, request);
            ctx.cloud.arm_store().put_resource(&path, stored.clone());
            Ok(with_ids(ctx.cloud, if existed { StatusCode::OK } else { StatusCode::CREATED }, stored))
        }
        _ => Err(ArmError::not_found_path(method.as_str(), &path)),
    }
}

/// The resource as GET returns it: what was PUT, in ARM's envelope.
fn envelope(id: &str, resource_type: &str, name: &str, group_location: &str, mut request: Map<String, Value>) -> Value {
    for k in ["id", "name", "type"] {
        request.remove(k);
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!(resource_type));
    // Child resources have no location of their own unless given one.
    if request.get("location").is_none() && resource_type.matches('/').count() == 1 {
        out.insert("location".into(), json!(group_location));
    }
    let mut properties = request.remove("properties").filter(Value::is_object).unwrap_or_else(|| json!({}));
    properties["provisioningState"] = json!("Succeeded");
    out.extend(request);
    out.insert("properties".into(), properties);
    let now = crate::timestamps::now_rfc3339();
    out.insert("systemData".into(), json!({"createdAt": now, "lastModifiedAt": now, "createdByType": "User", "lastModifiedByType": "User"}));
    Value::Object(out)
}
