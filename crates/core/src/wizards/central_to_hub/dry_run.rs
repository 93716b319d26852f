//! The dry run: everything the run would do, read and checked but not done — the DPS change, the
//! enrollment group (created, or reused), the device group, the jobs with their device counts and
//! the exact payload — which devices are expected to fail and why, and how long it should take.
//! Anything that would stop the run (template, access, a group clash, a missing certificate) stops
//! the dry run first, with the same error.

use super::arrivals;
use super::engine::{payload, Clients};
use super::enrollment::desired_group;
use super::error::WizardError;
use super::left_out;
use super::plan::Plan;
use super::readiness::{self, Readiness, ALL_OF_TEMPLATE};
use super::target::{self, DpsView};
use super::template::{find_device_move, DeviceMoveCommand};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use ts_rs::TS;

/// Central's documented API limit per application.
const CENTRAL_REQUESTS_PER_SECOND: f64 = 20.0;
/// How long a device that does not answer holds a job batch (Central's command timeout).
const COMMAND_TIMEOUT_SECONDS: f64 = 30.0;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `linkHub`, `createEnrollmentGroup`, `reuseEnrollmentGroup`, `createDeviceGroup`, `createJob`.
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub low_seconds: u32,
    pub high_seconds: u32,
    pub assumptions: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    pub command: DeviceMoveCommand,
    #[ts(type = "unknown")]
    pub payload: Value,
    pub dps: DpsView,
    pub hub_host: String,
    pub changes: Vec<Change>,
    pub readiness: Readiness,
    /// Each expected-failure code of the readiness in a few words (`wrongKey` → "own key, not the group's").
    pub reason_words: BTreeMap<String, String>,
    pub estimate: Estimate,
    /// What no dry run can know, said beside its prediction.
    pub cannot_know: Vec<String>,
}

/// What a dry run reads cannot tell: said plainly beside the prediction, so "ready" is not taken
/// for a promise.
pub const CANNOT_KNOW: &[&str] = &[
    "Whether each device is online when the job reaches it: one that is offline then does not answer, and is reported as such.",
    "Whether each device's firmware handles DeviceMove: one that does not answers 501, and stays in Central.",
    "Whether a device that answered will register with the new DPS and connect to the hub: one that never does is reported after the settle time.",
];

