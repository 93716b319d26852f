//! The import/export jobs of one hub: their records (`JobProperties`), at most one of them active.
//! The devices and twins the jobs read and write are the hub's registry itself.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Mutex;

/// The service keeps job records for a while; the sandbox keeps the latest ones.
const KEPT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Export,
    Import,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    Enqueued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Enqueued => "enqueued",
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Status::Enqueued | Status::Running)
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: Kind,
    pub status: Status,
    pub progress: u8,
    pub start: String,
    pub end: Option<String>,
    pub failure_reason: Option<String>,
    pub exclude_keys: bool,
    pub input_blob_name: Option<String>,
    pub output_blob_name: Option<String>,
}

impl Job {
    /// `JobProperties`. The container URIs are never echoed (they carry SAS tokens): the service
    /// answers them empty too.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "jobId": self.id,
            "startTimeUtc": self.start,
            "type": if self.kind == Kind::Export { "export" } else { "import" },
            "status": self.status.name(),
            "progress": self.progress,
            "inputBlobContainerUri": "",
            "outputBlobContainerUri": "",
            "excludeKeysInExport": self.exclude_keys,
            "storageAuthenticationType": "keyBased",
            "failureReason": self.failure_reason,
            "includeConfigurations": false,
        });
        if let Some(end) = &self.end {
            body["endTimeUtc"] = json!(end);
        }
        if let Some(name) = &self.input_blob_name {
            body["inputBlobName"] = json!(name);
        }
        if let Some(name) = &self.output_blob_name {
            body["outputBlobName"] = json!(name);
        }
        body
    }
}

#[derive(Default)]
pub struct HubJobs {
    jobs: Mutex<VecDeque<Job>>,
}

impl HubJobs {
    /// The active job's ID, if any: a hub runs one import/export job at a time.
    pub fn active(&self) -> Option<String> {
        self.jobs.lock().unwrap().iter().find(|j| j.status.is_active()).map(|j| j.id.clone())
    }

    /// Adds `job` unless another is active (whose ID is returned instead).
    pub fn admit(&self, job: Job) -> Result<(), String> {
        let mut jobs = self.jobs.lock().unwrap();
        if let Some(active) = jobs.iter().find(|j| j.status.is_active()) {
            return Err(active.id.clone());
        }
        jobs.push_back(job);
        while jobs.len() > KEPT {
            jobs.pop_front();
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<Job> {
        self.jobs.lock().unwrap().iter().find(|j| j.id == id).cloned()
    }

    /// The records of a saved state. A job that was active then had its runner stop with the
    /// sandbox: it ends failed, saying so, rather than staying "running" for ever.
    pub(crate) fn restored(jobs: Vec<Job>) -> HubJobs {
        let jobs = jobs
            .into_iter()
            .map(|mut job| {
                if job.status.is_active() {
                    job.status = Status::Failed;
                    job.end = Some(crate::live::now_iso());
                    job.failure_reason = Some("The sandbox cloud stopped while the job ran; start the job again.".into());
                }
                job
            })
            .collect();
        HubJobs { jobs: Mutex::new(jobs) }
    }

    pub fn list(&self) -> Vec<Job> {
        self.jobs.lock().unwrap().iter().cloned().collect()
    }

    /// Changes the job while it is active; false once it has ended (a cancelled job stays
    /// cancelled whatever its runner was doing).
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Job)) -> bool {
        let mut jobs = self.jobs.lock().unwrap();
        match jobs.iter_mut().find(|j| j.id == id) {
            Some(job) if job.status.is_active() => {
                change(job);
                true
            }
            _ => false,
        }
    }

    /// Ends the job: completed, or failed with `reason`.
    pub fn finish(&self, id: &str, result: Result<(), String>) {
        self.update(id, |job| {
            job.end = Some(crate::live::now_iso());
            match result {
                Ok(()) => {
                    job.status = Status::Completed;
                    job.progress = 100;
                }
                Err(reason) => {
                    job.status = Status::Failed;
                    job.failure_reason = Some(reason);
                }
            }
        });
    }

    /// Cancels an active job (its runner stops at its next batch). None when there is no such job.
    pub fn cancel(&self, id: &str) -> Option<Job> {
        self.update(id, |job| {
            job.status = Status::Cancelled;
            job.end = Some(crate::live::now_iso());
        });
        self.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> Job {
        Job {
            id: id.into(),
            kind: Kind::Export,
            status: Status::Enqueued,
            progress: 0,
            start: crate::live::now_iso(),
            end: None,
            failure_reason: None,
            exclude_keys: false,
            input_blob_name: None,
            output_blob_name: None,
        }
    }

    #[test]
    fn one_job_at_a_time_and_a_cancelled_job_stays_cancelled() {
        let jobs = HubJobs::default();
        jobs.admit(job("a")).unwrap();
        assert_eq!(jobs.admit(job("b")), Err("a".to_string()));
        assert_eq!(jobs.cancel("a").unwrap().status, Status::Cancelled);
        jobs.finish("a", Ok(()));
        assert_eq!(jobs.get("a").unwrap().status, Status::Cancelled);
        jobs.admit(job("b")).unwrap();
        jobs.finish("b", Err("storage refused".into()));
        let b = jobs.get("b").unwrap().to_json();
        assert_eq!(
            (b["status"].as_str(), b["failureReason"].as_str(), b["outputBlobContainerUri"].as_str()),
            (Some("failed"), Some("storage refused"), Some(""))
        );
        assert!(b["endTimeUtc"].is_string());
        assert!(jobs.cancel("nope").is_none());
    }
}
