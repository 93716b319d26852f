//! IoT Central application API models (2022-07-31, `iotcentral.json` in the specs): devices and
//! their credentials, device templates, device groups, enrollment groups, jobs and commands.
//! Unknown fields are tolerated; device keys are `Secret`s.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(default, skip_serializing)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The device template's ID (a DTMI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Read-only: whether the device has provisioned through the app's DPS.
    #[serde(default, skip_serializing)]
    pub provisioned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
}

/// What a device connects with: the app's ID scope and its derived keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCredentials {
    pub id_scope: String,
    #[serde(default)]
    pub symmetric_key: Option<SymmetricKey>,
    #[serde(default)]
    pub x509: Option<Value>,
    #[serde(default)]
    pub tpm: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymmetricKey {
    pub primary_key: Secret<String>,
    pub secondary_key: Secret<String>,
}

/// How a device proves itself: `symmetricKey`, `x509` or `tpm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub symmetric_key: Option<SymmetricKey>,
    #[serde(default)]
    pub x509: Option<Value>,
    #[serde(default)]
    pub tpm: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceTemplate {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type", default)]
    pub types: Vec<String>,
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    /// The DTDL model; the wizards look in it for the DeviceMigration component.
    #[serde(rename = "capabilityModel", default)]
    pub capability_model: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceGroup {
    pub id: String,
    pub display_name: String,
    /// e.g. `SELECT * FROM devices WHERE $template = "dtmi:…"`.
    pub filter: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentGroup {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `iot` or `iotEdge`.
    #[serde(rename = "type")]
    pub kind: String,
    pub attestation: Attestation,
    #[serde(default)]
    pub etag: Option<String>,
}

/// A job: one command (or property) run over a device group, in batches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(default, skip_serializing)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The device group's ID.
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<JobBatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_threshold: Option<JobCancellationThreshold>,
    pub data: Vec<JobData>,
    #[serde(default, skip_serializing)]
    pub start: Option<String>,
    #[serde(default, skip_serializing)]
    pub end: Option<String>,
    #[serde(default, skip_serializing)]
    pub progress: Option<JobProgress>,
    /// Read-only: `running`, `stopped`, `completed`, `cancelled`, `failed`…
    #[serde(default, skip_serializing)]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobBatch {
    /// `number` or `percentage`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobCancellationThreshold {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: f64,
    /// Counted per batch rather than over the whole job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<bool>,
}

/// What a job does: `{"type":"command","target":"<template>","path":"<component>.<command>","value":…}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobData {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

impl JobData {
    pub fn command(template: &str, path: &str, value: Value) -> JobData {
        JobData { kind: "command".into(), target: template.into(), path: path.into(), value }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobProgress {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub pending: u64,
    #[serde(default)]
    pub completed: u64,
    #[serde(default)]
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobDeviceStatus {
    pub id: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
}

/// A command run now on one device, and its answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCommand {
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// Seconds to wait for the device to connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_timeout: Option<u64>,
    /// Seconds to wait for its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub request: Value,
    #[serde(default, skip_serializing)]
    pub response: Value,
    #[serde(default, skip_serializing)]
    pub response_code: Option<u16>,
}
