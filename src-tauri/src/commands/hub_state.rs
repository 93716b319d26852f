//! The Hub state wizard's own commands: the hubs its page picks from, where its state file goes or
//! comes from, and its dry run. Running, stopping and reporting go through `commands::migrations`.

use super::file_dialog::{choose_file, FileChoice};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::runtime::{Checked, RunError, WizardEngine};
use iotm_core::wizards::central_to_hub::options::HubOption;
use iotm_core::wizards::hub_state::plan::Plan;
use iotm_core::wizards::hub_state::{options, DryRun, HubState};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

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
    let title = if save { "Save the hub's state" } else { "Open a hub state file" };
    let filter = ("Hub state (JSON or JSON Lines)", &["json", "jsonl"][..]);
    choose_file(&app, &state, FileChoice { title, filter, save, suggested: &suggested, bad_path_code: "hubState.bad_path" }).await
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
