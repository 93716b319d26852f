//! What the IoT Hub and DPS clients share: one service instance at `https://<host>/`, reached with
//! one credential, each request built from path segments (escaped) with the service's api-version
//! and rate-limited per instance.

use crate::auth::Credential;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::{with_api_version, Request};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use url::Url;

#[derive(Clone)]
pub(crate) struct DataPlane {
    pub pipeline: Pipeline,
    pub credential: Arc<dyn Credential>,
    pub host: String,
    service: Service,
    api_version: &'static str,
    /// What an ID is called in this service's errors ("A device ID").
    id_name: &'static str,
}

impl DataPlane {
    pub fn new(
        pipeline: Pipeline,
        credential: Arc<dyn Credential>,
        host: &str,
        service: Service,
        api_version: &'static str,
        id_name: &'static str,
    ) -> DataPlane {
        DataPlane { pipeline, credential, host: host.to_ascii_lowercase(), service, api_version, id_name }
    }

    pub fn request(&self, operation: &'static str, method: Method, segments: &[&str]) -> Result<Request, AzureError> {
        if segments.iter().any(|s| s.is_empty()) {
            return Err(AzureError::InvalidInput { what: self.id_name.into(), problem: "must not be empty".into() });
        }
        let mut url = Url::parse(&format!("https://{}/", self.host))
            .map_err(|e| AzureError::InvalidInput { what: format!("The host {}", self.host), problem: e.to_string() })?;
        url.path_segments_mut()
            .map_err(|_| AzureError::InvalidInput { what: format!("The address of {}", self.host), problem: "cannot take a path".into() })?
            .clear()
            .extend(segments);
        Ok(Request::new(self.service, operation, method, with_api_version(url, self.api_version)).partition(self.host.clone()))
    }

    pub async fn call<T: DeserializeOwned>(&self, request: Request, expected: &str) -> Result<T, AzureError> {
        self.pipeline.send(&request, Some(self.credential.as_ref())).await?.json(expected)
    }

    /// For answers without a body (deletes).
    pub async fn send(&self, request: Request) -> Result<(), AzureError> {
        self.pipeline.send(&request, Some(self.credential.as_ref())).await.map(drop)
    }
}
