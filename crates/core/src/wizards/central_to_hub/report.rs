//! The report of a migration, from its journal: moved and verified, failed (with the reason in
//! words), not finished; exported as CSV (one row per device) and JSON. Nothing secret is in the
//! journal, so nothing secret can reach a report.

use super::progress::{DeviceState, DEVICE};
use super::reasons::explain;
use crate::journal::{Journal, JournalError, MigrationState, StepRecord};
use crate::runtime::report::csv;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    pub device_id: String,
    pub state: DeviceState,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub migration_id: String,
    pub title: String,
    pub state: MigrationState,
    pub created_at: String,
    pub updated_at: String,
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub verified: u64,
    #[ts(type = "number")]
    pub failed: u64,
    /// Devices the run had not finished with (still pending, answered or registered).
    #[ts(type = "number")]
    pub unfinished: u64,
    /// Devices of the selection the target hub already held (moved before): left out, not moved.
    #[ts(type = "number")]
    pub left_out: u64,
    /// Failed devices by reason code.
    #[ts(type = "Record<string, number>")]
    pub by_reason: BTreeMap<String, u64>,
    pub steps: Vec<StepRecord>,
    pub devices: Vec<ReportRow>,
}

pub fn build(journal: &Journal, id: &str) -> Result<Report, JournalError> {
    let summary = journal.list()?.into_iter().find(|m| m.id == id).ok_or_else(|| JournalError::NotFound(id.into()))?;
    let devices: Vec<ReportRow> = journal
        .items(id, DEVICE, None, 0, u32::MAX)?
        .into_iter()
        .map(|row| {
            let code = row.reason.as_deref().map(|r| r.split(':').next().unwrap_or(r).to_string());
            ReportRow { device_id: row.key, state: DeviceState::parse(&row.state), reason: row.reason.as_deref().map(explain), reason_code: code }
        })
        .collect();
    let mut by_reason = BTreeMap::new();
    for code in devices.iter().filter(|d| d.state == DeviceState::Failed).filter_map(|d| d.reason_code.clone()) {
        *by_reason.entry(code).or_insert(0) += 1;
    }
    let steps = journal.steps(id)?;
    let left_out = steps
        .iter()
        .find(|s| s.key == "select-devices")
        .and_then(|s| s.outcome.as_ref())
        .and_then(|o| o["leftOut"].as_object().map(|groups| groups.values().filter_map(|v| v.as_array()).map(|ids| ids.len() as u64).sum()))
        .unwrap_or(0);
    let count = |state: DeviceState| devices.iter().filter(|d| d.state == state).count() as u64;
    let (verified, failed) = (count(DeviceState::Verified), count(DeviceState::Failed));
    Ok(Report {
        migration_id: id.into(),
        title: summary.title,
        state: summary.state,
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        total: devices.len() as u64,
        verified,
        failed,
        unfinished: devices.len() as u64 - verified - failed,
        left_out,
        by_reason,
        steps,
        devices,
    })
}

/// One row per device: `deviceId,state,reasonCode,reason`.
pub fn to_csv(report: &Report) -> String {
    let rows = report
        .devices
        .iter()
        .map(|row| vec![row.device_id.as_str(), row.state.as_str(), row.reason_code.as_deref().unwrap_or(""), row.reason.as_deref().unwrap_or("")]);
    csv(&["deviceId", "state", "reasonCode", "reason"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_explains_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let id = journal.create(crate::wizards::WizardId::CentralToHub, "t", &serde_json::json!({})).unwrap();
        journal.record_items(&id, DEVICE, [("a", "verified", None), ("b,1", "failed", Some("noDeviceMove")), ("c", "answered", None)]).unwrap();
        let report = build(&journal, &id).unwrap();
        assert_eq!((report.total, report.verified, report.failed, report.unfinished), (3, 1, 1, 1));
        assert_eq!(report.by_reason.get("noDeviceMove"), Some(&1));
        let csv = to_csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "deviceId,state,reasonCode,reason");
        assert!(lines[2].starts_with("\"b,1\",failed,noDeviceMove,\"The device's firmware does not implement DeviceMove (it answered 501)"), "{}", lines[2]);
    }
}
