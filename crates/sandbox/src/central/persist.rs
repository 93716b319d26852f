//! A Central application as the state snapshot keeps it (`crate::persist`): templates, groups,
//! enrollment groups and their keys, devices and their attestations, the simulated fleet, jobs
//! with each device's status, command history, API tokens, and its own DPS and hub. A job that
//! was running when the state was saved runs on to its end once the sandbox serves again.

use super::app::LiveCentralApp;
use super::commands::{CommandHistory, CommandRun};
use super::device::CentralDevice;
use super::jobs::{CentralJob, DeviceRun, JobAction, JobState};
use super::throttle::TokenBucket;
use crate::cloud::Cloud;
use crate::dps::persist::DpsRecord;
use crate::dps::state::Dps;
use crate::fleet::{DeviceTiming, SimDevice, SimDeviceRecord};
use crate::hub::persist::HubRecord;
use crate::hub::state::Hub;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Serialize, Deserialize)]
pub struct CentralRecord {
    subdomain: String,
    subscription_id: String,
    templates: Vec<Value>,
    groups: Vec<Value>,
    enrollment_groups: Vec<Value>,
    devices: BTreeMap<String, CentralDevice>,
    attestations: BTreeMap<String, Value>,
    fleet: Vec<SimDeviceRecord>,
    jobs: Vec<JobRecord>,
    commands: Vec<(String, Vec<(String, CommandRun)>)>,
    timing: DeviceTiming,
    dps: DpsRecord,
    hub: HubRecord,
    api_tokens: BTreeMap<String, i64>,
}

#[derive(Serialize, Deserialize)]
struct JobRecord {
    id: String,
    definition: Value,
    action: JobAction,
    status: String,
    start: String,
    end: Option<String>,
    devices: Vec<(String, DeviceRun)>,
    generation: u64,
}

/// A job's status as the state keeps it (Central's four).
fn known_status(status: &str) -> Result<&'static str, String> {
    ["running", "stopped", "completed", "cancelled"].into_iter().find(|s| *s == status).ok_or_else(|| format!("a job has the unknown status '{status}'"))
}

impl CentralJob {
    fn record(&self) -> JobRecord {
        let state = self.state.lock().unwrap();
        JobRecord {
            id: self.id.clone(),
            definition: self.definition.clone(),
            action: self.action.clone(),
            status: state.status.to_string(),
            start: state.start.clone(),
            end: state.end.clone(),
            devices: state.devices.clone(),
            generation: state.generation,
        }
    }

    fn from_record(record: JobRecord) -> Result<CentralJob, String> {
        let state =
            JobState { status: known_status(&record.status)?, start: record.start, end: record.end, devices: record.devices, generation: record.generation };
        Ok(CentralJob { id: record.id, definition: record.definition, action: record.action, state: Mutex::new(state) })
    }
}

impl LiveCentralApp {
    pub(crate) fn record(&self) -> CentralRecord {
        CentralRecord {
            subdomain: self.subdomain.clone(),
            subscription_id: self.subscription_id.clone(),
            templates: self.templates.clone(),
            groups: self.groups.lock().unwrap().clone(),
            enrollment_groups: self.enrollment_groups.lock().unwrap().clone(),
            devices: self.devices.lock().unwrap().clone(),
            attestations: self.attestations.lock().unwrap().clone(),
            fleet: self.fleet.read().unwrap().values().map(|d| d.record()).collect(),
            jobs: self.jobs.lock().unwrap().values().map(|j| j.record()).collect(),
            commands: self.commands.all(),
            timing: self.timing.clone(),
            dps: self.dps.record(),
            hub: self.hub.record(),
            api_tokens: self.api_tokens.iter().map(|(t, e)| (t.clone(), *e)).collect(),
        }
    }

    pub(crate) fn from_record(record: CentralRecord) -> Result<LiveCentralApp, String> {
        let jobs = record.jobs.into_iter().map(|j| CentralJob::from_record(j).map(|j| (j.id.clone(), Arc::new(j)))).collect::<Result<_, _>>()?;
        Ok(LiveCentralApp {
            subdomain: record.subdomain,
            subscription_id: record.subscription_id,
            templates: record.templates,
            groups: Mutex::new(record.groups),
            enrollment_groups: Mutex::new(record.enrollment_groups),
            devices: Mutex::new(record.devices),
            attestations: Mutex::new(record.attestations),
            fleet: RwLock::new(record.fleet.into_iter().map(SimDevice::from_record).map(|d| (d.id.clone(), Arc::new(d))).collect()),
            jobs: Mutex::new(jobs),
            commands: CommandHistory::restored(record.commands),
            throttle: Mutex::new(TokenBucket::new(super::app::REQUESTS_PER_SECOND, super::app::REQUESTS_PER_SECOND)),
            timing: record.timing,
            dps: Arc::new(Dps::from_record(record.dps)),
            hub: Arc::new(Hub::from_record(record.hub)),
            api_tokens: record.api_tokens.into_iter().collect(),
        })
    }

    /// What was under way when the state was saved, carried on: running jobs run to their end and
    /// devices that had accepted a move reach their new DPS.
    pub(crate) fn carry_on(self: &Arc<Self>, cloud: &Arc<Cloud>) {
        for job in self.jobs.lock().unwrap().values().filter(|j| j.state.lock().unwrap().status == "running") {
            tokio::spawn(super::jobs::run(cloud.clone(), self.clone(), job.clone()));
        }
        let wait = std::time::Duration::from_millis(self.timing.reconnect_ms);
        for device in self.fleet.read().unwrap().values() {
            if let Some(scope) = device.link.lock().unwrap().moving_to.clone() {
                device.clone().finish_move(cloud.clone(), scope, wait);
            }
        }
    }
}

/// Read-outs for the persistence tests (`crate::persist::tests`).
#[cfg(test)]
impl LiveCentralApp {
    pub(crate) fn group_keys(&self) -> Value {
        self.enrollment_groups.lock().unwrap()[0]["attestation"]["symmetricKey"].clone()
    }

    pub(crate) fn job_json(&self, id: &str) -> Option<Value> {
        self.jobs.lock().unwrap().get(id).map(|j| j.to_json())
    }

    pub(crate) fn last_command(&self, device_id: &str, path: &str) -> Option<Value> {
        self.commands.last(device_id, path).map(|r| r.to_json())
    }
}
