//! What the linked hubs page picks from: the subscription's DPS instances and IoT hubs, read
//! through ARM, in the same rows the other wizards' pages list, so a resource reads the same on
//! every page. The policies a hub offers for a link are link.rs's `offered_policies`.

use super::error::LinkedHubsError;
use crate::wizards::central_to_hub::options::{dps_options, hub_options, DpsOption, HubOption};
use iotm_azure::arm::ArmClient;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LinkedHubsOptions {
    pub services: Vec<DpsOption>,
    pub hubs: Vec<HubOption>,
}

/// The subscription's DPS instances and hubs, each by name.
pub async fn options(arm: &ArmClient, subscription_id: &str) -> Result<LinkedHubsOptions, LinkedHubsError> {
    Ok(LinkedHubsOptions { services: dps_options(arm, subscription_id).await?, hubs: hub_options(arm, subscription_id).await? })
}
