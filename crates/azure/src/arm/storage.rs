//! Storage accounts, as the bulk jobs need them (`Microsoft.Storage/storageAccounts`, 2023-05-01):
//! listed to be picked, their blob endpoint read, and their keys listed so the app can create a
//! container and mint container SAS URLs with the least rights and a short expiry (blob.rs).

use super::ArmClient;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pager::Pager;
use crate::request::Request;
use crate::secret::Secret;
use reqwest::Method;
use serde::Deserialize;

const STORAGE: &str = "2023-05-01";
const ACCOUNTS: [&str; 2] = ["Microsoft.Storage", "storageAccounts"];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccount {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub properties: StorageAccountProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountProperties {
    #[serde(default)]
    pub primary_endpoints: Endpoints,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Endpoints {
    /// `https://<account>.blob.core.windows.net/` (path-style on an emulator).
    #[serde(default)]
    pub blob: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountKey {
    pub key_name: String,
    pub value: Secret<String>,
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<StorageAccountKey>,
}

impl ArmClient {
    /// `StorageAccounts_List`: the subscription's storage accounts.
    pub fn storage_accounts(&self, subscription_id: &str) -> Result<Pager<StorageAccount>, AzureError> {
        self.list("StorageAccounts_List", &["subscriptions", subscription_id, "providers", ACCOUNTS[0], ACCOUNTS[1]], STORAGE, "storage accounts")
    }

    /// `StorageAccounts_GetProperties`.
    pub async fn storage_account(&self, subscription_id: &str, group: &str, name: &str) -> Result<StorageAccount, AzureError> {
        self.get("StorageAccounts_GetProperties", &Self::in_group(subscription_id, group, ACCOUNTS, name), STORAGE, "a storage account").await
    }

    /// `StorageAccounts_ListKeys`: key1 and key2 (a POST that only reads).
    pub async fn storage_account_keys(&self, subscription_id: &str, group: &str, name: &str) -> Result<Vec<StorageAccountKey>, AzureError> {
        let [a, b, c, d, e, f, g, h] = Self::in_group(subscription_id, group, ACCOUNTS, name);
        let url = self.url(&[a, b, c, d, e, f, g, h, "listKeys"], STORAGE)?;
        let request = Request::new(Service::Arm, "StorageAccounts_ListKeys", Method::POST, url).retry_safe(true);
        let keys: Keys = self.pipeline.send(&request, Some(self.credential.as_ref())).await?.json("storage account keys")?;
        Ok(keys.keys)
    }
}
