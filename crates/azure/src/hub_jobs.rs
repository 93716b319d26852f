//! IoT Hub's bulk import/export jobs (service API 2021-04-12, `Jobs_*ImportExportJob*` in
//! `azure-iot-hub/service.json`): create an export or import job over blob containers reached by
//! SAS URLs, read one, list them, cancel one. A hub runs one such job at a time; a second is
//! refused with `JobQuotaExceeded`, which callers see as the service's own error.

use crate::error::AzureError;
use crate::hub::HubClient;
use crate::secret::{on_the_wire_opt, Secret};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// `JobProperties` as sent at creation: only what the job needs; the SAS URLs are secrets,
/// serialised in clear only onto the wire.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    /// `export` or `import`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "on_the_wire_opt")]
    pub input_blob_container_uri: Option<Secret<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_blob_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "on_the_wire_opt")]
    pub output_blob_container_uri: Option<Secret<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_blob_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_keys_in_export: Option<bool>,
    /// `keyBased`: the SAS in the URIs is the credential.
    pub storage_authentication_type: String,
}

impl NewJob {
    /// An export of every device identity (and twin) into `devices.txt` of the container.
    pub fn export(output: Secret<String>, exclude_keys: bool) -> NewJob {
        NewJob {
            kind: "export".into(),
            output_blob_container_uri: Some(output),
            exclude_keys_in_export: Some(exclude_keys),
            storage_authentication_type: "keyBased".into(),
            ..NewJob::default()
        }
    }

    /// An import of `input_blob` (devices.txt unless named) from `input`; errors go to
    /// `importErrors.log` in `output`.
    pub fn import(input: Secret<String>, input_blob: Option<String>, output: Secret<String>) -> NewJob {
        NewJob {
            kind: "import".into(),
            input_blob_container_uri: Some(input),
            input_blob_name: input_blob,
            output_blob_container_uri: Some(output),
            storage_authentication_type: "keyBased".into(),
            ..NewJob::default()
        }
    }
}

/// `JobProperties` as the hub answers: the job's state. The container URIs are not kept (they
/// carry the SAS).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    /// enqueued, running, completed, failed, cancelled (also unknown, scheduled, queued).
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: Option<i32>,
    #[serde(default)]
    pub start_time_utc: Option<String>,
    #[serde(default)]
    pub end_time_utc: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub output_blob_name: Option<String>,
    #[serde(default)]
    pub exclude_keys_in_export: Option<bool>,
}

impl Job {
    /// Completed, failed or cancelled: nothing more will happen to it.
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "cancelled")
    }
}

impl HubClient {
    /// `Jobs_CreateImportExportJob`.
    pub async fn create_import_export_job(&self, job: &NewJob) -> Result<Job, AzureError> {
        let request = self.plane.request("Jobs_CreateImportExportJob", Method::POST, &["jobs", "create"])?.json(job)?;
        self.plane.call(request, "an import/export job").await
    }

    /// `Jobs_GetImportExportJob`.
    pub async fn import_export_job(&self, job_id: &str) -> Result<Job, AzureError> {
        self.plane.call(self.plane.request("Jobs_GetImportExportJob", Method::GET, &["jobs", job_id])?.retry_safe(true), "an import/export job").await
    }

    /// `Jobs_GetImportExportJobs`: the hub's import/export jobs of the last days.
    pub async fn import_export_jobs(&self) -> Result<Vec<Job>, AzureError> {
        self.plane.call(self.plane.request("Jobs_GetImportExportJobs", Method::GET, &["jobs"])?.retry_safe(true), "a list of import/export jobs").await
    }

    /// `Jobs_CancelImportExportJob`: a job that ended already stays as it ended.
    pub async fn cancel_import_export_job(&self, job_id: &str) -> Result<(), AzureError> {
        self.plane.send(self.plane.request("Jobs_CancelImportExportJob", Method::DELETE, &["jobs", job_id])?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_job_carries_its_sas_urls_on_the_wire_only() {
        let job = NewJob::import(Secret::new("https://a/c?sig=in".into()), None, Secret::new("https://a/c?sig=out".into()));
        let wire = serde_json::to_value(&job).unwrap();
        assert_eq!(wire["type"], "import");
        assert_eq!(wire["inputBlobContainerUri"], "https://a/c?sig=in");
        assert_eq!(wire["storageAuthenticationType"], "keyBased");
        assert!(wire.get("inputBlobName").is_none() && wire.get("excludeKeysInExport").is_none());
        assert!(!format!("{job:?}").contains("sig=in"), "Debug redacts the SAS");
        let export = serde_json::to_value(NewJob::export(Secret::new("https://a/c?sig=x".into()), true)).unwrap();
        assert_eq!((export["type"].as_str(), export["excludeKeysInExport"].as_bool()), (Some("export"), Some(true)));
    }
}
