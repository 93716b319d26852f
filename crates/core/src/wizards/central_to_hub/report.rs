//! The report of a migration, from its journal: moved and verified, failed (with the reason in
//! words), not finished; exported as CSV (one row per device) and JSON. Nothing secret is in the
//! journal, so nothing secret can reach a report.

use super::progress::{DeviceState, DEVICE};
use super::reasons::explain;
use crate::journal::{Journal, JournalError, MigrationState, StepRecord};
use crate::runtime::attempts::{self, RetryRound};
use crate::runtime::report::csv;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    pub device_id: String,
    pub state: DeviceState,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    /// How many times DeviceMove was tried for the device (1, plus one per retry that included it).
    pub attempts: u32,
    /// The reason codes its earlier attempts failed for, first first.
    pub earlier_reasons: Vec<String>,
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
    /// Each retry: how many devices it retried, how many of them moved, how many it left out.
    pub retries: Vec<RetryRound>,
    pub steps: Vec<StepRecord>,
    pub devices: Vec<ReportRow>,
}

pub fn build(journal: &Journal, id: &str) -> Result<Report, JournalError> {
    let summary = journal.list()?.into_iter().find(|m| m.id == id).ok_or_else(|| JournalError::NotFound(id.into()))?;
    let code_of = |reason: &str| reason.split(':').next().unwrap_or(reason).to_string();
    let items = journal.items(id, DEVICE, None, 0, u32::MAX)?;
    let rounds = attempts::rounds(journal, id, DEVICE)?;
    let now: HashMap<&str, &str> = items.iter().map(|row| (row.key.as_str(), row.state.as_str())).collect();
    let retries = attempts::summarise(&rounds, &now, DeviceState::Verified.as_str());
    let mut earlier = attempts::earlier_reasons(&rounds);
    let devices: Vec<ReportRow> = items
        .iter()
        .map(|row| {
            let earlier: Vec<String> = earlier.remove(&row.key).unwrap_or_default().iter().map(|r| r.as_deref().map(code_of).unwrap_or_default()).collect();
            ReportRow {
                device_id: row.key.clone(),
                state: DeviceState::parse(&row.state),
                reason: row.reason.as_deref().map(explain),
                reason_code: row.reason.as_deref().map(code_of),
                attempts: earlier.len() as u32 + 1,
                earlier_reasons: earlier,
            }
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
        retries,
        steps,
        devices,
    })
}

/// One row per device: `deviceId,state,reasonCode,reason,attempts,earlierReasons` (the earlier
/// attempts' reason codes joined by `;`).
pub fn to_csv(report: &Report) -> String {
    let extra: Vec<(String, String)> = report.devices.iter().map(|row| (row.attempts.to_string(), row.earlier_reasons.join(";"))).collect();
    let rows = report.devices.iter().zip(&extra).map(|(row, (attempts, earlier))| {
        vec![row.device_id.as_str(), row.state.as_str(), row.reason_code.as_deref().unwrap_or(""), row.reason.as_deref().unwrap_or(""), attempts, earlier]
    });
    csv(&["deviceId", "state", "reasonCode", "reason", "attempts", "earlierReasons"], rows)
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
        assert_eq!(lines[0], "deviceId,state,reasonCode,reason,attempts,earlierReasons");
        assert!(lines[2].starts_with("\"b,1\",failed,noDeviceMove,\"The device's firmware does not implement DeviceMove (it answered 501)"), "{}", lines[2]);
        assert!(lines[2].ends_with(",1,"), "one attempt, nothing earlier: {}", lines[2]);
    }

    #[test]
    fn a_retried_device_keeps_its_earlier_attempt_and_the_retry_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let id = journal.create(crate::wizards::WizardId::CentralToHub, "t", &serde_json::json!({})).unwrap();
        journal.record_items(&id, DEVICE, [("a", "verified", None), ("b", "failed", Some("noAnswer")), ("c", "failed", Some("noDeviceMove"))]).unwrap();
        // What a retry journals before it resets a and b (c, without DeviceMove, was left out).
        let retried = serde_json::json!({"items": {"a": "noAnswer", "b": "commandError:500"}, "leftOut": 1});
        journal.checkpoint(&id, "attempt:device:1", &retried).unwrap();
        let report = build(&journal, &id).unwrap();
        assert_eq!(report.retries, [RetryRound { attempt: 1, retried: 2, moved: 1, left_out: 1 }]);
        let row = |id: &str| report.devices.iter().find(|d| d.device_id == id).unwrap();
        assert_eq!((row("a").attempts, row("a").earlier_reasons.clone()), (2, vec!["noAnswer".to_string()]));
        assert_eq!((row("b").attempts, row("b").earlier_reasons.clone()), (2, vec!["commandError".to_string()]));
        assert_eq!(row("c").attempts, 1);
        assert!(to_csv(&report).lines().any(|l| l == "b,failed,noAnswer,The device did not answer DeviceMove (offline or unreachable); it is still on Central. Retry when it is online.,2,commandError"));
    }
}
