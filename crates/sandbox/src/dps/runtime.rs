//! The device runtime API over HTTPS: a device registers with its derived key and polls the
//! operation. Every DPS listener answers for every ID scope, as the global endpoint does.

use super::registration::{self, authenticate, DeviceProof};
use crate::x509::ClientChain;
use axum::Extension;
use super::{check_version, DpsCtx, DpsError, RUNTIME_VERSIONS};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type Q = Query<HashMap<String, String>>;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok())
}

fn dps_for(ctx: &DpsCtx, scope: &str) -> Result<Arc<crate::live::Dps>, DpsError> {
    ctx.cloud.dps_by_scope(scope).ok_or_else(|| DpsError::new(StatusCode::UNAUTHORIZED, 401002, "Unauthorized: unknown ID scope"))
}

pub async fn register(State(ctx): State<DpsCtx>, Path((scope, id)): Path<(String, String)>, Query(q): Q, chain: Option<Extension<ClientChain>>, headers: HeaderMap, body: String) -> Result<Response, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    let body: Value = serde_json::from_str(&body).map_err(|e| DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("The request body is not valid JSON: {e}")))?;
    if body["registrationId"].as_str() != Some(id.as_str()) {
        return Err(DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("registrationId in the body must be '{id}'.")));
    }
    let dps = dps_for(&ctx, &scope)?;
    let proof = DeviceProof::from_request(authorization(&headers), chain.as_ref().map(|c| &c.0));
    let state = registration::register(&ctx.cloud, &dps, &scope, &id, proof, body.get("payload").cloned())?;
    Ok((StatusCode::ACCEPTED, Json(json!({"operationId": state.operation_id, "status": "assigning"}))).into_response())
}

pub async fn operation_status(State(ctx): State<DpsCtx>, Path((scope, id, op)): Path<(String, String, String)>, Query(q): Q, chain: Option<Extension<ClientChain>>, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    let dps = dps_for(&ctx, &scope)?;
    authenticate(&ctx.cloud, &dps, DeviceProof::from_request(authorization(&headers), chain.as_ref().map(|c| &c.0)), &scope, &id)?;
    let state = registration::operation(&dps, &id, &op).ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404200, format!("Operation {op} was not found.")))?;
    let state = state.to_json();
    Ok(Json(json!({"operationId": op, "status": state["status"], "registrationState": state})))
}

/// Service API: a device's registration state (what the migration's verify step reads).
pub async fn registration_state(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    ctx.authorize_service(&headers, &q, "RegistrationStatusRead")?;
    let state = ctx.dps.registrations.lock().unwrap().get(&id.to_ascii_lowercase()).map(|r| r.to_json());
    state.map(Json).ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404201, format!("Registration '{id}' was not found.")))
}
