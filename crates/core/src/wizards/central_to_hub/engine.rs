//! The run: every side effect journaled before and after, so a run killed at any point resumes
//! where it stopped and never makes anything twice. Steps, in order:
//! template check → target check (DPS and hub readable, link possible) → enrollment check (the
//! DPS group can be made: certificate given, no clash) → device selection → hub link (if needed)
//! → DPS enrollment group → device group (when the plan takes every device of the template) →
//! one Central job per device group → monitor and verify. Nothing is changed before every check
//! has passed. Identifiers (job IDs, the device group's ID) come from the journal.

use super::enrollment::{desired_group, ensure_group, existing_group, GroupOutcome};
use super::error::WizardError;
use super::left_out;
use super::monitor::{JobRef, Monitor};
use super::plan::{PayloadStyle, Plan};
use super::progress::{CentralToHubTick, DeviceState, DEVICE};
use super::readiness;
use super::target::{self, ResolvedTarget};
use super::template::{find_device_move, DeviceMoveCommand, PayloadShape};
use crate::runtime::{PlanProblem, RunContext};
use iotm_azure::arm::ArmClient;
use iotm_azure::central::models::{DeviceGroup, Job, JobBatch, JobCancellationThreshold, JobData};
use iotm_azure::central::CentralClient;
use iotm_azure::Pipeline;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

/// What the device selection decided, as journaled (a resumed run reads it back): the devices left
/// out by device group, and the groups left out whole.
#[derive(Debug, Default)]
struct Selection {
    left_out: BTreeMap<String, Vec<String>>,
    whole_groups_left_out: BTreeSet<String>,
}

/// The clients a run speaks through; built by the caller from the session (or the CLI's credential).
#[derive(Clone)]
pub struct Clients {
    pub pipeline: Pipeline,
    pub arm: ArmClient,
    pub central: CentralClient,
}

/// A run of one Central → Hub migration: its context (journal, stop, progress) and its clients.
pub struct Engine<'a> {
    pub ctx: &'a RunContext<'a, CentralToHubTick>,
    pub clients: &'a Clients,
}

