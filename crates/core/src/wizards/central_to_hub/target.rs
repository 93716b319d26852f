//! The target side: the DPS (its ID scope, allocation policy and linked hubs), the hub, the link
//! between them, and the data-plane clients the run uses. Keys come from ARM (`listKeys`) when they
//! are needed and stay in memory: the plan names resources, never their keys.

use super::error::{is_forbidden, WizardError};
use super::plan::Plan;
use iotm_azure::arm::models::{LinkedHub, ProvisioningService};
use iotm_azure::arm::ArmClient;
use iotm_azure::dps::DpsClient;
use iotm_azure::hub::HubClient;
use iotm_azure::sas::ConnectionString;
use iotm_azure::{AzureError, Pipeline, Secret};
use serde::Serialize;
use ts_rs::TS;

/// What the Target page shows of a DPS.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DpsView {
    pub name: String,
    pub id_scope: String,
    pub allocation_policy: String,
    pub service_host: String,
    pub linked_hubs: Vec<String>,
}

/// The target, read: the DPS as ARM has it and the hub's host name.
pub struct ResolvedTarget {
    pub dps: ProvisioningService,
    pub view: DpsView,
    pub hub_host: String,
    pub hub_location: String,
    /// The hub's tier and units (`S1`, 1): its throttles follow them.
    pub hub_sku: (String, u32),
}

impl ResolvedTarget {
    pub fn hub_is_linked(&self) -> bool {
        self.view.linked_hubs.iter().any(|h| h.eq_ignore_ascii_case(&self.hub_host))
    }
}

fn linked_host(hub: &LinkedHub) -> Option<String> {
    hub.name.clone().or_else(|| ConnectionString::parse(hub.connection_string.expose()).ok().map(|c| c.host_name))
}

/// Reads the DPS and the hub; a refusal reads as "no access to the DPS", not as an HTTP code.
pub async fn resolve(arm: &ArmClient, plan: &Plan) -> Result<ResolvedTarget, WizardError> {
    let t = &plan.target;
    let dps = arm.provisioning_service(&t.subscription_id, &t.resource_group, &t.dps_name).await.map_err(|e| forbidden_dps(e, &t.dps_name))?;
    let hub = arm.iot_hub(&t.subscription_id, plan.hub_resource_group(), &t.hub_name).await?;
    let hub_host = hub.properties.host_name.clone().unwrap_or_else(|| format!("{}.azure-devices.net", t.hub_name));
    let view = DpsView {
        name: t.dps_name.clone(),
        id_scope: dps.properties.id_scope.clone().unwrap_or_default(),
        allocation_policy: dps.properties.allocation_policy.clone().unwrap_or_else(|| "Hashed".into()),
        service_host: dps.properties.service_operations_host_name.clone().unwrap_or_else(|| format!("{}.azure-devices-provisioning.net", t.dps_name)),
        linked_hubs: dps.properties.iot_hubs.iter().filter_map(linked_host).collect(),
    };
    Ok(ResolvedTarget { dps, view, hub_host, hub_location: hub.location, hub_sku: (hub.sku.name.clone(), hub.sku.capacity.unwrap_or(1)) })
}

fn forbidden_dps(error: AzureError, dps: &str) -> WizardError {
    if is_forbidden(&error) {
        let detail = error.service_error().map(|s| s.message.clone()).unwrap_or_default();
        return WizardError::DpsForbidden { dps: dps.into(), detail };
    }
    error.into()
}

/// The hub's `iothubowner` connection string (linking needs a policy with registry and service rights).
/// (The host comes from the hub already read by `resolve`: no second GET of the hub.)
async fn hub_connection(arm: &ArmClient, plan: &Plan, host: &str) -> Result<ConnectionString, WizardError> {
    let policy = arm.iot_hub_key(&plan.target.subscription_id, plan.hub_resource_group(), &plan.target.hub_name, "iothubowner").await?;
    let key = policy.primary_key.ok_or_else(|| AzureError::InvalidInput {
        what: format!("The hub {}'s iothubowner policy", plan.target.hub_name),
        problem: "came without a key".into(),
    })?;
    Ok(ConnectionString::for_policy(host, &policy.key_name, &key))
}

