//! What a Central → Hub run tells in its ticks, beside the counts every wizard's ticks carry: its
//! Central jobs' statuses and the devices whose state changed (so a table of 10,000 rows is
//! patched, never resent). Where a device is in the move is a `DeviceState`.

use crate::runtime::{ItemRow, Progress};
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

/// The kind of item a Central → Hub migration journals: a device being moved.
pub const DEVICE: &str = "device";

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

    /// A device in this state, as the journal and the tables hold it.
    pub fn row(self, device_id: &str, reason: Option<String>) -> ItemRow {
        ItemRow { kind: DEVICE.into(), key: device_id.into(), state: self.as_str().into(), reason }
    }
}

/// A Central → Hub tick's own news.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CentralToHubTick {
    /// Job statuses by job ID (`running`, `completed`…).
    #[ts(type = "Record<string, string>")]
    pub jobs: BTreeMap<String, String>,
    pub changed: Vec<ItemRow>,
}

/// What a Central → Hub run streams.
pub type CentralToHubProgress = Progress<CentralToHubTick>;
