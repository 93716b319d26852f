//! Central → Hub as the runtime sees it: its plan, clients, checks, dry run, run, retry, actions
//! and report, each handed to the module that does it.

use super::dry_run::{dry_run, DryRun};
use super::engine::{Clients, Engine};
use super::error::WizardError;
use super::plan::Plan;
use super::progress::{CentralToHubProgress, CentralToHubTick, DEVICE};
use super::report::{self, Report};
use crate::journal::{Journal, JournalError};
use crate::runtime::{self, Connect, PlanProblem, RunContext, RunError, RunMode, RunOutcome, Runs, WizardEngine};
use crate::wizards::WizardId;
use crate::ErrorPayload;

pub struct CentralToHub;

impl WizardEngine for CentralToHub {
    const ID: WizardId = WizardId::CentralToHub;
    const ITEM_KIND: &'static str = DEVICE;
    type Plan = Plan;
    type Clients = Clients;
    type Tick = CentralToHubTick;
    type DryRun = DryRun;
    type Report = Report;
    type Error = WizardError;

    fn complete_plan(plan: &mut Plan) {
        plan.complete();
    }

    fn check_plan(plan: &Plan) -> Result<(), Vec<PlanProblem>> {
        plan.check()
    }

    fn title(plan: &Plan) -> String {
        plan.title()
    }

    fn clients(plan: &Plan, connect: &dyn Connect) -> Result<Clients, ErrorPayload> {
        Ok(Clients { pipeline: connect.pipeline().clone(), arm: connect.arm()?, central: connect.central(&plan.source.subdomain, &plan.source.access)? })
    }

    async fn dry_run<'a>(clients: &'a Clients, plan: &'a Plan, progress: &'a (dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, WizardError> {
        dry_run(clients, plan, progress).await
    }

    async fn run<'a>(ctx: &'a RunContext<'a, CentralToHubTick>, clients: &'a Clients, plan: &'a Plan) -> Result<(), WizardError> {
        Engine::new(ctx, clients).run(plan).await
    }

    async fn retry<'a>(ctx: &'a RunContext<'a, CentralToHubTick>, clients: &'a Clients, plan: &'a Plan, include_unlikely: bool) -> Result<(), WizardError> {
        Engine::new(ctx, clients).retry_failed(plan, include_unlikely).await
    }

    async fn act<'a>(action: &'a str, ctx: &'a RunContext<'a, CentralToHubTick>, clients: &'a Clients, _plan: &'a Plan) -> Result<u32, WizardError> {
        let engine = Engine::new(ctx, clients);
        match action {
            "stopJobs" => engine.stop_jobs().await,
            "resumeJobs" => engine.resume_jobs().await,
            other => Err(RunError::Unsupported { wizard: WizardId::CentralToHub, action: other.into() }.into()),
        }
    }

    fn report(journal: &Journal, id: &str) -> Result<Report, JournalError> {
        report::build(journal, id)
    }

    fn report_csv(report: &Report) -> String {
        report::to_csv(report)
    }

    fn dry_run_lines(dry: &DryRun) -> Vec<String> {
        let mut lines = vec![
            format!("DeviceMove at {} with payload {}", dry.command.path, dry.payload),
            format!("Target DPS {} (ID scope {}, {} allocation), hub {}", dry.dps.name, dry.dps.id_scope, dry.dps.allocation_policy, dry.hub_host),
            "Changes:".to_string(),
        ];
        lines.extend(dry.changes.iter().map(|change| format!("  - {}", change.description)));
        let r = &dry.readiness;
        let unchecked = if r.attestation_checked { "" } else { " (attestations not checked: too many devices; checked for failing ones)" };
        lines.push(format!("Devices: {} ready, {} expected to fail{unchecked}", r.ready, r.expected_to_fail));
        lines.extend(r.by_reason.iter().map(|(code, n)| format!("  {n} × {code}")));
        lines.push(format!("Estimate: {}–{} s ({})", dry.estimate.low_seconds, dry.estimate.high_seconds, dry.estimate.assumptions));
        lines
    }

    fn report_lines(report: &Report) -> Vec<String> {
        let mut lines = vec![
            format!("{} — {:?}", report.title, report.state),
            format!("{} devices: {} verified, {} failed, {} unfinished", report.total, report.verified, report.failed, report.unfinished),
        ];
        lines.extend(report.by_reason.iter().map(|(code, n)| format!("  {n} × {code}")));
        lines.extend(
            report.retries.iter().map(|r| format!("Retry {}: {} retried, {} moved, {} left out (no DeviceMove)", r.attempt, r.retried, r.moved, r.left_out)),
        );
        lines
    }

    fn tick_note(tick: &CentralToHubTick) -> Option<String> {
        Some(tick.jobs.iter().map(|(id, status)| format!("{id} {status}")).collect::<Vec<_>>().join(", "))
    }
}

/// Records a new migration of `plan` (checked first); answers its ID.
pub fn create(journal: &Journal, plan: &Plan) -> Result<String, WizardError> {
    runtime::create::<CentralToHub>(journal, plan)
}

/// Runs (or resumes) the journaled migration `id` to its end, outside any registry of runs (the
/// engine's tests; the window and the CLI go through `Migrations`).
pub async fn run(journal: &Journal, id: &str, clients: Clients, progress: &(dyn Fn(CentralToHubProgress) + Send + Sync)) -> Result<RunOutcome, WizardError> {
    let plan = runtime::plan_of::<CentralToHub>(journal, id)?;
    runtime::run_as::<CentralToHub>(journal, &Runs::default(), id, &clients, &plan, RunMode::Run, progress).await
}

/// Reruns the failed devices of the journaled migration `id`, as `run` does (devices without
/// DeviceMove only when `include_no_device_move`).
pub async fn retry(
    journal: &Journal,
    id: &str,
    clients: Clients,
    include_no_device_move: bool,
    progress: &(dyn Fn(CentralToHubProgress) + Send + Sync),
) -> Result<RunOutcome, WizardError> {
    let plan = runtime::plan_of::<CentralToHub>(journal, id)?;
    runtime::run_as::<CentralToHub>(journal, &Runs::default(), id, &clients, &plan, RunMode::Retry { include_unlikely: include_no_device_move }, progress).await
}
