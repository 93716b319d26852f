//! Writes the state file while the sandbox runs: checked once a second and written when it
//! changed, on a thread of its own (the write syncs to disk; the sandbox's tasks never wait on it).

use super::{Ports, Store};
use crate::cloud::Cloud;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// At most one write per this long.
pub const EVERY: Duration = Duration::from_secs(1);

pub struct Saver {
    stop: Sender<()>,
    thread: JoinHandle<()>,
    store: Arc<Store>,
    cloud: Arc<Cloud>,
    ports: Ports,
}

impl Saver {
    pub fn start(cloud: Arc<Cloud>, store: Arc<Store>, ports: Ports) -> Saver {
        let (stop, stopped) = mpsc::channel::<()>();
        let (c, s) = (cloud.clone(), store.clone());
        let thread = std::thread::Builder::new()
            .name("sandbox-state".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = s.save(&c, ports) {
                        tracing::warn!(file = %s.path().display(), "the sandbox's state was not saved: {e}");
                    }
                }
            })
            .expect("spawn the sandbox-state thread");
        Saver { stop, thread, store, cloud, ports }
    }

    /// Stops the thread and writes the state a last time.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
        if let Err(e) = self.store.save(&self.cloud, self.ports) {
            tracing::warn!(file = %self.store.path().display(), "the sandbox's state was not saved on stop: {e}");
        }
    }

    /// Stops the thread without writing (the state is about to be forgotten).
    pub fn abandon(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
