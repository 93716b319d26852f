//! The run of a Hub state migration, on the shared runtime. Export: the source hub's configurations
//! and devices to the state file, a page at a time. Import and migrate: the state (from the file, or
//! read from the source hub) applied to the target hub — configurations first, then devices a batch
//! at a time, then edge parents, then (Replace) what the target has that the state lacks deleted.
//!
//! Every batch ends with a checkpoint (the file's read mark, or the source query's continuation,
//! and for an export the written file's mark), so a run killed anywhere resumes after the last
//! batch; a device of the batch that was cut off is compared again and written only if it still
//! differs, so nothing is done twice.

use super::batch_query;
use super::devices::{Batch, DeviceSource};
use super::error::HubStateError;
use super::from_hub;
use super::hubs;
use super::plan::{Action, Aspect, Plan};
use super::state_file::{read, ConfigurationsState, Flow, ReadMark, StateItem, StateWriter, Variant, WriteMark};
use super::to_hub::{self, Change, DeviceOutcome};
use crate::runtime::{ItemRow, RunContext, RunError};
use iotm_azure::arm::ArmClient;
use iotm_azure::hub::HubClient;
use iotm_azure::{AzureError, PageToken, Pipeline};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use ts_rs::TS;

pub const DEVICE: &str = "device";
pub const MODULE: &str = "module";
pub const CONFIGURATION: &str = "configuration";
pub const PARENT: &str = "parent";

/// Devices applied at once within a batch.
const AT_ONCE: usize = 16;

#[derive(Clone)]
pub struct Clients {
    pub pipeline: Pipeline,
    pub arm: ArmClient,
}

/// A Hub state tick's own news: which phase, and the items whose state changed.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HubStateTick {
    pub phase: String,
    pub changed: Vec<ItemRow>,
}

/// An export's place: the file written so far and the source query's next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportMark {
    write: WriteMark,
    page: Option<PageToken>,
    devices_done: bool,
}

/// What the state file holds besides devices, read in a first pass that also checks every line.
pub struct FileOverview {
    pub variant: Variant,
    pub configurations: Option<ConfigurationsState>,
    pub devices: u64,
}

/// Reads the whole file once without acting on it: a bad or cut-off file is refused before the
/// target is touched, and the configurations (a few hundred at most) are kept for the import.
pub async fn overview(path: PathBuf) -> Result<FileOverview, HubStateError> {
    tokio::task::spawn_blocking(move || {
        let mut configurations = None;
        let summary = read(&path, None, &mut |item, _| {
            if let StateItem::Configurations(c) = item {
                configurations = Some(c);
            }
            Flow::Continue(())
        })?;
        Ok(FileOverview { variant: summary.variant.unwrap_or(Variant::Json), configurations, devices: summary.devices })
    })
    .await
    .map_err(|e| HubStateError::Run(RunError::FileNotWritten { path: "state file".into(), detail: e.to_string() }))?
}

/// A device's or configuration's outcome as the journal keeps it.
fn state_of(change: Change) -> &'static str {
    match change {
        Change::Create => "created",
        Change::Update => "updated",
        Change::Delete => "deleted",
        Change::Unchanged => "unchanged",
    }
}

/// A refusal about one item (bad data, a quota) is that item's failure; anything else (no answer,
/// throttled past retries, no right) stops the run.
fn item_failure(e: &AzureError) -> Option<String> {
    match e.status() {
        Some(400 | 404 | 409 | 412) => Some(e.code().to_string()),
        _ => None,
    }
}

pub struct Engine<'a> {
    pub ctx: &'a RunContext<'a, HubStateTick>,
    pub clients: &'a Clients,
}

