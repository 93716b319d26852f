//! The control API tests and demos use (loopback only, under `/_sandbox`): what is running, the
//! minted client secrets, the sandbox clock, scenario loads and resets, fault injection, call
//! counters, quotas on or off, the simulated fleet's state, and the telemetry devices sent a hub
//! over MQTT. Not an Azure API.
//!
//! Served only when the sandbox is started with it (`SandboxConfig::with_control_api`: the
//! `iotm-sandbox` binary, the app's debug build), and then only to callers that send the token
//! minted for the run (`Authorization: Bearer <token>`; the binary prints it on stdout). Other
//! local users reach loopback too, and these routes hand out secrets and reshape the cloud.

use crate::cloud::Cloud;
use crate::faults::FaultRule;
use crate::fleet::Persona;
use crate::live::Placed;
use crate::scenario::Scenario;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub fn router() -> Router<Arc<Cloud>> {
    Router::new()
        .route("/_sandbox/info", get(info))
        .route("/_sandbox/credentials", get(credentials))
        .route("/_sandbox/clock", post(clock))
        .route("/_sandbox/scenario", get(current_scenario).post(load_scenario))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/faults", post(add_fault).delete(clear_faults))
        .route("/_sandbox/counters", get(counters).delete(clear_counters))
        .route("/_sandbox/quotas", post(quotas))
        .route("/_sandbox/fleet/{app}", get(fleet))
        .route("/_sandbox/fleet/{app}/{device}", post(set_persona))
        .route("/_sandbox/hubs/{hub}/devices/{device}/reported", post(report_properties))
        .route("/_sandbox/hubs/{hub}/devices/{device}/telemetry", get(telemetry))
        .route("/_sandbox/users/{user}/revokeSignInSessions", post(revoke_sign_in_sessions))
}

/// What an admin does with Graph's `revokeSignInSessions`: the user's refresh tokens stop working
/// (Entra then answers AADSTS50173). The user is named by object ID or user principal name.
async fn revoke_sign_in_sessions(State(cloud): State<Arc<Cloud>>, Path(user): Path<String>) -> Result<Json<Value>, ControlError> {
    let id = {
        let scenario = cloud.scenario();
        let found =
            scenario.tenants.iter().flat_map(|t| &t.users).find(|u| u.id.eq_ignore_ascii_case(&user) || u.user_principal_name.eq_ignore_ascii_case(&user));
        found.map(|u| u.id.clone()).ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No user {user} in the scenario's tenants.")))?
    };
    let revoked = cloud.grants().revoke_sign_in_sessions(&id);
    Ok(Json(json!({"value": true, "revokedRefreshTokens": revoked})))
}

type ControlError = (StatusCode, Json<Value>);

/// Where the control API is not served, its paths are plainly not found (not passed to ARM).
pub async fn not_served() -> ControlError {
    control_error(StatusCode::NOT_FOUND, "NotFound", "This sandbox does not serve the control API.")
}

/// Lets through only calls that carry the run's token. The comparison is of SHA-256 digests, so
/// its time says nothing about how much of a guess was right.
pub async fn authorize(State(token): State<Arc<String>>, request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    use sha2::{Digest, Sha256};
    let sent = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match sent {
        Some(sent) if Sha256::digest(sent.as_bytes()) == Sha256::digest(token.as_bytes()) => next.run(request).await,
        _ => control_error(StatusCode::UNAUTHORIZED, "ControlTokenRequired", "The control API needs this run's token: Authorization: Bearer <controlToken>.")
            .into_response(),
    }
}