pub async fn dry_run(clients: &Clients, plan: &Plan, progress: &(dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, WizardError> {
    plan.check().map_err(|mut p| WizardError::from(p.remove(0)))?;
    let central = &clients.central;
    let template = central.device_template(&plan.source.template_id).await?;
    let command = find_device_move(&template)?;
    let template_name = template.display_name.clone().unwrap_or_else(|| plan.source.template_id.clone());
    let target = target::resolve(&clients.arm, plan).await?;
    let mut changes = Vec::new();
    if !target.hub_is_linked() {
        if !plan.target.link_hub_if_needed {
            return Err(WizardError::HubNotLinked { hub: plan.target.hub_name.clone(), dps: plan.target.dps_name.clone() });
        }
        changes.push(Change {
            kind: "linkHub".into(),
            description: format!("Link the hub {} to the DPS {} (an ETag-guarded update of the DPS).", plan.target.hub_name, plan.target.dps_name),
        });
    }
    let central_group = central.enrollment_group(&plan.enrollment.central_group_id).await?;
    let desired = desired_group(plan, &central_group, &target.hub_host)?;
    let planes = target::data_planes(&clients.arm, &clients.pipeline, plan, &target).await?;
    match planes.dps.enrollment_group(&desired.enrollment_group_id).await {
        Ok(_) => {
            // The run's own check decides reuse or clash; run it now so a clash shows here.
            super::enrollment::ensure_group(&planes.dps, plan, &desired).await?;
            changes.push(Change {
                kind: "reuseEnrollmentGroup".into(),
                description: format!("Reuse the DPS enrollment group {}: it already holds Central's keys.", desired.enrollment_group_id),
            });
        }
        Err(e) if e.is_not_found() => changes.push(Change {
            kind: "createEnrollmentGroup".into(),
            description: format!(
                "Create the DPS enrollment group {} ({} from Central's group {}), assigning devices to the hub {} only.",
                desired.enrollment_group_id,
                attestation_words(&desired.attestation.kind),
                central_group.display_name,
                plan.target.hub_name
            ),
        }),
        Err(e) => return Err(e.into()),
    }
    let mut readiness = readiness::check(central, plan, &central_group, true, progress).await?;
    let present = already_in_target(&planes.hub, &readiness).await?;
    readiness.mark_already_in_target(&present, &plan.target.hub_name, plan.source.include_already_in_target);
    let left_out = left_out::check(&readiness, &plan.target.hub_name)?;
    if plan.source.device_groups.is_empty() {
        changes.push(Change {
            kind: "createDeviceGroup".into(),
            description: format!("Create a Central device group of every device of the template {template_name}."),
        });
    }
    for group in &readiness.groups {
        let leaving_out = left_out.get(&group.id).map_or(0, Vec::len);
        if left_out::whole_group_left_out(group.devices as usize, leaving_out) {
            continue;
        }
        let narrowed = if leaving_out > 0 {
            format!(" (a device group of its own, leaving out the {leaving_out} already in the hub {})", plan.target.hub_name)
        } else {
            String::new()
        };
        changes.push(Change {
            kind: "createJob".into(),
            description: format!(
                "Create a Central job sending DeviceMove to {}{}{}.",
                selection_words(group, group.devices - leaving_out as u32, &template_name),
                narrowed,
                batch_text(plan)
            ),
        });
    }
    let payload = payload(&command, plan, &target.view.id_scope, &target.hub_host);
    let estimate = estimate(plan, &readiness);
    let reason_words = readiness.by_reason.keys().map(|code| (code.clone(), super::reasons::label(code))).collect();
    let cannot_know = CANNOT_KNOW.iter().map(|s| s.to_string()).collect();
    Ok(DryRun { command, payload, dps: target.view, hub_host: target.hub_host, changes, readiness, reason_words, estimate, cannot_know })
}

/// Which of the selected devices the target hub already holds.
pub async fn already_in_target(hub: &iotm_azure::hub::HubClient, readiness: &Readiness) -> Result<arrivals::Presence, WizardError> {
    let ids: Vec<String> = readiness.rows.iter().map(|r| r.device_id.clone()).collect();
    let whole = arrivals::read_whole_hub(arrivals::hub_total(hub).await?, ids.len());
    Ok(arrivals::in_hub(hub, &ids, whole, false).await?)
}

/// `1 device`, `240 devices`.
fn devices(n: u32) -> String {
    if n == 1 {
        "1 device".into()
    } else {
        format!("{n} devices")
    }
}

/// Whom a job reaches, in words: "the 240 devices of the template Thermostat" (no group chosen),
/// "the 12 devices of the device group Thermostats" (`moving` of them: those not left out).
fn selection_words(group: &readiness::GroupSelection, moving: u32, template_name: &str) -> String {
    let count = format!("the {}", devices(moving));
    if group.id == ALL_OF_TEMPLATE {
        format!("{count} of the template {template_name}")
    } else {
        format!("{count} of the device group {}", group.display_name)
    }
}

/// Central's attestation kind as the page says it.
fn attestation_words(kind: &str) -> &str {
    match kind {
        "symmetricKey" => "symmetric-key attestation",
        "x509" => "X.509 attestation",
        "tpm" => "TPM attestation",
        other => other,
    }
}

fn batch_text(plan: &Plan) -> String {
    match plan.job.batch_size {
        Some(n) => format!(", in batches of {n}"),
        None => String::new(),
    }
}

/// From the limits in force: Central's request rate (the monitor's reads), its command timeout
/// (an unanswering device holds its batch that long), and the settle time (how long a device that
/// answered may take to appear in the hub).
pub fn estimate(plan: &Plan, readiness: &Readiness) -> Estimate {
    let devices = (readiness.rows.len() as u32 - readiness.left_out) as f64;
    let reads = devices / 100.0 / CENTRAL_REQUESTS_PER_SECOND;
    let batches = plan.job.batch_size.map(|b| (devices / b as f64).ceil()).unwrap_or(1.0);
    let low = reads + 5.0;
    let settle = if readiness.expected_to_fail > 0 { plan.verify.settle_seconds as f64 } else { 0.0 };
    let high = reads + batches * COMMAND_TIMEOUT_SECONDS + plan.verify.settle_seconds as f64;
    Estimate {
        low_seconds: (low + settle).ceil() as u32,
        high_seconds: high.ceil() as u32,
        assumptions: format!(
            "{} in {}; Central allows {} requests/s; a device that does not answer holds its batch {} s; devices that answered get {} s to appear in the hub.",
            self::devices(devices as u32),
            if batches as u64 == 1 { "1 batch".to_string() } else { format!("{} batches", batches as u64) },
            CENTRAL_REQUESTS_PER_SECOND,
            COMMAND_TIMEOUT_SECONDS,
            plan.verify.settle_seconds
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use readiness::GroupSelection;

    fn selection(id: &str, devices: u32) -> GroupSelection {
        GroupSelection { id: id.into(), display_name: "Thermostats".into(), devices, other_templates: 0 }
    }

    #[test]
    fn a_job_names_whom_it_reaches_in_words() {
        assert_eq!(selection_words(&selection(ALL_OF_TEMPLATE, 240), 240, "Thermostat"), "the 240 devices of the template Thermostat");
        assert_eq!(selection_words(&selection("thermostats", 1), 1, "Thermostat"), "the 1 device of the device group Thermostats");
        assert_eq!(attestation_words("symmetricKey"), "symmetric-key attestation");
    }
}
