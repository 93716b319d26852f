//! The one way every wizard's migrations are created, run, resumed, retried, stopped, listed and
//! reported, whoever asks (the window's commands, the CLI): each call finds the migration's wizard
//! in the journal and hands it to that wizard's engine through `WizardEngine`. A new wizard adds an
//! arm to `dispatch!` and a variant to `MigrationPlan` and `MigrationReport`; nothing else here.

use super::context::RunContext;
use super::contract::{Connect, WizardEngine};
use super::error::{RunError, WizardFailure};
use super::plan_file::{self, PlanProblem};
use super::progress::{ItemRow, Progress};
use super::registry::Runs;
use super::report::{self, ReportFormat};
use crate::error::Coded;
use crate::journal::{Journal, MigrationState, MigrationSummary};
use crate::wizards::bulk_identities::{self, BulkIdentities};
use crate::wizards::central_to_hub::{self, CentralToHub};
use crate::wizards::dps_linked_hubs::{self, DpsLinkedHubs};
use crate::wizards::hub_state::{self, HubState};
use crate::wizards::WizardId;
use crate::ErrorPayload;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ts_rs::TS;

/// Runs `$body` with `$W` naming the engine of `$wizard`; a wizard not built yet is refused.
macro_rules! dispatch {
    ($wizard:expr, $action:expr, |$W:ident| $body:expr) => {
        match $wizard {
            WizardId::CentralToHub => {
                type $W = CentralToHub;
                $body
            }
            WizardId::HubState => {
                type $W = HubState;
                $body
            }
            WizardId::BulkIdentities => {
                type $W = BulkIdentities;
                $body
            }
            WizardId::DpsLinkedHubs => {
                type $W = DpsLinkedHubs;
                $body
            }
            other => Err(RunError::Unsupported { wizard: other, action: $action.into() }.to_payload()),
        }
    };
}

/// A plan of any wizard, tagged with its wizard (what the window sends to start a migration).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "wizard", content = "plan", rename_all = "camelCase")]
pub enum MigrationPlan {
    CentralToHub(central_to_hub::Plan),
    HubState(hub_state::Plan),
    BulkIdentities(bulk_identities::Plan),
    DpsLinkedHubs(dps_linked_hubs::Plan),
}

impl MigrationPlan {
    pub fn wizard(&self) -> WizardId {
        match self {
            MigrationPlan::CentralToHub(_) => WizardId::CentralToHub,
            MigrationPlan::HubState(_) => WizardId::HubState,
            MigrationPlan::BulkIdentities(_) => WizardId::BulkIdentities,
            MigrationPlan::DpsLinkedHubs(_) => WizardId::DpsLinkedHubs,
        }
    }

    /// The plan alone, as a plan file holds it (what `iotm <wizard> run <plan.json>` reads).
    pub fn to_file_text(&self) -> String {
        let plan = match self {
            MigrationPlan::CentralToHub(plan) => serde_json::to_string_pretty(plan),
            MigrationPlan::HubState(plan) => serde_json::to_string_pretty(plan),
            MigrationPlan::BulkIdentities(plan) => serde_json::to_string_pretty(plan),
            MigrationPlan::DpsLinkedHubs(plan) => serde_json::to_string_pretty(plan),
        };
        plan.unwrap_or_default() + "\n"
    }

