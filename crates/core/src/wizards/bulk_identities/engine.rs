//! A bulk run: export (job, then devices.txt downloaded range by range and saved), import (the
//! file checked, uploaded in blocks that resume, the job, then importErrors.log put beside the
//! input lines), and the operations built on import (their devices.txt written first, then
//! imported the same way). Every side effect is a journaled step.

use super::error::BulkError;
use super::import_errors::{read_log, ImportError, InputIndex};
use super::job;
use super::operations;
use super::plan::{Operation, Plan};
use super::progress::{BulkTick, DEVICE};
use super::storage::JobContainer;
use super::validate::validate;
use crate::runtime::RunContext;
use iotm_azure::arm::ArmClient;
use iotm_azure::blob_blocks::BLOCK_SIZE;
use iotm_azure::hub::HubClient;
use iotm_azure::hub_jobs::NewJob;
use iotm_azure::{ConnectionString, Pipeline};
use serde_json::json;
use std::io::BufReader;
use std::path::{Path, PathBuf};

pub struct Clients {
    pub pipeline: Pipeline,
    pub arm: ArmClient,
}

/// Where the checkpoint of import errors is kept (the report reads it).
pub const ERRORS_CHECKPOINT: &str = "importErrors";

pub fn file_error(path: &Path, e: impl std::fmt::Display) -> BulkError {
    BulkError::File { file: path.display().to_string(), detail: e.to_string() }
}

/// The hub's service client, signed with its `iothubowner` policy listed through ARM.
pub async fn hub_client(clients: &Clients, plan: &Plan) -> Result<HubClient, BulkError> {
    let h = &plan.hub;
    let hub = clients.arm.iot_hub(&h.subscription_id, &h.resource_group, &h.hub_name).await?;
    let host = hub.properties.host_name.clone().unwrap_or_else(|| format!("{}.azure-devices.net", h.hub_name));
    let policy = clients.arm.iot_hub_key(&h.subscription_id, &h.resource_group, &h.hub_name, "iothubowner").await?;
    let key = policy.primary_key.ok_or_else(|| BulkError::File { file: "iothubowner".into(), detail: "the policy has no key".into() })?;
    Ok(HubClient::from_connection_string(clients.pipeline.clone(), ConnectionString::for_policy(&host, "iothubowner", &key)))
}

pub struct Engine<'a> {
    ctx: &'a RunContext<'a, BulkTick>,
    clients: &'a Clients,
}

impl<'a> Engine<'a> {
    pub fn new(ctx: &'a RunContext<'a, BulkTick>, clients: &'a Clients) -> Engine<'a> {
        Engine { ctx, clients }
    }

    /// A blob name only this migration uses (so a resumed run finds its own job and blobs).
    fn blob(&self, name: &str) -> String {
        format!("{}/{name}", self.ctx.id())
    }

    pub async fn run(&self, plan: &Plan) -> Result<(), BulkError> {
        // The file is checked before anything leaves this machine.
        if let Operation::Import { file, default_mode } = &plan.operation {
            self.check_file(Path::new(file), *default_mode).await?;
        }
        let container = self.container(plan).await?;
        let hub = self.ctx.check("hub", "Reach the hub", json!({"hub": plan.hub.hub_name}), || hub_client(self.clients, plan)).await?;
        match &plan.operation {
            Operation::Export { exclude_keys, save_to } => {
                let blob = self.export(&hub, plan, &container, *exclude_keys).await?;
                self.download(&container, &blob, Path::new(save_to)).await
            }
            Operation::Import { file, default_mode } => {
                let file = operations::with_default_mode(self, Path::new(file), *default_mode).await?;
                self.import(&hub, plan, &container, &file).await
            }
            other => {
                let file = operations::prepare(self, &hub, plan, &container, other).await?;
                self.import(&hub, plan, &container, &file).await
            }
        }
    }

    pub fn ctx(&self) -> &RunContext<'a, BulkTick> {
        self.ctx
    }

    async fn check_file(&self, file: &Path, default_mode: super::modes::ImportMode) -> Result<(), BulkError> {
        let intent = json!({"file": file.display().to_string()});
        self.ctx
            .check("file", "Check the file line by line", intent, || async {
                let reader = BufReader::new(std::fs::File::open(file).map_err(|e| file_error(file, e))?);
                validate(reader, default_mode).map(drop).map_err(|problems| BulkError::InvalidFile { file: file.display().to_string(), problems })
            })
            .await
    }

    async fn container(&self, plan: &Plan) -> Result<JobContainer, BulkError> {
        let intent = json!({"account": plan.storage.account, "container": plan.storage.container});
        let container = self
            .ctx
            .check("storage", "Reach the storage account", intent, || JobContainer::open(&self.clients.pipeline, &self.clients.arm, &plan.storage))
            .await?;
        let intent = json!({"container": plan.storage.container});
        self.ctx
            .step("container", "Create the container if missing", intent, |_| async {
                Ok::<_, BulkError>(json!({"created": container.ensure_exists().await?}))
            })
            .await?;
        Ok(container)
    }

