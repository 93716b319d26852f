//! The report of a Hub state migration, from its journal: per kind (device, module, configuration,
//! parent) how many were created, updated, left unchanged, deleted, exported or failed, and every
//! item with its outcome. The journal holds IDs and outcomes only, never keys.

use super::engine::{CONFIGURATION, DEVICE, MODULE, PARENT};
use crate::journal::{Journal, JournalError, MigrationState, StepRecord};
use crate::runtime::report::csv;
use crate::runtime::ItemRow;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStateReport")]
pub struct Report {
    pub migration_id: String,
    pub title: String,
    pub state: MigrationState,
    /// By kind, then by outcome.
    #[ts(type = "Record<string, Record<string, number>>")]
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    pub steps: Vec<StepRecord>,
    /// Every item, devices first.
    pub items: Vec<ItemRow>,
}

pub fn build(journal: &Journal, id: &str) -> Result<Report, JournalError> {
    let summary = journal.list()?.into_iter().find(|m| m.id == id).ok_or_else(|| JournalError::NotFound(id.into()))?;
    let mut items = Vec::new();
    for kind in [DEVICE, MODULE, CONFIGURATION, PARENT] {
        items.extend(journal.items(id, kind, None, 0, u32::MAX)?);
    }
    Ok(Report { migration_id: id.into(), title: summary.title, state: summary.state, counts: journal.item_kinds(id)?, steps: journal.steps(id)?, items })
}

pub fn to_csv(report: &Report) -> String {
    csv(
        &["kind", "id", "outcome", "reason"],
        report.items.iter().map(|row| vec![row.kind.as_str(), row.key.as_str(), row.state.as_str(), row.reason.as_deref().unwrap_or("")]),
    )
}

pub fn lines(report: &Report) -> Vec<String> {
    let mut lines = vec![format!("{} — {:?}", report.title, report.state)];
    for (kind, counts) in &report.counts {
        let parts: Vec<String> = counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
        lines.push(format!("{kind}s: {}", parts.join(", ")));
    }
    lines.extend(report.items.iter().filter(|r| r.state == "failed").map(|r| format!("  failed {} {}: {}", r.kind, r.key, r.reason.as_deref().unwrap_or(""))));
    lines
}
