//! The Hub state wizard's own commands: the hubs its page picks from, where its state file goes or
//! comes from, and its dry run. Running, stopping and reporting go through `commands::migrations`.

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::runtime::{Checked, RunError, WizardEngine};
use iotm_core::wizards::central_to_hub::options::HubOption;
use iotm_core::wizards::hub_state::plan::Plan;
use iotm_core::wizards::hub_state::{options, DryRun, HubState};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

/// The subscription's IoT hubs (through ARM).
#[tauri::command]
pub async fn hub_state_hubs(state: State<'_, AppState>, subscription_id: String) -> CommandResult<Vec<HubOption>> {
    let pipeline = state.pipeline()?;
    Ok(options::hubs(&state.session.arm(&pipeline)?, &subscription_id).await?)
}

/// Asks where the state file is to be written (`save`, an export) or which one to read (an
/// import), in the system's file dialog; answers the path, or nothing when the person cancelled.
#[tauri::command]
pub async fn hub_state_choose_file(app: AppHandle, state: State<'_, AppState>, save: bool, suggested: String) -> CommandResult<Option<String>> {
    let dir = app.path().download_dir().unwrap_or_else(|_| state.data_dir.clone());
    let mut dialog = app.dialog().file().set_directory(&dir).add_filter("Hub state (JSON or JSON Lines)", &["json", "jsonl"]);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    // The dialog waits for the person on a thread of its own: never the window's, nor the runtime's.
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        if save {
            dialog.set_title("Save the hub's state").set_file_name(&suggested).blocking_save_file()
        } else {
            dialog.set_title("Open a hub state file").blocking_pick_file()
        }
    })
    .await
    .map_err(|e| CommandError::new("ipc.failed", format!("The file dialog could not be shown: {e}")))?;
    let Some(chosen) = chosen else { return Ok(None) };
    let path = chosen.into_path().map_err(|e| CommandError::new("hubState.bad_path", format!("The place chosen is not a file on this computer: {e}")))?;
    Ok(Some(path.display().to_string()))
}

/// What the run would change, with nothing written (progress: items compared).
#[tauri::command]
pub async fn hub_state_dry_run(state: State<'_, AppState>, mut plan: Plan, on_progress: Channel<Checked>) -> CommandResult<DryRun> {
    // Completed and checked as the run will be: a plan the run would refuse is refused here, by field.
    HubState::complete_plan(&mut plan);
    HubState::check_plan(&plan).map_err(|mut problems| CommandError::from(RunError::BadPlan(problems.remove(0))))?;
    let connect = state.session.connect(state.pipeline()?);
    let clients = HubState::clients(&plan, &connect).map_err(CommandError::from_payload)?;
    let progress = |checked, total| {
        let _ = on_progress.send(Checked { checked, total });
    };
    Ok(HubState::dry_run(&clients, &plan, &progress).await?)
}
