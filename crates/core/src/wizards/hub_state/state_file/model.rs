//! What a state file holds, field by field as `az iot hub state export` (azure-iot 0.25.0,
//! `azext_iot/iothub/providers/state.py`) writes it, so a file from either tool imports in the other:
//!
//! ```text
//! { "arm": <ARM template of the hub and its certificates>,
//!   "configurations": { "admConfigurations": { id: configuration }, "edgeDeployments": { id: configuration } },
//!   "devices": { id: { "identity": {...}, "twin": {...}, "parent": "edge-id", "modules": { id: { "identity", "twin" } } } } }
//! ```
//!
//! Fields are declared in the order of their JSON names: the CLI writes with `sort_keys=True`.
//! Keys are written in clear (the CLI's importer needs them); `Secret` keeps them out of logs.
//! A device's edge parent is its ID (the CLI strips the `ms-azure-iot-edge://` scope and the
//! generation suffix of `parentScopes`); the hub writes the scopes again when the parent is set.

use iotm_azure::secret::{on_the_wire_opt, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The state format this app writes and reads up to. A CLI file has no version: it is version 1.
pub const FORMAT_VERSION: u32 = 1;
/// The top-level key that carries the version. `$` sorts first, so even a file re-sorted by
/// Python's `json.dump(sort_keys=True)` names its version before any device.
pub const VERSION_KEY: &str = "$iotMigratorFormatVersion";

/// `admConfigurations` and `edgeDeployments`, by configuration ID. A hub holds at most a few
/// hundred, so they are read and written whole; devices are the part that streams.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationsState {
    /// Both keys are always written: the CLI's importer reads each without a default.
    #[serde(default)]
    pub adm_configurations: BTreeMap<String, ConfigurationState>,
    #[serde(default)]
    pub edge_deployments: BTreeMap<String, ConfigurationState>,
}

impl ConfigurationsState {
    pub fn len(&self) -> usize {
        self.adm_configurations.len() + self.edge_deployments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every configuration, ADM ones first then edge deployments, as the CLI imports them.
    pub fn all(&self) -> impl Iterator<Item = &ConfigurationState> {
        self.adm_configurations.values().chain(self.edge_deployments.values())
    }
}

/// An automatic device management configuration or an IoT Edge deployment, as the hub's
/// `Configuration` (service.json). What the importer sends: content, targetCondition, priority,
/// labels, metrics. The rest (systemMetrics, and for edge deployments the CLI's copy of etag and
/// timestamps) is kept as read so a file writes back as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationState {
    pub content: ConfigurationContent,
    pub id: String,
    /// The CLI writes `null` when the hub has none.
    #[serde(default)]
    pub labels: Value,
    #[serde(default)]
    pub metrics: Value,
    pub priority: i64,
    pub target_condition: String,
    /// Service-generated fields (systemMetrics, createdTimeUtc, etag, …), never sent on import.
    #[serde(flatten)]
    pub service: BTreeMap<String, Value>,
}

impl ConfigurationState {
    /// An edge deployment carries `modulesContent` (the hub shows every section, empty ones as `{}`,
    /// so an empty one says nothing); a layered one has no `properties.desired` of
    /// its own for `$edgeAgent` and goes after the full ones (as the CLI orders them).
    pub fn is_edge_deployment(&self) -> bool {
        self.content.modules_content.as_ref().is_some_and(|m| !m.is_empty())
    }

    pub fn is_layered(&self) -> bool {
        self.content
            .modules_content
            .as_ref()
            .is_some_and(|m| m.get("$edgeAgent").and_then(Value::as_object).is_none_or(|agent| !agent.contains_key("properties.desired")))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_content: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_content: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules_content: Option<Map<String, Value>>,
}

/// One device: its identity (with keys or thumbprints), its twin's tags and desired properties,
/// its edge parent, its modules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceState {
    pub identity: DeviceIdentityState,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modules: BTreeMap<String, ModuleState>,
    /// The edge device this one is a child of, by ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub twin: TwinState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentityState {
    pub authentication: AuthenticationState,
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Written by the CLI (it copies the twin's); never sent on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// `enabled` or `disabled`.
    pub status: DeviceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeviceStatus {
    Enabled,
    Disabled,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Enabled => "enabled",
            DeviceStatus::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    #[serde(default)]
    pub iot_edge: bool,
}

/// How a device or module authenticates. `x509Thumbprint` is always written (nulls for a SAS
/// device): the CLI's importer reads it for every device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetric_key: Option<SymmetricKeys>,
    #[serde(rename = "type")]
    pub kind: AuthKind,
    #[serde(default)]
    pub x509_thumbprint: Thumbprints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthKind {
    Sas,
    SelfSigned,
    CertificateAuthority,
    /// Modules the edge runtime manages (`$edgeAgent`, `$edgeHub`, deployment modules).
    None,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Sas => "sas",
            AuthKind::SelfSigned => "selfSigned",
            AuthKind::CertificateAuthority => "certificateAuthority",
            AuthKind::None => "none",
        }
    }
}

/// A device's or module's keys, in clear in the file, redacted anywhere else.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymmetricKeys {
    #[serde(default, serialize_with = "on_the_wire_opt")]
    pub primary_key: Option<Secret<String>>,
    #[serde(default, serialize_with = "on_the_wire_opt")]
    pub secondary_key: Option<Secret<String>>,
}

impl PartialEq for SymmetricKeys {
    fn eq(&self, other: &SymmetricKeys) -> bool {
        let exposed = |k: &Option<Secret<String>>| k.as_ref().map(|s| s.expose().clone());
        exposed(&self.primary_key) == exposed(&other.primary_key) && exposed(&self.secondary_key) == exposed(&other.secondary_key)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thumbprints {
    #[serde(default)]
    pub primary_thumbprint: Option<String>,
    #[serde(default)]
    pub secondary_thumbprint: Option<String>,
}

/// What of a twin moves: tags and desired properties (reported ones belong to the device, and
/// `$metadata` / `$version` to the hub). Module twins carry their modelId and status too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwinState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default)]
    pub properties: DesiredProperties,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredProperties {
    #[serde(default)]
    pub desired: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleState {
    pub identity: ModuleIdentityState,
    pub twin: TwinState,
}

impl ModuleState {
    /// Modules the edge runtime owns: the CLI sets them through the device's deployment
    /// (`applyConfigurationContent`) rather than creating them.
    pub fn is_edge_managed(&self, module_id: &str) -> bool {
        module_id.starts_with('$') || self.identity.authentication.kind == AuthKind::None
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleIdentityState {
    pub authentication: AuthenticationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<String>,
    /// `iotEdge` for modules the edge runtime created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}
