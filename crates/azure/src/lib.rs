//! Every Azure call IoT Migrator makes goes through one `Pipeline`: the chosen cloud's host
//! allow-list, a `Credential` (Entra ID token, SAS or Central API token), a client request ID,
//! client-side rate limits, retries that honour Retry-After, and logs with no secret in them.
//! On it sit the typed clients, one per service, with the operations the migration wizards need:
//! `arm` (subscriptions, resource groups, Central apps, IoT hubs, DPS), `central` (an app's
//! devices, templates, groups, enrollment groups, jobs, commands), `hub` (device identities and
//! twins) and `dps` (enrollment groups, registration states). Tauri-free.

pub mod arm;
pub mod auth;
pub mod blob;
pub mod blob_blocks;
pub mod central;
pub mod cloud;
mod data_plane;
pub mod dps;
pub mod error;
pub mod hub;
mod hub_configurations;
pub mod hub_jobs;
mod hub_modules;
pub mod oauth;
pub mod pager;
pub mod pipeline;
pub mod poller;
pub mod rate_limit;
pub mod redact;
pub mod request;
mod retry;
pub mod sas;
pub mod secret;
pub mod user;

pub use auth::{CentralApiToken, ClientSecretCredential, Credential};
pub use cloud::{Cloud, Service};
pub use error::{AzureError, ServiceError};
pub use pager::{PageToken, Pager};
pub use pipeline::{Pipeline, PipelineOptions};
pub use poller::Poller;
pub use rate_limit::{Rate, RateLimits};
pub use request::{Request, Response};
pub use sas::{ConnectionString, SasCredential};
pub use secret::Secret;
pub use user::{UserApp, UserCredential};

/// Tauri runs commands on a multi-threaded runtime: every client and every future they return
/// must be `Send`. This does not run; it fails to compile if one is not.
#[cfg(test)]
#[allow(dead_code, clippy::let_underscore_future)]
fn the_clients_and_their_futures_cross_threads(arm: arm::ArmClient, central: central::CentralClient, hub: hub::HubClient, dps: dps::DpsClient) {
    fn send<T: Send + 'static>(_: T) {}
    send(async move {
        let _ = arm.subscriptions().unwrap().all().await;
        let _ = arm.create_or_update_iot_hub("s", "g", "h", &arm::models::IotHub::new("l", "S1", 1), None).await.unwrap().wait().await;
        let _ = central.devices().unwrap().next_page().await;
        let _ = hub.device("d").await;
        let _ = dps.enrollment_groups(10).unwrap().all().await;
    });
}
