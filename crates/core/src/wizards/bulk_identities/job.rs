//! One import/export job on the hub, journaled: started once (a resumed run finds its job again by
//! the blob name only this migration uses, and never starts a second), refused in words when the
//! hub runs another one, and followed with a growing interval to its end.

use super::error::BulkError;
use super::progress::BulkTick;
use crate::runtime::RunContext;
use iotm_azure::hub::HubClient;
use iotm_azure::hub_jobs::{Job, NewJob};
use serde_json::json;
use std::time::Duration;

/// The first wait between two reads of the job, and the longest.
const FIRST_POLL: Duration = Duration::from_millis(500);
const LONGEST_POLL: Duration = Duration::from_secs(15);

/// The next wait: half as long again, up to the longest.
pub fn next_poll(last: Duration) -> Duration {
    (last * 3 / 2).min(LONGEST_POLL)
}

/// A job that has not ended, on a hub that runs one at a time, as a refusal in words.
fn busy(hub: &str, job: &Job) -> BulkError {
    BulkError::HubBusy { hub: hub.into(), job: job.job_id.clone(), kind: job.kind.clone(), status: job.status.clone() }
}

/// Starts `new` (journaled under `key`), answering its job ID. `ours` is the output blob name only
/// this migration uses: a run cut off after the hub accepted the job finds it again by it.
pub async fn start(ctx: &RunContext<'_, BulkTick>, hub: &HubClient, hub_name: &str, key: &str, new: NewJob) -> Result<String, BulkError> {
    let ours = new.output_blob_name.clone();
    let intent = json!({"type": new.kind, "outputBlobName": ours});
    let outcome = ctx
        .step(key, &format!("Start the {} job", new.kind), intent, |unfinished| async move {
            let jobs = hub.import_export_jobs().await?;
            if unfinished {
                if let Some(found) = jobs.iter().find(|j| j.output_blob_name == ours && j.kind == new.kind) {
                    return Ok(json!({"jobId": found.job_id}));
                }
            }
            if let Some(active) = jobs.iter().find(|j| !j.ended()) {
                return Err(busy(hub_name, active));
            }
            let job = hub.create_import_export_job(&new).await.map_err(|e| match e.service_error().and_then(|s| s.code.as_deref()) {
                Some("JobQuotaExceeded") => {
                    BulkError::HubBusy { hub: hub_name.into(), job: "?".into(), kind: "import/export".into(), status: "running".into() }
                }
                _ => BulkError::Azure(e),
            })?;
            Ok(json!({"jobId": job.job_id}))
        })
        .await?;
    Ok(outcome["jobId"].as_str().unwrap_or_default().to_string())
}

/// Follows the job to its end, telling its progress; a failed job is refused with the hub's reason.
pub async fn follow(ctx: &RunContext<'_, BulkTick>, hub: &HubClient, job_id: &str, phase: &str) -> Result<Job, BulkError> {
    let mut wait = FIRST_POLL;
    loop {
        let job = hub.import_export_job(job_id).await?;
        let counts = ctx.item_counts(super::progress::DEVICE).unwrap_or_default();
        ctx.tick(counts, BulkTick::job(phase, &job));
        match job.status.as_str() {
            "completed" => return Ok(job),
            "failed" => {
                return Err(BulkError::JobFailed {
                    job: job.job_id.clone(),
                    kind: job.kind.clone(),
                    reason: job.failure_reason.clone().unwrap_or_else(|| "the hub gave no reason".into()),
                })
            }
            "cancelled" => return Err(BulkError::JobCancelled { job: job.job_id.clone(), kind: job.kind.clone() }),
            _ => {}
        }
        ctx.sleep(wait).await?;
        wait = next_poll(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_is_read_less_and_less_often_up_to_every_fifteen_seconds() {
        let mut wait = FIRST_POLL;
        let mut waits = vec![];
        for _ in 0..12 {
            waits.push(wait.as_millis());
            wait = next_poll(wait);
        }
        assert_eq!(&waits[..4], &[500, 750, 1125, 1687]);
        assert_eq!(*waits.last().unwrap(), 15_000);
    }
}
