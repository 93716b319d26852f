//! IoT Hub's service API, the device-registry part: device identities (get, list, create/update
//! with ETags, delete), device twins and the twin query, authorised by the hub's shared access
//! policies; modules, module twins, the bulk registry, configurations, direct methods and the
//! service statistics, each throttled per hub at its tier's documented rates (quotas/).

mod access;
mod apply_content;
pub mod arm_view;
mod bulk;
mod configurations;
pub mod consumer_groups;
pub mod device_mqtt;
mod devices;
mod errors;
pub mod identity;
pub mod jobs;
pub mod live_devices;
mod methods;
pub mod module_identity;
mod modules;
pub mod persist;
pub(crate) mod query;
pub mod quotas;
pub mod routing;
pub mod state;
pub mod twin;
mod twins;

use crate::cloud::Cloud;
use crate::hub::state::Hub;
use crate::sas::{self, SasError};
pub use access::{access_rights, ConnectionRefusal, ACCESS_RIGHTS};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::Router;
pub use configurations::Configuration;
pub use errors::HubError;
use std::collections::HashMap;
use std::sync::Arc;

/// Every api-version the hub's service API has published (api_versions.rs).
const API_VERSIONS: &[&str] = crate::api_versions::HUB_SERVICE;

#[derive(Clone)]
pub struct HubCtx {
    pub cloud: Arc<Cloud>,
    pub hub: Arc<Hub>,
}

pub fn router(cloud: Arc<Cloud>, hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/devices", get(devices::list).post(bulk::update_registry))
        .route("/devices/query", post(query::twins))
        .route("/devices/{id}", get(devices::get).put(devices::put).delete(devices::delete))
        .route("/statistics/devices", get(devices::statistics))
        // Twins, modules, configurations and direct methods (hub-api).
        .route("/twins/{id}", get(twins::get).patch(twins::update).put(twins::replace))
        .route("/twins/{id}/modules/{mid}", get(twins::get_module).patch(twins::update_module).put(twins::replace_module))
        .route("/twins/{id}/methods", post(methods::device))
        .route("/twins/{id}/modules/{mid}/methods", post(methods::module))
        .route("/devices/{id}/modules", get(modules::list))
        .route("/devices/{id}/applyConfigurationContent", post(apply_content::apply))
        .route("/devices/{id}/modules/{mid}", put(modules::put).get(modules::get).delete(modules::delete))
        .route("/configurations", get(configurations::list))
        .route("/configurations/testQueries", post(configurations::test_queries))
        .route("/configurations/{id}", put(configurations::put).get(configurations::get).delete(configurations::delete))
        .route("/statistics/service", get(devices::service_statistics))
        // Import/export jobs (hub/jobs).
        .route("/jobs", get(jobs::list))
        .route("/jobs/create", post(jobs::create))
        .route("/jobs/{id}", get(jobs::get).delete(jobs::cancel))
        .fallback(|| async { HubError::not_served() })
        .layer(axum::middleware::from_fn_with_state(Some("hub"), crate::rejections::reshape))
        .layer(axum::middleware::from_fn_with_state((cloud.clone(), hub.clone()), quotas::apply))
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
            return self
                .cloud
                .bearer_allows(bearer, crate::entra::Resource::IotHub, &self.hub.placement.subscription_id)
                .map_err(|why| HubError::unauthorized(&why));
        }
        if self.hub.local_auth_disabled() {
            return Err(HubError::unauthorized("local authentication is disabled on this hub: use a Microsoft Entra token"));
        }
        sas::verify(header, &self.hub.host, self.cloud.now(), &self.hub.policies(), right).map(|_| ()).map_err(|e| match e {
            SasError::MissingRight(r) => HubError::unauthorized(&format!("the policy lacks the {r} permission")),
            other => HubError::unauthorized(&format!("{other:?}")),
        })
    }
}
