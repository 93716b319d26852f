//! The device runtime API: a device registers with its derived key, DPS picks a linked hub by the
//! allocation policy (hashed by weight), creates the device there and reports the assignment.

use super::{check_version, DpsCtx, DpsError, RUNTIME_VERSIONS};
use crate::live::{new_etag, LinkedHub};
use crate::sas::{self, derive_device_key};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;

fn now_iso() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The enrollment group whose derived key signed this device's token.
fn authenticate(ctx: &DpsCtx, headers: &HeaderMap, scope: &str, registration_id: &str) -> Result<Value, DpsError> {
    let unauthorized = |why: &str| DpsError::new(StatusCode::UNAUTHORIZED, 401002, format!("Unauthorized: {why}"));
    if !scope.eq_ignore_ascii_case(&ctx.dps.id_scope) {
        return Err(unauthorized("unknown ID scope"));
    }
    let header = headers.get("authorization").and_then(|v| v.to_str().ok());
    let token = sas::parse(header, ctx.cloud.now()).map_err(|e| unauthorized(&format!("{e:?}")))?;
    if token.resource() != format!("{scope}/registrations/{registration_id}").to_ascii_lowercase() {
        return Err(unauthorized("the token is for another registration"));
    }
    let groups = ctx.dps.enrollment_groups.lock().unwrap();
    groups
        .values()
        .filter(|g| g["attestation"]["type"] == "symmetricKey" && g["provisioningStatus"] != "disabled")
        .find(|g| {
            ["primaryKey", "secondaryKey"].iter().any(|k| {
                g["attestation"]["symmetricKey"][k].as_str().and_then(|key| derive_device_key(key, registration_id)).is_some_and(|device_key| token.signed_with(&device_key))
            })
        })
        .cloned()
        .ok_or_else(|| unauthorized("no enrollment group's key signed this token"))
}

/// Hashed allocation: the same registration ID always lands on the same hub, spread by weight.
fn pick_hub<'a>(hubs: &'a [LinkedHub], registration_id: &str) -> Option<&'a LinkedHub> {
    let weights: Vec<u64> = hubs.iter().map(|h| h.allocation_weight.unwrap_or(1).max(0) as u64).collect();
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let digest = Sha256::digest(registration_id.as_bytes());
    let mut point = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % total;
    hubs.iter().zip(weights).find(|(_, w)| {
        if point < *w {
            return true;
        }
        point -= w;
        false
    }).map(|(h, _)| h)
}

pub async fn register(State(ctx): State<DpsCtx>, Path((scope, id)): Path<(String, String)>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    let body: Value = serde_json::from_str(&body).map_err(|e| DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("The request body is not valid JSON: {e}")))?;
    if body["registrationId"].as_str() != Some(id.as_str()) {
        return Err(DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("registrationId in the body must be '{id}'.")));
    }
    let group = authenticate(&ctx, &headers, &scope, &id)?;
    let linked = ctx.dps.state.lock().unwrap().linked_hubs.clone();
    let allowed: Vec<String> = group["iotHubs"].as_array().map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_ascii_lowercase)).collect()).unwrap_or_default();
    let candidates: Vec<LinkedHub> = linked.into_iter().filter(|h| allowed.is_empty() || allowed.contains(&h.name.to_ascii_lowercase())).collect();
    let stamp = now_iso();
    let operation_id = format!("4.{}.{}", &ctx.dps.id_scope, crate::tokens::random_token(12));
    let state = match pick_hub(&candidates, &id) {
        Some(linked) => {
            let key = |k: &str| group["attestation"]["symmetricKey"][k].as_str().and_then(|g| derive_device_key(g, &id)).unwrap_or_default();
            let hub = ctx.cloud.hubs.read().unwrap().iter().find(|h| h.host.eq_ignore_ascii_case(&linked.name)).cloned();
            let Some(hub) = hub else {
                return Err(DpsError::new(StatusCode::INTERNAL_SERVER_ERROR, 500000, format!("The linked hub {} no longer exists.", linked.name)));
            };
            let device = json!({
                "deviceId": id, "generationId": crate::tokens::random_token(12), "etag": new_etag(),
                "connectionState": "Disconnected", "status": "enabled", "statusReason": null,
                "connectionStateUpdatedTime": "0001-01-01T00:00:00Z", "statusUpdatedTime": "0001-01-01T00:00:00Z",
                "lastActivityTime": "0001-01-01T00:00:00Z", "cloudToDeviceMessageCount": 0,
                "authentication": {"type": "sas", "symmetricKey": {"primaryKey": key("primaryKey"), "secondaryKey": key("secondaryKey")},
                                   "x509Thumbprint": {"primaryThumbprint": null, "secondaryThumbprint": null}},
                "capabilities": {"iotEdge": false}, "deviceScope": null, "parentScopes": [],
            });
            let reprovisioned = hub.devices.lock().unwrap().insert(id.clone(), device).is_some();
            json!({
                "registrationId": id, "createdDateTimeUtc": stamp, "assignedHub": hub.host, "deviceId": id,
                "status": "assigned", "substatus": if reprovisioned { "reprovisionedToInitialAssignment" } else { "initialAssignment" },
                "lastUpdatedDateTimeUtc": stamp, "etag": new_etag(),
            })
        }
        None => json!({
            "registrationId": id, "createdDateTimeUtc": stamp, "status": "failed", "errorCode": 400209,
            "errorMessage": "No linked hub is available for this enrollment group.", "lastUpdatedDateTimeUtc": stamp, "etag": new_etag(),
        }),
    };
    let mut stored = state.clone();
    stored["operationId"] = json!(operation_id);
    ctx.dps.registrations.lock().unwrap().insert(id.to_ascii_lowercase(), stored);
    Ok((StatusCode::ACCEPTED, Json(json!({"operationId": operation_id, "status": "assigning"}))).into_response())
}

pub async fn operation_status(State(ctx): State<DpsCtx>, Path((scope, id, op)): Path<(String, String, String)>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    authenticate(&ctx, &headers, &scope, &id)?;
    let registrations = ctx.dps.registrations.lock().unwrap();
    let mut state = registrations
        .get(&id.to_ascii_lowercase())
        .filter(|s| s["operationId"] == op.as_str())
        .cloned()
        .ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404200, format!("Operation {op} was not found.")))?;
    let status = state["status"].clone();
    state.as_object_mut().map(|o| o.remove("operationId"));
    Ok(Json(json!({"operationId": op, "status": status, "registrationState": state})))
}

/// Service API: a device's registration state (what the migration's verify step reads).
pub async fn registration_state(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    ctx.authorize_service(&headers, &q, "RegistrationStatusRead")?;
    let mut state = ctx
        .dps
        .registrations
        .lock()
        .unwrap()
        .get(&id.to_ascii_lowercase())
        .cloned()
        .ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404201, format!("Registration '{id}' was not found.")))?;
    state.as_object_mut().map(|o| o.remove("operationId"));
    Ok(Json(state))
}