impl<'a> Engine<'a> {
    pub fn new(ctx: &'a RunContext<'a, HubStateTick>, clients: &'a Clients) -> Engine<'a> {
        Engine { ctx, clients }
    }

    pub async fn run(&self, plan: &Plan) -> Result<(), HubStateError> {
        match plan.action {
            Action::Export => self.export(plan).await,
            Action::Import | Action::Migrate => self.apply(plan).await,
        }
    }

    async fn hub(&self, key: &str, title: &str, hub: &super::plan::HubRef) -> Result<HubClient, HubStateError> {
        self.ctx.check(key, title, json!({"hub": hub.hub_name}), || hubs::connect(&self.clients.arm, &self.clients.pipeline, hub)).await
    }

    fn tick(&self, phase: &str, changed: Vec<ItemRow>) {
        let counts = self.ctx.item_counts(DEVICE).unwrap_or_default();
        self.ctx.tick(counts, HubStateTick { phase: phase.into(), changed });
    }

    fn stopped(&self) -> Result<(), HubStateError> {
        if self.ctx.is_stopped() {
            return Err(RunError::Cancelled.into());
        }
        Ok(())
    }

    async fn export(&self, plan: &Plan) -> Result<(), HubStateError> {
        let source_ref = plan.source.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("source", "missing"))?;
        let source = self.hub("source", "Reach the source hub", source_ref).await?;
        let target = PathBuf::from(plan.file.clone().unwrap_or_default());
        let variant = plan.variant.unwrap_or(Variant::Json);
        self.ctx
            .step("export", "Write the state file", json!({"file": target.display().to_string()}), |_| async {
                let mark: Option<ExportMark> = self.ctx.load_checkpoint("export")?;
                let (mut writer, mut mark) = match mark {
                    Some(mark) => (StateWriter::resume(&target, variant, mark.write)?, mark),
                    None => {
                        let mut writer = StateWriter::create(&target, variant)?;
                        if plan.has(Aspect::Configurations) {
                            let configurations = from_hub::configurations(&source, &source_ref.hub_name).await?;
                            writer.configurations(&configurations)?;
                            self.ctx.record_items(CONFIGURATION, configurations.all().map(|c| (c.id.as_str(), "exported", None)))?;
                        }
                        if plan.has(Aspect::Devices) {
                            writer.devices_section()?;
                        }
                        let mark = ExportMark { write: writer.mark()?, page: None, devices_done: !plan.has(Aspect::Devices) };
                        self.ctx.checkpoint("export", &mark)?;
                        (writer, mark)
                    }
                };
                if !mark.devices_done {
                    let mut devices = DeviceSource::hub(source.clone(), mark.page.clone())?;
                    while let Some(Batch { devices: batch, resume }) = devices.next_batch().await? {
                        self.stopped()?;
                        for (id, device) in &batch {
                            writer.device(id, device)?;
                        }
                        self.ctx.record_items(DEVICE, batch.iter().map(|(id, _)| (id.as_str(), "exported", None)))?;
                        mark = ExportMark { write: writer.mark()?, page: serde_json::from_value(resume).unwrap_or(None), devices_done: false };
                        mark.devices_done = mark.page.is_none();
                        self.ctx.checkpoint("export", &mark)?;
                        self.tick(
                            "export",
                            batch.iter().map(|(id, _)| ItemRow { kind: DEVICE.into(), key: id.clone(), state: "exported".into(), reason: None }).collect(),
                        );
                    }
                }
                let path = writer.finish()?;
                Ok::<Value, HubStateError>(json!({"file": path.display().to_string()}))
            })
            .await?;
        self.tick("done", vec![]);
        Ok(())
    }

