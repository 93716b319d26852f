//! Device writes and commands: create, update and delete a device, and run a command on it now
//! (`POST .../commands/{name}`), answered by the simulated device.

use super::app::LiveCentralApp;
use super::attestation::merge;
use super::commands::CommandRun;
use super::device::CentralDevice;
use super::{bad_request, open, parse_body, CentralError, Q};
use crate::cloud::Cloud;
use crate::fleet::MethodOutcome;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// The fields a caller sets on a device (the rest — id, etag, provisioned — are the service's).
const FIELDS: &[&str] = &["displayName", "template", "enabled", "simulated", "organizations"];

/// The device `fields` describe, once its template is known to the app.
fn checked(app: &LiveCentralApp, id: &str, fields: &Value, provisioned: bool) -> Result<Value, CentralError> {
    if let Some(template) = fields["template"].as_str() {
        if !app.templates.iter().any(|t| t["@id"] == template) {
            return Err(CentralError::not_found("Device template", template));
        }
    }
    let mut device = json!({"id": id, "etag": format!("\"{}\"", crate::tokens::random_token(6)), "displayName": id, "enabled": true, "provisioned": provisioned, "simulated": false});
    for field in FIELDS {
        if let Some(v) = fields.get(*field).filter(|v| !v.is_null()) {
            device[*field] = v.clone();
        }
    }
    if device.get("organizations").is_some_and(|o| !o.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
        return Err(bad_request("organizations must be a list of organization IDs."));
    }
    for (field, string) in [("displayName", true), ("template", true), ("enabled", false), ("simulated", false)] {
        let v = &device[field];
        if !v.is_null() && (string && !v.is_string() || !string && !v.is_boolean()) {
            return Err(bad_request(format!("{field} must be a {}, not {v}.", if string { "string" } else { "boolean" })));
        }
    }
    Ok(device)
}

/// `PUT /devices/{id}`: a device Central knows of but that has not provisioned yet, or a new
/// definition of one it has (which keeps whether it provisioned, and what the body leaves out).
pub async fn create(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let mut devices = app.devices.lock().unwrap();
    let existing = devices.get(&id).map(|d| d.to_json(&id));
    let mut fields = existing.clone().unwrap_or(json!({}));
    for field in FIELDS {
        if let Some(v) = body.get(*field).filter(|v| !v.is_null()) {
            fields[*field] = v.clone();
        }
    }
    let device = checked(&app, &id, &fields, existing.is_some_and(|d| d["provisioned"] == true))?;
    devices.insert(id.clone(), CentralDevice::from_json(&id, &device));
    Ok(Json(device))
}

/// `PATCH /devices/{id}`: changes the fields sent (a display name, a template, organizations).
pub async fn update(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let mut devices = app.devices.lock().unwrap();
    let mut fields = devices.get(&id).map(|d| d.to_json(&id)).ok_or_else(|| CentralError::not_found("Device", &id))?;
    for field in FIELDS {
        if let Some(v) = body.get(*field) {
            merge(&mut fields[*field], v);
        }
    }
    let device = checked(&app, &id, &fields, fields["provisioned"] == true)?;
    devices.insert(id.clone(), CentralDevice::from_json(&id, &device));
    Ok(Json(device))
}

pub async fn remove(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    app.devices.lock().unwrap().remove(&id).ok_or_else(|| CentralError::not_found("Device", &id))?;
    app.attestations.lock().unwrap().remove(&id);
    super::attestation::mirror(&app.dps, &id, None);
    app.commands.forget(&id);
    if let Some(device) = app.fleet.write().unwrap().remove(&id) {
        device.disconnect(&cloud);
    }
    app.hub.remove_device(&id);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn run_root_command(
    state: State<Arc<Cloud>>,
    Path((sub, id, command)): Path<(String, String, String)>,
    query: Q,
    headers: HeaderMap,
    body: String,
) -> Result<Response, CentralError> {
    run_command(state, sub, id, None, command, query, headers, body).await
}

pub async fn run_component_command(
    state: State<Arc<Cloud>>,
    Path((sub, id, component, command)): Path<(String, String, String, String)>,
    query: Q,
    headers: HeaderMap,
    body: String,
) -> Result<Response, CentralError> {
    run_command(state, sub, id, Some(component), command, query, headers, body).await
}

#[allow(clippy::too_many_arguments)]
async fn run_command(
    State(cloud): State<Arc<Cloud>>,
    sub: String,
    id: String,
    component: Option<String>,
    command: String,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Response, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let template = app
        .devices
        .lock()
        .unwrap()
        .get(&id)
        .map(|d| d.template.as_deref().unwrap_or_default().to_string())
        .ok_or_else(|| CentralError::not_found("Device", &id))?;
    let path = component.as_ref().map(|c| format!("{c}.{command}")).unwrap_or_else(|| command.clone());
    let target = app.command_at(&template, &path).ok_or_else(|| bad_request(format!("The device's template has no command at '{path}'.")))?;
    // Central waits `responseTimeout` seconds (5 to 30, 30 when not given); the scenario's timeout
    // stands for the default, so a fast scenario stays fast while the answer reports Central's value.
    let mut timing = app.timing.clone();
    let seconds = |field: &str, range: std::ops::RangeInclusive<u64>| -> Result<Option<u8>, CentralError> {
        match &body[field] {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .filter(|s| range.contains(s))
                .map(|s| Some(s as u8))
                .ok_or_else(|| bad_request(format!("{field} must be a whole number of seconds from {} to {}, not {v}.", range.start(), range.end()))),
        }
    };
    let response_timeout = seconds("responseTimeout", 5..=30)?;
    let connection_timeout = seconds("connectionTimeout", 0..=30)?.unwrap_or(0);
    if let Some(seconds) = response_timeout {
        timing.command_timeout_ms = u64::from(seconds) * 1000;
    }
    let request = Arc::new(body.get("request").cloned().unwrap_or(Value::Null));
    let outcome = super::commands::invoke(&cloud, &app, &id, &target.method_name(), &request, &timing).await.unwrap_or(MethodOutcome::TimedOut);
    // Kept for the command history, answered or not, as Central keeps it.
    let run = CommandRun::new(request, connection_timeout, response_timeout.unwrap_or(30), &outcome);
    app.commands.record(&id, &target.path(), run.clone());
    match outcome {
        MethodOutcome::Answered { .. } => Ok((StatusCode::CREATED, Json(run.to_json())).into_response()),
        MethodOutcome::TimedOut => Err(CentralError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            format!("Device {id} did not answer within {} s.", timing.command_timeout_ms / 1000),
        )),
    }
}
