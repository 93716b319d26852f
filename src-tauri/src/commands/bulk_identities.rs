//! The Bulk identities wizard's own commands: the hubs and storage accounts its page picks from,
//! its files (chosen in the system's dialog, a devices.txt checked before upload, the input lines
//! an import's errors refer to, an export's devices) and its dry run. Running, stopping, progress
//! and the report go through `commands::migrations`, as every wizard's do.

use super::file_dialog::{choose_file, FileChoice};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::runtime::{plan_of, Checked, RunError, WizardEngine};
use iotm_core::wizards::bulk_identities::dry_run::DryRun;
use iotm_core::wizards::bulk_identities::options::{self, Targets, DEFAULT_CONTAINER};
use iotm_core::wizards::bulk_identities::plan::Operation;
use iotm_core::wizards::bulk_identities::view::{self, ExportedDevices, FileCheck, InputLine};
use iotm_core::wizards::bulk_identities::{BulkError, BulkIdentities, ImportMode, Plan};
use iotm_core::wizards::hub_state;
use std::collections::BTreeSet;
use std::path::Path;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

/// The subscription's hubs and storage accounts (through ARM), and the container a plan proposes.
#[tauri::command]
pub async fn bulk_targets(state: State<'_, AppState>, subscription_id: String) -> CommandResult<Targets> {
    let arm = state.session.arm(&state.pipeline()?)?;
    let hubs = hub_state::options::hubs(&arm, &subscription_id).await?;
    let storage_accounts = options::storage_accounts(&arm, &subscription_id).await?;
    Ok(Targets { hubs, storage_accounts, default_container: DEFAULT_CONTAINER.into() })
}

/// Asks where an export's devices.txt is saved (`save`) or which devices.txt to import, in the
/// system's file dialog; answers the path, or nothing when the person cancelled.
#[tauri::command]
pub async fn bulk_choose_file(app: AppHandle, state: State<'_, AppState>, save: bool, suggested: String) -> CommandResult<Option<String>> {
    let title = if save { "Save the hub's devices" } else { "Open a devices.txt to import" };
    let filter = ("Devices (one JSON object per line)", &["txt", "jsonl", "json"][..]);
    choose_file(&app, &state, FileChoice { title, filter, save, suggested: &suggested, bad_path_code: "bulk.file" }).await
}

/// A devices.txt checked as the run will check it, on this machine: what it holds, or every
/// problem with its line (the line's text beside it, keys redacted). Nothing is uploaded.
#[tauri::command]
pub async fn bulk_check_file(file: String, default_mode: ImportMode) -> CommandResult<FileCheck> {
    off_the_runtime("The file check", move || view::check_file(Path::new(&file), default_mode)).await
}

/// What the run would do, with nothing changed (progress: what has been reached).
#[tauri::command]
pub async fn bulk_dry_run(state: State<'_, AppState>, plan: Plan, on_progress: Channel<Checked>) -> CommandResult<DryRun> {
    // Checked as the run will be: a plan the run would refuse is refused here, by field.
    BulkIdentities::check_plan(&plan).map_err(|mut problems| CommandError::from(RunError::BadPlan(problems.remove(0))))?;
    let connect = state.session.connect(state.pipeline()?);
    let clients = BulkIdentities::clients(&plan, &connect).map_err(CommandError::from_payload)?;
    let progress = |checked, total| {
        let _ = on_progress.send(Checked { checked, total });
    };
    Ok(BulkIdentities::dry_run(&clients, &plan, &progress).await?)
}

/// The `lines` of the file the migration `id` imported, as shown beside its import errors (none
/// when its file was a work file, gone once the run ended).
#[tauri::command]
pub async fn bulk_input_lines(state: State<'_, AppState>, id: String, lines: Vec<u32>) -> CommandResult<Vec<InputLine>> {
    let plan = plan_of::<BulkIdentities>(state.migrations()?.journal(), &id)?;
    let Some(file) = view::imported_file(&plan).map(str::to_string) else { return Ok(vec![]) };
    let wanted: BTreeSet<u32> = lines.into_iter().collect();
    off_the_runtime("Reading the file", move || view::input_lines(Path::new(&file), &wanted)).await
}

/// The devices the migration `id` exported, read from the file it saved (none when it was not an export).
#[tauri::command]
pub async fn bulk_exported_devices(state: State<'_, AppState>, id: String) -> CommandResult<Option<ExportedDevices>> {
    let plan = plan_of::<BulkIdentities>(state.migrations()?.journal(), &id)?;
    let Operation::Export { save_to, .. } = plan.operation else { return Ok(None) };
    off_the_runtime("Reading the devices", move || view::exported_devices(Path::new(&save_to))).await.map(Some)
}

/// Reads a file (a million lines take a while) on a thread of its own, never the runtime's.
async fn off_the_runtime<T: Send + 'static>(what: &str, read: impl FnOnce() -> Result<T, BulkError> + Send + 'static) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(read).await.map_err(|e| CommandError::new("ipc.failed", format!("{what} stopped: {e}")))?.map_err(CommandError::from)
}
