//! Remembers the window's size and position as they change, not only at a clean exit, so a crash
//! or a forced quit still reopens the window where the user left it.

use std::sync::mpsc::{self, Sender};
use std::time::Duration;
use tauri::{AppHandle, Manager, Window, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// A drag or resize fires many events; write once it has been quiet this long.
const QUIET: Duration = Duration::from_millis(400);

pub struct GeometrySaver(Sender<()>);

pub fn start(app: &AppHandle) -> GeometrySaver {
    let (tx, rx) = mpsc::channel::<()>();
    let app = app.clone();
    std::thread::Builder::new()
        .name("window-geometry".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                while rx.recv_timeout(QUIET).is_ok() {}
                if let Err(e) = app.save_window_state(StateFlags::all()) {
                    tracing::warn!("window position not saved: {e}");
                }
            }
        })
        .expect("spawn the window-geometry thread");
    GeometrySaver(tx)
}

pub fn on_window_event(window: &Window, event: &WindowEvent) {
    if matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
        if let Some(saver) = window.try_state::<GeometrySaver>() {
            let _ = saver.0.send(());
        }
    }
}
