//! What a person does to a migration once it has run: retry the failed devices (Central's rerun of
//! each job over its failed devices, journaled like any side effect), stop or resume its jobs.

use super::engine::Engine;
use super::error::WizardError;
use super::monitor::{JobRef, Monitor};
use super::plan::Plan;
use super::progress::{DeviceState, DEVICE};
use super::reasons::{COMMAND_ERROR, JOB_ENDED, NO_ANSWER, NO_DEVICE_MOVE};
use super::target;
use super::template::DeviceMoveCommand;
use crate::runtime::attempts::{self, Retried};
use crate::runtime::PlanProblem;
use serde_json::json;

impl Engine<'_> {
    /// The Central jobs this migration created (first jobs and reruns), from its journal.
    pub fn jobs(&self) -> Result<Vec<JobRef>, WizardError> {
        Ok(self
            .ctx
            .journal()
            .steps(self.ctx.id())?
            .into_iter()
            .filter(|s| s.key.starts_with("job:") || s.key.starts_with("rerun:"))
            .filter_map(|s| {
                let id = s.outcome.as_ref()?["jobId"].as_str()?.to_string();
                Some(JobRef { id, group: s.key.split(':').nth(1).unwrap_or_default().to_string() })
            })
            .collect())
    }

    /// Reruns each job over its failed devices and watches them again. Only failures Central
    /// reruns are retried: devices that did not answer or answered with an error. Devices that
    /// answered and then did not arrive have left Central; a new command cannot reach them.
    /// Devices whose firmware lacks DeviceMove fail again as they are: they are left out (kept
    /// failed, not watched, not counted as retried) unless `include_no_device_move`. Central's
    /// rerun covers every failed device of a job, so with only such devices failed nothing is rerun.
    pub async fn retry_failed(&self, plan: &Plan, include_no_device_move: bool) -> Result<(), WizardError> {
        let code = |reason: &Option<String>| reason.as_deref().map(|r| r.split(':').next().unwrap_or(r).to_string());
        let retriable = |reason: &Option<String>| {
            code(reason).is_some_and(|c| [NO_ANSWER, COMMAND_ERROR, JOB_ENDED].contains(&c.as_str()) || (include_no_device_move && c == NO_DEVICE_MOVE))
        };
        let (failed, kept): (Vec<_>, Vec<_>) = self.ctx.items(DEVICE, Some("failed"))?.into_iter().partition(|r| retriable(&r.reason));
        if failed.is_empty() {
            return Ok(());
        }
        let left_out = kept.iter().filter(|r| code(&r.reason).as_deref() == Some(NO_DEVICE_MOVE)).count() as u64;
        let command: DeviceMoveCommand = self
            .ctx
            .journal()
            .steps(self.ctx.id())?
            .into_iter()
            .find(|s| s.key == "template")
            .and_then(|s| s.outcome)
            .and_then(|o| serde_json::from_value(o).ok())
            .ok_or_else(|| WizardError::from(PlanProblem::new("journal", "the migration never checked its template; run it first")))?;
        let attempt = self.ctx.journal().steps(self.ctx.id())?.iter().filter(|s| s.key.starts_with("verify")).count();
        let mut reruns = Vec::new();
        for job in self.jobs()?.into_iter().filter(|j| !j.group.is_empty()) {
            let rerun_id = self.ctx.identifier(&format!("rerun:{}:{attempt}", job.id), || format!("{}-r{attempt}", job.id))?;
            let key = format!("rerun:{}:{attempt}", job.group);
            let central = &self.clients.central;
            let (rerun_ref, job_ref) = (&rerun_id, &job);
            let done = self
                .step(&key, &format!("Rerun {} on its failed devices", job.id), json!({"jobId": rerun_id, "of": job.id}), |unfinished| async move {
                    let (rerun_id, job) = (rerun_ref, job_ref);
                    if unfinished && self.is_our_job(rerun_id, &job.group).await {
                        return Ok(json!({"jobId": rerun_id}));
                    }
                    match central.rerun_job(&job.id, rerun_id).await {
                        Ok(_) => Ok(json!({"jobId": rerun_id})),
                        // The pipeline retried a rerun whose first try was applied (its answer
                        // lost): the rerun exists, carries this migration's job and is watched.
                        Err(e) if e.status() == Some(409) && self.is_our_job(rerun_id, &job.group).await => Ok(json!({"jobId": rerun_id})),
                        // No failed device in this job: nothing to rerun.
                        Err(e) if matches!(e.status(), Some(400 | 404 | 409)) => Ok(json!({"skipped": e.to_string()})),
                        Err(e) => Err(WizardError::JobFailed {
                            job: rerun_id.clone(),
                            detail: e.to_string(),
                            request_id: e.service_error().and_then(|s| s.request_id.clone()),
                        }),
                    }
                })
                .await?;
            if done["jobId"].is_string() {
                reruns.push(JobRef { id: rerun_id, group: job.group });
            }
        }
        // Each device's failed attempt is journaled before its state is reset to pending.
        let retried = Retried { items: failed.iter().map(|r| (r.key.clone(), r.reason.clone())).collect(), left_out };
        attempts::record(self.ctx, DEVICE, attempt as u32, retried)?;
        self.ctx.record_items(DEVICE, failed.iter().map(|r| (r.key.as_str(), DeviceState::Pending.as_str(), None)))?;
        let target = target::resolve(&self.clients.arm, plan).await?;
        let planes = target::data_planes(&self.clients.arm, &self.clients.pipeline, plan, &target).await?;
        let central_group = self.clients.central.enrollment_group(&plan.enrollment.central_group_id).await?;
        Monitor::new(self, plan, &command, &planes, &target.hub_host, &central_group, reruns)?.watch().await?;
        let counts = self.ctx.item_counts(DEVICE)?;
        self.step(&format!("verify:{attempt}"), "Verify the retried devices", json!({}), |_| async { Ok(json!({"counts": counts})) }).await?;
        Ok(())
    }

    /// Stops the migration's running jobs in Central (devices not yet reached stay on Central).
    pub async fn stop_jobs(&self) -> Result<u32, WizardError> {
        let mut stopped = 0;
        for job in self.jobs()? {
            if self.clients.central.job(&job.id).await?.status.as_deref() == Some("running") {
                self.clients.central.stop_job(&job.id).await?;
                stopped += 1;
            }
        }
        Ok(stopped)
    }

    /// Resumes the migration's stopped jobs.
    pub async fn resume_jobs(&self) -> Result<u32, WizardError> {
        let mut resumed = 0;
        for job in self.jobs()? {
            if self.clients.central.job(&job.id).await?.status.as_deref() == Some("stopped") {
                self.clients.central.resume_job(&job.id).await?;
                resumed += 1;
            }
        }
        Ok(resumed)
    }
}
