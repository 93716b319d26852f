//! Individual enrollments (service API 2021-10-01, `IndividualEnrollment_*`): one device's own
//! attestation, with the hubs it may be assigned to. Written with ETags like enrollment groups.

use super::{AttestationMechanism, DpsClient};
use crate::error::AzureError;
use crate::pager::{Continuation, Pager};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndividualEnrollment {
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub attestation: AttestationMechanism,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_policy: Option<String>,
    /// The linked hubs (host names) this device may be assigned to; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iot_hubs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_twin: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reprovision_policy: Option<super::ReprovisionPolicy>,
}

impl DpsClient {
    /// `IndividualEnrollment_Get`.
    pub async fn individual_enrollment(&self, registration_id: &str) -> Result<IndividualEnrollment, AzureError> {
        self.plane.call(self.plane.request("IndividualEnrollment_Get", Method::GET, &["enrollments", registration_id])?, "an individual enrollment").await
    }

    /// `IndividualEnrollment_CreateOrUpdate`: creates it, or replaces it when `if_match` is its current ETag (or `*`).
    pub async fn create_or_update_individual_enrollment(
        &self,
        enrollment: &IndividualEnrollment,
        if_match: Option<&str>,
    ) -> Result<IndividualEnrollment, AzureError> {
        let request = self
            .plane
            .request("IndividualEnrollment_CreateOrUpdate", Method::PUT, &["enrollments", &enrollment.registration_id])?
            .json(enrollment)?
            .if_match(if_match)?;
        self.plane.call(request, "the individual enrollment written").await
    }

    /// `IndividualEnrollment_Delete`.
    pub async fn delete_individual_enrollment(&self, registration_id: &str, if_match: Option<&str>) -> Result<(), AzureError> {
        let request = self.plane.request("IndividualEnrollment_Delete", Method::DELETE, &["enrollments", registration_id])?.if_match(if_match)?;
        self.plane.send(request).await
    }

    /// `IndividualEnrollment_Query`: every individual enrollment, paged by `x-ms-continuation`.
    pub fn individual_enrollments(&self, page_size: u32) -> Result<Pager<IndividualEnrollment>, AzureError> {
        let request = self
            .plane
            .request("IndividualEnrollment_Query", Method::POST, &["enrollments", "query"])?
            .json(&serde_json::json!({"query": "*"}))?
            .header("x-ms-max-item-count", &page_size.max(1).to_string())?
            .retry_safe(true);
        Ok(Pager::new(self.plane.pipeline.clone(), self.plane.credential.clone(), request, Continuation::Header, "individual enrollments"))
    }
}
