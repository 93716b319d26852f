//! The Central → Hub wizard's commands: what the pages pick from, the dry run, and runs that
//! stream their progress over a Channel while the journal records them. Runs go on in the
//! background; closing the window (or the app dying) leaves them resumable from the Jobs page.

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::wizards::central_to_hub::dry_run::{dry_run, DryRun};
use iotm_core::wizards::central_to_hub::options::{create_dps, source_options, target_options, DpsOption, SourceOptions, TargetOptions};
use iotm_core::wizards::central_to_hub::plan::{CentralAccess, Plan};
use iotm_core::wizards::central_to_hub::progress::DeviceRow;
use iotm_core::wizards::central_to_hub::report::{self, Report};
use iotm_core::wizards::central_to_hub::runner::RunMode;
use iotm_core::wizards::central_to_hub::views::{Checked, DevicePage, JobsChanged, MigrationEntry};
use iotm_core::wizards::central_to_hub::{create, DeviceState, Progress, WizardError};
use std::collections::BTreeMap;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

impl From<WizardError> for CommandError {
    fn from(e: WizardError) -> Self {
        let mut error = CommandError::new(&e.code(), e.to_string());
        error.0.detail = e.request_id().map(|r| format!("Request ID {r}"));
        error
    }
}

impl From<iotm_core::journal::JournalError> for CommandError {
    fn from(e: iotm_core::journal::JournalError) -> Self {
        CommandError::new(e.code(), e.to_string())
    }
}

#[tauri::command]
pub async fn c2h_source_options(state: State<'_, AppState>, subdomain: String, access: CentralAccess) -> CommandResult<SourceOptions> {
    let pipeline = state.pipeline()?;
    let central = state.session.central_client(&pipeline, &subdomain, &access)?;
    Ok(source_options(&central).await?)
}

#[tauri::command]
pub async fn c2h_target_options(state: State<'_, AppState>, subscription_id: String) -> CommandResult<TargetOptions> {
    let pipeline = state.pipeline()?;
    Ok(target_options(&state.session.arm(&pipeline)?, &subscription_id).await?)
}

/// Creates a DPS in the subscription (the Target page's "Create a DPS").
#[tauri::command]
pub async fn c2h_create_dps(
    state: State<'_, AppState>,
    subscription_id: String,
    resource_group: String,
    name: String,
    location: String,
) -> CommandResult<DpsOption> {
    let pipeline = state.pipeline()?;
    Ok(create_dps(&state.session.arm(&pipeline)?, &subscription_id, &resource_group, &name, &location).await?)
}

/// Everything the run would do, checked, and each device's readiness (progress: devices checked).
#[tauri::command]
pub async fn c2h_dry_run(state: State<'_, AppState>, plan: Plan, on_progress: Channel<Checked>) -> CommandResult<DryRun> {
    let pipeline = state.pipeline()?;
    let clients = state.session.central_to_hub_clients(&pipeline, &plan)?;
    let progress = |checked, total| {
        let _ = on_progress.send(Checked { checked, total });
    };
    Ok(dry_run(&clients, &plan, &progress).await?)
}

/// Records the migration and starts it in the background; answers its ID at once.
#[tauri::command]
pub async fn c2h_start(app: AppHandle, state: State<'_, AppState>, plan: Plan, on_progress: Channel<Progress>) -> CommandResult<String> {
    let id = create(&state.journal, &plan)?;
    spawn(app, id.clone(), plan, RunMode::Run, on_progress);
    Ok(id)
}

/// Continues a migration where its journal says it stopped.
#[tauri::command]
pub async fn c2h_resume(app: AppHandle, state: State<'_, AppState>, id: String, on_progress: Channel<Progress>) -> CommandResult<()> {
    let plan = plan_of(&state, &id)?;
    spawn(app, id, plan, RunMode::Run, on_progress);
    Ok(())
}

/// Reruns the failed devices' jobs and watches them.
#[tauri::command]
pub async fn c2h_retry(app: AppHandle, state: State<'_, AppState>, id: String, on_progress: Channel<Progress>) -> CommandResult<()> {
    let plan = plan_of(&state, &id)?;
    spawn(app, id, plan, RunMode::Retry, on_progress);
    Ok(())
}

