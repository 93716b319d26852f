//! The Device Provisioning Service's two APIs on the DPS's own port: the service API (enrollment
//! groups and registration states, SAS from the DPS policies) and the device runtime API (register
//! and operation status, SAS from a key derived from the enrollment group's key).

mod enrollments;
pub mod mqtt;
pub mod persist;
pub mod registration;
mod runtime;
pub mod state;

use crate::cloud::Cloud;
use crate::dps::state::Dps;
use crate::sas::{self, SasError};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

const SERVICE_VERSIONS: &[&str] = crate::api_versions::DPS_SERVICE;
const RUNTIME_VERSIONS: &[&str] = crate::api_versions::DPS_DEVICE;

#[derive(Clone)]
pub struct DpsCtx {
    pub cloud: Arc<Cloud>,
    pub dps: Arc<Dps>,
}

pub fn router(cloud: Arc<Cloud>, dps: Arc<Dps>) -> Router {
    Router::new()
        .route("/enrollmentGroups/{id}", get(enrollments::groups::get).put(enrollments::groups::put).delete(enrollments::groups::delete))
        .route("/enrollmentGroups/query", post(enrollments::groups::query))
        .route("/enrollments/{id}", get(enrollments::individual::get).put(enrollments::individual::put).delete(enrollments::individual::delete))
        .route("/enrollments/query", post(enrollments::individual::query))
        .route("/registrations/{id}", get(runtime::registration_state))
        .route("/registrations/{id}/query", post(runtime::registration_states_of_group))
        .route("/{scope}/registrations/{id}/register", put(runtime::register))
        .route("/{scope}/registrations/{id}/operations/{op}", get(runtime::operation_status))
        .fallback(|| async { DpsError::new(StatusCode::NOT_FOUND, 404000, "The sandbox cloud does not serve this DPS operation yet.") })
        .layer(axum::middleware::from_fn_with_state(Some("dps"), crate::rejections::reshape))
        .layer(axum::middleware::from_fn_with_state((cloud.clone(), Some("dps")), crate::faults::apply))
        .with_state(DpsCtx { cloud, dps })
}

/// DPS's error body (`ProvisioningServiceErrorDetails` in the spec).
#[derive(Debug)]
pub struct DpsError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

impl DpsError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> DpsError {
        DpsError { status, code, message: message.into() }
    }
    fn unauthorized(why: SasError) -> DpsError {
        DpsError::new(StatusCode::UNAUTHORIZED, 401002, format!("Unauthorized ({why:?})"))
    }
}

impl IntoResponse for DpsError {
    fn into_response(self) -> Response {
        let stamp = crate::timestamps::now_rfc3339();
        let body = json!({"errorCode": self.code, "trackingId": crate::tokens::random_token(16), "message": self.message, "timestampUtc": stamp});
        (self.status, Json(body)).into_response()
    }
}

fn check_version(query: &HashMap<String, String>, supported: &[&str]) -> Result<(), DpsError> {
    match query.get("api-version").map(String::as_str) {
        Some(v) if supported.contains(&v) => Ok(()),
        other => Err(DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("The api-version '{}' is not supported.", other.unwrap_or_default()))),
    }
}

impl DpsCtx {
    /// Service API calls: api-version, then a SAS from one of the DPS's policies holding `right`.
    pub fn authorize_service(&self, headers: &HeaderMap, query: &HashMap<String, String>, right: &'static str) -> Result<(), DpsError> {
        check_version(query, SERVICE_VERSIONS)?;
        let header = headers.get("authorization").and_then(|v| v.to_str().ok());
        if let Some(bearer) = header.filter(|h| h.starts_with("Bearer ")) {
            return self
                .cloud
                .bearer_allows(bearer, crate::entra::Resource::Dps, &self.dps.placement.subscription_id)
                .map_err(|why| DpsError::new(StatusCode::UNAUTHORIZED, 401002, format!("Unauthorized: {why}")));
        }
        sas::verify(header, &self.dps.host, self.cloud.now(), &self.dps.policies, right).map(|_| ()).map_err(DpsError::unauthorized)
    }
}