    /// Writes the plan as a file into `dir` (named after its wizard and the time); answers the path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, RunError> {
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("iot-migrator-plan-{}-{stamp}.json", self.wizard().command_name()));
        let failed = |e: std::io::Error| RunError::FileNotWritten { path: path.display().to_string(), detail: e.to_string() };
        std::fs::create_dir_all(dir).map_err(failed)?;
        std::fs::write(&path, self.to_file_text()).map_err(failed)?;
        Ok(path)
    }

    /// A plan of `wizard` from its file's text, every mistake named by line and field, then checked.
    pub fn from_json(wizard: WizardId, text: &str) -> Result<MigrationPlan, PlanProblem> {
        fn read<W: WizardEngine>(text: &str) -> Result<W::Plan, PlanProblem> {
            let mut plan: W::Plan = plan_file::from_json(text)?;
            W::complete_plan(&mut plan);
            W::check_plan(&plan).map_err(|mut problems| problems.remove(0))?;
            Ok(plan)
        }
        match wizard {
            WizardId::CentralToHub => read::<CentralToHub>(text).map(MigrationPlan::CentralToHub),
            WizardId::HubState => read::<HubState>(text).map(MigrationPlan::HubState),
            WizardId::BulkIdentities => read::<BulkIdentities>(text).map(MigrationPlan::BulkIdentities),
            WizardId::DpsLinkedHubs => read::<DpsLinkedHubs>(text).map(MigrationPlan::DpsLinkedHubs),
            other => Err(PlanProblem::new("wizard", format!("the {other} wizard is not built yet"))),
        }
    }
}

/// A report of any wizard, tagged with its wizard.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "wizard", content = "report", rename_all = "camelCase")]
pub enum MigrationReport {
    CentralToHub(central_to_hub::report::Report),
    HubState(hub_state::report::Report),
    BulkIdentities(bulk_identities::report::Report),
    DpsLinkedHubs(dps_linked_hubs::report::Report),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Run or resume from wherever the journal says it stopped.
    Run,
    /// Try the failed items again; items the wizard expects to fail again as they are (Central →
    /// Hub: devices whose firmware lacks DeviceMove) only when `include_unlikely`.
    Retry { include_unlikely: bool },
}

/// What a finished run found, in counts by state (the report has the rows).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
}

/// A migration on the Jobs page: `running_here` when this process runs it now; a migration the
/// journal says is running that does not run here was interrupted, and is offered Resume.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MigrationEntry {
    pub summary: MigrationSummary,
    pub running_here: bool,
    /// Its items (Central → Hub: devices) by state, as the journal holds them now.
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
}

/// A page of a migration's items of one kind, with their counts by state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ItemPage {
    pub kind: String,
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    pub rows: Vec<ItemRow>,
}

/// How many things an action changed (jobs stopped, jobs resumed…).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionDone {
    pub changed: u32,
}

/// A progress event for a watcher of any wizard, with what a terminal prints of the tick's news.
pub struct Event {
    pub progress: Progress<Value>,
    pub note: Option<String>,
}

/// The journaled plan of `id`, which must be a migration of `W`.
pub fn plan_of<W: WizardEngine>(journal: &Journal, id: &str) -> Result<W::Plan, RunError> {
    let found = journal.wizard_of(id)?;
    if found != W::ID {
        return Err(RunError::WrongWizard { id: id.into(), expected: W::ID, found });
    }
    serde_json::from_value(journal.plan(id)?).map_err(|e| RunError::BadJournaledPlan { id: id.into(), detail: e.to_string() })
}

/// Records a new migration of `plan` (checked first); answers its ID.
pub fn create<W: WizardEngine>(journal: &Journal, plan: &W::Plan) -> Result<String, W::Error> {
    W::check_plan(plan).map_err(|mut problems| W::Error::from(RunError::BadPlan(problems.remove(0))))?;
    let value = serde_json::to_value(plan).map_err(|e| RunError::BadJournaledPlan { id: "(new)".into(), detail: e.to_string() })?;
    Ok(journal.create(W::ID, &W::title(plan), &value).map_err(RunError::from)?)
}

