use super::app::versions;
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use iotm_core::diagnostics::{self, BundleSaved};
use tauri::{AppHandle, Manager, State};

#[tauri::command]
pub fn open_log_folder(state: State<'_, AppState>) -> CommandResult<String> {
    let dir = state.log.dir();
    open::that_detached(dir)
        .map_err(|e| CommandError::new("os.open_failed", format!("The file manager could not be opened ({e}). The log folder is {}", dir.display())))?;
    Ok(dir.display().to_string())
}

/// Zips logs, settings and versions into the Downloads folder (or the app's data folder).
#[tauri::command]
pub fn save_diagnostics_bundle(app: AppHandle, state: State<'_, AppState>) -> CommandResult<BundleSaved> {
    let target = app.path().download_dir().unwrap_or_else(|_| diagnostics::fallback_dir(&state.data_dir));
    let saved = diagnostics::save_bundle(&target, state.log.dir(), &state.settings(), &versions())?;
    tracing::info!(path = %saved.path, bytes = saved.bytes, "diagnostics bundle saved");
    Ok(saved)
}
