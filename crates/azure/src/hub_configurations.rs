//! A hub's configurations — automatic device management and IoT Edge deployments — (service.json
//! 2021-04-12, `Configuration_*`). Carried as JSON: the Hub state wizard's file model is the typed
//! one, and the hub adds fields (systemMetrics, timestamps) it keeps as they come.

use crate::error::AzureError;
use crate::hub::HubClient;
use reqwest::Method;
use serde_json::Value;

/// The most configurations `Configuration_GetConfigurations` returns (its `top` limit).
pub const MAX_CONFIGURATIONS: u32 = 1000;

impl HubClient {
    /// `Configuration_GetConfigurations`: every configuration (a hub holds at most a few hundred).
    pub async fn configurations(&self) -> Result<Vec<Value>, AzureError> {
        let mut request = self.plane.request("Configuration_GetConfigurations", Method::GET, &["configurations"])?;
        request.url.query_pairs_mut().append_pair("top", &MAX_CONFIGURATIONS.to_string());
        self.plane.call(request, "a list of configurations").await
    }

    /// `Configuration_CreateOrUpdate`: creates it (no `if_match`) or replaces it (`*` or its ETag).
    pub async fn create_or_update_configuration(&self, id: &str, configuration: &Value, if_match: Option<&str>) -> Result<Value, AzureError> {
        let request = self.plane.request("Configuration_CreateOrUpdate", Method::PUT, &["configurations", id])?.json(configuration)?.if_match(if_match)?;
        self.plane.call(request, "the configuration written").await
    }

    /// `Configuration_Delete`.
    pub async fn delete_configuration(&self, id: &str, if_match: Option<&str>) -> Result<(), AzureError> {
        let request = self.plane.request("Configuration_Delete", Method::DELETE, &["configurations", id])?.if_match(if_match)?;
        self.plane.send(request).await
    }
}
