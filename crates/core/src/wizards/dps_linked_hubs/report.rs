//! The report of a linked hubs change, from its journal: what was done (the hubs linked, updated,
//! unlinked or rotated, the enrollments edited), every step with its outcome, and the JSON of
//! `properties.iotHubs` before and after the write (keys masked, as the journal holds them).

use super::edit::IotHubsDiff;
use super::run::{ENROLLMENT, HUB};
use crate::journal::{Journal, JournalError, MigrationState, StepRecord};
use crate::runtime::report::csv;
use crate::runtime::ItemRow;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DpsLinkedHubsReport")]
pub struct Report {
    pub migration_id: String,
    pub title: String,
    pub state: MigrationState,
    /// By kind (`hub`, `enrollment`), then by outcome.
    #[ts(type = "Record<string, Record<string, number>>")]
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    pub steps: Vec<StepRecord>,
    pub items: Vec<ItemRow>,
    /// What the link, update or unlink wrote; none for a rotation (its writes are of keys).
    pub diff: Option<IotHubsDiff>,
}

pub fn build(journal: &Journal, id: &str) -> Result<Report, JournalError> {
    let summary = journal.list()?.into_iter().find(|m| m.id == id).ok_or_else(|| JournalError::NotFound(id.into()))?;
    let steps = journal.steps(id)?;
    let diff = steps
        .iter()
        .filter(|s| ["link", "update", "unlink"].contains(&s.key.as_str()))
        .find_map(|s| s.outcome.as_ref().and_then(|o| serde_json::from_value::<IotHubsDiff>(o["diff"].clone()).ok()));
    let mut items = journal.items(id, HUB, None, 0, u32::MAX)?;
    items.extend(journal.items(id, ENROLLMENT, None, 0, u32::MAX)?);
    Ok(Report { migration_id: id.into(), title: summary.title, state: summary.state, counts: journal.item_kinds(id)?, steps, items, diff })
}

pub fn to_csv(report: &Report) -> String {
    csv(
        &["kind", "id", "outcome", "reason"],
        report.items.iter().map(|row| vec![row.kind.as_str(), row.key.as_str(), row.state.as_str(), row.reason.as_deref().unwrap_or("")]),
    )
}

pub fn lines(report: &Report) -> Vec<String> {
    let mut lines = vec![format!("{} — {:?}", report.title, report.state)];
    for step in &report.steps {
        let how = match (&step.outcome, &step.error_code) {
            (_, Some(code)) => format!("failed [{code}]: {}", step.error_message.as_deref().unwrap_or("")),
            (Some(_), None) => "done".into(),
            (None, None) => "not finished".into(),
        };
        lines.push(format!("  {}: {how}", step.key));
    }
    lines.extend(report.items.iter().map(|r| format!("{} {}: {}", r.kind, r.key, r.state)));
    lines
}
