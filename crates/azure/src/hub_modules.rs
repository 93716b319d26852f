//! A hub's module identities and the writes of device and module twins (service.json 2021-04-12:
//! `Modules_*`, `Devices_ReplaceTwin`, `Modules_GetTwin` / `Modules_ReplaceTwin`), and the
//! deployment an edge device is given directly (`Configuration_ApplyOnEdgeDevice`), which is how
//! the modules the edge runtime manages (`$edgeAgent`, `$edgeHub`, …) get their desired properties.

use crate::error::AzureError;
use crate::hub::{DeviceAuthentication, HubClient, Twin};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A module identity on a device.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleIdentity {
    pub module_id: String,
    pub device_id: String,
    /// `iotEdge` for modules the edge runtime created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing)]
    pub connection_state: Option<String>,
    #[serde(default)]
    pub authentication: Option<DeviceAuthentication>,
}

impl HubClient {
    /// `Modules_GetModulesOnDevice`: every module of a device, with its keys.
    pub async fn modules(&self, device_id: &str) -> Result<Vec<ModuleIdentity>, AzureError> {
        self.plane.call(self.plane.request("Modules_GetModulesOnDevice", Method::GET, &["devices", device_id, "modules"])?, "the modules of a device").await
    }

    /// `Modules_CreateOrUpdateIdentity`: creates the module (no `if_match`) or replaces it.
    pub async fn create_or_update_module(&self, module: &ModuleIdentity, if_match: Option<&str>) -> Result<ModuleIdentity, AzureError> {
        let request = self
            .plane
            .request("Modules_CreateOrUpdateIdentity", Method::PUT, &["devices", &module.device_id, "modules", &module.module_id])?
            .json(module)?
            .if_match(if_match)?;
        self.plane.call(request, "the module identity written").await
    }

    /// `Modules_DeleteIdentity`.
    pub async fn delete_module(&self, device_id: &str, module_id: &str, if_match: Option<&str>) -> Result<(), AzureError> {
        let request = self.plane.request("Modules_DeleteIdentity", Method::DELETE, &["devices", device_id, "modules", module_id])?.if_match(if_match)?;
        self.plane.send(request).await
    }

    /// `Modules_GetTwin`.
    pub async fn module_twin(&self, device_id: &str, module_id: &str) -> Result<Value, AzureError> {
        self.plane.call(self.twin_request("Modules_GetTwin", Method::GET, &["twins", device_id, "modules", module_id])?, "a module twin").await
    }

    /// `Devices_ReplaceTwin`: the twin's tags and desired properties become exactly `twin`'s.
    pub async fn replace_twin(&self, device_id: &str, twin: &Value, if_match: Option<&str>) -> Result<Twin, AzureError> {
        let request = self.twin_request("Devices_ReplaceTwin", Method::PUT, &["twins", device_id])?.json(twin)?.if_match(if_match)?;
        self.plane.call(request, "the device twin written").await
    }

    /// `Modules_ReplaceTwin`.
    pub async fn replace_module_twin(&self, device_id: &str, module_id: &str, twin: &Value, if_match: Option<&str>) -> Result<Value, AzureError> {
        let request = self.twin_request("Modules_ReplaceTwin", Method::PUT, &["twins", device_id, "modules", module_id])?.json(twin)?.if_match(if_match)?;
        self.plane.call(request, "the module twin written").await
    }

    /// `Configuration_ApplyOnEdgeDevice`: `{"modulesContent": {...}}` for one edge device.
    pub async fn apply_configuration_content(&self, device_id: &str, content: &Value) -> Result<(), AzureError> {
        let request =
            self.plane.request("Configuration_ApplyOnEdgeDevice", Method::POST, &["devices", device_id, "applyConfigurationContent"])?.json(content)?;
        self.plane.send(request).await
    }
}
