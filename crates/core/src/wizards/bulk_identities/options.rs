//! What the Bulk identities page picks from: the subscription's storage accounts, read through ARM
//! (its hubs are the rows every page lists, `hub_state::options::hubs`), and the container a new
//! plan proposes.

use super::error::BulkError;
use crate::wizards::central_to_hub::options::{resource_group, HubOption};
use iotm_azure::arm::ArmClient;
use serde::Serialize;
use ts_rs::TS;

/// The container a new plan proposes; the run creates it when the account lacks it.
pub const DEFAULT_CONTAINER: &str = "iotm-bulk-jobs";

#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkStorageOption")]
#[serde(rename_all = "camelCase")]
pub struct StorageOption {
    pub name: String,
    pub resource_group: String,
    pub location: String,
}

/// Everything the page picks from in one subscription.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkTargets")]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub hubs: Vec<HubOption>,
    pub storage_accounts: Vec<StorageOption>,
    pub default_container: String,
}

/// The subscription's storage accounts, by name.
pub async fn storage_accounts(arm: &ArmClient, subscription_id: &str) -> Result<Vec<StorageOption>, BulkError> {
    let mut accounts: Vec<StorageOption> = arm
        .storage_accounts(subscription_id)?
        .all()
        .await?
        .into_iter()
        .map(|a| StorageOption { resource_group: resource_group(Some(&a.id)), name: a.name, location: a.location })
        .collect();
    accounts.sort_by_key(|a| a.name.to_lowercase());
    Ok(accounts)
}
