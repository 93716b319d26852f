//! What a bulk run tells while it runs: the phase (validating, uploading, the job, downloading),
//! bytes moved, and the job's state and percentage.

use iotm_azure::hub_jobs::Job;
use serde::Serialize;
use ts_rs::TS;

/// The item kind a bulk run counts: devices, by what happened to them.
pub const DEVICE: &str = "device";

#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkTick {
    /// `upload`, `export`, `import`, `download`.
    pub phase: String,
    pub job_id: Option<String>,
    pub job_status: Option<String>,
    pub job_progress: Option<i32>,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub total_bytes: u64,
}

impl BulkTick {
    pub fn job(phase: &str, job: &Job) -> BulkTick {
        BulkTick {
            phase: phase.into(),
            job_id: Some(job.job_id.clone()),
            job_status: Some(job.status.clone()),
            job_progress: job.progress,
            ..BulkTick::default()
        }
    }

    pub fn transfer(phase: &str, bytes: u64, total_bytes: u64) -> BulkTick {
        BulkTick { phase: phase.into(), bytes, total_bytes, ..BulkTick::default() }
    }
}
