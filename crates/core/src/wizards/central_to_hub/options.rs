//! What the Source and Target pages offer to pick from: the app's templates (each with its
//! DeviceMove verdict), device groups and enrollment groups; the subscription's DPS instances
//! (ID scope, allocation policy, linked hubs) and hubs. Every page of every list is read.

use super::error::WizardError;
use super::template::{find_device_move, DeviceMoveCommand};
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::sas::ConnectionString;
use iotm_azure::AzureError;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TemplateOption {
    pub id: String,
    pub display_name: String,
    pub device_move: Option<DeviceMoveCommand>,
    /// Why it cannot be moved, when it cannot.
    pub problem: Option<String>,
    pub problem_code: Option<String>,
    /// The DPS enrollment group name proposed for this app and template (unique to them).
    pub proposed_dps_group_id: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupOption {
    pub id: String,
    pub display_name: String,
    pub filter: String,
    /// The one template the group's filter selects (`$template = "…"`), when it names one.
    pub template: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentGroupOption {
    pub id: String,
    pub display_name: String,
    /// `iot` or `iotEdge`.
    pub kind: String,
    /// `symmetricKey`, `x509` or `tpm`.
    pub attestation: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SourceOptions {
    pub templates: Vec<TemplateOption>,
    pub device_groups: Vec<GroupOption>,
    pub enrollment_groups: Vec<EnrollmentGroupOption>,
}

pub async fn source_options(central: &CentralClient) -> Result<SourceOptions, WizardError> {
    let subdomain = central.subdomain().to_string();
    let templates = central
        .device_templates()?
        .all()
        .await?
        .into_iter()
        .map(|t| {
            let verdict = find_device_move(&t);
            TemplateOption {
                proposed_dps_group_id: super::plan::Plan::proposed_dps_group_id(&subdomain, &t.id),
                display_name: t.display_name.clone().unwrap_or_else(|| t.id.clone()),
                id: t.id,
                problem: verdict.as_ref().err().map(|p| p.to_string()),
                problem_code: verdict.as_ref().err().map(|p| p.code().to_string()),
                device_move: verdict.ok(),
            }
        })
        .collect();
    let device_groups = central
        .device_groups()?
        .all()
        .await?
        .into_iter()
        .map(|g| GroupOption { template: filter_template(&g.filter), id: g.id, display_name: g.display_name, filter: g.filter })
        .collect();
    let enrollment_groups = central
        .enrollment_groups()?
        .all()
        .await?
        .into_iter()
        .map(|g| EnrollmentGroupOption { id: g.id, display_name: g.display_name, kind: g.kind, attestation: g.attestation.kind })
        .collect();
    Ok(SourceOptions { templates, device_groups, enrollment_groups })
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DpsOption {
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub id_scope: String,
    pub allocation_policy: String,
    pub linked_hubs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HubOption {
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub host_name: String,
    pub sku: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupOption {
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TargetOptions {
    pub dps: Vec<DpsOption>,
    pub hubs: Vec<HubOption>,
    /// Where a new DPS can go: the subscription's resource groups…
    pub resource_groups: Vec<ResourceGroupOption>,
    /// …and the regions it may place resources in (ARM's list for the subscription, with the
    /// regions its resource groups and IoT resources are in; once each, by display name).
    pub locations: Vec<RegionOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RegionOption {
    /// `westeurope`: what a resource's `location` holds.
    pub name: String,
    /// `West Europe`: what the picker shows.
    pub display_name: String,
}

pub(crate) fn resource_group(id: Option<&str>) -> String {
    id.unwrap_or_default().split('/').skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups")).nth(1).unwrap_or_default().to_string()
}

/// The template a device group's filter selects: `… WHERE $template = "dtmi:…" AND …` names one;
/// a filter with OR, or without `$template`, may hold devices of any template.
pub fn filter_template(filter: &str) -> Option<String> {
    let condition = filter.split_once(" WHERE ").or_else(|| filter.split_once(" where "))?.1;
    if condition.to_ascii_uppercase().contains(" OR ") {
        return None;
    }
    let after = condition.split_once("$template")?.1.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = after[1..].split(quote).next()?;
    (!value.is_empty()).then(|| value.to_string())
}

/// The subscription's IoT hubs through ARM, by name: the rows every wizard's page lists them in.
pub async fn hub_options(arm: &ArmClient, subscription_id: &str) -> Result<Vec<HubOption>, AzureError> {
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

/// The subscription's DPS instances through ARM, by name, each with the hubs linked to it.
pub async fn dps_options(arm: &ArmClient, subscription_id: &str) -> Result<Vec<DpsOption>, AzureError> {
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
    Ok(services)
}

pub async fn target_options(arm: &ArmClient, subscription_id: &str) -> Result<TargetOptions, WizardError> {
    let dps = dps_options(arm, subscription_id).await?;
    let hubs = hub_options(arm, subscription_id).await?;
    let resource_groups: Vec<ResourceGroupOption> =
        arm.resource_groups(subscription_id)?.all().await?.into_iter().map(|g| ResourceGroupOption { name: g.name, location: g.location }).collect();
    // The subscription's regions; one that cannot be read leaves the regions in use.
    let listed = match arm.locations(subscription_id) {
        Ok(pager) => pager.all().await.unwrap_or_else(|e| {
            tracing::warn!("the subscription's locations were not read: {e}");
            Vec::new()
        }),
        Err(e) => return Err(e.into()),
    };
    let locations = regions(&listed, &resource_groups, &dps, &hubs);
    Ok(TargetOptions { dps, hubs, resource_groups, locations })
}

fn regions(listed: &[iotm_azure::arm::models::Location], groups: &[ResourceGroupOption], dps: &[DpsOption], hubs: &[HubOption]) -> Vec<RegionOption> {
    let mut regions: std::collections::BTreeMap<String, String> =
        listed.iter().filter(|l| l.is_physical()).map(|l| (l.name.to_ascii_lowercase(), l.display_name.clone().unwrap_or_else(|| l.name.clone()))).collect();
    let in_use = groups.iter().map(|g| &g.location).chain(dps.iter().map(|d| &d.location)).chain(hubs.iter().map(|h| &h.location));
    for name in in_use.filter(|l| !l.is_empty()).map(|l| l.to_ascii_lowercase()) {
        regions.entry(name.clone()).or_insert(name);
    }
    let mut options: Vec<RegionOption> = regions.into_iter().map(|(name, display_name)| RegionOption { name, display_name }).collect();
    options.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    options
}

/// Creates a DPS (S1, one unit, hashed allocation, no linked hub yet) for the Target page, and
/// waits for ARM's long-running operation; answers it as the page lists DPS instances.
pub async fn create_dps(arm: &ArmClient, subscription_id: &str, resource_group: &str, name: &str, location: &str) -> Result<DpsOption, WizardError> {
    use iotm_azure::arm::models::{DpsSku, ProvisioningService, ProvisioningServiceProperties};
    let valid = (3..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(super::plan::PlanProblem::new("dpsName", "must be 3 to 64 letters, digits or hyphens").into());
    }
    for (field, value) in [("resourceGroup", resource_group), ("location", location)] {
        if value.trim().is_empty() {
            return Err(super::plan::PlanProblem::new(field, "is required").into());
        }
    }
    let dps = ProvisioningService {
        id: None,
        kind: None,
        system_data: None,
        name: Some(name.to_string()),
        location: location.to_string(),
        tags: Default::default(),
        etag: None,
        sku: DpsSku { name: Some("S1".into()), tier: None, capacity: Some(1) },
        properties: ProvisioningServiceProperties { allocation_policy: Some("Hashed".into()), ..Default::default() },
        other: Default::default(),
    };
    let created = arm.create_or_update_provisioning_service(subscription_id, resource_group, name, &dps).await?.wait().await?;
    Ok(DpsOption {
        name: created.name.clone().unwrap_or_else(|| name.to_string()),
        resource_group: resource_group.to_string(),
        location: created.location.clone(),
        id_scope: created.properties.id_scope.clone().unwrap_or_default(),
        allocation_policy: created.properties.allocation_policy.clone().unwrap_or_else(|| "Hashed".into()),
        linked_hubs: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::filter_template;

    #[test]
    fn a_device_group_names_its_template_only_when_its_filter_selects_one() {
        let one = r#"SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true"#;
        assert_eq!(filter_template(one).as_deref(), Some("dtmi:contoso:Thermostat;1"));
        assert_eq!(filter_template(r#"SELECT * FROM devices WHERE $template = "a" OR $simulated = true"#), None);
        assert_eq!(filter_template("SELECT * FROM devices WHERE $provisioned = true"), None);
        assert_eq!(filter_template("SELECT * FROM devices"), None);
    }
}
