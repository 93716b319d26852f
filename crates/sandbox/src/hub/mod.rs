//! IoT Hub's service API, the device-registry part: device identities (get, list, create/update
//! with ETags, delete), device twins and the twin query, authorised by the hub's shared access
//! policies. Modules, configurations, bulk jobs and quotas extend this module in "Sandbox cloud, part 2".

mod devices;
mod errors;
pub mod identity;
pub mod jobs;
mod query;

use crate::cloud::Cloud;
use crate::live::Hub;
use crate::sas::{self, SasError};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
pub use errors::HubError;
use std::collections::HashMap;
use std::sync::Arc;

/// api-versions the service SDKs send (azure-iot-hub 2.x: 2021-04-12).
const API_VERSIONS: &[&str] = &["2020-03-13", "2020-09-30", "2021-04-12", "2021-11-30", "2023-06-30"];

#[derive(Clone)]
pub struct HubCtx {
    pub cloud: Arc<Cloud>,
    pub hub: Arc<Hub>,
}

pub fn router(cloud: Arc<Cloud>, hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/devices", get(devices::list))
        .route("/devices/query", post(query::twins))
        .route("/devices/{id}", get(devices::get).put(devices::put).delete(devices::delete))
        .route("/twins/{id}", get(devices::get_twin))
        .route("/statistics/devices", get(devices::statistics))
        // Import/export jobs (hub/jobs).
        .route("/jobs", get(jobs::list))
        .route("/jobs/create", post(jobs::create))
        .route("/jobs/{id}", get(jobs::get).delete(jobs::cancel))
        .fallback(|| async { HubError::not_served() })
        .layer(axum::middleware::from_fn_with_state(Some("hub"), crate::rejections::reshape))
        .layer(axum::middleware::from_fn_with_state((cloud.clone(), Some("hub")), crate::faults::apply))
        .with_state(HubCtx { cloud, hub })
}

impl HubCtx {
    /// api-version first, then the SAS token, as the service answers.
    pub fn authorize(&self, headers: &HeaderMap, query: &HashMap<String, String>, right: &'static str) -> Result<(), HubError> {
        match query.get("api-version").map(String::as_str) {
            Some(v) if API_VERSIONS.contains(&v) => {}
            other => return Err(HubError::bad_api_version(other)),
        }
        let header = headers.get("authorization").and_then(|v| v.to_str().ok());
        if let Some(bearer) = header.filter(|h| h.starts_with("Bearer ")) {
            return self.cloud.bearer_allows(bearer, crate::entra::Resource::IotHub, &self.hub.placement.subscription_id).map_err(|why| HubError::unauthorized(&why));
        }
        sas::verify(header, &self.hub.host, self.cloud.now(), &self.hub.policies, right).map(|_| ()).map_err(|e| match e {
            SasError::MissingRight(r) => HubError::unauthorized(&format!("the policy lacks the {r} permission")),
            other => HubError::unauthorized(&format!("{other:?}")),
        })
    }
}
