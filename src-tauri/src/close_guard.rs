//! Closing the window while a migration runs asks first: the window is told (over the channel it
//! gave at start) and shows "A migration is running; it will resume when you reopen"; only the
//! person's "Close anyway" closes it. With no migration running, or no window listening, the
//! window closes at once.

use crate::state::AppState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tauri::ipc::Channel;
use tauri::{Manager, Window, WindowEvent};

#[derive(Default)]
pub struct CloseGuard {
    /// Where a close request is told: the number of migrations running.
    listener: Mutex<Option<Channel<u32>>>,
    /// Set by "Close anyway": the next close request goes through.
    confirmed: AtomicBool,
}

impl CloseGuard {
    pub fn listen(&self, channel: Channel<u32>) {
        *self.listener.lock().unwrap() = Some(channel);
    }

    pub fn confirm(&self) {
        self.confirmed.store(true, Ordering::SeqCst);
    }
}

pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else { return };
    let (Some(guard), Some(state)) = (window.try_state::<CloseGuard>(), window.try_state::<AppState>()) else { return };
    if guard.confirmed.load(Ordering::SeqCst) {
        return;
    }
    let running = state.migrations().map(|m| m.running().len()).unwrap_or(0);
    if running == 0 {
        return;
    }
    let told = guard.listener.lock().unwrap().as_ref().is_some_and(|channel| channel.send(running as u32).is_ok());
    if told {
        tracing::info!(running, "close requested while migrations run; asking first");
        api.prevent_close();
    }
}
