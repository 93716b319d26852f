//! The DPS device runtime API (`device.json`, 2021-06-01 as the device SDKs send it): a device
//! with a symmetric key registers and its operation is polled until DPS has assigned it (or
//! failed). The wizards use it to prove a change with a throwaway device, as a real one would.

use super::RegistrationState;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::{with_api_version, Request};
use crate::sas::sas_token;
use crate::secret::Secret;
use reqwest::Method;
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

const RUNTIME_VERSION: &str = "2021-06-01";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    operation_id: String,
    status: String,
    #[serde(default)]
    registration_state: Option<RegistrationState>,
}

/// Registers `registration_id` with its own key at `host` (the DPS's device endpoint) under
/// `id_scope`, and waits (polling every `interval`, up to `timeout`) for the outcome.
pub async fn register_with_key(
    pipeline: &Pipeline,
    host: &str,
    id_scope: &str,
    registration_id: &str,
    key: &Secret<String>,
    interval: Duration,
    timeout: Duration,
) -> Result<RegistrationState, AzureError> {
    let expiry = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) + 3600;
    let token = sas_token(&format!("{id_scope}/registrations/{registration_id}"), key, None, expiry)?;
    let url = |segments: &[&str]| -> Result<Url, AzureError> {
        let mut url =
            Url::parse(&format!("https://{host}/")).map_err(|e| AzureError::InvalidInput { what: format!("The host {host}"), problem: e.to_string() })?;
        url.path_segments_mut()
            .map_err(|_| AzureError::InvalidInput { what: format!("The host {host}"), problem: "cannot take a path".into() })?
            .clear()
            .extend(segments);
        Ok(with_api_version(url, RUNTIME_VERSION))
    };
    let put = Request::new(Service::Dps, "RuntimeRegistration_RegisterDevice", Method::PUT, url(&[id_scope, "registrations", registration_id, "register"])?)
        .json(&serde_json::json!({"registrationId": registration_id}))?
        .header("authorization", token.expose())?;
    let mut operation: Operation = pipeline.send(&put, None).await?.json("a registration operation")?;
    let deadline = std::time::Instant::now() + timeout;
    while operation.status.eq_ignore_ascii_case("assigning") || operation.status.eq_ignore_ascii_case("unassigned") {
        if std::time::Instant::now() > deadline {
            return Err(AzureError::InvalidInput { what: format!("The registration of {registration_id}"), problem: "did not finish in time".into() });
        }
        tokio::time::sleep(interval).await;
        let get = Request::new(
            Service::Dps,
            "RuntimeRegistration_OperationStatusLookup",
            Method::GET,
            url(&[id_scope, "registrations", registration_id, "operations", &operation.operation_id])?,
        )
        .header("authorization", token.expose())?
        .retry_safe(true);
        operation = pipeline.send(&get, None).await?.json("a registration operation")?;
    }
    operation.registration_state.ok_or_else(|| AzureError::InvalidInput {
        what: format!("The registration of {registration_id}"),
        problem: format!("ended '{}' without a registration state", operation.status),
    })
}
