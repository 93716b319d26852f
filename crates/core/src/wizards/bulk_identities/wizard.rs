//! Bulk identities as the runtime sees it: its plan, clients, checks, dry run, run and report,
//! each handed to the module that does it.

use super::dry_run::{dry_run, DryRun};
use super::engine::{Clients, Engine};
use super::error::BulkError;
use super::plan::Plan;
use super::progress::{BulkTick, DEVICE};
use super::report::{self, Report};
use crate::journal::{Journal, JournalError};
use crate::runtime::{self, Connect, PlanProblem, RunContext, RunError, RunMode, RunOutcome, Runs, WizardEngine};
use crate::wizards::WizardId;
use crate::ErrorPayload;

pub struct BulkIdentities;

impl WizardEngine for BulkIdentities {
    const ID: WizardId = WizardId::BulkIdentities;
    const ITEM_KIND: &'static str = DEVICE;
    type Plan = Plan;
    type Clients = Clients;
    type Tick = BulkTick;
    type DryRun = DryRun;
    type Report = Report;
    type Error = BulkError;

    fn check_plan(plan: &Plan) -> Result<(), Vec<PlanProblem>> {
        plan.check()
    }

    fn title(plan: &Plan) -> String {
        plan.title()
    }

    fn clients(_plan: &Plan, connect: &dyn Connect) -> Result<Clients, ErrorPayload> {
        Ok(Clients { pipeline: connect.pipeline().clone(), arm: connect.arm()? })
    }

    async fn dry_run<'a>(clients: &'a Clients, plan: &'a Plan, progress: &'a (dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, BulkError> {
        dry_run(clients, plan, progress).await
    }

    async fn run<'a>(ctx: &'a RunContext<'a, BulkTick>, clients: &'a Clients, plan: &'a Plan) -> Result<(), BulkError> {
        let result = Engine::new(ctx, clients).run(plan).await;
        // Work files may hold keys: gone once the run ends, whichever way (a stop keeps them to resume).
        if !matches!(&result, Err(e) if runtime::WizardFailure::is_interrupted(e)) {
            let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("iotm-bulk-{}", ctx.id())));
        }
        result
    }

    /// `cancel`: the hub's running job of this migration is cancelled (answers 1 when one was).
    async fn act<'a>(action: &'a str, ctx: &'a RunContext<'a, BulkTick>, clients: &'a Clients, plan: &'a Plan) -> Result<u32, BulkError> {
        match action {
            "cancel" => {
                let hub = super::engine::hub_client(clients, plan).await?;
                let mut cancelled = 0;
                for step in ctx.journal().steps(ctx.id())? {
                    if let Some(job) = step.outcome.as_ref().and_then(|o| o.get("jobId")).and_then(|j| j.as_str()) {
                        if !hub.import_export_job(job).await?.ended() {
                            hub.cancel_import_export_job(job).await?;
                            cancelled += 1;
                        }
                    }
                }
                Ok(cancelled)
            }
            other => Err(RunError::Unsupported { wizard: WizardId::BulkIdentities, action: other.into() }.into()),
        }
    }

    fn report(journal: &Journal, id: &str) -> Result<Report, JournalError> {
        report::build(journal, id)
    }

    fn report_csv(report: &Report) -> String {
        report::to_csv(report)
    }

    fn dry_run_lines(dry: &DryRun) -> Vec<String> {
        let mut lines = vec![format!("Bulk {} on {} ({} devices now)", dry.operation, dry.hub, dry.devices_in_hub), "Changes:".to_string()];
        lines.extend(dry.changes.iter().map(|c| format!("  - {c}")));
        if !dry.sample.is_empty() {
            lines.push(format!("Devices found: {} (first: {})", dry.matching.unwrap_or(0), dry.sample.join(", ")));
        }
        lines
    }

    fn report_lines(report: &Report) -> Vec<String> {
        let mut lines = vec![format!("{} — {:?}", report.title, report.state)];
        lines.extend(report.jobs.iter().map(|(step, job)| format!("{step}: job {job}")));
        lines.push(format!("Devices: {}", report.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ")));
        for e in &report.errors {
            let line = e.line.map(|l| format!("line {l}")).unwrap_or_else(|| "no line".into());
            lines.push(format!(
                "  {line}: {} — {} ({})",
                e.device_id.as_deref().unwrap_or("?"),
                e.meaning,
                e.error_code.map(|c| c.to_string()).unwrap_or_default()
            ));
        }
        if let Some(why) = &report.stopped_by {
            lines.push(format!("Stopped: {why}"));
        }
        lines
    }

    fn tick_note(tick: &BulkTick) -> Option<String> {
        match (&tick.job_id, tick.total_bytes) {
            (Some(job), _) => Some(format!("{} job {job}: {} {}%", tick.phase, tick.job_status.as_deref().unwrap_or("?"), tick.job_progress.unwrap_or(0))),
            (None, total) if total > 0 => Some(format!("{}: {} of {} bytes", tick.phase, tick.bytes, total)),
            _ => None,
        }
    }
}

/// Records a new bulk run of `plan` (checked first); answers its ID.
pub fn create(journal: &Journal, plan: &Plan) -> Result<String, BulkError> {
    runtime::create::<BulkIdentities>(journal, plan)
}

/// Runs (or resumes) the journaled run `id` to its end, outside any registry of runs (tests; the
/// window and the CLI go through `Migrations`).
pub async fn run(
    journal: &Journal,
    id: &str,
    clients: Clients,
    progress: &(dyn Fn(runtime::Progress<BulkTick>) + Send + Sync),
) -> Result<RunOutcome, BulkError> {
    let plan = runtime::plan_of::<BulkIdentities>(journal, id)?;
    runtime::run_as::<BulkIdentities>(journal, &Runs::default(), id, &clients, &plan, RunMode::Run, progress).await
}
