//! Reaching the hubs a plan names: through ARM, the hub's host and tier, and its `iothubowner`
//! policy's key (read at run time, kept in memory only). Each hub is paced at its own tier's
//! throttles, so a run reads and writes as fast as the hub allows and never meets a 429 in normal
//! running.

use super::error::HubStateError;
use super::plan::HubRef;
use iotm_azure::arm::ArmClient;
use iotm_azure::hub::HubClient;
use iotm_azure::rate_limit::pace_hub;
use iotm_azure::sas::ConnectionString;
use iotm_azure::{AzureError, Pipeline};

/// The hub's data-plane client, signed with its owner policy, paced at its tier.
pub async fn connect(arm: &ArmClient, pipeline: &Pipeline, hub: &HubRef) -> Result<HubClient, HubStateError> {
    let resource = arm.iot_hub(&hub.subscription_id, &hub.resource_group, &hub.hub_name).await.map_err(|e| match e.status() {
        Some(404) => HubStateError::NoSuchHub { hub: hub.hub_name.clone(), resource_group: hub.resource_group.clone() },
        _ => e.into(),
    })?;
    let host = resource.properties.host_name.clone().unwrap_or_else(|| format!("{}.azure-devices.net", hub.hub_name));
    let policy = arm.iot_hub_key(&hub.subscription_id, &hub.resource_group, &hub.hub_name, "iothubowner").await?;
    let key = policy
        .primary_key
        .ok_or_else(|| AzureError::InvalidInput { what: format!("The hub {}'s iothubowner policy", hub.hub_name), problem: "came without a key".into() })?;
    let client = HubClient::from_connection_string(pipeline.clone(), ConnectionString::for_policy(&host, &policy.key_name, &key));
    // A pipeline built not to pace at all (quotas-off rehearsals, benchmarks) stays so.
    if pipeline.options().rate_limits == iotm_azure::RateLimits::unlimited() {
        return Ok(client);
    }
    let (sku, units) = (resource.sku.name.as_str(), resource.sku.capacity.unwrap_or(1));
    pace_hub(pipeline, client.host(), sku, units);
    Ok(client)
}
