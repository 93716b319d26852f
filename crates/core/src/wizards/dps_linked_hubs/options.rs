//! What the linked hubs page picks from: the subscription's DPS instances and IoT hubs, read
//! through ARM, in the same rows the other wizards' pages list, so a resource reads the same on
//! every page. The policies a hub offers for a link are link.rs's `offered_policies`.

use super::error::LinkedHubsError;
use crate::wizards::central_to_hub::options::{resource_group, DpsOption, HubOption};
use iotm_azure::arm::ArmClient;
use iotm_azure::ConnectionString;
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
    let mut services: Vec<DpsOption> = arm
        .provisioning_services(subscription_id)?
        .all()
        .await?
        .into_iter()
        .map(|d| DpsOption {
            name: d.name.clone().unwrap_or_default(),
            resource_group: resource_group(d.id.as_deref()),
            location: d.location.clone(),
            id_scope: d.properties.id_scope.clone().unwrap_or_default(),
            allocation_policy: d.properties.allocation_policy.clone().unwrap_or_else(|| "Hashed".into()),
            linked_hubs: d
                .properties
                .iot_hubs
                .iter()
                .filter_map(|h| h.name.clone().or_else(|| ConnectionString::parse(h.connection_string.expose()).ok().map(|c| c.host_name)))
                .collect(),
        })
        .collect();
    services.sort_by_key(|d| d.name.to_lowercase());
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
    Ok(LinkedHubsOptions { services, hubs })
}
