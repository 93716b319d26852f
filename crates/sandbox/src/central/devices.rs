//! Device writes and commands: create and delete a device, read its attestation, and run a
//! command on it now (`POST .../commands/{name}`), answered by the simulated device.

use super::{open, CentralError, Q};
use crate::cloud::Cloud;
use crate::fleet::MethodOutcome;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// `PUT /devices/{id}`: a device Central knows of but that has not provisioned yet.
pub async fn create(State(cloud): State<Arc<Cloud>>, Path((sub, id)): Path<(String, String)>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body: Value = serde_json::from_str(&body).map_err(|e| CentralError::new(StatusCode::BAD_REQUEST, "BadRequest", format!("The request body is not valid JSON: {e}")))?;
    if let Some(template) = body["template"].as_str() {
        if !app.templates.iter().any(|t| t["@id"] == template) {
            return Err(CentralError::not_found("Device template", template));
        }
    }
    let mut devices = app.devices.lock().unwrap();
    let existing = devices.get(&id).cloned();
    let pick = |field: &str, default: Value| body.get(field).filter(|v| !v.is_null()).cloned().or_else(|| existing.as_ref().map(|d| d[field].clone())).unwrap_or(default);
    let mut device = json!({
        "id": id,
        "etag": format!("\"{}\"", crate::tokens::random_token(6)),
        "displayName": pick("displayName", json!(id)),
        "enabled": pick("enabled", json!(true)),
        "provisioned": existing.as_ref().map(|d| d["provisioned"].clone()).unwrap_or(json!(false)),
        "simulated": pick("simulated", json!(false)),
    });
    let template = pick("template", Value::Null);
    if !template.is_null() {
        device["template"] = template;
    }
    if let Some(orgs) = body.get("organizations").filter(|v| v.is_array()) {
        device["organizations"] = orgs.clone();
    }
    devices.insert(id, device.clone());
    Ok(Json(device))
}

pub async fn remove(State(cloud): State<Arc<Cloud>>, Path((sub, id)): Path<(String, String)>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    app.devices.lock().unwrap().remove(&id).ok_or_else(|| CentralError::not_found("Device", &id))?;
    if let Some(device) = app.fleet.write().unwrap().remove(&id) {
        device.disconnect(&cloud);
    }
    app.hub.devices.lock().unwrap().remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// A device's attestation: group-enrolled devices carry the symmetric keys derived for them.
pub async fn attestation(State(cloud): State<Arc<Cloud>>, Path((sub, id)): Path<(String, String)>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    if !app.devices.lock().unwrap().contains_key(&id) {
        return Err(CentralError::not_found("Device", &id));
    }
    let credentials = app.credentials(&id);
    Ok(Json(json!({"type": "symmetricKey", "symmetricKey": credentials["symmetricKey"]})))
}

pub async fn run_root_command(state: State<Arc<Cloud>>, Path((sub, id, command)): Path<(String, String, String)>, query: Q, headers: HeaderMap, body: String) -> Result<Response, CentralError> {
    run_command(state, sub, id, None, command, query, headers, body).await
}

pub async fn run_component_command(state: State<Arc<Cloud>>, Path((sub, id, component, command)): Path<(String, String, String, String)>, query: Q, headers: HeaderMap, body: String) -> Result<Response, CentralError> {
    run_command(state, sub, id, Some(component), command, query, headers, body).await
}

#[allow(clippy::too_many_arguments)]
async fn run_command(State(cloud): State<Arc<Cloud>>, sub: String, id: String, component: Option<String>, command: String, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body: Value = serde_json::from_str(&body).map_err(|e| CentralError::new(StatusCode::BAD_REQUEST, "BadRequest", format!("The request body is not valid JSON: {e}")))?;
    let template = app.devices.lock().unwrap().get(&id).map(|d| d["template"].as_str().unwrap_or_default().to_string()).ok_or_else(|| CentralError::not_found("Device", &id))?;
    let path = component.as_ref().map(|c| format!("{c}.{command}")).unwrap_or_else(|| command.clone());
    let target = app.command_at(&template, &path).ok_or_else(|| CentralError::new(StatusCode::BAD_REQUEST, "BadRequest", format!("The device's template has no command at '{path}'.")))?;
    let mut timing = app.timing.clone();
    if let Some(seconds) = body["responseTimeout"].as_u64() {
        timing.command_timeout_ms = seconds.clamp(5, 30) * 1000;
    }
    let device = app.fleet.read().unwrap().get(&id).cloned();
    let request = body.get("request").cloned().unwrap_or(Value::Null);
    let outcome = match device {
        Some(device) => device.invoke(&cloud, &target.method_name(), &request, &timing).await,
        None => MethodOutcome::TimedOut,
    };
    match outcome {
        MethodOutcome::Answered { status, payload } => {
            let answer = json!({"id": crate::tokens::random_token(12), "request": request, "response": payload, "responseCode": status, "responseTimeout": timing.command_timeout_ms / 1000});
            Ok((StatusCode::CREATED, Json(answer)).into_response())
        }
        MethodOutcome::TimedOut => Err(CentralError::new(StatusCode::GATEWAY_TIMEOUT, "GatewayTimeout", format!("Device {id} did not answer within {} s.", timing.command_timeout_ms / 1000))),
    }
}
