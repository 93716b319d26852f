//! The jobs themselves, in the background: an export pages through the registry a batch at a time
//! into devices.txt's blocks; an import streams devices.txt line by line, applies each line and
//! writes importErrors.log. Neither holds a whole blob, nor the registry lock across a call to
//! Storage. Storage's refusals (SAS permissions, expiry) end the job with their reason.

use super::lines::{export_line, parse_import_line, LineError};
use super::registry::apply;
use super::state::Status;
use crate::hub::state::Hub;
use crate::storage::blob::{BlockWriter, Container, LineSplitter};
use std::ops::Bound;
use std::sync::Arc;

/// Devices formatted per registry lock.
const EXPORT_BATCH: usize = 1000;

/// Why a job stopped early: the runner was told to, or Storage refused.
enum Stop {
    Cancelled,
    Failed(String),
}

fn running(hub: &Hub, id: &str, progress: u8) -> Result<(), Stop> {
    let still = hub.jobs.update(id, |job| {
        job.status = Status::Running;
        job.progress = progress.min(99);
    });
    if still {
        Ok(())
    } else {
        Err(Stop::Cancelled)
    }
}

fn end(hub: &Hub, id: &str, outcome: Result<(), Stop>) {
    match outcome {
        Ok(()) => hub.jobs.finish(id, Ok(())),
        Err(Stop::Failed(reason)) => {
            tracing::info!(job = id, "import/export job failed: {reason}");
            hub.jobs.finish(id, Err(reason))
        }
        Err(Stop::Cancelled) => {}
    }
}

pub async fn export(hub: Arc<Hub>, id: String, output: Container, blob: String, exclude_keys: bool) {
    let outcome = export_devices(&hub, &id, output, &blob, exclude_keys).await;
    end(&hub, &id, outcome);
}

async fn export_devices(hub: &Hub, id: &str, output: Container, blob: &str, exclude_keys: bool) -> Result<(), Stop> {
    let refused = |e: crate::storage::blob::BlobError| Stop::Failed(format!("Writing {blob} to the output blob container failed: {e}"));
    running(hub, id, 0)?;
    let total = hub.devices.lock().unwrap().len().max(1);
    let mut writer = BlockWriter::new(output, blob);
    let (mut after, mut done) = (None::<String>, 0usize);
    loop {
        let batch = {
            let devices = hub.devices.lock().unwrap();
            let from = after.as_ref().map_or(Bound::Unbounded, |last| Bound::Excluded(last.clone()));
            let mut text = String::new();
            let mut count = 0;
            for (device_id, device) in devices.range((from, Bound::Unbounded)).take(EXPORT_BATCH) {
                text.push_str(&export_line(device, exclude_keys));
                after = Some(device_id.clone());
                count += 1;
            }
            (text, count)
        };
        if batch.1 == 0 {
            break;
        }
        writer.write(batch.0.as_bytes()).await.map_err(refused)?;
        done += batch.1;
        running(hub, id, (done * 100 / total) as u8)?;
    }
    writer.finish("text/plain").await.map_err(refused)?;
    Ok(())
}

pub async fn import(hub: Arc<Hub>, id: String, input: Container, input_blob: String, output: Container, errors_blob: String) {
    let outcome = import_devices(&hub, &id, input, &input_blob, output, &errors_blob).await;
    end(&hub, &id, outcome);
}

/// Applies parsed lines under one registry lock; the failures come back as log lines.
fn apply_lines(hub: &Hub, lines: Vec<Vec<u8>>) -> String {
    let mut log = String::new();
    let mut devices = hub.devices.lock().unwrap();
    for line in lines {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = parse_import_line(&line).map_err(LineError::malformed).and_then(|parsed| apply(&mut devices, &parsed));
        if let Err(e) = result {
            log.push_str(&e.to_line());
        }
    }
    log
}

async fn import_devices(hub: &Hub, id: &str, input: Container, input_blob: &str, output: Container, errors_blob: &str) -> Result<(), Stop> {
    running(hub, id, 0)?;
    let mut response = input.open(input_blob).await.map_err(|e| Stop::Failed(format!("Reading {input_blob} from the input blob container failed: {e}")))?;
    let total = response.content_length().unwrap_or(0).max(1);
    let mut errors = BlockWriter::new(output, errors_blob);
    let refused = |e: crate::storage::blob::BlobError| Stop::Failed(format!("Writing {errors_blob} to the output blob container failed: {e}"));
    let (mut splitter, mut read) = (LineSplitter::default(), 0u64);
    loop {
        let chunk = response.chunk().await.map_err(|e| Stop::Failed(format!("Reading {input_blob} from the input blob container failed: {e}")))?;
        let lines = match &chunk {
            Some(bytes) => {
                read += bytes.len() as u64;
                splitter.push(bytes)
            }
            None => std::mem::take(&mut splitter).finish().into_iter().collect(),
        };
        let log = apply_lines(hub, lines);
        errors.write(log.as_bytes()).await.map_err(refused)?;
        running(hub, id, (read * 100 / total) as u8)?;
        if chunk.is_none() {
            break;
        }
    }
    errors.finish("text/plain").await.map_err(refused)?;
    Ok(())
}
