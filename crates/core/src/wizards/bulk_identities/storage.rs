//! The container a bulk job goes through, reached from the storage account ARM lists: its keys
//! listed, the container created when missing, and SAS URLs minted per party with the least rights
//! it needs and an expiry within the hour (the hub: write to its output, read its input; the app:
//! write to upload, read to download).

use super::error::BulkError;
use super::plan::StorageTarget;
use iotm_azure::arm::ArmClient;
use iotm_azure::blob::{container_create_sas_url, container_sas_url, ContainerClient};
use iotm_azure::{Pipeline, Secret};
use std::time::Duration;
use url::Url;

/// How long a minted SAS lives: long enough for a job of a few million devices, short enough
/// that a leaked URL is soon worthless.
pub const SAS_LIFETIME: Duration = Duration::from_secs(60 * 60);

pub struct JobContainer {
    pipeline: Pipeline,
    account: String,
    key: Secret<String>,
    url: Url,
    pub name: String,
}

fn expiry() -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(SAS_LIFETIME).unwrap_or_default()).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl JobContainer {
    /// The account's endpoint and first key, from ARM.
    pub async fn open(pipeline: &Pipeline, arm: &ArmClient, target: &StorageTarget) -> Result<JobContainer, BulkError> {
        let missing = || BulkError::NoSuchStorageAccount { account: target.account.clone(), group: target.resource_group.clone() };
        let account = arm.storage_account(&target.subscription_id, &target.resource_group, &target.account).await.map_err(|e| match e.status() {
            Some(404) => missing(),
            _ => BulkError::Azure(e),
        })?;
        let endpoint = account.properties.primary_endpoints.blob.ok_or_else(missing)?;
        let keys = arm.storage_account_keys(&target.subscription_id, &target.resource_group, &target.account).await?;
        let key = keys.into_iter().next().ok_or_else(missing)?.value;
        let url = Url::parse(&format!("{}/{}", endpoint.trim_end_matches('/'), target.container)).map_err(|e| {
            BulkError::Azure(iotm_azure::AzureError::InvalidInput { what: "The storage account's blob endpoint".into(), problem: e.to_string() })
        })?;
        Ok(JobContainer { pipeline: pipeline.clone(), account: account.name, key, url, name: target.container.clone() })
    }

    /// Creates the container when it is missing; true when it was created.
    pub async fn ensure_exists(&self) -> Result<bool, BulkError> {
        let sas = container_create_sas_url(&self.url, &self.account, &self.key, &expiry())?;
        Ok(ContainerClient::from_sas_url(self.pipeline.clone(), &sas)?.create_container().await?)
    }

    /// A container SAS URL with only `permissions` (`r`, `w`, …).
    pub fn sas(&self, permissions: &str) -> Result<Secret<String>, BulkError> {
        Ok(container_sas_url(&self.url, &self.account, &self.key, permissions, &expiry())?)
    }

    pub fn client(&self, permissions: &str) -> Result<ContainerClient, BulkError> {
        Ok(ContainerClient::from_sas_url(self.pipeline.clone(), &self.sas(permissions)?)?)
    }
}
