//! The run context every wizard's run goes through: its journal, its migration ID, where its
//! progress goes and the signal that stops it. Every side effect is a `step` — its intent journaled
//! before, its outcome after — so a run killed at any point resumes where it stopped and never makes
//! anything twice; an unfinished step found after a crash is told so, to check before it acts again.

use super::error::{RunError, WizardFailure};
use super::progress::{ItemRow, Progress, StepState, StopSignal};
use crate::journal::{Journal, StepStart};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub struct RunContext<'a, T> {
    journal: &'a Journal,
    id: String,
    progress: &'a (dyn Fn(Progress<T>) + Send + Sync),
    stop: StopSignal,
    started: Instant,
}

impl<'a, T> RunContext<'a, T> {
    pub fn new(journal: &'a Journal, id: &str, progress: &'a (dyn Fn(Progress<T>) + Send + Sync), stop: StopSignal) -> RunContext<'a, T> {
        RunContext { journal, id: id.to_string(), progress, stop, started: Instant::now() }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn journal(&self) -> &'a Journal {
        self.journal
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn emit(&self, event: Progress<T>) {
        (self.progress)(event);
    }

    /// A tick: item counts by state and the wizard's own news.
    pub fn tick(&self, counts: BTreeMap<String, u64>, news: T) {
        self.emit(Progress::Tick { elapsed_ms: self.elapsed_ms(), counts, news });
    }

    fn emit_step(&self, key: &str, title: &str, state: StepState, detail: Option<String>) {
        self.emit(Progress::Step { key: key.into(), title: title.into(), state, detail });
    }

    /// One journaled side effect. `act(unfinished)` is told whether an earlier run began it and
    /// never finished, so it checks what exists before acting again. Done before: its outcome is
    /// given back and nothing runs.
    pub async fn step<E, F, Fut>(&self, key: &str, title: &str, intent: Value, act: F) -> Result<Value, E>
    where
        E: WizardFailure,
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = Result<Value, E>>,
    {
        if self.is_stopped() {
            return Err(RunError::Cancelled.into());
        }
        let unfinished = match self.journal.begin_step(&self.id, key, &intent).map_err(RunError::from)? {
            StepStart::Done { outcome } => {
                self.emit_step(key, title, StepState::AlreadyDone, None);
                return Ok(outcome);
            }
            StepStart::Unfinished { .. } => true,
            StepStart::Fresh => false,
        };
        self.emit_step(key, title, StepState::Started, None);
        let result = act(unfinished).await;
        self.finish(key, title, result.as_ref().map(Clone::clone))?;
        result
    }

    /// A check that runs on every run (unlike a step, whose outcome a resumed run reuses), since
    /// access, links and names change between runs: journaled as a step — done when it passes,
    /// failed with the error's code when it refuses the plan — so a stopped run shows where and why.
    pub async fn check<R, E, F, Fut>(&self, key: &str, title: &str, intent: Value, act: F) -> Result<R, E>
    where
        E: WizardFailure,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        if self.is_stopped() {
            return Err(RunError::Cancelled.into());
        }
        self.journal.begin_step(&self.id, key, &intent).map_err(RunError::from)?;
        self.emit_step(key, title, StepState::Started, None);
        let result = act().await;
        self.finish(key, title, result.as_ref().map(|_| json!({"passed": true})))?;
        result
    }

    /// Journals and tells how a step or check ended (a stop leaves it unfinished, to be resumed).
    fn finish<E: WizardFailure>(&self, key: &str, title: &str, result: Result<Value, &E>) -> Result<(), E> {
        match result {
            Ok(outcome) => {
                self.journal.finish_step(&self.id, key, Ok(&outcome)).map_err(RunError::from)?;
                self.emit_step(key, title, StepState::Done, None);
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                let message = e.to_string();
                self.journal.finish_step(&self.id, key, Err((&e.code(), &message))).map_err(RunError::from)?;
                self.emit_step(key, title, StepState::Failed, Some(crate::redact::redact(&message).into_owned()));
            }
        }
        Ok(())
    }

    /// The identifier this migration uses for `purpose` (a job ID, a group name): minted the first
    /// time, the same ever after, so a repeated step addresses the same thing.
    pub fn identifier(&self, purpose: &str, mint: impl FnOnce() -> String) -> Result<String, RunError> {
        Ok(self.journal.identifier(&self.id, purpose, mint)?)
    }

    /// Keeps where a long piece of work is (a pager's continuation, a blob offset, a job's ID), so a
    /// resumed run starts from there rather than from the beginning.
    pub fn checkpoint<S: Serialize>(&self, key: &str, state: &S) -> Result<(), RunError> {
        let value = serde_json::to_value(state).map_err(|e| RunError::BadCheckpoint { id: self.id.clone(), key: key.into(), detail: e.to_string() })?;
        Ok(self.journal.checkpoint(&self.id, key, &value)?)
    }

    /// The state `checkpoint` kept under `key`, if any.
    pub fn load_checkpoint<S: DeserializeOwned>(&self, key: &str) -> Result<Option<S>, RunError> {
        match self.journal.load_checkpoint(&self.id, key)? {
            None => Ok(None),
            Some(value) => {
                serde_json::from_value(value).map(Some).map_err(|e| RunError::BadCheckpoint { id: self.id.clone(), key: key.into(), detail: e.to_string() })
            }
        }
    }

    /// Records items' states in one transaction (a tick may carry thousands).
    pub fn record_items<'k>(&self, kind: &str, rows: impl IntoIterator<Item = (&'k str, &'k str, Option<&'k str>)>) -> Result<usize, RunError> {
        Ok(self.journal.record_items(&self.id, kind, rows)?)
    }

    /// How many items of `kind` are in each state.
    pub fn item_counts(&self, kind: &str) -> Result<BTreeMap<String, u64>, RunError> {
        Ok(self.journal.item_counts(&self.id, kind)?)
    }

    /// Items of `kind` (in one state, or all), by key.
    pub fn items(&self, kind: &str, state: Option<&str>) -> Result<Vec<ItemRow>, RunError> {
        Ok(self.journal.items(&self.id, kind, state, 0, u32::MAX)?)
    }

    /// Sleeps unless asked to stop; a stop wakes it at once.
    pub async fn sleep(&self, how_long: Duration) -> Result<(), RunError> {
        if self.is_stopped() {
            return Err(RunError::Cancelled);
        }
        tokio::select! {
            _ = tokio::time::sleep(how_long) => Ok(()),
            _ = self.stop.stopped() => Err(RunError::Cancelled),
        }
    }
}