/// Runs (or retries) a migration of `W` to its end with the journal keeping its state: completed
/// when it ends, failed when it is refused, still running (so Resume is offered) when it is
/// stopped or cut off. Tells how it ended as the last progress event.
pub async fn run_as<W: WizardEngine>(
    journal: &Journal,
    runs: &Runs,
    id: &str,
    clients: &W::Clients,
    plan: &W::Plan,
    mode: RunMode,
    progress: &(dyn Fn(Progress<W::Tick>) + Send + Sync),
) -> Result<RunOutcome, W::Error> {
    let running = runs.enter(id)?;
    let ctx = RunContext::new(journal, id, progress, running.stop.clone());
    journal.set_state(id, MigrationState::Running).map_err(RunError::from)?;
    let result = match mode {
        RunMode::Run => W::run(&ctx, clients, plan).await,
        RunMode::Retry { include_unlikely } => W::retry(&ctx, clients, plan, include_unlikely).await,
    };
    let state = match &result {
        Ok(()) => Some(MigrationState::Completed),
        Err(e) if e.is_interrupted() => None,
        Err(_) => Some(MigrationState::Failed),
    };
    if let Some(state) = state {
        journal.set_state(id, state).map_err(RunError::from)?;
    }
    let counts = journal.item_counts(id, W::ITEM_KIND).unwrap_or_default();
    progress(match &result {
        Ok(()) => Progress::Finished { ok: true, code: None, message: None, request_id: None, counts: counts.clone() },
        Err(e) => {
            let payload = e.to_payload();
            Progress::Finished { ok: false, code: Some(payload.code), message: Some(payload.message), request_id: payload.request_id, counts: counts.clone() }
        }
    });
    result.map(|()| RunOutcome { counts })
}

/// Every wizard's migrations, for the window and the CLI alike.
pub struct Migrations {
    journal: Arc<Journal>,
    runs: Runs,
}

impl Migrations {
    pub fn new(journal: Arc<Journal>) -> Migrations {
        Migrations { journal, runs: Runs::default() }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Records a new migration of the plan (checked first); answers its ID.
    pub fn create(&self, plan: &MigrationPlan) -> Result<String, ErrorPayload> {
        match plan {
            MigrationPlan::CentralToHub(plan) => create::<CentralToHub>(&self.journal, plan).map_err(|e| e.to_payload()),
            MigrationPlan::HubState(plan) => create::<HubState>(&self.journal, plan).map_err(|e| e.to_payload()),
            MigrationPlan::BulkIdentities(plan) => create::<BulkIdentities>(&self.journal, plan).map_err(|e| e.to_payload()),
            MigrationPlan::DpsLinkedHubs(plan) => create::<DpsLinkedHubs>(&self.journal, plan).map_err(|e| e.to_payload()),
        }
    }

    /// Runs, resumes or retries the migration `id` with its wizard's engine; progress goes to `sink`.
    pub async fn run(&self, id: &str, mode: RunMode, connect: &dyn Connect, sink: &(dyn Fn(Event) + Send + Sync)) -> Result<RunOutcome, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        dispatch!(wizard, "run", |W| self.run_typed::<W>(id, mode, connect, sink).await)
    }

