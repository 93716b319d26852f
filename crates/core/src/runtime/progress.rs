//! What a run tells whoever watches it (the window over a Tauri Channel, the CLI on stdout): the
//! same events for every wizard — steps as they start and end, a tick with item counts by state,
//! how the run ended — with each wizard's own news inside its ticks (Central → Hub: its jobs and
//! the devices whose state changed, so a table of 10,000 rows is patched, never resent).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    Started,
    Done,
    /// Done in an earlier run of this migration (read from the journal).
    AlreadyDone,
    Failed,
}

/// One item of a migration (a device, a module, an import line, an ARM resource) as a table shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ItemRow {
    /// What it is: `device`, `module`, `configuration`, `line`…
    pub kind: String,
    /// Its key within its kind (a device ID, `device/module`, a line number).
    pub key: String,
    pub state: String,
    /// A reason code (`noAnswer`, `wrongKey`…, with `:detail` when there is one), for failed items.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum Progress<T> {
    Step {
        key: String,
        title: String,
        state: StepState,
        detail: Option<String>,
    },
    Tick {
        #[ts(type = "number")]
        elapsed_ms: u64,
        /// Items by state (of the wizard's main kind of item).
        #[ts(type = "Record<string, number>")]
        counts: BTreeMap<String, u64>,
        /// The wizard's own news.
        #[serde(flatten)]
        news: T,
    },
    /// The run ended: done, stopped (resumable), or failed with a code and a sentence.
    Finished {
        ok: bool,
        #[ts(type = "ErrorCode | null")]
        code: Option<String>,
        message: Option<String>,
        request_id: Option<String>,
        #[ts(type = "Record<string, number>")]
        counts: BTreeMap<String, u64>,
    },
}

impl<T: Serialize> Progress<T> {
    /// The same event with its news as JSON: what crosses to a watcher that serves every wizard.
    pub fn erased(self) -> Progress<serde_json::Value> {
        match self {
            Progress::Step { key, title, state, detail } => Progress::Step { key, title, state, detail },
            Progress::Tick { elapsed_ms, counts, news } => {
                Progress::Tick { elapsed_ms, counts, news: serde_json::to_value(news).unwrap_or(serde_json::Value::Null) }
            }
            Progress::Finished { ok, code, message, request_id, counts } => Progress::Finished { ok, code, message, request_id, counts },
        }
    }
}

/// Asks a run to stop at its next safe point (the journal keeps it resumable); wakes a sleeping run.
#[derive(Clone, Default)]
pub struct StopSignal(Arc<StopInner>);

#[derive(Default)]
struct StopInner {
    stopped: AtomicBool,
    wake: tokio::sync::Notify,
}

impl StopSignal {
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once `stop` is called (at once if it was).
    pub async fn stopped(&self) {
        let woken = self.0.wake.notified();
        tokio::pin!(woken);
        // Registered before the check, so a stop between the check and the wait is not missed.
        woken.as_mut().enable();
        if self.is_stopped() {
            return;
        }
        woken.await;
    }
}

/// How far a dry run's per-item checks are.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub checked: u32,
    pub total: u32,
}
