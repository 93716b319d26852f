//! The system's file dialog, as a wizard's page asks for a file to write (an export) or to read
//! (an import): opened in the Downloads folder, over the window, on a thread of its own.

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

/// What the dialog asks for.
pub struct FileChoice<'a> {
    pub title: &'a str,
    /// The filter's label and the extensions it shows.
    pub filter: (&'a str, &'a [&'a str]),
    /// A file to write (a save dialog, proposing `suggested`), else one to read.
    pub save: bool,
    pub suggested: &'a str,
    /// The code of the error when the place chosen is not a file on this computer.
    pub bad_path_code: &'a str,
}

/// The chosen file's path, or nothing when the person cancelled.
pub async fn choose_file(app: &AppHandle, state: &AppState, choice: FileChoice<'_>) -> CommandResult<Option<String>> {
    let dir = app.path().download_dir().unwrap_or_else(|_| state.data_dir.clone());
    let mut dialog = app.dialog().file().set_directory(&dir).set_title(choice.title).add_filter(choice.filter.0, choice.filter.1);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    let (save, suggested) = (choice.save, choice.suggested.to_string());
    // The dialog waits for the person on a thread of its own: never the window's, nor the runtime's.
    let chosen =
        tauri::async_runtime::spawn_blocking(move || if save { dialog.set_file_name(&suggested).blocking_save_file() } else { dialog.blocking_pick_file() })
            .await
            .map_err(|e| CommandError::new("ipc.failed", format!("The file dialog could not be shown: {e}")))?;
    let Some(chosen) = chosen else { return Ok(None) };
    let path = chosen.into_path().map_err(|e| CommandError::new(choice.bad_path_code, format!("The place chosen is not a file on this computer: {e}")))?;
    Ok(Some(path.display().to_string()))
}