    async fn run_typed<W: WizardEngine>(
        &self,
        id: &str,
        mode: RunMode,
        connect: &dyn Connect,
        sink: &(dyn Fn(Event) + Send + Sync),
    ) -> Result<RunOutcome, ErrorPayload> {
        let plan = plan_of::<W>(&self.journal, id).map_err(|e| e.to_payload())?;
        let clients = match W::clients(&plan, connect) {
            Ok(clients) => clients,
            Err(payload) => {
                let finished = Progress::Finished {
                    ok: false,
                    code: Some(payload.code.clone()),
                    message: Some(payload.message.clone()),
                    request_id: None,
                    counts: self.journal.item_counts(id, W::ITEM_KIND).unwrap_or_default(),
                };
                sink(Event { progress: finished, note: None });
                return Err(payload);
            }
        };
        // Whoever watches must always hear how the run ended, also when it is refused before it
        // starts (already running, a journal that cannot be read): else the page says "running" forever.
        let told_end = std::sync::atomic::AtomicBool::new(false);
        let progress = |event: Progress<W::Tick>| {
            if matches!(event, Progress::Finished { .. }) {
                told_end.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let note = match &event {
                Progress::Tick { news, .. } => W::tick_note(news),
                _ => None,
            };
            sink(Event { progress: event.erased(), note });
        };
        let run = run_as::<W>(&self.journal, &self.runs, id, &clients, &plan, mode, &progress);
        let outcome = match connect.signed_out() {
            None => run.await,
            // A sign-out stops the run as the Stop button does: at its next safe point, resumable.
            Some(signed_out) => {
                let stop_on_sign_out = async {
                    signed_out.stopped().await;
                    tracing::info!(migration = id, "the account the migration runs as signed out; stopping it at its next safe point");
                    self.runs.stop(id);
                    std::future::pending::<()>().await
                };
                // Biased, the run first: its first poll enters it in `runs`, so a sign-out that
                // came before is not lost on a run not yet there to stop.
                tokio::select! {
                    biased;
                    outcome = run => outcome,
                    () = stop_on_sign_out => unreachable!("pending never resolves"),
                }
            }
        };
        let outcome = outcome.map_err(|e| e.to_payload());
        if let Err(payload) = &outcome {
            if !told_end.load(std::sync::atomic::Ordering::Relaxed) {
                let counts = self.journal.item_counts(id, W::ITEM_KIND).unwrap_or_default();
                let finished =
                    Progress::Finished { ok: false, code: Some(payload.code.clone()), message: Some(payload.message.clone()), request_id: None, counts };
                sink(Event { progress: finished, note: None });
            }
        }
        outcome
    }

    /// Asks a running migration to stop at its next safe point; false when it does not run here.
    pub fn stop(&self, id: &str) -> bool {
        self.runs.stop(id)
    }

    pub fn is_running(&self, id: &str) -> bool {
        self.runs.is_running(id)
    }

    /// The IDs of the migrations running in this process.
    pub fn running(&self) -> Vec<String> {
        self.runs.running()
    }

    /// One of the wizard's own actions on the migration (Central → Hub: `stopJobs`, `resumeJobs`).
    pub async fn act(&self, id: &str, action: &str, connect: &dyn Connect) -> Result<ActionDone, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        dispatch!(wizard, action, |W| {
            let plan = plan_of::<W>(&self.journal, id).map_err(|e| e.to_payload())?;
            let clients = W::clients(&plan, connect)?;
            let quiet = |_: Progress<<W as WizardEngine>::Tick>| {};
            let ctx = RunContext::new(&self.journal, id, &quiet, Default::default());
            W::act(action, &ctx, &clients, &plan).await.map(|changed| ActionDone { changed }).map_err(|e| e.to_payload())
        })
    }

    /// Every migration in the journal, newest first.
    pub fn list(&self) -> Result<Vec<MigrationEntry>, ErrorPayload> {
        let summaries = self.journal.list().map_err(|e| e.to_payload())?;
        summaries
            .into_iter()
            .map(|summary| {
                let kind = dispatch!(summary.wizard, "list", |W| Ok::<_, ErrorPayload>(W::ITEM_KIND))?;
                let counts = self.journal.item_counts(&summary.id, kind).map_err(|e| e.to_payload())?;
                Ok(MigrationEntry { running_here: self.runs.is_running(&summary.id), counts, summary })
            })
            .collect()
    }

