use crate::state::AppState;
use iotm_core::diagnostics::Versions;
use iotm_core::environment::{self, EnvironmentOption};
use iotm_core::wizards::{self, Wizard};
use iotm_core::AppInfo;
use tauri::State;

pub fn versions() -> Versions {
    Versions {
        app: env!("CARGO_PKG_VERSION").into(),
        tauri: tauri::VERSION.into(),
        webview: tauri::webview_version().unwrap_or_else(|e| format!("unknown ({e})")),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
    }
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        versions: versions(),
        data_dir: state.data_dir.display().to_string(),
        config_dir: state.config_dir.display().to_string(),
        log_dir: state.log.dir().display().to_string(),
    }
}

#[tauri::command]
pub fn list_wizards() -> Vec<Wizard> {
    wizards::catalog()
}

#[tauri::command]
pub fn list_environments() -> Vec<EnvironmentOption> {
    environment::options()
}

/// Called by the UI after its first frame is on screen; the start-up benchmark reads this line.
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>) {
    tracing::info!(target: "iot_migrator_lib::startup", "first paint {} ms after start", state.started.elapsed().as_millis());
}
