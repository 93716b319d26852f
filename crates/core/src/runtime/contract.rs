//! What a wizard gives the runtime: its plan, the clients it speaks through, its checks, dry run,
//! run, retry and report. The runtime does the rest the same way for every wizard — journal,
//! stop, progress, states, report export — so a wizard's folder holds only what is its own.

use super::context::RunContext;
use super::error::{RunError, WizardFailure};
use super::plan_file::PlanProblem;
use crate::journal::{Journal, JournalError};
use crate::wizards::WizardId;
use crate::ErrorPayload;
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::Pipeline;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// Where a run's clients come from: the window's signed-in session, or the CLI's service principal.
pub trait Connect: Send + Sync {
    fn pipeline(&self) -> &Pipeline;
    fn arm(&self) -> Result<ArmClient, ErrorPayload>;
    /// A Central application's client, reached as the plan says (the account, or a saved API token).
    fn central(&self, subdomain: &str, access: &crate::wizards::CentralAccess) -> Result<CentralClient, ErrorPayload>;
    /// Fired when the credential the clients were given is revoked (its account signed out): the
    /// run stops at its next safe point, resumable once someone signs in again. `None` when nothing
    /// revokes it (the CLI's service principal).
    fn signed_out(&self) -> Option<super::progress::StopSignal> {
        None
    }
}

pub trait WizardEngine: Send + Sync + 'static {
    const ID: WizardId;
    /// The kind of item the run counts in its ticks and its report (`device` for Central → Hub).
    const ITEM_KIND: &'static str;
    type Plan: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    type Clients: Send + Sync + 'static;
    /// The wizard's own news in each tick.
    type Tick: Serialize + Send + 'static;
    type DryRun: Serialize + Send + 'static;
    type Report: Serialize + Send + 'static;
    type Error: WizardFailure;

    /// Fills what a plan file may leave out and the wizard proposes instead (a file read from
    /// disk gets what the window would have proposed), before it is checked.
    fn complete_plan(_plan: &mut Self::Plan) {}
    /// Every field of the plan that cannot work, by its path.
    fn check_plan(plan: &Self::Plan) -> Result<(), Vec<PlanProblem>>;
    /// How the Jobs page names a migration of this plan.
    fn title(plan: &Self::Plan) -> String;
    fn clients(plan: &Self::Plan, connect: &dyn Connect) -> Result<Self::Clients, ErrorPayload>;

    /// Everything the run would do, read and checked but not done (progress: items checked of all).
    fn dry_run<'a>(
        clients: &'a Self::Clients,
        plan: &'a Self::Plan,
        progress: &'a (dyn Fn(u32, u32) + Send + Sync),
    ) -> impl Future<Output = Result<Self::DryRun, Self::Error>> + Send + 'a;
    /// Runs (or resumes) the migration to its end: checks, side effects, verify.
    fn run<'a>(
        ctx: &'a RunContext<'a, Self::Tick>,
        clients: &'a Self::Clients,
        plan: &'a Self::Plan,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'a;
    /// Tries the failed items again; those expected to fail again as they are only when
    /// `include_unlikely` (the person asked for them). A wizard that has no retry (running it
    /// again is its retry) keeps this refusal.
    fn retry<'a>(
        _ctx: &'a RunContext<'a, Self::Tick>,
        _clients: &'a Self::Clients,
        _plan: &'a Self::Plan,
        _include_unlikely: bool,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'a {
        async { Err(RunError::Unsupported { wizard: Self::ID, action: "retry".into() }.into()) }
    }
    /// The wizard's own actions on a migration (Central → Hub: `stopJobs`, `resumeJobs`); answers
    /// how many things it changed. None, unless the wizard has some.
    fn act<'a>(
        action: &'a str,
        _ctx: &'a RunContext<'a, Self::Tick>,
        _clients: &'a Self::Clients,
        _plan: &'a Self::Plan,
    ) -> impl Future<Output = Result<u32, Self::Error>> + Send + 'a {
        async move { Err(RunError::Unsupported { wizard: Self::ID, action: action.into() }.into()) }
    }

    fn report(journal: &Journal, id: &str) -> Result<Self::Report, JournalError>;
    /// The report as CSV, one row per item.
    fn report_csv(report: &Self::Report) -> String;

    /// What a terminal prints: of a dry run, a report, and a tick's news (after the counts).
    fn dry_run_lines(dry: &Self::DryRun) -> Vec<String>;
    fn report_lines(report: &Self::Report) -> Vec<String>;
    fn tick_note(_tick: &Self::Tick) -> Option<String> {
        None
    }
}