fn plan_of(state: &AppState, id: &str) -> CommandResult<Plan> {
    serde_json::from_value(state.journal.plan(id)?)
        .map_err(|e| CommandError::new("centralToHub.bad_plan", format!("The journaled plan of {id} cannot be read: {e}")))
}

fn spawn(app: AppHandle, id: String, plan: Plan, mode: RunMode, on_progress: Channel<Progress>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let progress = |p: Progress| {
            let _ = on_progress.send(p);
        };
        let clients = match state.pipeline().map_err(|e| e.0.message).and_then(|p| state.session.central_to_hub_clients(&p, &plan).map_err(|e| e.to_string())) {
            Ok(clients) => clients,
            Err(message) => {
                progress(Progress::Finished {
                    ok: false,
                    code: Some("centralToHub.no_clients".into()),
                    message: Some(message),
                    request_id: None,
                    counts: BTreeMap::new(),
                });
                return;
            }
        };
        if let Err(e) = state.runs.run(&state.journal, &id, clients, mode, &progress).await {
            tracing::warn!(code = %e.code(), migration = %id, "the migration stopped: {e}");
        }
    });
}

/// Stops watching at the next safe point (the migration stays resumable).
#[tauri::command]
pub fn c2h_stop(state: State<'_, AppState>, id: String) -> bool {
    state.runs.stop(&id)
}

/// Stops the migration's running Central jobs (devices not yet reached stay on Central).
#[tauri::command]
pub async fn c2h_stop_jobs(state: State<'_, AppState>, id: String) -> CommandResult<JobsChanged> {
    let plan = plan_of(&state, &id)?;
    let clients = state.session.central_to_hub_clients(&state.pipeline()?, &plan)?;
    let progress = |_: Progress| {};
    let engine = iotm_core::wizards::central_to_hub::Engine::new(&state.journal, &id, clients, &progress, Default::default());
    Ok(JobsChanged { changed: engine.stop_jobs().await? })
}

#[tauri::command]
pub async fn c2h_resume_jobs(state: State<'_, AppState>, id: String) -> CommandResult<JobsChanged> {
    let plan = plan_of(&state, &id)?;
    let clients = state.session.central_to_hub_clients(&state.pipeline()?, &plan)?;
    let progress = |_: Progress| {};
    let engine = iotm_core::wizards::central_to_hub::Engine::new(&state.journal, &id, clients, &progress, Default::default());
    Ok(JobsChanged { changed: engine.resume_jobs().await? })
}

/// A page of the migration's devices (in one state, or all), with the counts by state.
#[tauri::command]
pub fn c2h_devices(state: State<'_, AppState>, id: String, filter: Option<String>, offset: u32, limit: u32) -> CommandResult<DevicePage> {
    let rows = state.journal.devices(&id, filter.as_deref(), offset, limit.min(50_000))?;
    let rows = rows.into_iter().map(|(device_id, s, reason)| DeviceRow { device_id, state: DeviceState::parse(&s), reason }).collect();
    Ok(DevicePage { counts: state.journal.device_counts(&id)?, rows })
}

#[tauri::command]
pub fn c2h_report(state: State<'_, AppState>, id: String) -> CommandResult<Report> {
    Ok(report::build(&state.journal, &id)?)
}

/// Writes the report as CSV or JSON into the Downloads folder; answers the file's path.
#[tauri::command]
pub fn c2h_export_report(app: AppHandle, state: State<'_, AppState>, id: String, format: String) -> CommandResult<String> {
    let report = report::build(&state.journal, &id)?;
    let (text, extension) = match format.as_str() {
        "csv" => (report::to_csv(&report), "csv"),
        "json" => (report::to_json(&report), "json"),
        other => return Err(CommandError::new("report.bad_format", format!("'{other}' is not csv or json."))),
    };
    let dir = app.path().download_dir().unwrap_or_else(|_| state.data_dir.join("reports"));
    std::fs::create_dir_all(&dir).map_err(|e| CommandError::new("report.write_failed", format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("iot-migrator-{id}.{extension}"));
    std::fs::write(&path, text).map_err(|e| CommandError::new("report.write_failed", format!("{}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

/// Every migration in the journal, newest first.
#[tauri::command]
pub fn list_migrations(state: State<'_, AppState>) -> CommandResult<Vec<MigrationEntry>> {
    Ok(state.journal.list()?.into_iter().map(|summary| MigrationEntry { running_here: state.runs.is_running(&summary.id), summary }).collect())
}
