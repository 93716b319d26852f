//! Device identities and twins.

use super::identity::{check_scope, valid_id, DeviceIdentity, InvalidField};
use super::{HubCtx, HubError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;

pub async fn get(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    ctx.hub.devices.lock().unwrap().get(&id).map(|d| Json(d.to_json())).ok_or_else(|| HubError::device_not_found(&id))
}

pub async fn list(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let top = q.get("top").and_then(|t| t.parse().ok()).unwrap_or(1000usize);
    Ok(Json(Value::Array(ctx.hub.devices.lock().unwrap().values().take(top).map(DeviceIdentity::to_json).collect())))
}

/// The If-Match header without its quotes (the SDKs quote ETags, the hub's own are bare).
pub fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim().trim_matches('"').to_string())
}

pub fn invalid(e: InvalidField) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("{}: {}", e.field, e.problem))
}

pub fn bad_json(e: serde_json::Error) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The request body is not valid JSON: {e}"))
}

pub fn bad_id(what: &str, id: &str) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The {what} '{id}' is not valid: 1 to 128 ASCII letters, digits and -.%_*?!(),:=@$'+#"))
}

pub fn etag_matches(device: &DeviceIdentity, etag: &str) -> bool {
    etag == "*" || device.etag.trim_matches('"') == etag
}

/// Create (no If-Match, device absent) or replace (If-Match `*` or the current ETag).
pub async fn put(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    if !valid_id(&id) {
        return Err(bad_id("device ID", &id));
    }
    if body.get("deviceId").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The deviceId in the body must be '{id}'.")));
    }
    let if_match = if_match(&headers);
    let mut devices = ctx.hub.devices.lock().unwrap();
    let existing = devices.get(&id);
    match (existing, if_match.as_deref()) {
        (None, Some(etag)) if etag != "*" => return Err(HubError::device_not_found(&id)),
        (Some(_), None) => return Err(HubError::new(StatusCode::CONFLICT, "DeviceAlreadyExists", format!("A device with ID '{id}' is already registered."))),
        (Some(old), Some(etag)) if !etag_matches(old, etag) => return Err(precondition_failed()),
        _ => {}
    }
    let device = DeviceIdentity::from_request(&id, &body, existing).map_err(invalid)?;
    check_scope(&devices, &device).map_err(invalid)?;
    let answer = device.to_json();
    devices.insert(id, device);
    Ok((StatusCode::OK, Json(answer)).into_response())
}

pub fn precondition_failed() -> HubError {
    HubError::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "Precondition failed: Device version did not match, ETag value mismatch.")
}

pub async fn delete(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let if_match = if_match(&headers);
    let mut devices = ctx.hub.devices.lock().unwrap();
    let existing = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    if if_match.as_deref().is_some_and(|etag| !etag_matches(existing, etag)) {
        return Err(precondition_failed());
    }
    devices.remove(&id);
    // A deleted device's connection is no longer the hub's to reach.
    ctx.hub.live_devices().forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `Statistics_GetDeviceStatistics`: the registry's device counts.
pub async fn statistics(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let devices = ctx.hub.devices.lock().unwrap();
    let enabled = devices.values().filter(|d| d.enabled).count();
    Ok(Json(serde_json::json!({"totalDeviceCount": devices.len(), "enabledDeviceCount": enabled, "disabledDeviceCount": devices.len() - enabled})))
}

/// `Statistics_GetServiceStatistics`: how many devices are connected now.
pub async fn service_statistics(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let connected = ctx.hub.devices.lock().unwrap().values().filter(|d| d.connected).count();
    Ok(Json(serde_json::json!({"connectedDeviceCount": connected})))
}