    async fn apply(&self, plan: &Plan) -> Result<(), HubStateError> {
        let target_ref = plan.target.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("target", "missing"))?;
        let (configurations, mut devices) = match plan.action {
            Action::Import => {
                let path = PathBuf::from(plan.file.clone().unwrap_or_default());
                let overview =
                    self.ctx.check("file", "Read and check the state file", json!({"file": path.display().to_string()}), || overview(path.clone())).await?;
                let resume: Option<ReadMark> = self.ctx.load_checkpoint("devices")?;
                (overview.configurations, Some(DeviceSource::file(path, resume)))
            }
            _ => {
                let source_ref = plan.source.as_ref().ok_or_else(|| crate::runtime::PlanProblem::new("source", "missing"))?;
                let source = self.hub("source", "Reach the source hub", source_ref).await?;
                let configurations = if plan.has(Aspect::Configurations) { Some(from_hub::configurations(&source, &source_ref.hub_name).await?) } else { None };
                let resume: Option<Option<PageToken>> = self.ctx.load_checkpoint("devices")?;
                let devices = match resume {
                    // The source's list was read to its end before the run stopped.
                    Some(None) => None,
                    Some(Some(token)) => Some(DeviceSource::hub(source, Some(token))?),
                    None => Some(DeviceSource::hub(source, None)?),
                };
                (configurations, devices)
            }
        };
        let target = self.hub("target", "Reach the target hub", target_ref).await?;
        if plan.has(Aspect::Configurations) {
            let wanted = configurations.unwrap_or_default();
            self.ctx
                .step("configurations", "Apply the configurations", json!({"count": wanted.len(), "replace": plan.replace}), |_| async {
                    let changes = to_hub::apply_configurations(&target, &wanted, plan.replace, false).await?;
                    self.ctx.record_items(CONFIGURATION, changes.iter().map(|(id, c)| (id.as_str(), state_of(*c), None)))?;
                    Ok::<Value, HubStateError>(json!({"changed": changes.iter().filter(|(_, c)| *c != Change::Unchanged).count()}))
                })
                .await?;
        }
        if !plan.has(Aspect::Devices) {
            return Ok(());
        }
        if let Some(source) = devices.as_mut() {
            self.apply_devices(&target, source, plan.replace).await?;
        }
        self.ctx.step("parents", "Set the edge parents", json!({}), |_| async { self.apply_parents(&target).await }).await?;
        if plan.replace {
            self.ctx.step("delete", "Delete the devices the state does not hold", json!({}), |_| async { self.delete_missing(&target).await }).await?;
        }
        self.tick("done", vec![]);
        Ok(())
    }

    async fn apply_devices(&self, target: &HubClient, source: &mut DeviceSource, replace: bool) -> Result<(), HubStateError> {
        while let Some(Batch { devices, resume }) = source.next_batch().await? {
            self.stopped()?;
            let ids: Vec<&str> = devices.iter().map(|(id, _)| id.as_str()).collect();
            let missing = batch_query::missing(target, &ids).await?;
            let mut outcomes: Vec<(String, Option<String>, Result<DeviceOutcome, String>)> = Vec::with_capacity(devices.len());
            // `AT_ONCE` devices in flight, each next one started as one ends (no chunk waits for its slowest).
            let mut tasks = tokio::task::JoinSet::new();
            let mut queue = devices.into_iter();
            loop {
                while tasks.len() < AT_ONCE {
                    let Some((id, device)) = queue.next() else { break };
                    let target = target.clone();
                    let known_missing = missing.contains(&id);
                    tasks.spawn(async move {
                        let outcome = to_hub::apply_device(&target, &id, &device, replace, false, known_missing).await;
                        (id, device.parent, outcome)
                    });
                }
                let Some(joined) = tasks.join_next().await else { break };
                let (id, parent, outcome) = joined.map_err(|e| AzureError::InvalidInput { what: "A device write".into(), problem: e.to_string() })?;
                let outcome = match outcome {
                    Ok(o) => Ok(o),
                    Err(e) => Err(item_failure(&e).ok_or(e)?),
                };
                outcomes.push((id, parent, outcome));
            }
            let rows: Vec<ItemRow> = outcomes
                .iter()
                .map(|(id, _, outcome)| match outcome {
                    Ok(o) => ItemRow { kind: DEVICE.into(), key: id.clone(), state: state_of(o.device).into(), reason: None },
                    Err(code) => ItemRow { kind: DEVICE.into(), key: id.clone(), state: "failed".into(), reason: Some(code.clone()) },
                })
                .collect();
            let modules: Vec<(String, &'static str)> = outcomes
                .iter()
                .filter_map(|(id, _, o)| o.as_ref().ok().map(|o| (id, o)))
                .flat_map(|(id, o)| o.modules.iter().map(move |(m, c)| (format!("{id}/{m}"), state_of(*c))))
                .collect();
            let parents: Vec<(&str, &str)> =
                outcomes.iter().filter_map(|(id, parent, o)| Some((id.as_str(), parent.as_deref()?)).filter(|_| o.is_ok())).collect();
            self.ctx.record_items(DEVICE, rows.iter().map(|r| (r.key.as_str(), r.state.as_str(), r.reason.as_deref())))?;
            self.ctx.record_items(MODULE, modules.iter().map(|(k, s)| (k.as_str(), *s, None)))?;
            self.ctx.record_items(PARENT, parents.iter().map(|(child, parent)| (*child, "pending", Some(*parent))))?;
            self.ctx.checkpoint("devices", &resume)?;
            self.tick("devices", rows);
        }
        Ok(())
    }

    async fn apply_parents(&self, target: &HubClient) -> Result<Value, HubStateError> {
        let pending = self.ctx.items(PARENT, Some("pending"))?;
        let mut set = 0;
        for row in &pending {
            self.stopped()?;
            let parent = row.reason.clone().unwrap_or_default();
            let state = match to_hub::apply_parent(target, &row.key, &parent, false).await {
                Ok(Change::Unchanged) => "unchanged",
                Ok(_) => {
                    set += 1;
                    "set"
                }
                Err(e) => {
                    item_failure(&e).ok_or(e)?;
                    "failed"
                }
            };
            // The parent's ID stays the reason, so a failed link names both.
            self.ctx.record_items(PARENT, [(row.key.as_str(), state, Some(parent.as_str()))])?;
        }
        Ok(json!({"set": set}))
    }

    /// Replace: the target's devices this run never met in the state are deleted, a page at a time.
    async fn delete_missing(&self, target: &HubClient) -> Result<Value, HubStateError> {
        let resume: Option<PageToken> = self.ctx.load_checkpoint("delete")?;
        let pager = target.query("SELECT deviceId FROM devices", 1000)?;
        let mut pager = match resume {
            Some(token) => pager.resumed_from(&token)?,
            None => pager,
        };
        let mut deleted = 0;
        while let Some(page) = pager.next_page().await {
            self.stopped()?;
            let ids: Vec<String> = page?.iter().filter_map(|t| t.get("deviceId").and_then(Value::as_str).map(str::to_string)).collect();
            let known = self.ctx.journal().known_items(self.ctx.id(), DEVICE, &ids)?;
            let mut rows = Vec::new();
            for id in ids.iter().filter(|id| !known.contains(*id)) {
                match target.delete_device(id, Some("*")).await {
                    Err(e) if e.status() != Some(404) => return Err(e.into()),
                    _ => {}
                }
                rows.push(ItemRow { kind: DEVICE.into(), key: id.clone(), state: "deleted".into(), reason: None });
                deleted += 1;
            }
            self.ctx.record_items(DEVICE, rows.iter().map(|r| (r.key.as_str(), "deleted", None)))?;
            if let Some(token) = pager.continuation()? {
                self.ctx.checkpoint("delete", &token)?;
            }
            self.tick("delete", rows);
        }
        Ok(json!({"deleted": deleted}))
    }
}
