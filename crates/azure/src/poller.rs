//! ARM long-running operations (a hub or DPS created or rescaled). ARM answers the PUT at once and
//! says where to watch: `Azure-AsyncOperation` (a status document: `InProgress`/`Running`, then
//! `Succeeded`, `Failed` or `Canceled`) or `Location` (202 until done). The poller waits as long as
//! `Retry-After` asks (at most the pipeline's `max_retry_delay`), checks each status URL against the
//! allow-list like any request and pins it to the resource's own host (`request::same_host`), gives
//! up after an overall timeout, and ends with a GET of the resource itself.

use crate::auth::Credential;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::{Request, Response};
use crate::retry::retry_after;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// Where ARM said to watch the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Watch {
    AsyncOperation(Url),
    Location(Url),
    /// Neither header: watch the resource's own `provisioningState`.
    Resource,
}

#[derive(Deserialize)]
struct OperationStatus {
    status: String,
    #[serde(default)]
    error: Option<OperationError>,
}

#[derive(Deserialize, Default)]
struct OperationError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProvisioningState {
    #[serde(default)]
    properties: Option<ProvisioningProperties>,
}

#[derive(Deserialize, Default)]
struct ProvisioningProperties {
    #[serde(default, rename = "provisioningState")]
    provisioning_state: Option<String>,
}

pub struct Poller<T> {
    pipeline: Pipeline,
    credential: Arc<dyn Credential>,
    resource: Request,
    watch: Watch,
    first_wait: Option<Duration>,
    /// Whether the first answer already said the work is done.
    done: bool,
    timeout: Duration,
    interval: Duration,
    _resource: PhantomData<fn() -> T>,
}

fn is_terminal(state: &str) -> bool {
    ["succeeded", "failed", "canceled", "cancelled"].contains(&state.to_ascii_lowercase().as_str())
}

impl<T: DeserializeOwned> Poller<T> {
    /// Starts watching after `response` answered a PUT of the resource at `resource` (a GET of the
    /// same URL, which the poller sends when the work is done).
    pub fn new(pipeline: Pipeline, credential: Arc<dyn Credential>, resource: Request, response: &Response) -> Result<Poller<T>, AzureError> {
        let link = |name: &str| -> Result<Option<Url>, AzureError> {
            let Some(value) = response.header(name) else { return Ok(None) };
            let url = resource.url.join(value).map_err(|e| AzureError::Decode {
                service: Service::Arm,
                expected: format!("a URL in the {name} header"),
                detail: e.to_string(),
            })?;
            pipeline.cloud().allows(&url)?;
            crate::request::same_host(&resource.url, &url, &format!("The {name} header"))?;
            Ok(Some(url))
        };
        let watch = match (link("azure-asyncoperation")?, link("location")?) {
            (Some(url), _) => Watch::AsyncOperation(url),
            (None, Some(url)) => Watch::Location(url),
            (None, None) => Watch::Resource,
        };
        let state: ProvisioningState = serde_json::from_slice(&response.body).unwrap_or_default();
        let settled = state.properties.and_then(|p| p.provisioning_state).is_none_or(|s| is_terminal(&s));
        let done = watch == Watch::Resource && response.status.as_u16() != 202 && settled;
        Ok(Poller {
            pipeline,
            credential,
            resource,
            watch,
            first_wait: retry_after(&response.headers, SystemTime::now()),
            done,
            timeout: Duration::from_secs(30 * 60),
            interval: Duration::from_secs(5),
            _resource: PhantomData,
        })
    }

    /// Gives up after `timeout` in all (the default is 30 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Poller<T> {
        self.timeout = timeout;
        self
    }

    /// The wait between polls when the service names none.
    pub fn with_interval(mut self, interval: Duration) -> Poller<T> {
        self.interval = interval;
        self
    }

    /// Waits for the operation to end; the resource as it then is, or why it failed.
    pub async fn wait(self) -> Result<T, AzureError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let cap = self.pipeline.options().max_retry_delay;
        let mut wait = self.first_wait.unwrap_or(self.interval).min(cap);
        let mut done = self.done;
        let mut polls = 0u32;
        while !done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AzureError::Timeout { service: Service::Arm, what: format!("the end of {}", self.resource.operation), after: started.elapsed() });
            }
            tokio::time::sleep(wait.min(left)).await;
            polls += 1;
            let (finished, asked) = self.poll().await?;
            done = finished;
            wait = asked.unwrap_or(self.interval).min(cap);
        }
        tracing::debug!(operation = self.resource.operation, polls, duration_ms = started.elapsed().as_millis() as u64, "long-running operation finished");
        let response = self.pipeline.send(&self.resource, Some(self.credential.as_ref())).await?;
        response.json("the resource after its long-running operation")
    }

    /// One look at the operation: finished or not, and how long the service asks to wait.
    async fn poll(&self) -> Result<(bool, Option<Duration>), AzureError> {
        let url = match &self.watch {
            Watch::AsyncOperation(url) | Watch::Location(url) => url.clone(),
            Watch::Resource => self.resource.url.clone(),
        };
        let request = Request::get(Service::Arm, self.resource.operation, url).partition(self.resource.partition.clone());
        let response = self.pipeline.send(&request, Some(self.credential.as_ref())).await?;
        let asked = retry_after(&response.headers, SystemTime::now());
        let finished = match &self.watch {
            Watch::AsyncOperation(_) => {
                let status: OperationStatus = response.json("an operation status")?;
                match status.status.to_ascii_lowercase().as_str() {
                    "succeeded" => true,
                    "failed" | "canceled" | "cancelled" => {
                        let error = status.error.unwrap_or_default();
                        return Err(AzureError::OperationFailed {
                            status: status.status,
                            code: error.code,
                            message: crate::redact::scrub(&error.message.unwrap_or_else(|| "no reason given".into())),
                        });
                    }
                    _ => false,
                }
            }
            Watch::Location(_) => response.status.as_u16() != 202,
            Watch::Resource => {
                let state: ProvisioningState = response.json("a resource with a provisioningState")?;
                match state.properties.and_then(|p| p.provisioning_state) {
                    Some(s) if s.eq_ignore_ascii_case("succeeded") => true,
                    Some(s) if is_terminal(&s) => {
                        return Err(AzureError::OperationFailed { status: s, code: None, message: "the resource's provisioning did not succeed".into() })
                    }
                    Some(_) => false,
                    None => true,
                }
            }
        };
        Ok((finished, asked))
    }
}
