//! The enrollments that pin a hub (`iotHubs` naming it), and the unlink that never leaves one
//! without a hub: pinned enrollments are listed; the person either lets the unlink remove the
//! hub from them (each edited with its own ETag) or stops.

use super::edit::{write, Change, DpsRef, IotHubsDiff};
use super::error::LinkedHubsError;
use iotm_azure::arm::ArmClient;
use iotm_azure::dps::DpsClient;
use iotm_azure::{ConnectionString, Pipeline};
use serde::{Deserialize, Serialize};

/// An enrollment that names some of the hubs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PinnedEnrollment {
    /// `group` or `individual`.
    pub kind: String,
    pub id: String,
    pub iot_hubs: Vec<String>,
}

/// The DPS's service client, signed with its `provisioningserviceowner` key from ARM.
pub async fn service_client(
    arm: &ArmClient,
    pipeline: &Pipeline,
    dps: &DpsRef,
) -> Result<(DpsClient, iotm_azure::arm::models::ProvisioningService), LinkedHubsError> {
    let read = arm.provisioning_service(&dps.subscription_id, &dps.resource_group, &dps.name).await?;
    let keys = arm.provisioning_service_keys(&dps.subscription_id, &dps.resource_group, &dps.name)?.all().await?;
    let owner = keys.iter().find(|k| k.key_name == "provisioningserviceowner").or(keys.first()).cloned();
    let (Some(owner), Some(host)) = (owner, read.properties.service_operations_host_name.clone()) else {
        return Err(LinkedHubsError::ReadOnlyDps { dps: dps.name.clone(), detail: "ARM gave no service key for it.".into() });
    };
    let key =
        owner.primary_key.clone().ok_or_else(|| LinkedHubsError::ReadOnlyDps { dps: dps.name.clone(), detail: "ARM gave no service key for it.".into() })?;
    Ok((DpsClient::from_connection_string(pipeline.clone(), ConnectionString::for_policy(&host, &owner.key_name, &key)), read))
}

/// Every enrollment (groups and individual) whose `iotHubs` names one of `hosts`.
pub async fn pinned(client: &DpsClient, hosts: &[String]) -> Result<Vec<PinnedEnrollment>, LinkedHubsError> {
    let names = |hubs: &[String]| hubs.iter().any(|h| hosts.iter().any(|x| x.eq_ignore_ascii_case(h)));
    let mut found = Vec::new();
    for g in client.enrollment_groups(100)?.all().await? {
        if names(&g.iot_hubs) {
            found.push(PinnedEnrollment { kind: "group".into(), id: g.enrollment_group_id, iot_hubs: g.iot_hubs });
        }
    }
    for e in client.individual_enrollments(100)?.all().await? {
        if names(&e.iot_hubs) {
            found.push(PinnedEnrollment { kind: "individual".into(), id: e.registration_id, iot_hubs: e.iot_hubs });
        }
    }
    Ok(found)
}

fn without(hubs: &[String], hosts: &[String]) -> Vec<String> {
    hubs.iter().filter(|h| !hosts.iter().any(|x| x.eq_ignore_ascii_case(h))).cloned().collect()
}

/// Takes `hosts` out of one enrollment's `iotHubs`, re-read and retried on a 412.
pub async fn unpin(client: &DpsClient, enrollment: &PinnedEnrollment, hosts: &[String]) -> Result<(), LinkedHubsError> {
    for _ in 0..super::edit::WRITE_ATTEMPTS {
        let result = if enrollment.kind == "group" {
            let mut g = client.enrollment_group(&enrollment.id).await?;
            g.iot_hubs = without(&g.iot_hubs, hosts);
            let etag = g.etag.clone();
            client.create_or_update_enrollment_group(&g, etag.as_deref()).await.map(drop)
        } else {
            let mut e = client.individual_enrollment(&enrollment.id).await?;
            e.iot_hubs = without(&e.iot_hubs, hosts);
            let etag = e.etag.clone();
            client.create_or_update_individual_enrollment(&e, etag.as_deref()).await.map(drop)
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.status() == Some(412) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(LinkedHubsError::TooManyConflicts { dps: enrollment.id.clone(), attempts: super::edit::WRITE_ATTEMPTS })
}

/// What an unlink would touch: the enrollments pinning the hubs, and those it would orphan.
pub fn refusal(hosts: &[String], pinned: &[PinnedEnrollment], edit_enrollments: bool) -> Option<LinkedHubsError> {
    let hub = hosts.join(", ");
    let orphaned: Vec<String> = pinned.iter().filter(|p| without(&p.iot_hubs, hosts).is_empty()).map(|p| format!("{} {}", p.kind, p.id)).collect();
    if !orphaned.is_empty() {
        return Some(LinkedHubsError::WouldOrphanEnrollments { hub, enrollments: orphaned });
    }
    if !pinned.is_empty() && !edit_enrollments {
        return Some(LinkedHubsError::PinnedEnrollments { hub, enrollments: pinned.iter().map(|p| format!("{} {}", p.kind, p.id)).collect() });
    }
    None
}

/// The enrollments pinning `hosts`, once the unlink is known not to orphan any (nor, when it
/// unlinks every hub, any enrollment group) and, when some pin them, `edit_enrollments` allows
/// taking the hubs out of them.
pub async fn check_unlink(
    client: &DpsClient,
    linked: &[iotm_azure::arm::models::LinkedHub],
    hosts: &[String],
    edit_enrollments: bool,
) -> Result<Vec<PinnedEnrollment>, LinkedHubsError> {
    let pinned = pinned(client, hosts).await?;
    if let Some(refused) = refusal(hosts, &pinned, edit_enrollments) {
        return Err(refused);
    }
    let remaining = linked.iter().filter(|h| !hosts.iter().any(|x| Some(x.to_ascii_lowercase()) == h.name.as_ref().map(|n| n.to_ascii_lowercase()))).count();
    if remaining == 0 {
        let all: Vec<String> = client.enrollment_groups(100)?.all().await?.into_iter().map(|g| format!("group {}", g.enrollment_group_id)).collect();
        if !all.is_empty() {
            return Err(LinkedHubsError::WouldOrphanEnrollments { hub: hosts.join(", "), enrollments: all });
        }
    }
    Ok(pinned)
}

/// Unlinks `hosts`: refused when an enrollment would be left with no hub, or when enrollments pin
/// them and `edit_enrollments` is false; otherwise those enrollments are edited first, then the DPS.
pub async fn unlink(
    arm: &ArmClient,
    pipeline: &Pipeline,
    dps: &DpsRef,
    hosts: &[String],
    edit_enrollments: bool,
    suffix: &str,
) -> Result<(IotHubsDiff, Vec<PinnedEnrollment>), LinkedHubsError> {
    let (client, read) = service_client(arm, pipeline, dps).await?;
    let pinned = check_unlink(&client, &read.properties.iot_hubs, hosts, edit_enrollments).await?;
    for enrollment in &pinned {
        unpin(&client, enrollment, hosts).await?;
    }
    let (diff, _) = write(arm, dps, &Change::Unlink { hosts: hosts.to_vec() }, suffix).await?;
    Ok((diff, pinned))
}
