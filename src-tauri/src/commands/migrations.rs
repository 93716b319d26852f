//! One set of commands for every wizard's migrations: start, resume, retry, stop, the wizard's own
//! actions, items, report, export and the list. Each finds the migration's wizard in the journal
//! (through `Migrations`); runs go on in the background and stream their progress over a Channel,
//! so closing the window (or the app dying) leaves them resumable from the Jobs page.

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::runtime::report;
use iotm_core::runtime::{ActionDone, Event, ItemPage, MigrationEntry, MigrationPlan, MigrationReport, Progress, ReportFormat, RunError, RunMode};
use iotm_core::wizards::WizardId;
use iotm_core::Coded;
use serde_json::Value;
use std::collections::BTreeMap;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

/// Records the migration and starts it in the background; answers its ID at once.
#[tauri::command]
pub async fn migration_start(app: AppHandle, state: State<'_, AppState>, plan: MigrationPlan, on_progress: Channel<Value>) -> CommandResult<String> {
    let id = state.migrations()?.create(&plan).map_err(CommandError::from_payload)?;
    spawn(app, id.clone(), RunMode::Run, on_progress);
    Ok(id)
}

/// Continues a migration where its journal says it stopped.
#[tauri::command]
pub async fn migration_resume(app: AppHandle, state: State<'_, AppState>, id: String, on_progress: Channel<Value>) -> CommandResult<()> {
    state.migrations()?.journal().wizard_of(&id)?;
    spawn(app, id, RunMode::Run, on_progress);
    Ok(())
}

/// Tries the migration's failed items again and watches them; those expected to fail again as
/// they are (no DeviceMove in their firmware) only when `include_unlikely`.
#[tauri::command]
pub async fn migration_retry(app: AppHandle, state: State<'_, AppState>, id: String, include_unlikely: bool, on_progress: Channel<Value>) -> CommandResult<()> {
    state.migrations()?.journal().wizard_of(&id)?;
    spawn(app, id, RunMode::Retry { include_unlikely }, on_progress);
    Ok(())
}

fn spawn(app: AppHandle, id: String, mode: RunMode, on_progress: Channel<Value>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let send = |progress: &Progress<Value>| {
            let _ = on_progress.send(serde_json::to_value(progress).unwrap_or(Value::Null));
        };
        let pipeline = match state.pipeline() {
            Ok(pipeline) => pipeline,
            Err(CommandError(payload)) => {
                let counts = BTreeMap::new();
                send(&Progress::Finished { ok: false, code: Some(payload.code), message: Some(payload.message), request_id: None, counts });
                return;
            }
        };
        let connect = state.session.connect(pipeline);
        let sink = |event: Event| send(&event.progress);
        let migrations = match state.migrations() {
            Ok(migrations) => migrations,
            Err(CommandError(payload)) => {
                send(&Progress::Finished { ok: false, code: Some(payload.code), message: Some(payload.message), request_id: None, counts: BTreeMap::new() });
                return;
            }
        };
        if let Err(e) = migrations.run(&id, mode, &connect, &sink).await {
            tracing::warn!(code = %e.code, migration = %id, "the migration stopped: {}", e.message);
        }
    });
}

/// Stops the run at its next safe point (the migration stays resumable).
#[tauri::command]
pub fn migration_stop(state: State<'_, AppState>, id: String) -> bool {
    // Nothing runs without a journal, so there is nothing to stop.
    state.migrations().is_ok_and(|m| m.stop(&id))
}

/// One of the wizard's own actions on the migration (Central → Hub: `stopJobs`, `resumeJobs`).
#[tauri::command]
pub async fn migration_act(state: State<'_, AppState>, id: String, action: String) -> CommandResult<ActionDone> {
    let connect = state.session.connect(state.pipeline()?);
    state.migrations()?.act(&id, &action, &connect).await.map_err(CommandError::from_payload)
}

/// A page of the migration's items of `kind` (its main kind when none), in one state or all.
#[tauri::command]
pub fn migration_items(
    state: State<'_, AppState>,
    id: String,
    kind: Option<String>,
    filter: Option<String>,
    offset: u32,
    limit: u32,
) -> CommandResult<ItemPage> {
    state.migrations()?.items(&id, kind.as_deref(), filter.as_deref(), offset, limit.min(50_000)).map_err(CommandError::from_payload)
}

