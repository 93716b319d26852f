//! What a bulk run did, from the journal: its state, the job, each device's outcome, and the
//! import errors each beside its input line.

use super::engine::ERRORS_CHECKPOINT;
use super::import_errors::ImportError;
use super::progress::DEVICE;
use crate::journal::{Journal, JournalError, MigrationState};
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkReport")]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: String,
    pub title: String,
    pub state: MigrationState,
    /// Devices by outcome (`exported`, `imported`, `failed`).
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    /// The hub's job IDs, by step (`exportJob`, `importJob`).
    pub jobs: Vec<(String, String)>,
    /// importErrors.log, each beside its input line.
    pub errors: Vec<ImportError>,
    /// Why the run stopped, when it did.
    pub stopped_by: Option<String>,
}

pub fn build(journal: &Journal, id: &str) -> Result<Report, JournalError> {
    let summary = journal.list()?.into_iter().find(|m| m.id == id).ok_or_else(|| JournalError::NotFound(id.into()))?;
    let steps = journal.steps(id)?;
    let jobs =
        steps.iter().filter_map(|s| s.outcome.as_ref().and_then(|o| o.get("jobId")).and_then(|j| j.as_str()).map(|j| (s.key.clone(), j.to_string()))).collect();
    let stopped_by = steps.iter().rev().find_map(|s| s.error_message.clone());
    let errors: Vec<ImportError> = journal.load_checkpoint(id, ERRORS_CHECKPOINT)?.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    Ok(Report { id: id.into(), title: summary.title, state: summary.state, counts: journal.item_counts(id, DEVICE)?, jobs, errors, stopped_by })
}

/// One row per import error: line, device, code, meaning, what the hub said.
pub fn to_csv(report: &Report) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("line,deviceId,errorCode,meaning,status\n");
    for e in &report.errors {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            e.line.map(|l| l.to_string()).unwrap_or_default(),
            quote(e.device_id.as_deref().unwrap_or_default()),
            e.error_code.map(|c| c.to_string()).unwrap_or_default(),
            quote(&e.meaning),
            quote(&e.status)
        ));
    }
    out
}
