//! IoT Central's application API (2022-07-31), under `/iotc/{subdomain}/api` on the control-plane
//! listener: a client's base URL for an app is `https://localhost:<port>/iotc/<subdomain>` where
//! Azure's is `https://<subdomain>.azureiotcentral.com`. Devices (with their attestations and
//! commands and command history), templates (read), device groups, enrollment groups and jobs —
//! what the migration wizards use; any other operation answers Central's 404 saying the sandbox
//! does not serve it.
//! Auth by Entra token (Central audience) or the app's API token.

pub mod app;
mod attestation;
mod commands;
mod device;
mod devices;
mod enrollment;
mod filter;
mod groups;
pub mod jobs;
pub mod persist;
pub mod state;
pub(crate) mod throttle;

use crate::cloud::Cloud;
use crate::entra::{resource_audiences, Resource};
use app::LiveCentralApp;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const API_VERSIONS: &[&str] = crate::api_versions::CENTRAL;

pub fn router() -> Router<Arc<Cloud>> {
    Router::new()
        .route("/iotc/{app}/api/devices", get(list_devices))
        .route("/iotc/{app}/api/devices/{id}", get(get_device).put(devices::create).patch(devices::update).delete(devices::remove))
        .route("/iotc/{app}/api/devices/{id}/credentials", get(device_credentials))
        .route("/iotc/{app}/api/devices/{id}/attestation", get(attestation::get).put(attestation::put).patch(attestation::patch).delete(attestation::remove))
        .route("/iotc/{app}/api/devices/{id}/commands/{command}", get(commands::root_history).post(devices::run_root_command))
        .route("/iotc/{app}/api/devices/{id}/components/{component}/commands/{command}", get(commands::component_history).post(devices::run_component_command))
        .route("/iotc/{app}/api/jobs", get(jobs::list))
        .route("/iotc/{app}/api/jobs/{id}", get(jobs::get).put(jobs::create))
        .route("/iotc/{app}/api/jobs/{id}/devices", get(jobs::devices))
        .route("/iotc/{app}/api/jobs/{id}/stop", post(jobs::stop))
        .route("/iotc/{app}/api/jobs/{id}/resume", post(jobs::resume))
        .route("/iotc/{app}/api/jobs/{id}/rerun/{rerun}", put(jobs::rerun))
        .route("/iotc/{app}/api/deviceTemplates", get(list_templates))
        .route("/iotc/{app}/api/deviceTemplates/{id}", get(get_template))
        .route("/iotc/{app}/api/deviceGroups", get(groups::list))
        .route("/iotc/{app}/api/deviceGroups/{id}", get(groups::get).put(groups::put).patch(groups::patch).delete(groups::remove))
        .route("/iotc/{app}/api/deviceGroups/{id}/devices", get(groups::devices))
        .route("/iotc/{app}/api/enrollmentGroups", get(enrollment::list))
        .route("/iotc/{app}/api/enrollmentGroups/{id}", get(enrollment::get).put(enrollment::put).patch(enrollment::patch).delete(enrollment::remove))
        .route("/iotc/{app}/api/{*rest}", any(not_served))
        .method_not_allowed_fallback(not_served)
}

/// Central's 404 for an operation the sandbox does not serve (users, roles, properties, telemetry…),
/// so a client learns that from the sandbox in Central's words, not from the ARM fallback.
async fn not_served(method: Method, uri: Uri) -> CentralError {
    let path = uri.path().split_once("/api/").map(|(_, p)| p).unwrap_or(uri.path());
    CentralError::new(StatusCode::NOT_FOUND, "NotFound", format!("The sandbox does not serve {method} /api/{path}: only what the migration wizards use."))
}

/// Central's error body: `{"error":{"code","message","requestId","time"}}`.
#[derive(Debug)]
pub struct CentralError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl CentralError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> CentralError {
        CentralError { status, code, message: message.into(), retry_after: None }
    }
    fn throttled(seconds: u64) -> CentralError {
        let message = format!("Too many requests to this application: at most 20 per second. Retry in {seconds} s.");
        CentralError { retry_after: Some(seconds), ..CentralError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message) }
    }
    pub(crate) fn not_found(what: &str, id: &str) -> CentralError {
        CentralError::new(StatusCode::NOT_FOUND, "NotFound", format!("{what} {id} not found."))
    }
}

