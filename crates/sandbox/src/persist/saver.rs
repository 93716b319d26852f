//! Writes the state file while the sandbox runs, on a thread of its own (the write syncs to disk;
//! the sandbox's tasks never wait on it). Building the snapshot of a large cloud costs tens of
//! milliseconds, so it is built each second only while something happens — a call was served, or
//! the last snapshot differed (a job or a move in flight) — and otherwise every `QUIET_CHECK`, for
//! what changes without a call (devices over MQTT).

use super::{Ports, Store};
use crate::cloud::Cloud;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// At most one write per this long.
pub const EVERY: Duration = Duration::from_secs(1);
/// How often a quiet sandbox is looked at all the same.
pub const QUIET_CHECK: Duration = Duration::from_secs(10);

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
                let (mut calls_seen, mut quiet_for, mut changing) = (c.faults().calls_seen(), Duration::ZERO, true);
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    let calls = c.faults().calls_seen();
                    quiet_for += EVERY;
                    if !changing && calls == calls_seen && quiet_for < QUIET_CHECK {
                        continue;
                    }
                    (calls_seen, quiet_for) = (calls, Duration::ZERO);
                    match s.save(&c, ports) {
                        Ok(written) => changing = written > 0,
                        Err(e) => tracing::warn!(file = %s.path().display(), "the sandbox's state was not saved: {e}"),
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
