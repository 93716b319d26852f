//! The desktop shell: plugins, app state and the one list of command handlers. Everything it does
//! is adapted from `iotm-core`; nothing here knows about Azure or the wizards' logic.

mod close_guard;
#[cfg(test)]
mod command_list;
mod commands;
mod error;
mod sandbox_host;
mod state;
mod window_geometry;

use state::AppState;
use tauri::Manager;

pub fn run() {
    linux_webview_defaults();
    tauri::Builder::default()
        // First, so a second launch hands over to the running instance before doing any work.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let state = AppState::start(app.handle())?;
            app.manage(state);
            app.manage(window_geometry::start(app.handle()));
            app.manage(close_guard::CloseGuard::default());
            // Hidden until the window-state plugin has put it back where it was: no jump on screen.
            if let Some(window) = app.get_webview_window("main") {
                window.show()?;
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            window_geometry::on_window_event(window, event);
            close_guard::on_window_event(window, event);
        })
        .invoke_handler(commands::handlers())
        .run(tauri::generate_context!())
        .expect("IoT Migrator could not start");
}

/// WebKitGTK's DMA-BUF renderer draws through GL in a separate path that, without a GPU driver
/// (VMs, remote desktops, Xvfb) or with NVIDIA's, is slow or blank. Our pages are forms, tables
/// and charts, which the classic path draws well: measured under Xvfb it halves the web process's
/// memory (224 → 112 MB PSS) and the time to first paint (1.5 → 0.6 s). A user's own setting wins.
fn linux_webview_defaults() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // Safe: called first thing in main, before any other thread exists.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}