impl IntoResponse for CentralError {
    fn into_response(self) -> Response {
        let time = crate::timestamps::rfc2822(chrono::Utc::now());
        let request_id = crate::tokens::random_token(12);
        let mut response =
            (self.status, Json(json!({"error": {"code": self.code, "message": self.message, "requestId": request_id, "time": time}}))).into_response();
        if let Ok(v) = request_id.parse() {
            response.headers_mut().insert("x-ms-request-id", v);
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert("retry-after", seconds.into());
        }
        response
    }
}

pub(crate) type Q = Query<HashMap<String, String>>;

pub(crate) fn bad_request(message: impl Into<String>) -> CentralError {
    CentralError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// Every body of Central's API is a JSON object (a device, a job, a group, a command…).
pub(crate) fn parse_body(body: &str) -> Result<Value, CentralError> {
    let value: Value = serde_json::from_str(body).map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(bad_request("The request body must be a JSON object."));
    }
    Ok(value)
}

/// api-version, then the caller: an API token of this app, or an Entra token for Central whose
/// user may use the app (sandbox rule: access to the app's subscription).
pub(crate) fn open(cloud: &Cloud, subdomain: &str, headers: &HeaderMap, query: &HashMap<String, String>) -> Result<Arc<LiveCentralApp>, CentralError> {
    let app = cloud.central_apps().by_subdomain(subdomain).ok_or_else(|| CentralError::not_found("Application", subdomain))?;
    if cloud.quotas_on() {
        app.throttle.lock().unwrap().take().map_err(CentralError::throttled)?;
    }
    match query.get("api-version").map(String::as_str) {
        Some(v) if API_VERSIONS.contains(&v) => {}
        other => {
            return Err(CentralError::new(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersion",
                format!("The api-version '{}' is not supported. Supported versions: {}.", other.unwrap_or_default(), API_VERSIONS.join(", ")),
            ))
        }
    }
    let unauthorized = |m: &str| CentralError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m.to_string());
    let header = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(|| unauthorized("The Authorization header is missing."))?;
    if header.starts_with("SharedAccessSignature ") {
        match app.api_tokens.get(header) {
            Some(expiry) if *expiry > cloud.now() => return Ok(app),
            Some(_) => return Err(unauthorized("The API token has expired.")),
            None => return Err(unauthorized("The API token is not valid for this application.")),
        }
    }
    let token = header.strip_prefix("Bearer ").ok_or_else(|| unauthorized("Use a Bearer token or an API token."))?;
    let claims = cloud.signer().verify(token, cloud.now(), resource_audiences(Resource::IotCentral)).map_err(|e| unauthorized(&e.to_string()))?;
    let oid = claims["oid"].as_str().unwrap_or_default();
    let allowed = cloud.scenario().subscriptions.iter().any(|s| s.id == app.subscription_id && s.access.iter().any(|a| a == oid));
    if !allowed {
        return Err(CentralError::new(StatusCode::FORBIDDEN, "Forbidden", "The user is not a member of this application."));
    }
    Ok(app)
}

/// A page of `items` with Central's `nextLink` (page size `maxpagesize`, at most 100... as Central).
pub(crate) fn page(cloud: &Cloud, subdomain: &str, path: &str, query: &HashMap<String, String>, items: Vec<Value>) -> Json<Value> {
    let size = query.get("maxpagesize").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100).min(100);
    let start = query.get("$skiptoken").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let end = (start + size).min(items.len());
    let mut body = json!({"value": items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default()});
    if end < items.len() {
        let version = query.get("api-version").cloned().unwrap_or_default();
        body["nextLink"] = json!(format!("{}/iotc/{subdomain}/api/{path}?api-version={version}&maxpagesize={size}&$skiptoken={end}", cloud.base_url()));
    }
    Json(body)
}

async fn list_devices(State(cloud): State<Arc<Cloud>>, Path(sub): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let devices = app.devices.lock().unwrap().iter().map(|(id, d)| d.to_json(id)).collect();
    Ok(page(&cloud, &sub, "devices", &q, devices))
}

async fn get_device(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let device = app.devices.lock().unwrap().get(&id).map(|d| d.to_json(&id));
    device.map(Json).ok_or_else(|| CentralError::not_found("Device", &id))
}

async fn device_credentials(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    if !app.devices.lock().unwrap().contains_key(&id) {
        return Err(CentralError::not_found("Device", &id));
    }
    Ok(Json(app.credentials(&id)))
}

async fn list_templates(State(cloud): State<Arc<Cloud>>, Path(sub): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    Ok(page(&cloud, &sub, "deviceTemplates", &q, app.templates.clone()))
}

async fn get_template(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    app.templates.iter().find(|t| t["@id"] == id.as_str()).cloned().map(Json).ok_or_else(|| CentralError::not_found("Device template", &id))
}
