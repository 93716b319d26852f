//! One Device Provisioning Service instance's service API (2021-10-01, `service.json` in the
//! specs): the enrollment groups devices are moved into (get, create or update with If-Match,
//! delete, query with `x-ms-continuation` paging) and the registration state that shows where a
//! device landed. Signed with a DPS shared access policy's key from its connection string.

use crate::cloud::Service;
use crate::data_plane::DataPlane;
use crate::error::AzureError;
use crate::pager::{Continuation, Pager};
use crate::pipeline::Pipeline;
use crate::sas::{ConnectionString, SasCredential};
use crate::secret::{on_the_wire_opt, Secret};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub mod device;
mod individual;
pub use individual::IndividualEnrollment;

const API_VERSION: &str = "2021-10-01";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentGroup {
    pub enrollment_group_id: String,
    pub attestation: AttestationMechanism,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reprovision_policy: Option<ReprovisionPolicy>,
    /// `hashed`, `geoLatency`, `static` or `custom`; the DPS's own policy when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_policy: Option<String>,
    /// The linked hubs (host names) this group may assign to; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iot_hubs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_twin: Option<Value>,
    #[serde(default, skip_serializing)]
    pub created_date_time_utc: Option<String>,
    #[serde(default, skip_serializing)]
    pub last_updated_date_time_utc: Option<String>,
}

impl EnrollmentGroup {
    /// A symmetric-key group whose keys DPS generates.
    pub fn symmetric_key(id: &str) -> EnrollmentGroup {
        EnrollmentGroup {
            enrollment_group_id: id.to_string(),
            attestation: AttestationMechanism { kind: "symmetricKey".into(), symmetric_key: Some(GroupKeys::default()), x509: None },
            provisioning_status: Some("enabled".into()),
            ..EnrollmentGroup::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationMechanism {
    /// `symmetricKey`, `x509` or `tpm`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetric_key: Option<GroupKeys>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509: Option<Value>,
}

/// An enrollment group's keys (device keys are derived from them): sent in clear only to DPS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupKeys {
    #[serde(default, serialize_with = "on_the_wire_opt")]
    pub primary_key: Option<Secret<String>>,
    #[serde(default, serialize_with = "on_the_wire_opt")]
    pub secondary_key: Option<Secret<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReprovisionPolicy {
    pub update_hub_assignment: bool,
    pub migrate_device_data: bool,
}

/// Where a device was assigned, or why not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationState {
    pub registration_id: String,
    #[serde(default)]
    pub assigned_hub: Option<String>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// `unassigned`, `assigning`, `assigned`, `failed` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub substatus: Option<String>,
    #[serde(default)]
    pub error_code: Option<u32>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_updated_date_time_utc: Option<String>,
}

#[derive(Clone)]
pub struct DpsClient {
    plane: DataPlane,
}

impl DpsClient {
    /// The DPS a service connection string names, signed with its key.
    pub fn from_connection_string(pipeline: Pipeline, connection: ConnectionString) -> DpsClient {
        let host = connection.host_name.clone();
        DpsClient {
            plane: DataPlane::new(
                pipeline,
                Arc::new(SasCredential::new(connection)),
                &host,
                Service::Dps,
                API_VERSION,
                "An enrollment group or registration ID",
            ),
        }
    }

    pub fn host(&self) -> &str {
        &self.plane.host
    }

    /// `EnrollmentGroup_Get`.
    pub async fn enrollment_group(&self, id: &str) -> Result<EnrollmentGroup, AzureError> {
        self.plane.call(self.plane.request("EnrollmentGroup_Get", Method::GET, &["enrollmentGroups", id])?, "an enrollment group").await
    }

    /// `EnrollmentGroup_CreateOrUpdate`: creates the group, or replaces it when `if_match` is its
    /// current ETag (or `*`).
    pub async fn create_or_update_enrollment_group(&self, group: &EnrollmentGroup, if_match: Option<&str>) -> Result<EnrollmentGroup, AzureError> {
        let request = self
            .plane
            .request("EnrollmentGroup_CreateOrUpdate", Method::PUT, &["enrollmentGroups", &group.enrollment_group_id])?
            .json(group)?
            .if_match(if_match)?;
        self.plane.call(request, "the enrollment group written").await
    }

    /// `EnrollmentGroup_Delete`.
    pub async fn delete_enrollment_group(&self, id: &str, if_match: Option<&str>) -> Result<(), AzureError> {
        let request = self.plane.request("EnrollmentGroup_Delete", Method::DELETE, &["enrollmentGroups", id])?.if_match(if_match)?;
        self.plane.send(request).await
    }

    /// `EnrollmentGroup_Query`: every group, `page_size` at a time (`x-ms-max-item-count`), paged
    /// by `x-ms-continuation`. A query only reads, so it may be retried.
    pub fn enrollment_groups(&self, page_size: u32) -> Result<Pager<EnrollmentGroup>, AzureError> {
        let request = self
            .plane
            .request("EnrollmentGroup_Query", Method::POST, &["enrollmentGroups", "query"])?
            .json(&serde_json::json!({"query": "*"}))?
            .header("x-ms-max-item-count", &page_size.max(1).to_string())?
            .retry_safe(true);
        Ok(Pager::new(self.plane.pipeline.clone(), self.plane.credential.clone(), request, Continuation::Header, "enrollment groups"))
    }

    /// `DeviceRegistrationState_Query`: the registration state of every device that registered
    /// through the enrollment group `group_id`, paged by `x-ms-continuation`.
    pub fn registration_states(&self, group_id: &str, page_size: u32) -> Result<Pager<RegistrationState>, AzureError> {
        let request = self
            .plane
            .request("DeviceRegistrationState_Query", Method::POST, &["registrations", group_id, "query"])?
            .header("x-ms-max-item-count", &page_size.max(1).to_string())?
            .retry_safe(true);
        Ok(Pager::new(self.plane.pipeline.clone(), self.plane.credential.clone(), request, Continuation::Header, "registration states"))
    }

    /// `DeviceRegistrationState_Get`: where the device was assigned.
    pub async fn registration_state(&self, registration_id: &str) -> Result<RegistrationState, AzureError> {
        self.plane.call(self.plane.request("DeviceRegistrationState_Get", Method::GET, &["registrations", registration_id])?, "a registration state").await
    }
}