    /// A page of the migration's items of `kind` (its wizard's main kind when none), in one state or all.
    pub fn items(&self, id: &str, kind: Option<&str>, state: Option<&str>, offset: u32, limit: u32) -> Result<ItemPage, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        let kind = match kind {
            Some(kind) => kind.to_string(),
            None => dispatch!(wizard, "list the items of", |W| Ok::<_, ErrorPayload>(W::ITEM_KIND.to_string()))?,
        };
        let page = |journal: &Journal| -> Result<ItemPage, crate::journal::JournalError> {
            Ok(ItemPage { counts: journal.item_counts(id, &kind)?, rows: journal.items(id, &kind, state, offset, limit)?, kind: kind.clone() })
        };
        page(&self.journal).map_err(|e| e.to_payload())
    }

    pub fn report(&self, id: &str) -> Result<MigrationReport, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        match wizard {
            WizardId::CentralToHub => CentralToHub::report(&self.journal, id).map(MigrationReport::CentralToHub).map_err(|e| e.to_payload()),
            WizardId::HubState => HubState::report(&self.journal, id).map(MigrationReport::HubState).map_err(|e| e.to_payload()),
            WizardId::BulkIdentities => BulkIdentities::report(&self.journal, id).map(MigrationReport::BulkIdentities).map_err(|e| e.to_payload()),
            WizardId::DpsLinkedHubs => DpsLinkedHubs::report(&self.journal, id).map(MigrationReport::DpsLinkedHubs).map_err(|e| e.to_payload()),
            other => Err(RunError::Unsupported { wizard: other, action: "report".into() }.to_payload()),
        }
    }

    /// The report as CSV (a row per item) or JSON.
    pub fn report_text(&self, id: &str, format: ReportFormat) -> Result<String, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        dispatch!(wizard, "report", |W| {
            let report = W::report(&self.journal, id).map_err(|e| e.to_payload())?;
            Ok(match format {
                ReportFormat::Csv => W::report_csv(&report),
                ReportFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default(),
            })
        })
    }

    /// Writes the report into `dir` in `format`; answers the file's path.
    pub fn export(&self, id: &str, format: ReportFormat, dir: &Path) -> Result<PathBuf, ErrorPayload> {
        let text = self.report_text(id, format)?;
        report::write(dir, id, format, &text).map_err(|e| e.to_payload())
    }

    /// Writes the report in `format` to `path`, a file the person chose; answers the path.
    pub fn export_file(&self, id: &str, format: ReportFormat, path: &Path) -> Result<PathBuf, ErrorPayload> {
        let text = self.report_text(id, format)?;
        report::write_file(path, &text).map_err(|e| e.to_payload())
    }

    /// The report's totals as a terminal prints them.
    pub fn report_lines(&self, id: &str) -> Result<Vec<String>, ErrorPayload> {
        let wizard = self.journal.wizard_of(id).map_err(|e| e.to_payload())?;
        dispatch!(wizard, "report", |W| W::report(&self.journal, id).map(|r| W::report_lines(&r)).map_err(|e| e.to_payload()))
    }
}

/// The dry run of a plan, as a terminal prints it (the window asks each wizard's own command,
/// which answers the typed dry run).
pub async fn dry_run_lines(plan: &MigrationPlan, connect: &dyn Connect, progress: &(dyn Fn(u32, u32) + Send + Sync)) -> Result<Vec<String>, ErrorPayload> {
    match plan {
        MigrationPlan::CentralToHub(plan) => {
            let clients = CentralToHub::clients(plan, connect)?;
            let dry = CentralToHub::dry_run(&clients, plan, progress).await.map_err(|e| e.to_payload())?;
            Ok(CentralToHub::dry_run_lines(&dry))
        }
        MigrationPlan::HubState(plan) => {
            let clients = HubState::clients(plan, connect)?;
            let dry = HubState::dry_run(&clients, plan, progress).await.map_err(|e| e.to_payload())?;
            Ok(HubState::dry_run_lines(&dry))
        }
        MigrationPlan::BulkIdentities(plan) => {
            let clients = BulkIdentities::clients(plan, connect)?;
            let dry = BulkIdentities::dry_run(&clients, plan, progress).await.map_err(|e| e.to_payload())?;
            Ok(BulkIdentities::dry_run_lines(&dry))
        }
        MigrationPlan::DpsLinkedHubs(plan) => {
            let clients = DpsLinkedHubs::clients(plan, connect)?;
            let dry = DpsLinkedHubs::dry_run(&clients, plan, progress).await.map_err(|e| e.to_payload())?;
            Ok(DpsLinkedHubs::dry_run_lines(&dry))
        }
    }
}
