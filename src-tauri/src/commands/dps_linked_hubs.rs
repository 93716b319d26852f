//! The DPS linked hubs wizard's own commands: the DPS instances and hubs its page picks from, a
//! DPS's linked hubs as the page shows them, the policies a hub offers for a link, and the dry run.
//! Running, stopping and reporting go through `commands::migrations`.

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::runtime::{RunError, WizardEngine};
use iotm_core::wizards::dps_linked_hubs::options::{self, LinkedHubsOptions};
use iotm_core::wizards::dps_linked_hubs::{link, view, DpsLinkedHubs, DpsRef, DpsView, DryRun, HubRef, Plan, PolicyOffer};
use tauri::State;

/// The subscription's DPS instances and IoT hubs (through ARM).
#[tauri::command]
pub async fn dps_linked_hubs_options(state: State<'_, AppState>, subscription_id: String) -> CommandResult<LinkedHubsOptions> {
    let pipeline = state.pipeline()?;
    Ok(options::options(&state.session.arm(&pipeline)?, &subscription_id).await?)
}

/// The DPS's allocation policy and linked hubs, with the enrollments pinning each (never a key).
#[tauri::command]
pub async fn dps_linked_hubs_view(state: State<'_, AppState>, dps: DpsRef) -> CommandResult<DpsView> {
    let pipeline = state.pipeline()?;
    Ok(view::see(&state.session.arm(&pipeline)?, &pipeline, &dps).await?)
}

/// The hub's policies a link may use (RegistryWrite and ServiceConnect, `iothubowner` first).
#[tauri::command]
pub async fn dps_linked_hubs_policies(state: State<'_, AppState>, hub: HubRef) -> CommandResult<Vec<PolicyOffer>> {
    let pipeline = state.pipeline()?;
    Ok(link::offered_policies(&state.session.arm(&pipeline)?, &hub).await?)
}

/// What the change would do, with nothing written.
#[tauri::command]
pub async fn dps_linked_hubs_dry_run(state: State<'_, AppState>, plan: Plan) -> CommandResult<DryRun> {
    // Checked as the run will be: a plan the run would refuse is refused here, by field.
    DpsLinkedHubs::check_plan(&plan).map_err(|mut problems| CommandError::from(RunError::BadPlan(problems.remove(0))))?;
    let connect = state.session.connect(state.pipeline()?);
    let clients = DpsLinkedHubs::clients(&plan, &connect).map_err(CommandError::from_payload)?;
    Ok(DpsLinkedHubs::dry_run(&clients, &plan, &|_: u32, _: u32| {}).await?)
}
