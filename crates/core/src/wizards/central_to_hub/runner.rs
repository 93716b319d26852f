//! The migrations running in this process: each one's stop signal, so the window (or Ctrl-C in
//! the CLI) can stop it at a safe point, and a guard so one migration never runs twice at once.
//! The journal is shared; a run's progress goes to whatever the caller gives.

use super::engine::{Clients, Engine, RunOutcome};
use super::error::WizardError;
use super::progress::{Progress, StopSignal};
use crate::journal::Journal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Run or resume from wherever the journal says it stopped.
    Run,
    /// Rerun the failed devices.
    Retry,
}

#[derive(Default)]
pub struct Runs {
    running: Mutex<HashMap<String, StopSignal>>,
}

/// Removes the migration from the running set however its run ends.
struct Running<'a> {
    runs: &'a Runs,
    id: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.runs.running.lock().expect("runs lock").remove(&self.id);
    }
}

impl Runs {
    pub fn is_running(&self, id: &str) -> bool {
        self.running.lock().expect("runs lock").contains_key(id)
    }

    pub fn stop(&self, id: &str) -> bool {
        self.running.lock().expect("runs lock").get(id).map(StopSignal::stop).is_some()
    }

    pub async fn run(
        &self,
        journal: &Journal,
        id: &str,
        clients: Clients,
        mode: RunMode,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<RunOutcome, WizardError> {
        let stop = StopSignal::default();
        {
            let mut running = self.running.lock().expect("runs lock");
            if running.contains_key(id) {
                return Err(WizardError::AlreadyRunning(id.to_string()));
            }
            running.insert(id.to_string(), stop.clone());
        }
        let _guard = Running { runs: self, id: id.to_string() };
        let engine = Engine::new(journal, id, clients, progress, stop);
        let result = match mode {
            RunMode::Run => engine.run().await,
            RunMode::Retry => engine.retry_failed().await,
        };
        let counts = journal.device_counts(id).unwrap_or_default();
        progress(match &result {
            Ok(_) => Progress::Finished { ok: true, code: None, message: None, request_id: None, counts },
            Err(e) => Progress::Finished {
                ok: false,
                code: Some(e.code()),
                message: Some(crate::redact::redact(&e.to_string()).into_owned()),
                request_id: e.request_id(),
                counts,
            },
        });
        result
    }
}

/// A journal shared by the window's commands and the runs they start.
pub type SharedJournal = Arc<Journal>;
