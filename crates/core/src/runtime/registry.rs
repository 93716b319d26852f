//! The migrations running in this process: each one's stop signal, so the window (or Ctrl-C in the
//! CLI) can stop it at a safe point, and a guard so one migration never runs twice at once.

use super::error::RunError;
use super::progress::StopSignal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct Runs {
    running: Arc<Mutex<HashMap<String, StopSignal>>>,
}

/// A migration's place in the running set; leaving it (however the run ends) frees the place.
pub struct Running {
    runs: Runs,
    id: String,
    pub stop: StopSignal,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.runs.running.lock().expect("runs lock").remove(&self.id);
    }
}

impl Runs {
    pub fn is_running(&self, id: &str) -> bool {
        self.running.lock().expect("runs lock").contains_key(id)
    }

    /// The IDs of the migrations running in this process, sorted (closing the window asks first).
    pub fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.running.lock().expect("runs lock").keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Asks the migration to stop; false when it does not run here.
    pub fn stop(&self, id: &str) -> bool {
        self.running.lock().expect("runs lock").get(id).map(StopSignal::stop).is_some()
    }

    /// Marks the migration running, or refuses when it already is.
    pub fn enter(&self, id: &str) -> Result<Running, RunError> {
        let mut running = self.running.lock().expect("runs lock");
        if running.contains_key(id) {
            return Err(RunError::AlreadyRunning(id.to_string()));
        }
        let stop = StopSignal::default();
        running.insert(id.to_string(), stop.clone());
        Ok(Running { runs: self.clone(), id: id.to_string(), stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_runs_once_at_a_time_and_is_free_again_when_its_run_ends() {
        let runs = Runs::default();
        let first = runs.enter("m1").unwrap();
        assert_eq!(runs.enter("m1").err().unwrap().code(), "migration.alreadyRunning");
        assert_eq!(runs.running(), vec!["m1".to_string()]);
        assert!(runs.stop("m1") && first.stop.is_stopped());
        drop(first);
        assert!(!runs.is_running("m1") && !runs.stop("m1"));
        assert!(runs.enter("m1").is_ok());
    }
}
