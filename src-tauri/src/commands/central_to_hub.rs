//! The Central → Hub wizard's own commands: what its pages pick from, and its dry run. Running,
//! stopping and reporting its migrations go through `commands::migrations`, as every wizard's do.

use crate::error::CommandResult;
use crate::state::AppState;
use iotm_core::runtime::{Checked, WizardEngine};
use iotm_core::wizards::central_to_hub::dry_run::DryRun;
use iotm_core::wizards::central_to_hub::options::{create_dps, source_options, target_options, DpsOption, SourceOptions, TargetOptions};
use iotm_core::wizards::central_to_hub::plan::Plan;
use iotm_core::wizards::central_to_hub::CentralToHub;
use iotm_core::wizards::CentralAccess;
use tauri::ipc::Channel;
use tauri::State;

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
    let connect = state.session.connect(state.pipeline()?);
    let clients = CentralToHub::clients(&plan, &connect).map_err(crate::error::CommandError::from_payload)?;
    let progress = |checked, total| {
        let _ = on_progress.send(Checked { checked, total });
    };
    Ok(CentralToHub::dry_run(&clients, &plan, &progress).await?)
}
