//! What the wizard shows of a DPS: its allocation policy and linked hubs — host, location, weight
//! (`null` shown as the default 1), apply-allocation-policy, the policy name the link uses (never
//! its key) — and per hub the enrollments that pin it and the registrations last assigned to it.

use super::edit::DpsRef;
use super::enrollments::{pinned, service_client};
use super::error::LinkedHubsError;
use iotm_azure::arm::ArmClient;
use iotm_azure::Pipeline;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct LinkedHubView {
    pub host: String,
    /// The hub's name in ARM (its host when no hub of the DPS's subscription has that host).
    pub name: String,
    pub location: String,
    /// 1–1000; 1 when DPS holds none (its default).
    #[ts(type = "number")]
    pub allocation_weight: i64,
    pub weight_is_default: bool,
    pub apply_allocation_policy: bool,
    /// The shared access policy the link's connection string names.
    pub policy_name: Option<String>,
    pub pinning_enrollment_groups: u32,
    pub pinning_individual_enrollments: u32,
    /// Devices whose last registration (through an enrollment group) assigned them here.
    pub registrations: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "LinkedHubsView")]
pub struct DpsView {
    pub name: String,
    /// The DPS's region: under geo latency, devices near it go to the hub in the same region.
    pub location: String,
    pub allocation_policy: String,
    pub hubs: Vec<LinkedHubView>,
}

/// The hubs of the subscription by host (lower-cased): ARM's names, for people to read.
pub async fn hub_names(arm: &ArmClient, subscription_id: &str) -> Result<BTreeMap<String, String>, LinkedHubsError> {
    Ok(arm
        .iot_hubs(subscription_id)?
        .all()
        .await?
        .into_iter()
        .filter_map(|h| Some((h.properties.host_name.clone()?.to_ascii_lowercase(), h.name.clone()?)))
        .collect())
}

pub async fn see(arm: &ArmClient, pipeline: &Pipeline, dps: &DpsRef) -> Result<DpsView, LinkedHubsError> {
    let (client, read) = service_client(arm, pipeline, dps).await?;
    let names = hub_names(arm, &dps.subscription_id).await?;
    let hosts: Vec<String> = read.properties.iot_hubs.iter().filter_map(|h| h.name.clone()).collect();
    let pins = pinned(&client, &hosts).await?;
    let mut assigned: BTreeMap<String, u32> = BTreeMap::new();
    for group in client.enrollment_groups(100)?.all().await? {
        for state in client.registration_states(&group.enrollment_group_id, 100)?.all().await? {
            if let (Some("assigned"), Some(hub)) = (state.status.as_deref(), state.assigned_hub) {
                *assigned.entry(hub.to_ascii_lowercase()).or_default() += 1;
            }
        }
    }
    let hubs = read
        .properties
        .iot_hubs
        .iter()
        .map(|h| {
            let host = h.name.clone().unwrap_or_default().to_ascii_lowercase();
            let pinning = |kind: &str| pins.iter().filter(|p| p.kind == kind && p.iot_hubs.iter().any(|x| x.eq_ignore_ascii_case(&host))).count() as u32;
            LinkedHubView {
                location: h.location.clone(),
                allocation_weight: h.allocation_weight.unwrap_or(1),
                weight_is_default: h.allocation_weight.is_none(),
                apply_allocation_policy: h.apply_allocation_policy.unwrap_or(true),
                policy_name: h.connection_string.expose().split(';').find_map(|p| p.strip_prefix("SharedAccessKeyName=")).map(str::to_string),
                pinning_enrollment_groups: pinning("group"),
                pinning_individual_enrollments: pinning("individual"),
                registrations: assigned.get(&host).copied().unwrap_or(0),
                name: names.get(&host).cloned().unwrap_or_else(|| host.clone()),
                host,
            }
        })
        .collect();
    Ok(DpsView {
        name: dps.name.clone(),
        location: read.location.clone(),
        allocation_policy: read.properties.allocation_policy.clone().unwrap_or_else(|| "Hashed".into()),
        hubs,
    })
}
