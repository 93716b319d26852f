//! What the Hub state page picks from: the subscription's IoT hubs, read through ARM (the same
//! rows the Central → Hub page lists, so a hub reads the same on every page).

use super::error::HubStateError;
use crate::wizards::central_to_hub::options::{resource_group, HubOption};
use iotm_azure::arm::ArmClient;

/// The subscription's hubs, by name.
pub async fn hubs(arm: &ArmClient, subscription_id: &str) -> Result<Vec<HubOption>, HubStateError> {
    let mut hubs: Vec<HubOption> = arm
        .iot_hubs(subscription_id)?
        .all()
        .await?
        .into_iter()
        .map(|h| HubOption {
            name: h.name.clone().unwrap_or_default(),
            resource_group: resource_group(h.id.as_deref()),
            location: h.location.clone(),
            host_name: h.properties.host_name.clone().unwrap_or_default(),
            sku: format!("{}×{}", h.sku.name, h.sku.capacity.unwrap_or(1)),
        })
        .collect();
    hubs.sort_by_key(|h| h.name.to_lowercase());
    Ok(hubs)
}