/// What a device does when it reports state: the body (a JSON object) is merged into the reported
/// properties of its twin, or of its module's with `?moduleId=`. The hub is named by ARM name or host.
async fn report_properties(
    State(cloud): State<Arc<Cloud>>,
    Path((hub, device)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Result<Json<Value>, ControlError> {
    let patch = match serde_json::from_str::<Value>(&body) {
        Ok(Value::Object(patch)) => patch,
        _ => return Err(control_error(StatusCode::BAD_REQUEST, "InvalidReport", "The body must be a JSON object of reported properties.")),
    };
    let by_name = cloud.hubs().named(&hub);
    let found = by_name.or_else(|| cloud.hub_by_host(&hub)).ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No hub {hub}.")))?;
    if !found.report_properties(&device, q.get("moduleId").map(String::as_str), patch) {
        return Err(control_error(StatusCode::NOT_FOUND, "NotFound", format!("No device {device} (or module) on hub {hub}.")));
    }
    Ok(Json(json!({"reported": true})))
}

/// What the hub's built-in endpoint would hand a reader: the device-to-cloud messages a device
/// sent over MQTT — how many, and the last few (oldest first), with their properties. The hub is
/// named by ARM name or host.
async fn telemetry(State(cloud): State<Arc<Cloud>>, Path((hub, device)): Path<(String, String)>) -> Result<Json<Value>, ControlError> {
    let by_name = cloud.hubs().named(&hub);
    let found = by_name.or_else(|| cloud.hub_by_host(&hub)).ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No hub {hub}.")))?;
    let (count, messages) = found.live_devices().telemetry(&device);
    Ok(Json(json!({"deviceId": device, "count": count, "messages": messages.iter().map(|m| m.to_json()).collect::<Vec<_>>()})))
}

fn control_error(status: StatusCode, code: &str, message: impl Into<String>) -> ControlError {
    (status, Json(json!({"error": {"code": code, "message": message.into()}})))
}

/// Back to the scenario's start: same scenario, fresh keys and ports, no faults, counters at zero.
async fn reset(State(cloud): State<Arc<Cloud>>) -> Result<Json<Value>, ControlError> {
    let scenario = cloud.scenario().clone();
    cloud.load(scenario).map_err(|e| control_error(StatusCode::INTERNAL_SERVER_ERROR, "ScenarioNotStarted", e.to_string()))?;
    cloud.faults().clear();
    cloud.faults().reset_counters();
    Ok(Json(json!({"reset": true})))
}

async fn add_fault(State(cloud): State<Arc<Cloud>>, body: String) -> Result<Json<Value>, ControlError> {
    let rule: FaultRule = serde_json::from_str(&body).map_err(|e| control_error(StatusCode::BAD_REQUEST, "InvalidFault", e.to_string()))?;
    cloud.faults().add(rule).map_err(|e| control_error(StatusCode::BAD_REQUEST, "InvalidFault", e))?;
    Ok(Json(json!({"added": true})))
}

async fn clear_faults(State(cloud): State<Arc<Cloud>>) -> StatusCode {
    cloud.faults().clear();
    StatusCode::NO_CONTENT
}

/// Calls per `service METHOD route`, since start or the last clear.
async fn counters(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    Json(json!(cloud.faults().counters()))
}

async fn clear_counters(State(cloud): State<Arc<Cloud>>) -> StatusCode {
    cloud.faults().reset_counters();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaSwitch {
    /// Sandbox-wide; for a hub, null hands it back to the sandbox-wide switch.
    #[serde(alias = "on")]
    enabled: Option<bool>,
    /// One hub (by name) instead of the whole sandbox.
    #[serde(default)]
    hub: Option<String>,
}

/// `{"enabled": bool}` for every service; `{"enabled": bool|null, "hub": name}` for one hub.
/// Answers the sandbox-wide switch and each hub's effective one.
async fn quotas(State(cloud): State<Arc<Cloud>>, body: String) -> Result<Json<Value>, ControlError> {
    let switch: QuotaSwitch = serde_json::from_str(&body).map_err(|e| control_error(StatusCode::BAD_REQUEST, "InvalidQuotaSwitch", e.to_string()))?;
    match (&switch.hub, switch.enabled) {
        (Some(name), on) => {
            let hub = cloud.hubs().named(name);
            hub.ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No IoT hub {name}.")))?.quotas().set_switch(on);
        }
        (None, Some(on)) => cloud.set_quotas(on),
        (None, None) => return Err(control_error(StatusCode::BAD_REQUEST, "InvalidQuotaSwitch", "enabled (true or false) is required without a hub.")),
    }
    let hubs: serde_json::Map<String, Value> = cloud.hubs().all().iter().map(|h| (h.name().to_string(), json!(h.quotas().enabled(&cloud)))).collect();
    Ok(Json(json!({"enabled": cloud.quotas_on(), "hubs": hubs})))
}

fn central_app(cloud: &Cloud, subdomain: &str) -> Result<Arc<crate::central::app::LiveCentralApp>, ControlError> {
    cloud.central_apps().by_subdomain(subdomain).ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No Central app {subdomain}.")))
}

/// Every simulated device of an app: persona, ID scope, hub, connected, last error; and counts.
async fn fleet(State(cloud): State<Arc<Cloud>>, Path(app): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ControlError> {
    let app = central_app(&cloud, &app)?;
    let summary = q.get("summary").is_some_and(|v| v == "true");
    let mut by_hub = serde_json::Map::new();
    let mut devices = Vec::new();
    for device in app.simulated_devices() {
        let link = device.link.lock().unwrap();
        if link.connected {
            let n = by_hub.entry(link.hub.clone().unwrap_or_default()).or_insert(json!(0));
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
        if !summary {
            devices.push(json!({"id": device.id, "persona": device.persona().as_str(), "link": *link}));
        }
    }
    let mut body = json!({"idScope": app.id_scope(), "hub": app.hub_host(), "connectedByHub": by_hub});
    if !summary {
        body["devices"] = json!(devices);
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonaChange {
    persona: Persona,
}

/// Changes a device's persona (an offline device comes back, say), effective from its next call.
async fn set_persona(State(cloud): State<Arc<Cloud>>, Path((app, device)): Path<(String, String)>, body: String) -> Result<Json<Value>, ControlError> {
    let change: PersonaChange = serde_json::from_str(&body).map_err(|e| control_error(StatusCode::BAD_REQUEST, "InvalidPersona", e.to_string()))?;
    let app = central_app(&cloud, &app)?;
    let sim = app.simulated_device(&device).ok_or_else(|| control_error(StatusCode::NOT_FOUND, "NotFound", format!("No simulated device {device}.")))?;
    let was = std::mem::replace(&mut *sim.persona.lock().unwrap(), change.persona);
    // An offline device coming back reconnects where it was registered.
    if was == Persona::Offline && change.persona != Persona::Offline {
        let scope = sim.link.lock().unwrap().id_scope.clone();
        let _ = sim.register(&cloud, &scope);
    }
    Ok(Json(json!({"id": device, "persona": change.persona.as_str()})))
}

async fn info(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    let scenario = cloud.scenario();
    Json(json!({
        "baseUrl": cloud.base_url(),
        "now": cloud.now(),
        "tenants": scenario.tenants.iter().map(|t| json!({"id": t.id, "domain": t.domain})).collect::<Vec<_>>(),
    }))
}

/// The client secrets of confidential registrations, minted at start so none is ever on disk.
async fn credentials(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    let api_tokens: serde_json::Map<String, Value> =
        cloud.central_apps().all().iter().filter_map(|a| a.api_token().map(|t| (a.subdomain().to_string(), json!(t)))).collect();
    Json(json!({ "clientSecrets": cloud.grants().client_secrets(), "centralApiTokens": api_tokens }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockChange {
    advance_seconds: i64,
}

async fn clock(State(cloud): State<Arc<Cloud>>, Json(change): Json<ClockChange>) -> Json<Value> {
    cloud.advance_clock(change.advance_seconds);
    Json(json!({"now": cloud.now()}))
}

/// The scenario loaded now: what a test changes and loads back.
async fn current_scenario(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    Json(serde_json::to_value(&*cloud.scenario()).unwrap_or_default())
}

async fn load_scenario(State(cloud): State<Arc<Cloud>>, body: String) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let scenario = Scenario::from_json(&body).map_err(|e| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": "InvalidScenario", "message": format!("line {}, column {}: {e}", e.line(), e.column())}})))
    })?;
    cloud.load(scenario).map_err(|e| {
        let status = if e.kind() == std::io::ErrorKind::InvalidInput { StatusCode::BAD_REQUEST } else { StatusCode::INTERNAL_SERVER_ERROR };
        (
            status,
            Json(
                json!({"error": {"code": if status == StatusCode::BAD_REQUEST { "InvalidScenario" } else { "ScenarioNotStarted" }, "message": e.to_string()}}),
            ),
        )
    })?;
    Ok(Json(json!({"loaded": true})))
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;
    use crate::{Sandbox, SandboxConfig};

    fn client(state: &std::path::Path) -> reqwest::Client {
        let tls = crate::azurite::client_tls(state).unwrap();
        reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap()
    }

    #[tokio::test]
    async fn a_sandbox_not_asked_for_the_control_api_does_not_serve_it() {
        // The app's own sandbox (a release build) is one: its minted secrets stay inside it.
        let state = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin())).await.unwrap();
        let http = client(state.path());
        for path in ["credentials", "info", "scenario"] {
            let status = http.get(format!("{}/_sandbox/{path}", sandbox.base_url)).send().await.unwrap().status();
            assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "/_sandbox/{path}");
        }
        let status = http.post(format!("{}/_sandbox/faults", sandbox.base_url)).body(r#"{"kind":"throttle"}"#).send().await.unwrap().status();
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "POST /_sandbox/faults");
        sandbox.stop();
    }

    #[tokio::test]
    async fn the_control_api_answers_only_the_runs_token() {
        let state = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin()).with_control_api()).await.unwrap();
        let token = sandbox.control_token.clone().unwrap();
        let (http, url) = (client(state.path()), format!("{}/_sandbox/credentials", sandbox.base_url));
        for refused in [None, Some("Bearer not-the-token".to_string()), Some(token.clone())] {
            let mut request = http.get(&url);
            if let Some(value) = &refused {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED, "{refused:?}");
            assert!(response.text().await.unwrap().contains("ControlTokenRequired"));
        }
        let response = http.get(&url).header("authorization", format!("Bearer {token}")).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert!(body["clientSecrets"].is_object());
        // A second run mints another token: the first one opens nothing.
        let again = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin()).with_control_api()).await.unwrap();
        assert_ne!(again.control_token.as_deref(), Some(token.as_str()));
        let other = http.get(format!("{}/_sandbox/credentials", again.base_url)).header("authorization", format!("Bearer {token}")).send().await.unwrap();
        assert_eq!(other.status(), reqwest::StatusCode::UNAUTHORIZED);
        sandbox.stop();
        again.stop();
    }
}
