//! Hub state as the runtime sees it: its plan, clients, checks, dry run, run and report, each
//! handed to the module that does it.

use super::dry_run::{self, DryRun};
use super::engine::{Clients, Engine, HubStateTick, DEVICE};
use super::error::HubStateError;
use super::plan::Plan;
use super::report::{self, Report};
use crate::journal::{Journal, JournalError};
use crate::runtime::{self, Connect, PlanProblem, Progress, RunContext, RunMode, RunOutcome, Runs, WizardEngine};
use crate::wizards::WizardId;
use crate::ErrorPayload;

pub struct HubState;

impl WizardEngine for HubState {
    const ID: WizardId = WizardId::HubState;
    const ITEM_KIND: &'static str = DEVICE;
    type Plan = Plan;
    type Clients = Clients;
    type Tick = HubStateTick;
    type DryRun = DryRun;
    type Report = Report;
    type Error = HubStateError;

    fn complete_plan(plan: &mut Plan) {
        plan.complete();
    }

    fn check_plan(plan: &Plan) -> Result<(), Vec<PlanProblem>> {
        plan.check()
    }

    fn title(plan: &Plan) -> String {
        plan.title()
    }

    fn clients(_plan: &Plan, connect: &dyn Connect) -> Result<Clients, ErrorPayload> {
        Ok(Clients { pipeline: connect.pipeline().clone(), arm: connect.arm()? })
    }

    async fn dry_run<'a>(clients: &'a Clients, plan: &'a Plan, progress: &'a (dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, HubStateError> {
        dry_run::dry_run(clients, plan, progress).await
    }

    async fn run<'a>(ctx: &'a RunContext<'a, HubStateTick>, clients: &'a Clients, plan: &'a Plan) -> Result<(), HubStateError> {
        Engine::new(ctx, clients).run(plan).await
    }

    fn report(journal: &Journal, id: &str) -> Result<Report, JournalError> {
        report::build(journal, id)
    }

    fn report_csv(report: &Report) -> String {
        report::to_csv(report)
    }

    fn dry_run_lines(dry: &DryRun) -> Vec<String> {
        dry_run::lines(dry)
    }

    fn report_lines(report: &Report) -> Vec<String> {
        report::lines(report)
    }

    fn tick_note(tick: &HubStateTick) -> Option<String> {
        Some(tick.phase.clone())
    }
}

/// Records a new migration of `plan` (checked first); answers its ID.
pub fn create(journal: &Journal, plan: &Plan) -> Result<String, HubStateError> {
    runtime::create::<HubState>(journal, plan)
}

/// Runs (or resumes) the journaled migration `id` to its end, outside any registry of runs (the
/// engine's tests; the window and the CLI go through `Migrations`).
pub async fn run(
    journal: &Journal,
    id: &str,
    clients: Clients,
    progress: &(dyn Fn(Progress<HubStateTick>) + Send + Sync),
) -> Result<RunOutcome, HubStateError> {
    let plan = runtime::plan_of::<HubState>(journal, id)?;
    runtime::run_as::<HubState>(journal, &Runs::default(), id, &clients, &plan, RunMode::Run, progress).await
}
