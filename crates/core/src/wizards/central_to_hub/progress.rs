//! What a run tells whoever watches it (the window over a Tauri Channel, the CLI on stdout): steps
//! as they start and end, device counts by state on every monitor tick, and the devices whose state
//! changed (so a table of 10,000 rows is patched, never resent).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use ts_rs::TS;

/// Where a device is in the move. Stored in the journal by `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DeviceState {
    /// Not yet answered DeviceMove.
    Pending,
    /// Answered DeviceMove; not yet registered with the target DPS.
    Answered,
    /// Assigned to the target hub by the target DPS; not yet seen connected there.
    Registered,
    /// In the target hub and connected.
    Verified,
    Failed,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Pending => "pending",
            DeviceState::Answered => "answered",
            DeviceState::Registered => "registered",
            DeviceState::Verified => "verified",
            DeviceState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> DeviceState {
        match text {
            "answered" => DeviceState::Answered,
            "registered" => DeviceState::Registered,
            "verified" => DeviceState::Verified,
            "failed" => DeviceState::Failed,
            _ => DeviceState::Pending,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, DeviceState::Verified | DeviceState::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    Started,
    Done,
    /// Done in an earlier run of this migration (read from the journal).
    AlreadyDone,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    pub device_id: String,
    pub state: DeviceState,
    /// A reason code (`noAnswer`, `noDeviceMove`, `wrongKey`…), for failed devices.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum Progress {
    Step {
        key: String,
        title: String,
        state: StepState,
        detail: Option<String>,
    },
    Tick {
        #[ts(type = "number")]
        elapsed_ms: u64,
        #[ts(type = "Record<string, number>")]
        counts: BTreeMap<String, u64>,
        /// Job statuses by job ID (`running`, `completed`…).
        #[ts(type = "Record<string, string>")]
        jobs: BTreeMap<String, String>,
        changed: Vec<DeviceRow>,
    },
    /// The run ended: done, stopped (resumable), or failed with a code and a sentence.
    Finished {
        ok: bool,
        code: Option<String>,
        message: Option<String>,
        request_id: Option<String>,
        #[ts(type = "Record<string, number>")]
        counts: BTreeMap<String, u64>,
    },
}

/// Asks a run to stop at its next safe point (the journal keeps it resumable).
#[derive(Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
