//! Small answers the window's commands give, typed here so their TypeScript is generated.

use super::progress::DeviceRow;
use crate::journal::MigrationSummary;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

/// How far the dry run's per-device checks are.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub checked: u32,
    pub total: u32,
}

/// How many jobs a stop or resume changed.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobsChanged {
    pub changed: u32,
}

/// A page of a migration's devices, with the counts by state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DevicePage {
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    pub rows: Vec<DeviceRow>,
}

/// A migration on the Jobs page: `running_here` when this window runs it now; a migration the
/// journal says is running that does not run here was interrupted, and is offered Resume.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MigrationEntry {
    pub summary: MigrationSummary,
    pub running_here: bool,
}