/// Links the hub to the DPS: read, add, PUT with the read's ETag (a change made meanwhile makes
/// the PUT fail rather than be overwritten), then wait for the operation.
pub async fn link_hub(arm: &ArmClient, plan: &Plan, target: &ResolvedTarget) -> Result<(), WizardError> {
    let t = &plan.target;
    let no_right = |e: AzureError| {
        if is_forbidden(&e) {
            WizardError::LinkForbidden {
                hub: t.hub_name.clone(),
                dps: t.dps_name.clone(),
                detail: e.service_error().map(|s| s.message.clone()).unwrap_or_default(),
            }
        } else {
            e.into()
        }
    };
    let connection = hub_connection(arm, plan, &target.hub_host).await.map_err(|e| match e {
        WizardError::Azure(a) => no_right(a),
        other => other,
    })?;
    let mut dps = target.dps.clone();
    dps.properties.iot_hubs.push(LinkedHub {
        connection_string: connection.to_secret_string(),
        location: target.hub_location.clone(),
        allocation_weight: None,
        apply_allocation_policy: Some(true),
        name: None,
    });
    let poller = match arm.create_or_update_provisioning_service(&t.subscription_id, &t.resource_group, &t.dps_name, &dps).await {
        Ok(poller) => poller,
        // The pipeline retries a PUT whose answer was lost; when the first try was applied, the
        // retry's ETag is stale. The DPS now listing our hub is that first try having worked;
        // anything else is a change made meanwhile, which must not be overwritten.
        Err(e) if e.status() == Some(412) && resolve(arm, plan).await?.hub_is_linked() => return Ok(()),
        Err(e) => return Err(no_right(e)),
    };
    poller.wait().await.map_err(no_right)?;
    Ok(())
}

/// The DPS service API and the hub's registry, signed with owner policies read from ARM.
pub struct DataPlanes {
    pub dps: DpsClient,
    pub hub: HubClient,
}

pub async fn data_planes(arm: &ArmClient, pipeline: &Pipeline, plan: &Plan, target: &ResolvedTarget) -> Result<DataPlanes, WizardError> {
    let t = &plan.target;
    let policies = arm
        .provisioning_service_keys(&t.subscription_id, &t.resource_group, &t.dps_name)
        .map_err(|e| forbidden_dps(e, &t.dps_name))?
        .all()
        .await
        .map_err(|e| forbidden_dps(e, &t.dps_name))?;
    let policy = policies
        .iter()
        .find(|p| p.rights.contains("EnrollmentWrite") && p.rights.contains("RegistrationStatusRead"))
        .or_else(|| policies.iter().find(|p| p.key_name == "provisioningserviceowner"))
        .ok_or_else(|| WizardError::DpsForbidden { dps: t.dps_name.clone(), detail: "none of its shared access policies may write enrollments.".into() })?;
    let key: Secret<String> =
        policy.primary_key.clone().ok_or_else(|| WizardError::DpsForbidden { dps: t.dps_name.clone(), detail: "its policy came without a key.".into() })?;
    let dps = DpsClient::from_connection_string(pipeline.clone(), ConnectionString::for_policy(&target.view.service_host, &policy.key_name, &key));
    let hub = HubClient::from_connection_string(pipeline.clone(), hub_connection(arm, plan, &target.hub_host).await?);
    // Pace the hub at its own tier's throttle rather than the smallest tier's.
    let (sku, units) = (&target.hub_sku.0, target.hub_sku.1);
    iotm_azure::rate_limit::pace_hub(pipeline, hub.host(), sku, units);
    Ok(DataPlanes { dps, hub })
}
