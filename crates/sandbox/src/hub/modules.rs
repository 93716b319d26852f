//! Module identities: `PUT/GET/DELETE /devices/{id}/modules/{mid}` (create 201, replace 200 with
//! If-Match) and `GET /devices/{id}/modules`, under the device's registry rights.

use super::devices::{bad_id, bad_json, if_match, invalid};
use super::identity::valid_id;
use super::module_identity::{ModuleIdentity, MAX_MODULES_PER_DEVICE};
use super::twins::module_not_found;
use super::{HubCtx, HubError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;

fn precondition_failed() -> HubError {
    HubError::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "Precondition failed: Module version did not match, ETag value mismatch.")
}

fn etag_ok(module: &ModuleIdentity, etag: &str) -> bool {
    etag == "*" || module.etag.trim_matches('"') == etag
}

pub async fn list(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let devices = ctx.hub.devices.lock().unwrap();
    let device = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    Ok(Json(Value::Array(device.modules.iter().flat_map(|m| m.values()).map(ModuleIdentity::to_json).collect())))
}

pub async fn get(State(ctx): State<HubCtx>, Path((id, mid)): Path<(String, String)>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let devices = ctx.hub.devices.lock().unwrap();
    let device = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    device.modules.as_ref().and_then(|m| m.get(&mid)).map(|m| Json(m.to_json())).ok_or_else(|| module_not_found(&id, &mid))
}

pub async fn put(
    State(ctx): State<HubCtx>,
    Path((id, mid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    if !valid_id(&mid) {
        return Err(bad_id("module ID", &mid));
    }
    for (field, expected) in [("moduleId", &mid), ("deviceId", &id)] {
        if body.get(field).and_then(Value::as_str).is_some_and(|v| v != expected) {
            return Err(HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The {field} in the body must be '{expected}'.")));
        }
    }
    let if_match = if_match(&headers);
    let mut devices = ctx.hub.devices.lock().unwrap();
    let device = devices.get_mut(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    let count = device.modules.as_ref().map_or(0, |m| m.len());
    let existing = device.modules.as_ref().and_then(|m| m.get(&mid));
    match (existing, if_match.as_deref()) {
        (None, Some(etag)) if etag != "*" => return Err(module_not_found(&id, &mid)),
        (Some(_), None) => {
            return Err(HubError::new(
                StatusCode::CONFLICT,
                "ModuleAlreadyExistsOnDevice",
                format!("A module with ID '{mid}' is already registered on device '{id}'."),
            ))
        }
        (Some(old), Some(etag)) if !etag_ok(old, etag) => return Err(precondition_failed()),
        (None, _) if count >= MAX_MODULES_PER_DEVICE => {
            return Err(HubError::new(
                StatusCode::BAD_REQUEST,
                "TooManyModulesOnDevice",
                format!("Device '{id}' already has the maximum of {MAX_MODULES_PER_DEVICE} modules."),
            ))
        }
        _ => {}
    }
    let created = existing.is_none();
    let module = ModuleIdentity::from_request(&id, &mid, &body, existing).map_err(invalid)?;
    let answer = module.to_json();
    device.modules.get_or_insert_with(Box::default).insert(mid, module);
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(answer)).into_response())
}

pub async fn delete(State(ctx): State<HubCtx>, Path((id, mid)): Path<(String, String)>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let if_match = if_match(&headers);
    let mut devices = ctx.hub.devices.lock().unwrap();
    let device = devices.get_mut(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    let module = device.modules.as_ref().and_then(|m| m.get(&mid)).ok_or_else(|| module_not_found(&id, &mid))?;
    if if_match.as_deref().is_some_and(|etag| !etag_ok(module, etag)) {
        return Err(precondition_failed());
    }
    if let Some(modules) = device.modules.as_mut() {
        modules.remove(&mid);
        // A device without modules goes back to holding nothing for them.
        if modules.is_empty() {
            device.modules = None;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
