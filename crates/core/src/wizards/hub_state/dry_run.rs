//! What an import or migrate would change on the target — create / update / delete per device,
//! module and configuration — found by the run's own comparison with nothing written, as counts and
//! a list. An export's dry run counts what the file would hold. Nothing is journaled.

use super::batch_query;
use super::devices::{Batch, DeviceSource};
use super::engine::{overview, Clients, CONFIGURATION, DEVICE, MODULE};
use super::error::HubStateError;
use super::from_hub;
use super::hubs;
use super::plan::{Action, Aspect, Plan};
use super::state_file::Variant;
use super::to_hub::{self, Change};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use ts_rs::TS;

/// Changes of each sort (create, update, delete) listed one by one, at most (the counts are always
/// complete): per sort, so a long list of creates never hides the deletes a Replace would make.
pub const LISTED: usize = 5000;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStatePlannedChange")]
pub struct PlannedChange {
    /// `device`, `module` (`device/module`) or `configuration`.
    pub kind: String,
    pub id: String,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStateDryRun")]
pub struct DryRun {
    pub action: Action,
    /// By kind, then by change (`create`, `update`, `delete`, `unchanged`; `export` for an export).
    #[ts(type = "Record<string, Record<string, number>>")]
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every change but `unchanged`, up to `LISTED` of each sort.
    pub changes: Vec<PlannedChange>,
    pub listed_all: bool,
    /// The state file's variant (import).
    pub variant: Option<Variant>,
}

impl DryRun {
    fn new(action: Action) -> DryRun {
        DryRun { action, counts: BTreeMap::new(), changes: Vec::new(), listed_all: true, variant: None }
    }

    fn count(&mut self, kind: &str, change: &str, by: u64) {
        *self.counts.entry(kind.into()).or_default().entry(change.into()).or_default() += by;
    }

    fn note(&mut self, kind: &str, id: &str, change: Change) {
        let listed: u64 = self.counts.values().filter_map(|c| c.get(change.as_str())).sum();
        self.count(kind, change.as_str(), 1);
        if change == Change::Unchanged {
            return;
        }
        if listed < LISTED as u64 {
            self.changes.push(PlannedChange { kind: kind.into(), id: id.into(), change });
        } else {
            self.listed_all = false;
        }
    }

    /// How many of `kind` would change at all.
    pub fn changing(&self, kind: &str) -> u64 {
        self.counts.get(kind).map_or(0, |c| c.iter().filter(|(k, _)| *k != "unchanged").map(|(_, n)| n).sum())
    }

    /// How many of `kind` Replace would delete.
    pub fn deletes(&self, kind: &str) -> u64 {
        self.counts.get(kind).and_then(|c| c.get("delete")).copied().unwrap_or(0)
    }
}

pub async fn dry_run(clients: &Clients, plan: &Plan, progress: &(dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, HubStateError> {
    let mut dry = DryRun::new(plan.action);
    if plan.action == Action::Export {
        let source_ref = plan.source.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("source", "missing"))?;
        let source = hubs::connect(&clients.arm, &clients.pipeline, source_ref).await?;
        if plan.has(Aspect::Configurations) {
            let configurations = from_hub::configurations(&source, &source_ref.hub_name).await?;
            dry.count(CONFIGURATION, "export", configurations.len() as u64);
        }
        if plan.has(Aspect::Devices) {
            dry.count(DEVICE, "export", source.device_statistics().await?.total_device_count);
        }
        return Ok(dry);
    }
    let target_ref = plan.target.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("target", "missing"))?;
    let (configurations, mut devices, total) = match plan.action {
        Action::Import => {
            let path = PathBuf::from(plan.file.clone().unwrap_or_default());
            let overview = overview(path.clone()).await?;
            dry.variant = Some(overview.variant);
            (overview.configurations.unwrap_or_default(), DeviceSource::file(path, None), overview.devices)
        }
        _ => {
            let source_ref = plan.source.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("source", "missing"))?;
            let source = hubs::connect(&clients.arm, &clients.pipeline, source_ref).await?;
            let configurations =
                if plan.has(Aspect::Configurations) { from_hub::configurations(&source, &source_ref.hub_name).await? } else { Default::default() };
            let total = source.device_statistics().await?.total_device_count;
            (configurations, DeviceSource::hub(source, None)?, total)
        }
    };
    let target = hubs::connect(&clients.arm, &clients.pipeline, target_ref).await?;
    if plan.has(Aspect::Configurations) {
        for (id, change) in to_hub::apply_configurations(&target, &configurations, plan.replace, true).await? {
            dry.note(CONFIGURATION, &id, change);
        }
    }
    if !plan.has(Aspect::Devices) {
        return Ok(dry);
    }
    let mut done = 0u64;
    // Replace: the state's IDs, to name each target device it lacks (the run finds them through its
    // journal instead; a dry run journals nothing).
    let mut in_state = HashSet::new();
    while let Some(Batch { devices: batch, .. }) = devices.next_batch().await? {
        let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
        let missing = batch_query::missing(&target, &ids).await?;
        for (id, device) in batch {
            let outcome = to_hub::apply_device(&target, &id, &device, plan.replace, true, missing.contains(&id)).await?;
            dry.note(DEVICE, &id, outcome.device);
            for (module, change) in outcome.modules {
                dry.note(MODULE, &format!("{id}/{module}"), change);
            }
            if plan.replace {
                in_state.insert(id);
            }
            done += 1;
        }
        progress(done.min(u32::MAX as u64) as u32, total.max(done).min(u32::MAX as u64) as u32);
    }
    if plan.replace {
        let mut pager = target.query("SELECT deviceId FROM devices", 1000)?;
        while let Some(page) = pager.next_page().await {
            for id in page?.iter().filter_map(|t| t.get("deviceId").and_then(Value::as_str)) {
                if !in_state.contains(id) {
                    dry.note(DEVICE, id, Change::Delete);
                }
            }
        }
    }
    Ok(dry)
}

/// The dry run as a terminal prints it.
pub fn lines(dry: &DryRun) -> Vec<String> {
    let mut lines = Vec::new();
    for (kind, counts) in &dry.counts {
        let parts: Vec<String> = counts.iter().map(|(change, n)| format!("{n} {change}")).collect();
        lines.push(format!("{kind}s: {}", parts.join(", ")));
    }
    if let Some(variant) = dry.variant {
        lines.push(format!("State file: {variant:?} variant"));
    }
    lines.extend(dry.changes.iter().map(|c| format!("  {} {} {}", c.change.as_str(), c.kind, c.id)));
    if !dry.listed_all {
        lines.push(format!("  … the first {LISTED} changes of each sort listed; the counts above are complete"));
    }
    lines
}
