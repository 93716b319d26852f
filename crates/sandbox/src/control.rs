//! The control API tests and demos use (loopback only, under `/_sandbox`): what is running, the
//! minted client secrets, the sandbox clock and scenario reloads. Not an Azure API.

use crate::cloud::Cloud;
use crate::scenario::Scenario;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router() -> Router<Arc<Cloud>> {
    Router::new()
        .route("/_sandbox/info", get(info))
        .route("/_sandbox/credentials", get(credentials))
        .route("/_sandbox/clock", post(clock))
        .route("/_sandbox/scenario", post(load_scenario))
}

async fn info(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    let scenario = cloud.scenario.read().unwrap();
    Json(json!({
        "baseUrl": cloud.base_url(),
        "now": cloud.now(),
        "tenants": scenario.tenants.iter().map(|t| json!({"id": t.id, "domain": t.domain})).collect::<Vec<_>>(),
    }))
}

/// The client secrets of confidential registrations, minted at start so none is ever on disk.
async fn credentials(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    let api_tokens: serde_json::Map<String, Value> = cloud
        .central_apps
        .read()
        .unwrap()
        .iter()
        .filter_map(|a| a.api_tokens.keys().next().map(|t| (a.subdomain.clone(), json!(t))))
        .collect();
    Json(json!({ "clientSecrets": *cloud.client_secrets.read().unwrap(), "centralApiTokens": api_tokens }))
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

async fn load_scenario(State(cloud): State<Arc<Cloud>>, body: String) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let scenario = Scenario::from_json(&body).map_err(|e| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": "InvalidScenario", "message": format!("line {}, column {}: {e}", e.line(), e.column())}})))
    })?;
    cloud.load(scenario).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"code": "ScenarioNotStarted", "message": e.to_string()}}))))?;
    Ok(Json(json!({"loaded": true})))
}
