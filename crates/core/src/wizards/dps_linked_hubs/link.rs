//! Linking a hub picked from ARM: only shared access policies with both RegistryWrite and
//! ServiceConnect are offered (`iothubowner` first), a hub with local auth disabled is refused with
//! the reason, and the link is made from the chosen policy's primary key.

use super::edit::{check_weight, Change};
use super::error::LinkedHubsError;
use iotm_azure::arm::models::SharedAccessPolicy;
use iotm_azure::arm::ArmClient;
use iotm_azure::ConnectionString;
use serde::{Deserialize, Serialize};

/// A hub as ARM names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename = "LinkedHubRef")]
pub struct HubRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

/// A policy the person may link with: its name and rights, never its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOffer {
    pub name: String,
    pub rights: String,
}

pub const NEEDED_RIGHTS: [&str; 2] = ["RegistryWrite", "ServiceConnect"];

/// The rights `policy` lacks of what DPS needs.
pub fn missing_rights(policy: &SharedAccessPolicy) -> Vec<&'static str> {
    let has: Vec<&str> = policy.rights.split(',').map(str::trim).collect();
    NEEDED_RIGHTS.into_iter().filter(|r| !has.contains(r)).collect()
}

pub fn local_auth_disabled(hub: &iotm_azure::arm::models::IotHub) -> bool {
    hub.properties.other.get("disableLocalAuth").and_then(|v| v.as_bool()) == Some(true)
}

/// The policies offered for a link, `iothubowner` first; a hub with local auth disabled offers none.
pub async fn offered_policies(arm: &ArmClient, hub: &HubRef) -> Result<Vec<PolicyOffer>, LinkedHubsError> {
    let read = arm.iot_hub(&hub.subscription_id, &hub.resource_group, &hub.name).await?;
    if local_auth_disabled(&read) {
        return Err(LinkedHubsError::LocalAuthDisabled { hub: hub.name.clone() });
    }
    let mut offers: Vec<PolicyOffer> = arm
        .iot_hub_keys(&hub.subscription_id, &hub.resource_group, &hub.name)?
        .all()
        .await?
        .iter()
        .filter(|p| missing_rights(p).is_empty())
        .map(|p| PolicyOffer { name: p.key_name.clone(), rights: p.rights.clone() })
        .collect();
    offers.sort_by_key(|p| p.name != "iothubowner");
    Ok(offers)
}

/// The link change for `hub` through `policy` (its primary key), after the checks DPS would make.
pub async fn link_from_arm(
    arm: &ArmClient,
    hub: &HubRef,
    policy: &str,
    allocation_weight: Option<i64>,
    apply_allocation_policy: Option<bool>,
) -> Result<Change, LinkedHubsError> {
    check_weight(allocation_weight)?;
    let read = arm.iot_hub(&hub.subscription_id, &hub.resource_group, &hub.name).await?;
    if local_auth_disabled(&read) {
        return Err(LinkedHubsError::LocalAuthDisabled { hub: hub.name.clone() });
    }
    let keys = arm.iot_hub_key(&hub.subscription_id, &hub.resource_group, &hub.name, policy).await?;
    let missing = missing_rights(&keys);
    if !missing.is_empty() {
        return Err(LinkedHubsError::PolicyLacksRights { hub: hub.name.clone(), policy: policy.into(), missing: missing.join(" and ") });
    }
    let host = read.properties.host_name.clone().unwrap_or_default();
    let key = keys.primary_key.ok_or_else(|| LinkedHubsError::BadConnectionString { problem: format!("ARM gave no key for policy {policy}.") })?;
    Ok(Change::Link {
        connection_string: ConnectionString::for_policy(&host, policy, &key).to_secret_string(),
        location: read.location.clone(),
        allocation_weight,
        apply_allocation_policy,
    })
}