    /// Runs an export job into a blob of this migration; answers the blob's name.
    pub async fn export(&self, hub: &HubClient, plan: &Plan, container: &JobContainer, exclude_keys: bool) -> Result<String, BulkError> {
        let blob = self.blob("devices.txt");
        let mut new = NewJob::export(container.sas("w")?, exclude_keys);
        new.output_blob_name = Some(blob.clone());
        let id = job::start(self.ctx, hub, &plan.hub.hub_name, "exportJob", new).await?;
        job::follow(self.ctx, hub, &id, "export").await?;
        Ok(blob)
    }

    /// devices.txt streamed to a file beside `to`, then moved over it (never half a file there).
    pub async fn download(&self, container: &JobContainer, blob: &str, to: &Path) -> Result<(), BulkError> {
        let intent = json!({"blob": blob, "to": to.display().to_string()});
        self.ctx
            .step("download", "Download devices.txt", intent, |_| async {
                let partial = partial_path(to);
                if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
                }
                let mut out = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(|e| file_error(&partial, e))?);
                let reader = container.client("r")?;
                let bytes = reader
                    .download_to(blob, &mut out, BLOCK_SIZE, |t| self.ctx.tick(Default::default(), BulkTick::transfer("download", t.bytes, t.total)))
                    .await
                    .map_err(|e| BulkError::from_storage(e, "read", &container.name))?;
                std::io::Write::flush(&mut out).map_err(|e| file_error(&partial, e))?;
                drop(out);
                std::fs::rename(&partial, to).map_err(|e| file_error(to, e))?;
                let ids = device_ids(to)?;
                self.ctx.record_items(DEVICE, ids.iter().map(|id| (id.as_str(), "exported", None)))?;
                Ok(json!({"bytes": bytes, "devices": ids.len()}))
            })
            .await
            .map(drop)
    }

    /// Uploads `file` in blocks (resuming), runs the import job, and puts importErrors.log beside
    /// the file's lines.
    pub async fn import(&self, hub: &HubClient, plan: &Plan, container: &JobContainer, file: &Path) -> Result<(), BulkError> {
        let input = self.blob("devices.txt");
        let intent = json!({"file": file.display().to_string(), "blob": input});
        self.ctx
            .step("upload", "Upload the file in blocks", intent, |_| async {
                // Read too: a resumed upload lists the blocks it staged before.
                let writer = container.client("rw")?;
                let done = writer
                    .upload_file(&input, file, BLOCK_SIZE, "text/plain", |t| self.ctx.tick(Default::default(), BulkTick::transfer("upload", t.bytes, t.total)))
                    .await
                    .map_err(|e| BulkError::from_storage(e, "write", &container.name))?;
                Ok::<_, BulkError>(json!({"bytes": done.bytes, "resumedBlocks": done.resumed_blocks}))
            })
            .await?;
        let errors_blob = self.blob("importErrors.log");
        let mut new = NewJob::import(container.sas("r")?, Some(input), container.sas("w")?);
        new.output_blob_name = Some(errors_blob.clone());
        let id = job::start(self.ctx, hub, &plan.hub.hub_name, "importJob", new).await?;
        job::follow(self.ctx, hub, &id, "import").await?;
        let intent = json!({"blob": errors_blob});
        self.ctx
            .step("importErrors", "Read the import errors", intent, |_| async {
                let mut log = Vec::new();
                match container.client("r")?.download_to(&errors_blob, &mut log, BLOCK_SIZE, |_| {}).await {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(BulkError::from_storage(e, "read", &container.name)),
                }
                let index = InputIndex::read(BufReader::new(std::fs::File::open(file).map_err(|e| file_error(file, e))?)).map_err(|e| file_error(file, e))?;
                let errors = read_log(log.as_slice(), &index).map_err(|e| file_error(Path::new("importErrors.log"), e))?;
                self.record_outcomes(file, &errors)?;
                self.ctx.checkpoint(ERRORS_CHECKPOINT, &errors)?;
                Ok(json!({"errors": errors.len()}))
            })
            .await
            .map(drop)
    }

    /// Each device of the file: imported, or failed with the error's code.
    fn record_outcomes(&self, file: &Path, errors: &[ImportError]) -> Result<(), BulkError> {
        let failed: std::collections::HashMap<&str, String> =
            errors.iter().filter_map(|e| e.device_id.as_deref().map(|id| (id, e.error_code.map_or("refused".into(), |c| c.to_string())))).collect();
        let ids = device_ids(file)?;
        let rows = ids.iter().map(|id| match failed.get(id.as_str()) {
            Some(code) => (id.as_str(), "failed", Some(code.as_str())),
            None => (id.as_str(), "imported", None),
        });
        self.ctx.record_items(DEVICE, rows)?;
        Ok(())
    }
}

/// `<file>.partial`, where a download goes until it is whole.
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// The device IDs of a devices.txt, in order (lines without one are left out).
pub fn device_ids(file: &Path) -> Result<Vec<String>, BulkError> {
    use std::io::BufRead;
    let reader = BufReader::new(std::fs::File::open(file).map_err(|e| file_error(file, e))?);
    let mut ids = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| file_error(file, e))?;
        if let Some(id) = serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string)) {
            ids.push(id);
        }
    }
    Ok(ids)
}