impl<'a> Engine<'a> {
    pub fn new(ctx: &'a RunContext<'a, CentralToHubTick>, clients: &'a Clients) -> Engine<'a> {
        Engine { ctx, clients }
    }

    /// A journaled side effect of this wizard (see `RunContext::step`).
    pub(crate) async fn step<F, Fut>(&self, key: &str, title: &str, intent: Value, act: F) -> Result<Value, WizardError>
    where
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = Result<Value, WizardError>>,
    {
        self.ctx.step(key, title, intent, act).await
    }

    /// A journaled check of this wizard, run on every run (see `RunContext::check`).
    pub(crate) async fn check<T, F, Fut>(&self, key: &str, title: &str, intent: Value, act: F) -> Result<T, WizardError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, WizardError>>,
    {
        self.ctx.check(key, title, intent, act).await
    }

    /// Runs (or resumes) the migration to its end.
    pub async fn run(&self, plan: &Plan) -> Result<(), WizardError> {
        self.run_plan(plan).await
    }

    async fn run_plan(&self, plan: &Plan) -> Result<(), WizardError> {
        let central = &self.clients.central;
        let command: DeviceMoveCommand = {
            let template_id = plan.source.template_id.clone();
            let outcome = self
                .step("template", "Check the template carries DeviceMove", json!({"template": template_id}), |_| async {
                    let template = central.device_template(&template_id).await?;
                    Ok(serde_json::to_value(find_device_move(&template)?).unwrap_or_default())
                })
                .await?;
            serde_json::from_value(outcome).map_err(|e| WizardError::from(PlanProblem::new("journal step template", e.to_string())))?
        };

        // Everything that can refuse the plan is checked before anything is changed (a bad plan
        // used to link the hub and create the DPS group before an empty selection, a group clash
        // or a missing certificate stopped it). The checks run again on every run, since access,
        // links and groups change between runs; each is journaled as a step, so a stopped run
        // shows where and why.
        let (target, planes) = self
            .check("target", "Check the DPS and the hub", json!({"dps": plan.target.dps_name, "hub": plan.target.hub_name}), || async {
                let target = target::resolve(&self.clients.arm, plan).await?;
                if !target.hub_is_linked() && !plan.target.link_hub_if_needed {
                    return Err(WizardError::HubNotLinked { hub: plan.target.hub_name.clone(), dps: plan.target.dps_name.clone() });
                }
                let planes = target::data_planes(&self.clients.arm, &self.clients.pipeline, plan, &target).await?;
                Ok((target, planes))
            })
            .await?;
        let (central_group, desired) = self
            .check(
                "enrollment",
                "Check the DPS enrollment group can be made",
                json!({"centralGroup": plan.enrollment.central_group_id, "group": plan.enrollment.dps_group_id}),
                || async {
                    let central_group = central.enrollment_group(&plan.enrollment.central_group_id).await?;
                    let desired = desired_group(plan, &central_group, &target.hub_host)?;
                    existing_group(&planes.dps, plan, &desired).await?;
                    Ok((central_group, desired))
                },
            )
            .await?;
        let selection = self.select_devices(plan, &central_group, &planes).await?;

        // A link begun by an earlier run is finished in the journal even if the hub shows linked now.
        let link_begun = self.ctx.journal().steps(self.ctx.id())?.iter().any(|s| s.key == "link-hub");
        if !target.hub_is_linked() || link_begun {
            let target = &target;
            let label = format!("Link the hub {} to the DPS {}", plan.target.hub_name, plan.target.dps_name);
            self.step("link-hub", &label, json!({"hub": target.hub_host, "dps": plan.target.dps_name}), |unfinished| async move {
                if target.hub_is_linked() || (unfinished && target::resolve(&self.clients.arm, plan).await?.hub_is_linked()) {
                    return Ok(json!({"linked": true, "already": true}));
                }
                target::link_hub(&self.clients.arm, plan, target).await?;
                Ok(json!({"linked": true}))
            })
            .await?;
        }
        self.step(
            "enrollment-group",
            &format!("Create the DPS enrollment group {} from Central's keys", desired.enrollment_group_id),
            json!({"group": desired.enrollment_group_id, "dps": plan.target.dps_name, "hub": target.hub_host}),
            |_| async {
                let outcome = ensure_group(&planes.dps, plan, &desired).await?;
                Ok(json!({"group": desired.enrollment_group_id, "reused": outcome == GroupOutcome::Reused}))
            },
        )
        .await?;

        let groups = self.device_groups(plan, &selection).await?;
        let mut jobs = Vec::new();
        for group in &groups {
            jobs.push(self.send_job(plan, &command, &target, group).await?);
        }
        let monitor = Monitor::new(self, plan, &command, &planes, &target.hub_host, &central_group, jobs)?;
        monitor.watch().await?;
        let counts = self.ctx.item_counts(DEVICE)?;
        self.step("verify", "Verify every device in the hub", json!({}), |_| async { Ok(json!({"counts": counts})) }).await?;
        Ok(())
    }

    /// The Central device groups the jobs target: the plan's, or one made for every device of the
    /// template; a group with devices left out (already in the target hub) is replaced by one of
    /// this migration's own that leaves them out, and a group left out whole gets no job.
    async fn device_groups(&self, plan: &Plan, selection: &Selection) -> Result<Vec<String>, WizardError> {
        let template = plan.source.template_id.clone();
        if plan.source.device_groups.is_empty() {
            let all = selection.left_out.get(readiness::ALL_OF_TEMPLATE).map(Vec::as_slice).unwrap_or_default();
            let filter = left_out::narrowed_filter(&format!("SELECT * FROM devices WHERE $template = \"{}\"", template.replace('"', "")), all);
            let group_id = self.ctx.identifier("device-group", || format!("iotm-move-{}", short_id()))?;
            let description = format!("Every device of {template}, for migration {}", self.ctx.id());
            self.create_device_group("device-group", &group_id, &format!("Moved by IoT Migrator ({template})"), &filter, &description).await?;
            return Ok(vec![group_id]);
        }
        let mut groups = Vec::new();
        for group in &plan.source.device_groups {
            let left_out = selection.left_out.get(group).map(Vec::as_slice).unwrap_or_default();
            if selection.whole_groups_left_out.contains(group) {
                continue;
            }
            if left_out.is_empty() {
                groups.push(group.clone());
                continue;
            }
            let key = format!("device-group:{group}");
            let group_id = self.ctx.identifier(&key, || format!("iotm-move-{}", short_id()))?;
            let chosen = self.clients.central.device_group(group).await?;
            let filter = left_out::narrowed_filter(&chosen.filter, left_out);
            let description = format!(
                "{}, leaving out the {} devices already in {}, for migration {}",
                chosen.display_name,
                left_out.len(),
                plan.target.hub_name,
                self.ctx.id()
            );
            self.create_device_group(&key, &group_id, &format!("{} (IoT Migrator)", chosen.display_name), &filter, &description).await?;
            groups.push(group_id);
        }
        Ok(groups)
    }

    async fn create_device_group(&self, key: &str, group_id: &str, display_name: &str, filter: &str, description: &str) -> Result<(), WizardError> {
        let intent = json!({"group": group_id, "filter": filter});
        self.step(key, &format!("Create the device group {display_name}"), intent, |_| async {
            let group = DeviceGroup {
                id: group_id.to_string(),
                display_name: display_name.to_string(),
                filter: filter.to_string(),
                description: Some(description.to_string()),
                etag: None,
                organizations: vec![],
            };
            self.clients.central.create_device_group(group_id, &group).await?;
            Ok(json!({"group": group_id}))
        })
        .await?;
        Ok(())
    }

    /// The devices this migration moves, recorded once as pending (a resumed run keeps its states);
    /// those the target hub already holds are left out unless the plan includes them.
    async fn select_devices(
        &self,
        plan: &Plan,
        central_group: &iotm_azure::central::models::EnrollmentGroup,
        planes: &target::DataPlanes,
    ) -> Result<Selection, WizardError> {
        let outcome = self
            .step("select-devices", "List the devices to move", json!({"groups": plan.source.device_groups}), |_| async {
                let mut found = readiness::check(&self.clients.central, plan, central_group, false, &|_, _| {}).await?;
                if !plan.source.include_already_in_target {
                    let present = super::dry_run::already_in_target(&planes.hub, &found).await?;
                    found.mark_already_in_target(&present, &plan.target.hub_name, false);
                }
                let left_out = left_out::check(&found, &plan.target.hub_name)?;
                let whole: Vec<&String> = found
                    .groups
                    .iter()
                    .filter(|g| left_out::whole_group_left_out(g.devices as usize, left_out.get(&g.id).map_or(0, Vec::len)))
                    .map(|g| &g.id)
                    .collect();
                let moving = found.rows.iter().filter(|r| plan.source.include_already_in_target || r.already_in_target.is_none());
                self.ctx.record_items(DEVICE, moving.map(|r| (r.device_id.as_str(), DeviceState::Pending.as_str(), None)))?;
                Ok(json!({
                    "devices": found.rows.len() - found.left_out as usize,
                    "groups": found.groups.iter().map(|g| (g.id.clone(), g.devices)).collect::<Vec<_>>(),
                    "leftOut": left_out,
                    "wholeGroupsLeftOut": whole,
                }))
            })
            .await?;
        Ok(Selection {
            left_out: serde_json::from_value(outcome["leftOut"].clone()).unwrap_or_default(),
            whole_groups_left_out: serde_json::from_value(outcome["wholeGroupsLeftOut"].clone()).unwrap_or_default(),
        })
    }

    async fn send_job(&self, plan: &Plan, command: &DeviceMoveCommand, target: &ResolvedTarget, group: &str) -> Result<JobRef, WizardError> {
        let job_id = self.ctx.identifier(&format!("job:{group}"), || format!("iotm-{}", short_id()))?;
        let key = format!("job:{group}");
        let job = Job {
            display_name: Some(format!("Move to {} (IoT Migrator)", plan.target.hub_name)),
            // `is_migrations_job` reads the migration back from this line: keep them together.
            description: Some(format!("DeviceMove to DPS {} for migration {}", plan.target.dps_name, self.ctx.id())),
            group: group.to_string(),
            batch: plan.job.batch_size.map(|n| JobBatch { kind: "number".into(), value: n as f64 }),
            cancellation_threshold: plan.job.cancellation_threshold_percent.map(|p| JobCancellationThreshold {
                kind: "percentage".into(),
                value: p,
                batch: None,
            }),
            data: vec![JobData::command(&plan.source.template_id, &command.path, payload(command, plan, &target.view.id_scope, &target.hub_host))],
            ..Job::default()
        };
        let (id, job) = (&job_id, &job);
        // The group made for "every device of the template" has an ID no person chose: say what it holds.
        let whom =
            if plan.source.device_groups.iter().any(|g| g == group) { format!("the device group {group}") } else { "every device of the template".into() };
        self.step(&key, &format!("Send DeviceMove to {whom}"), json!({"jobId": job_id, "group": group}), |unfinished| async move {
            if unfinished && self.is_our_job(id, &job.group).await {
                return Ok(json!({"jobId": id}));
            }
            self.create_job(id, job).await?;
            Ok(json!({"jobId": id}))
        })
        .await?;
        Ok(JobRef { id: job_id, group: group.to_string() })
    }

    /// Creates a job, waiting while Central already runs its five. The job's ID is fixed, so after
    /// a dropped connection the job is looked up before it is created again: never two jobs.
    pub(crate) async fn create_job(&self, job_id: &str, job: &Job) -> Result<(), WizardError> {
        let mut lost = 0;
        loop {
            match self.clients.central.create_job(job_id, job).await {
                Ok(_) => return Ok(()),
                Err(e) if e.status() == Some(409) && e.service_code().is_some_and(|c| c.contains("TooManyRunningJobs")) => {
                    self.ctx.sleep(Duration::from_secs(5)).await?;
                }
                // The pipeline retried a PUT whose first try was applied (its answer lost).
                Err(e) if e.status() == Some(409) && self.is_our_job(job_id, &job.group).await => return Ok(()),
                Err(e) if e.status().is_none_or(|s| s == 429 || s >= 500) && lost < 5 => {
                    lost += 1;
                    if self.is_our_job(job_id, &job.group).await {
                        return Ok(());
                    }
                    self.ctx.sleep(Duration::from_secs(1)).await?;
                }
                Err(e) => {
                    // Central's answer already reads "… (request ID x)"; say it only when it does not.
                    let request_id = e.service_error().and_then(|s| s.request_id.clone());
                    let detail = e.to_string();
                    let detail = match &request_id {
                        Some(r) if !detail.contains(r.as_str()) => format!("{detail} (request ID {r})"),
                        _ => detail,
                    };
                    return Err(WizardError::JobFailed { job: job_id.into(), detail, request_id });
                }
            }
        }
    }
}

impl Engine<'_> {
    /// Whether Central holds a job `job_id` that this migration made, for `group`. The ID came from
    /// this migration's journal, but an ID alone is not proof: a job someone else made under it (by
    /// chance or on purpose) must fail the run rather than be watched as ours. Ours are the jobs
    /// whose description names this migration (`… for migration <id>`, a rerun keeps its job's)
    /// and whose device group is the one the step targets. Unreadable counts as not ours: the
    /// caller then acts as if the job were not there, and Central's answer decides.
    pub(crate) async fn is_our_job(&self, job_id: &str, group: &str) -> bool {
        match self.clients.central.job(job_id).await {
            Ok(found) => is_migrations_job(&found, group, self.ctx.id()),
            Err(_) => false,
        }
    }
}

