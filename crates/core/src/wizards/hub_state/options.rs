//! What the Hub state page picks from: the subscription's IoT hubs, read through ARM (the same
//! rows the Central → Hub page lists, so a hub reads the same on every page).

use super::error::HubStateError;
use crate::wizards::central_to_hub::options::{hub_options, HubOption};
use iotm_azure::arm::ArmClient;

/// The subscription's hubs, by name.
pub async fn hubs(arm: &ArmClient, subscription_id: &str) -> Result<Vec<HubOption>, HubStateError> {
    Ok(hub_options(arm, subscription_id).await?)
}
