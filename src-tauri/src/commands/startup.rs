use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::startup::{self, StartupContext, StartupEvent};
use std::time::Duration;
use tauri::ipc::Channel;
use tauri::State;

/// Runs the start-up checks off the UI thread, streaming each result over `on_event`.
#[tauri::command]
pub async fn run_startup_checks(state: State<'_, AppState>, on_event: Channel<StartupEvent>) -> CommandResult<()> {
    let settings = state.settings();
    let sandbox = state.sandbox.clone();
    let environment = settings.environment;
    let ctx = StartupContext {
        sandbox_url: (environment == iotm_core::environment::Environment::Sandbox)
            .then(|| Box::new(move || sandbox.wait_url(Duration::from_secs(20))) as startup::SandboxUrl),
        environment: settings.environment,
        custom_profile_path: settings.custom_profile_path,
        settings_problem: state.settings_problem.clone(),
        recovered: state.recovered.clone(),
        journal_problem: state.journal_problem(),
        data_dir: state.data_dir.clone(),
        log_dir: state.log.dir().to_path_buf(),
        probe_timeout: Duration::from_secs(4),
    };
    tauri::async_runtime::spawn_blocking(move || {
        startup::run(&ctx, |event| {
            tracing::debug!(?event, "start-up check");
            if let Err(e) = on_event.send(event) {
                tracing::warn!("start-up event not delivered: {e}");
            }
        })
    })
    .await
    .map_err(|e| CommandError::new("startup.interrupted", format!("The start-up checks stopped: {e}")))
}