/// A job this migration made for `group` (see `Engine::is_our_job`).
pub(crate) fn is_migrations_job(job: &Job, group: &str, migration_id: &str) -> bool {
    job.group == group && job.description.as_deref().is_some_and(|d| d.ends_with(&format!(" for migration {migration_id}")))
}

/// The DeviceMove payload: the interface's object (the fields it names that the plan can fill,
/// `idScope` always), or the bare ID scope.
pub fn payload(command: &DeviceMoveCommand, plan: &Plan, id_scope: &str, hub_host: &str) -> Value {
    let fields = match (&command.payload, plan.job.payload) {
        (PayloadShape::Object { fields }, PayloadStyle::FromTemplate) => fields,
        _ => return Value::String(id_scope.to_string()),
    };
    let mut object = serde_json::Map::new();
    object.insert("idScope".into(), json!(id_scope));
    for field in fields {
        let value = match field.as_str() {
            "dpsName" | "dps" => json!(plan.target.dps_name),
            "hubName" | "iotHubName" | "hub" | "hubHostName" => json!(hub_host),
            "centralAppSubdomain" => json!(plan.source.subdomain),
            "deviceTemplateId" => json!(plan.source.template_id),
            _ => continue,
        };
        object.insert(field.clone(), value);
    }
    Value::Object(object)
}

fn short_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(group: &str, description: Option<&str>) -> Job {
        Job { group: group.into(), description: description.map(str::to_string), ..Job::default() }
    }

    #[test]
    fn a_job_is_this_migrations_only_when_its_group_and_description_name_it() {
        let ours = job("thermostats", Some("DeviceMove to DPS contoso-dps for migration m-1"));
        assert!(is_migrations_job(&ours, "thermostats", "m-1"));
        assert!(!is_migrations_job(&ours, "thermostats", "m-2"), "another migration's job");
        assert!(!is_migrations_job(&ours, "thermostats", "1"), "an ID that only ends the same");
        assert!(!is_migrations_job(&ours, "sensors", "m-1"), "another device group");
        assert!(!is_migrations_job(&job("thermostats", None), "thermostats", "m-1"), "a job someone made by hand");
    }
}
