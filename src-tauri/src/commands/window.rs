//! The window's own life: asking before it closes while a migration runs (`close_guard`).

use crate::close_guard::CloseGuard;
use tauri::ipc::Channel;
use tauri::{State, WebviewWindow};

/// The window listens for close requests made while migrations run (it shows the confirmation).
#[tauri::command]
pub fn close_requests(guard: State<'_, CloseGuard>, on_request: Channel<u32>) {
    guard.listen(on_request);
}

/// "Close anyway": the running migrations are left as they are (the journal marks them
/// interrupted) and resume when the app opens again.
#[tauri::command]
pub fn close_confirmed(window: WebviewWindow, guard: State<'_, CloseGuard>) -> crate::error::CommandResult<()> {
    guard.confirm();
    tracing::info!("closing with migrations running, as confirmed; they resume when the app opens again");
    window.close().map_err(|e| crate::error::CommandError::new("os.open_failed", format!("The window could not close: {e}")))
}