#[tauri::command]
pub fn migration_report(state: State<'_, AppState>, id: String) -> CommandResult<MigrationReport> {
    state.migrations()?.report(&id).map_err(CommandError::from_payload)
}

/// Asks where to save the report (the system's save dialog, in the Downloads folder under the
/// report's name), then writes it there as CSV or JSON; answers the file's path, or nothing when
/// the person cancelled.
#[tauri::command]
pub async fn migration_export(app: AppHandle, state: State<'_, AppState>, id: String, format: ReportFormat) -> CommandResult<Option<String>> {
    let migrations = state.migrations()?;
    // Known before the dialog opens: a migration that is not there is said at once.
    migrations.journal().wizard_of(&id)?;
    let dir = app.path().download_dir().unwrap_or_else(|_| state.data_dir.join("reports"));
    let (label, extension) = match format {
        ReportFormat::Csv => ("CSV (spreadsheets)", "csv"),
        ReportFormat::Json => ("JSON", "json"),
    };
    let mut dialog =
        app.dialog().file().set_title("Save the report").set_directory(&dir).set_file_name(report::file_name(&id, format)).add_filter(label, &[extension]);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    // The dialog waits for the person on a thread of its own: never the window's, nor the runtime's.
    let chosen = tauri::async_runtime::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| CommandError::new("ipc.failed", format!("The save dialog could not be shown: {e}")))?;
    let Some(chosen) = chosen else { return Ok(None) };
    let path = chosen
        .into_path()
        .map_err(|e| CommandError::new("report.bad_path", format!("The place chosen to save the report is not a file on this computer: {e}")))?;
    Ok(Some(migrations.export_file(&id, format, &path).map_err(CommandError::from_payload)?.display().to_string()))
}

/// Opens the folder holding an exported report in the file manager. Only an existing `.csv` or
/// `.json` file is accepted, and only its folder is opened: nothing is ever run.
#[tauri::command]
pub fn show_in_folder(path: String) -> CommandResult<String> {
    let folder = report_folder(std::path::Path::new(&path)).ok_or_else(|| CommandError::new("report.bad_path", format!("{path} is not a saved report")))?;
    open::that_detached(folder)
        .map_err(|e| CommandError::new("os.open_failed", format!("The file manager could not be opened ({e}). The report is in {}", folder.display())))?;
    Ok(folder.display().to_string())
}

/// Every migration in the journal, newest first.
#[tauri::command]
pub fn migration_list(state: State<'_, AppState>) -> CommandResult<Vec<MigrationEntry>> {
    state.migrations()?.list().map_err(CommandError::from_payload)
}

/// A plan of `wizard` from a plan file's text (saved by the window or written for the CLI), every
/// mistake named by its line and field.
#[tauri::command]
pub fn migration_read_plan(wizard: WizardId, text: String) -> CommandResult<MigrationPlan> {
    MigrationPlan::from_json(wizard, &text).map_err(|problem| CommandError::from_payload(RunError::BadPlan(problem).to_payload()))
}

/// Saves the plan as a file in the Downloads folder (the file `iotm <wizard> run` takes); answers its path.
#[tauri::command]
pub fn migration_save_plan(app: AppHandle, state: State<'_, AppState>, plan: MigrationPlan) -> CommandResult<String> {
    let dir = app.path().download_dir().unwrap_or_else(|_| state.data_dir.join("plans"));
    Ok(plan.save(&dir)?.display().to_string())
}

/// The folder of `file` when it is a saved report: an existing `.csv` or `.json` file, by an absolute path.
fn report_folder(file: &std::path::Path) -> Option<&std::path::Path> {
    let is_report = file.is_absolute() && file.is_file() && file.extension().is_some_and(|e| e == "csv" || e == "json");
    file.parent().filter(|_| is_report)
}

#[cfg(test)]
mod tests {
    use super::report_folder;

    #[test]
    fn only_a_saved_report_has_its_folder_shown() {
        let dir = std::env::temp_dir().join(format!("iotm-show-in-folder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (report, script) = (dir.join("fleet.csv"), dir.join("run.sh"));
        std::fs::write(&report, "deviceId\n").unwrap();
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(report_folder(&report), Some(dir.as_path()));
        assert_eq!(report_folder(&script), None, "not a report: never handed to the opener");
        assert_eq!(report_folder(&dir.join("missing.json")), None);
        assert_eq!(report_folder(std::path::Path::new("fleet.csv")), None, "a relative path");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
