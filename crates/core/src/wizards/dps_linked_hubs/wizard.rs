//! DPS linked hubs as the runtime sees it: its plan, clients, checks, dry run, run and report,
//! each handed to the module that does it. Running again resumes; there is nothing to retry apart.

use super::dry_run::{self, DryRun};
use super::error::LinkedHubsError;
use super::plan::Plan;
use super::report::{self, Report};
use super::run::{self, HUB};
use crate::journal::{Journal, JournalError};
use crate::runtime::{self, Connect, PlanProblem, Progress, RunContext, RunMode, RunOutcome, Runs, WizardEngine};
use crate::wizards::WizardId;
use crate::ErrorPayload;
use iotm_azure::arm::ArmClient;
use iotm_azure::Pipeline;
use serde::Serialize;
use ts_rs::TS;

pub struct DpsLinkedHubs;

#[derive(Clone)]
pub struct Clients {
    pub pipeline: Pipeline,
    pub arm: ArmClient,
    /// The cloud's hub host suffix (`azure-devices.net`): a link to a hub of another cloud is refused.
    pub suffix: String,
}

impl Clients {
    pub fn new(pipeline: Pipeline, arm: ArmClient) -> Clients {
        let suffix = pipeline.cloud().endpoints().hub_suffix.clone();
        Clients { pipeline, arm, suffix }
    }
}

/// A linked hubs tick's own news: the phase the run is in.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DpsLinkedHubsTick {
    pub phase: String,
}

impl WizardEngine for DpsLinkedHubs {
    const ID: WizardId = WizardId::DpsLinkedHubs;
    const ITEM_KIND: &'static str = HUB;
    type Plan = Plan;
    type Clients = Clients;
    type Tick = DpsLinkedHubsTick;
    type DryRun = DryRun;
    type Report = Report;
    type Error = LinkedHubsError;

    fn check_plan(plan: &Plan) -> Result<(), Vec<PlanProblem>> {
        plan.check()
    }

    fn title(plan: &Plan) -> String {
        plan.title()
    }

    fn clients(_plan: &Plan, connect: &dyn Connect) -> Result<Clients, ErrorPayload> {
        Ok(Clients::new(connect.pipeline().clone(), connect.arm()?))
    }

    async fn dry_run<'a>(clients: &'a Clients, plan: &'a Plan, progress: &'a (dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, LinkedHubsError> {
        let dry = dry_run::dry_run(clients, plan).await?;
        progress(1, 1);
        Ok(dry)
    }

    async fn run<'a>(ctx: &'a RunContext<'a, DpsLinkedHubsTick>, clients: &'a Clients, plan: &'a Plan) -> Result<(), LinkedHubsError> {
        run::run(ctx, clients, plan).await
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

    fn tick_note(tick: &DpsLinkedHubsTick) -> Option<String> {
        Some(tick.phase.clone())
    }
}

/// Records a new change of `plan` (checked first); answers its ID.
pub fn create(journal: &Journal, plan: &Plan) -> Result<String, LinkedHubsError> {
    runtime::create::<DpsLinkedHubs>(journal, plan)
}

/// Runs (or resumes) the journaled change `id` to its end, outside any registry of runs (the
/// engine's tests; the window and the CLI go through `Migrations`).
pub async fn run(
    journal: &Journal,
    id: &str,
    clients: Clients,
    progress: &(dyn Fn(Progress<DpsLinkedHubsTick>) + Send + Sync),
) -> Result<RunOutcome, LinkedHubsError> {
    let plan = runtime::plan_of::<DpsLinkedHubs>(journal, id)?;
    runtime::run_as::<DpsLinkedHubs>(journal, &Runs::default(), id, &clients, &plan, RunMode::Run, progress).await
}
