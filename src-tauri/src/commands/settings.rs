use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::environment::Environment;
use iotm_core::settings::{self, Settings, Theme};
use tauri::{State, WebviewWindow};

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Validates and saves; on success the log level and theme take effect at once.
#[tauri::command]
pub fn save_settings(window: WebviewWindow, state: State<'_, AppState>, settings: Settings) -> CommandResult<Settings> {
    let settings = settings.normalized();
    settings::save(&state.config_dir, &settings)?;
    state.log.set_level(settings.log_level)?;
    apply_theme(&window, settings.theme);
    tracing::info!(environment = ?settings.environment, log_level = ?settings.log_level, theme = ?settings.theme, "settings saved");
    if settings.environment == Environment::Sandbox {
        state.sandbox.start();
    } else {
        state.sandbox.stop();
    }
    *state.settings.lock().expect("settings lock") = settings.clone();
    Ok(settings)
}

/// "Reset the sandbox": its saved state is forgotten and, when it is the environment in use, it
/// starts again from the built-in scenario. Refused while a migration runs against it.
#[tauri::command]
pub async fn sandbox_reset(state: State<'_, AppState>) -> CommandResult<()> {
    let running = state.migrations().map(|m| m.running()).unwrap_or_default();
    if !running.is_empty() {
        return Err(CommandError::new(
            "sandbox.migration_running",
            format!("{} migration(s) are running: stop them, or let them finish, before resetting the sandbox.", running.len()),
        ));
    }
    let sandbox = state.sandbox.clone();
    let reset = tauri::async_runtime::spawn_blocking(move || sandbox.reset()).await.map_err(|e| e.to_string()).and_then(|r| r);
    reset.map_err(|e| CommandError::new("sandbox.reset_failed", format!("The sandbox could not be reset: {e}")))?;
    if state.settings().environment == Environment::Sandbox {
        state.sandbox.start();
    }
    Ok(())
}

/// The native title bar follows the same theme as the page.
pub fn apply_theme(window: &WebviewWindow, theme: Theme) {
    let native = match theme {
        Theme::System => None,
        Theme::Light => Some(tauri::Theme::Light),
        Theme::Dark => Some(tauri::Theme::Dark),
    };
    if let Err(e) = window.set_theme(native) {
        tracing::debug!("window theme not applied: {e}");
    }
}
