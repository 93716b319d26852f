use crate::error::CommandResult;
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
