//! The readiness table: every device the plan would move (every page of every group followed),
//! with what predicts its fate — template, provisioned, enabled, and how it attests. A device whose
//! symmetric key is its own rather than derived from the enrollment group's is flagged now: the new
//! group would refuse it, and after DeviceMove it would be stranded. Reading each device's
//! attestation costs one Central call per device (Central allows about 20 a second), so it is done
//! up front for selections up to `ATTESTATION_CHECK_LIMIT` and otherwise only for devices that fail.

use super::enrollment::expected_device_key;
use super::error::WizardError;
use super::plan::Plan;
use iotm_azure::central::models::{Device, EnrollmentGroup as CentralGroup};
use iotm_azure::central::CentralClient;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use ts_rs::TS;

pub const ATTESTATION_CHECK_LIMIT: usize = 2_000;

/// The selection "every device of the template" (no device group chosen).
pub const ALL_OF_TEMPLATE: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AttestationKind {
    /// Derived from the enrollment group's key: the new group accepts it.
    GroupKey,
    /// A symmetric key of its own: the new group refuses it.
    OwnKey,
    X509,
    Tpm,
    NotChecked,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessRow {
    pub device_id: String,
    pub display_name: String,
    pub group: String,
    pub provisioned: bool,
    pub enabled: bool,
    pub attestation: AttestationKind,
    /// Why the device is expected to fail, if it is (a reason code and a sentence).
    pub expected_failure: Option<Expected>,
    /// The target hub holds the device already (it was moved before): why it is left out, or why
    /// it is moved again when the plan asks for that.
    pub already_in_target: Option<Expected>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupSelection {
    pub id: String,
    pub display_name: String,
    pub devices: u32,
    /// Devices of other templates in the group: the job leaves them alone.
    pub other_templates: u32,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    pub groups: Vec<GroupSelection>,
    pub rows: Vec<ReadinessRow>,
    pub ready: u32,
    pub expected_to_fail: u32,
    /// Counts by expected-failure code.
    pub by_reason: BTreeMap<String, u32>,
    pub attestation_checked: bool,
    /// Devices the target hub already holds, left out of the move (not counted in `ready`).
    pub left_out: u32,
}

fn expect(code: &str, reason: &str) -> Option<Expected> {
    Some(Expected { code: code.into(), reason: reason.into() })
}

/// What a device's own attestation says about it.
pub async fn attestation_of(central: &CentralClient, group: &CentralGroup, device_id: &str) -> Result<AttestationKind, WizardError> {
    match central.device_attestation(device_id).await {
        Err(e) if e.is_not_found() => Ok(AttestationKind::GroupKey),
        Err(e) => Err(e.into()),
        Ok(a) => Ok(match a.kind.as_str() {
            "symmetricKey" => {
                let expected = expected_device_key(group, device_id);
                let holds = a.symmetric_key.as_ref().map(|k| k.primary_key.expose().to_string());
                if expected.is_some_and(|e| Some(e.expose().to_string()) == holds) {
                    AttestationKind::GroupKey
                } else {
                    AttestationKind::OwnKey
                }
            }
            "x509" => AttestationKind::X509,
            _ => AttestationKind::Tpm,
        }),
    }
}

pub fn attestation_problem(kind: AttestationKind, group_kind: &str) -> Option<Expected> {
    match (kind, group_kind) {
        (AttestationKind::OwnKey, _) => {
            expect("wrongKey", "The device's symmetric key is its own, not derived from the enrollment group's key: the new DPS group will refuse it (401).")
        }
        (AttestationKind::X509, "symmetricKey") => {
            expect("attestationMismatch", "The device attests with an X.509 certificate, but the new group takes symmetric keys.")
        }
        (AttestationKind::Tpm, _) => expect("attestationMismatch", "The device attests with a TPM, which an enrollment group cannot take."),
        _ => None,
    }
}

/// The devices of the plan's groups that use its template, checked (each one's attestation too,
/// when `attestations` and the selection is small enough).
pub async fn check(
    central: &CentralClient,
    plan: &Plan,
    enrollment_group: &CentralGroup,
    attestations: bool,
    progress: &(dyn Fn(u32, u32) + Send + Sync),
) -> Result<Readiness, WizardError> {
    let template = &plan.source.template_id;
    let mut groups = Vec::new();
    let mut rows: Vec<ReadinessRow> = Vec::new();
    let mut selections = Vec::new();
    if plan.source.device_groups.is_empty() {
        // Every device of the template: the run makes a device group for them.
        selections.push((ALL_OF_TEMPLATE.to_string(), "Every device of the template".to_string(), central.devices()?.all().await?));
    }
    for group_id in &plan.source.device_groups {
        let group =
            central.device_group(group_id).await.map_err(|e| if e.is_not_found() { WizardError::NoSuchDeviceGroup(group_id.clone()) } else { e.into() })?;
        selections.push((group.id, group.display_name, central.device_group_devices(group_id)?.all().await?));
    }
    for (id, display_name, devices) in selections {
        let group = GroupSelection { id, display_name, devices: 0, other_templates: 0 };
        let (mine, others): (Vec<Device>, Vec<Device>) = devices.into_iter().partition(|d| d.template.as_deref() == Some(template.as_str()));
        groups.push(GroupSelection { devices: mine.len() as u32, other_templates: others.len() as u32, ..group.clone() });
        for device in mine {
            if rows.iter().any(|r| r.device_id == device.id) {
                continue; // in two groups: moved once, by the first group's job
            }
            let (provisioned, enabled) = (device.provisioned.unwrap_or(false), device.enabled.unwrap_or(true));
            let expected_failure = if !enabled {
                expect("blocked", "The device is blocked in Central: it is not connected and cannot receive DeviceMove.")
            } else if !provisioned {
                expect("notProvisioned", "The device has never connected to Central, so it cannot receive DeviceMove.")
            } else {
                None
            };
            rows.push(ReadinessRow {
                display_name: device.display_name.clone().unwrap_or_else(|| device.id.clone()),
                device_id: device.id,
                group: group.id.clone(),
                provisioned,
                enabled,
                attestation: AttestationKind::NotChecked,
                expected_failure,
                already_in_target: None,
            });
        }
    }
    if rows.is_empty() {
        let what = if groups.len() == 1 { format!("the device group {}", groups[0].id) } else { "the chosen device groups".into() };
        return Err(WizardError::EmptySelection { what, template: template.clone() });
    }
    let checked = attestations && rows.len() <= ATTESTATION_CHECK_LIMIT;
    if checked {
        check_attestations(central, enrollment_group, &mut rows, progress).await?;
    }
    let mut by_reason = BTreeMap::new();
    for failure in rows.iter().filter_map(|r| r.expected_failure.as_ref()) {
        *by_reason.entry(failure.code.clone()).or_insert(0) += 1;
    }
    let expected_to_fail = by_reason.values().sum();
    Ok(Readiness { groups, ready: rows.len() as u32 - expected_to_fail, expected_to_fail, by_reason, attestation_checked: checked, rows, left_out: 0 })
}

/// The reason code of a device the target hub already holds.
pub const ALREADY_IN_TARGET: &str = "alreadyInTarget";

impl Readiness {
    /// Marks the devices the target hub already holds: left out of the move (and of the
    /// counts of devices ready or expected to fail), unless the plan includes them.
    pub fn mark_already_in_target(&mut self, present: &super::arrivals::Presence, hub_name: &str, include: bool) {
        for row in &mut self.rows {
            let Some(&connected) = present.get(&row.device_id) else { continue };
            let state = if connected { "and connected there" } else { "though not connected now" };
            let reason = if include {
                format!("Already registered in the hub {hub_name} ({state}): DeviceMove is sent to it again, as the plan asks.")
            } else {
                format!("Already registered in the hub {hub_name} ({state}): moved before, so it is left out of this migration.")
            };
            row.already_in_target = Some(Expected { code: ALREADY_IN_TARGET.into(), reason });
        }
        if include {
            return;
        }
        let left_out: Vec<&ReadinessRow> = self.rows.iter().filter(|r| r.already_in_target.is_some()).collect();
        self.left_out = left_out.len() as u32;
        for row in left_out {
            match &row.expected_failure {
                Some(failure) => {
                    self.expected_to_fail -= 1;
                    let count = self.by_reason.get_mut(&failure.code).expect("every expected failure is counted");
                    *count -= 1;
                    if *count == 0 {
                        self.by_reason.remove(&failure.code);
                    }
                }
                None => self.ready -= 1,
            }
        }
    }

    /// The devices left out of the move, by the device group whose job would have reached them.
    pub fn left_out_by_group(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in self.rows.iter().filter(|r| r.already_in_target.is_some()) {
            by_group.entry(row.group.clone()).or_default().push(row.device_id.clone());
        }
        by_group
    }
}

/// Reads each provisioned device's attestation, a few at a time (the client keeps Central's rate).
async fn check_attestations(
    central: &CentralClient,
    group: &CentralGroup,
    rows: &mut [ReadinessRow],
    progress: &(dyn Fn(u32, u32) + Send + Sync),
) -> Result<(), WizardError> {
    let total = rows.len() as u32;
    let (central, group) = (Arc::new(central.clone()), Arc::new(group.clone()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut done = 0u32;
    let mut next = 0usize;
    let ids: Vec<String> = rows.iter().map(|r| r.device_id.clone()).collect();
    loop {
        while tasks.len() < 8 && next < ids.len() {
            let (central, group, id, index) = (central.clone(), group.clone(), ids[next].clone(), next);
            tasks.spawn(async move { (index, attestation_of(&central, &group, &id).await) });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else { break };
        let (index, kind) = joined.map_err(|e| WizardError::JobFailed { job: "readiness".into(), detail: e.to_string(), request_id: None })?;
        let kind = kind?;
        let row = &mut rows[index];
        row.attestation = kind;
        if row.expected_failure.is_none() {
            row.expected_failure = attestation_problem(kind, &group.attestation.kind);
        }
        done += 1;
        if done.is_multiple_of(25) || done == total {
            progress(done, total);
        }
    }
    Ok(())
}
