//! Device identities and twins.

use super::{HubCtx, HubError};
use crate::live::{new_etag, new_key, now_iso, NEVER};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;


type Q = Query<HashMap<String, String>>;

pub async fn get(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    ctx.hub.devices.lock().unwrap().get(&id).cloned().map(Json).ok_or_else(|| HubError::device_not_found(&id))
}

pub async fn list(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let top = q.get("top").and_then(|t| t.parse().ok()).unwrap_or(1000usize);
    Ok(Json(Value::Array(ctx.hub.devices.lock().unwrap().values().take(top).cloned().collect())))
}

/// Create (no If-Match, device absent) or replace (If-Match `*` or the current ETag).
pub async fn put(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let mut device: Value = serde_json::from_str(&body)
        .map_err(|e| HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The request body is not valid JSON: {e}")))?;
    if device.get("deviceId").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", format!("The deviceId in the body must be '{id}'.")));
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
    let mut devices = ctx.hub.devices.lock().unwrap();
    let existing = devices.get(&id).cloned();
    let status = match (&existing, if_match.as_deref()) {
        (None, Some(etag)) if etag != "*" => return Err(HubError::device_not_found(&id)),
        (None, _) => StatusCode::OK,
        (Some(_), None) => return Err(HubError::new(StatusCode::CONFLICT, "DeviceAlreadyExists", format!("A device with ID '{id}' is already registered."))),
        (Some(old), Some(etag)) if etag != "*" && old["etag"].as_str().map(|e| e.trim_matches('"')) != Some(etag) => {
            return Err(HubError::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "Precondition failed: Device version did not match, ETag value mismatch."))
        }
        (Some(_), Some(_)) => StatusCode::OK,
    };
    let auth = device.get("authentication").cloned().unwrap_or(json!({"type": "sas"}));
    let auth = match auth["type"].as_str().unwrap_or("sas") {
        "sas" => {
            let keys = &auth["symmetricKey"];
            let pick = |k: &str| keys[k].as_str().filter(|s| !s.is_empty()).map(str::to_string).unwrap_or_else(new_key);
            json!({"type": "sas", "symmetricKey": {"primaryKey": pick("primaryKey"), "secondaryKey": pick("secondaryKey")},
                   "x509Thumbprint": {"primaryThumbprint": null, "secondaryThumbprint": null}})
        }
        _ => auth,
    };
    let created = existing.as_ref().and_then(|d| d["generationId"].as_str().map(str::to_string)).unwrap_or_else(|| crate::tokens::random_token(12));
    let stamp = now_iso();
    device = json!({
        "deviceId": id,
        "generationId": created,
        "etag": new_etag(),
        "connectionState": existing.as_ref().map(|d| d["connectionState"].clone()).unwrap_or(json!("Disconnected")),
        "status": device.get("status").cloned().unwrap_or(json!("enabled")),
        "statusReason": device.get("statusReason").cloned().unwrap_or(Value::Null),
        "connectionStateUpdatedTime": existing.as_ref().map(|d| d["connectionStateUpdatedTime"].clone()).unwrap_or(json!(NEVER)),
        "statusUpdatedTime": NEVER,
        "lastActivityTime": existing.as_ref().map(|d| d["lastActivityTime"].clone()).unwrap_or(json!(NEVER)),
        "cloudToDeviceMessageCount": 0,
        "authentication": auth,
        "capabilities": device.get("capabilities").cloned().unwrap_or(json!({"iotEdge": false})),
        "deviceScope": device.get("deviceScope").cloned().unwrap_or(Value::Null),
        "parentScopes": device.get("parentScopes").cloned().unwrap_or(json!([])),
    });
    tracing::debug!(hub = %ctx.hub.name, device = %id, at = %stamp, "device written");
    devices.insert(id, device.clone());
    Ok((status, Json(device)).into_response())
}

pub async fn delete(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
    let mut devices = ctx.hub.devices.lock().unwrap();
    let existing = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    match if_match.as_deref() {
        None | Some("*") => {}
        Some(etag) if existing["etag"].as_str().map(|e| e.trim_matches('"')) == Some(etag) => {}
        Some(_) => return Err(HubError::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "Precondition failed: Device version did not match, ETag value mismatch.")),
    }
    devices.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_twin(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let devices = ctx.hub.devices.lock().unwrap();
    let d = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    Ok(Json(json!({
        "deviceId": id, "etag": "AAAAAAAAAAE=", "deviceEtag": d["etag"], "status": d["status"],
        "statusUpdateTime": NEVER, "connectionState": d["connectionState"], "lastActivityTime": d["lastActivityTime"],
        "cloudToDeviceMessageCount": 0, "authenticationType": "sas", "x509Thumbprint": {"primaryThumbprint": null, "secondaryThumbprint": null},
        "version": 1, "tags": {}, "capabilities": d["capabilities"],
        "properties": {"desired": {"$metadata": {"$lastUpdated": NEVER}, "$version": 1}, "reported": {"$metadata": {"$lastUpdated": NEVER}, "$version": 1}},
    })))
}
