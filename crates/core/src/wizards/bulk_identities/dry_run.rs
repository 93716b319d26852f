//! What a bulk run would do, read and checked but not done: the hub and storage reached, the file
//! checked line by line (an import), the devices a query finds (an operation), each change said
//! in counts.

use super::engine::{file_error, hub_client, Clients};
use super::error::BulkError;
use super::operations::query_ids;
use super::plan::{Operation, Plan};
use super::storage::JobContainer;
use super::validate::{validate, FileSummary};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkDryRun")]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    pub operation: String,
    pub hub: String,
    /// How many devices the hub holds now.
    #[ts(type = "number")]
    pub devices_in_hub: u64,
    pub container: String,
    /// An import's file, as checked.
    pub file: Option<FileSummary>,
    /// The devices an operation's query finds (the first 20 named).
    pub matching: Option<u32>,
    pub sample: Vec<String>,
    /// Every change, in words and counts.
    pub changes: Vec<String>,
}

pub async fn dry_run(clients: &Clients, plan: &Plan, progress: &(dyn Fn(u32, u32) + Send + Sync)) -> Result<DryRun, BulkError> {
    let mut file = None;
    if let Operation::Import { file: path, default_mode } = &plan.operation {
        let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| file_error(std::path::Path::new(path), e))?);
        file = Some(validate(reader, *default_mode).map_err(|problems| BulkError::InvalidFile { file: path.clone(), problems })?);
    }
    progress(1, 3);
    let container = JobContainer::open(&clients.pipeline, &clients.arm, &plan.storage).await?;
    let hub = hub_client(clients, plan).await?;
    let devices_in_hub = hub.device_statistics().await?.total_device_count;
    progress(2, 3);
    let (mut matching, mut sample) = (None, vec![]);
    if let Some(query) = plan.operation.query() {
        let ids = query_ids(&hub, query).await?;
        matching = Some(ids.len() as u32);
        sample = ids.into_iter().take(20).collect();
    }
    progress(3, 3);
    let n = matching.unwrap_or(0);
    let account = &plan.storage.account;
    let mut changes = vec![format!("The container {} in {account} is used (created if missing), through SAS URLs valid for an hour", container.name)];
    changes.push(match &plan.operation {
        Operation::Export { exclude_keys, save_to } => {
            format!(
                "An export job writes the hub's {devices_in_hub} devices{} to devices.txt, saved to {save_to}",
                if *exclude_keys { " (without keys)" } else { " with their keys" }
            )
        }
        Operation::Import { .. } => {
            let f = file.as_ref().map(|f| f.by_mode.iter().map(|(m, c)| format!("{c} × {m}")).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            format!("The file is uploaded in blocks and an import job applies {} lines: {f}", file.as_ref().map_or(0, |f| f.lines))
        }
        Operation::Generate { prefix, count, keys_file } => format!("{count} devices {prefix}-0000001… are created with new keys, written to {keys_file} only"),
        Operation::Delete { .. } => format!("{n} devices are deleted"),
        Operation::SetStatus { enabled, .. } => {
            format!("{n} devices are {} (an export is read first, so each keeps its keys)", if *enabled { "enabled" } else { "disabled" })
        }
        Operation::RegenerateKeys { keys_file, .. } => format!("{n} devices with keys get new ones, written to {keys_file} only"),
    });
    if matches!(plan.operation, Operation::Delete { .. } | Operation::SetStatus { .. } | Operation::RegenerateKeys { .. }) && n == 0 {
        return Err(BulkError::NothingMatches { query: plan.operation.query().unwrap_or_default().into() });
    }
    Ok(DryRun {
        operation: plan.operation.name().into(),
        hub: plan.hub.hub_name.clone(),
        devices_in_hub,
        container: container.name,
        file,
        matching,
        sample,
        changes,
    })
}
