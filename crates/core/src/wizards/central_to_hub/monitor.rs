//! Watching the move, live, until every device is verified or has failed for a named reason.
//! Each tick reads the jobs' statuses and the target hub (connected devices are verified: one
//! query answers up to a thousand devices where registry reads would take one call each), and,
//! for devices that answered but have not arrived, the target DPS's registrations of the
//! enrollment group (one paged query, not a call per device). Per-device job statuses are read when a job ends (or every tick for small fleets), and
//! only failed devices cost a call each, to tell "no answer" from "answered with an error".
//! Every change is journaled, so a resumed run picks up the states where they were.

use super::engine::Engine;
use super::error::WizardError;
use super::plan::Plan;
use super::progress::{CentralToHubTick, DeviceState, DEVICE};
use super::readiness::{attestation_of, AttestationKind};
use super::reasons::*;
use super::target::DataPlanes;
use super::template::{DeviceMoveCommand, COMMAND};
use crate::runtime::ItemRow;
use iotm_azure::central::models::EnrollmentGroup as CentralGroup;
use iotm_azure::central::CentralClient;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Devices read per tick from the job's per-device statuses while it runs (above: at its end).
const LIVE_SWEEP_LIMIT: usize = 1_000;
/// Pages of per-device job statuses read per tick (Central serves 100 a page, 20 requests a
/// second): a long list never holds back the hub readings between them.
const SWEEP_PAGES_PER_TICK: usize = 10;

struct Watch {
    /// Devices in the target hub, read once: decides between scanning the hub and asking by ID.
    hub_total: Option<u64>,
    /// Jobs whose per-device statuses have all been read since they ended.
    swept: HashSet<String>,
    /// Per-device status lists being read, a few pages per tick.
    sweeps: HashMap<String, iotm_azure::Pager<iotm_azure::central::models::JobDeviceStatus>>,
    settle_deadline: Option<Instant>,
    settle: Duration,
}

/// A fault that passes: throttling, a service hiccup, a dropped connection.
fn is_passing(error: &iotm_azure::AzureError) -> bool {
    match error.status() {
        None => true,
        Some(status) => status == 429 || status >= 500,
    }
}

#[derive(Debug, Clone)]
pub struct JobRef {
    pub id: String,
    pub group: String,
}

pub struct Monitor<'e, 'a> {
    engine: &'e Engine<'a>,
    plan: &'e Plan,
    command: &'e DeviceMoveCommand,
    planes: &'e DataPlanes,
    hub_host: String,
    central_group: &'e CentralGroup,
    jobs: Vec<JobRef>,
    devices: HashMap<String, (DeviceState, Option<String>)>,
    /// Lower-case ID → the ID as Central spells it (DPS registration IDs come back lower-case).
    by_lower: HashMap<String, String>,
    changed: Vec<ItemRow>,
}

fn is_finished(status: &str) -> bool {
    matches!(status, "completed" | "cancelled" | "failed")
}

impl<'e, 'a> Monitor<'e, 'a> {
    pub fn new(
        engine: &'e Engine<'a>,
        plan: &'e Plan,
        command: &'e DeviceMoveCommand,
        planes: &'e DataPlanes,
        hub_host: &str,
        central_group: &'e CentralGroup,
        jobs: Vec<JobRef>,
    ) -> Result<Self, WizardError> {
        let rows = engine.ctx.items(DEVICE, None)?;
        let devices: HashMap<String, (DeviceState, Option<String>)> = rows.into_iter().map(|r| (r.key, (DeviceState::parse(&r.state), r.reason))).collect();
        let by_lower = devices.keys().map(|id| (id.to_ascii_lowercase(), id.clone())).collect();
        Ok(Monitor { engine, plan, command, planes, hub_host: hub_host.to_ascii_lowercase(), central_group, jobs, devices, by_lower, changed: Vec::new() })
    }

    fn set(&mut self, id: &str, state: DeviceState, reason: Option<String>) {
        if let Some(entry) = self.devices.get_mut(id) {
            if entry.0 != state || entry.1 != reason {
                *entry = (state, reason.clone());
                self.changed.push(state.row(id, reason));
            }
        }
    }

    fn in_state(&self, state: DeviceState) -> Vec<String> {
        self.devices.iter().filter(|(_, (s, _))| *s == state).map(|(id, _)| id.clone()).collect()
    }

    fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for (state, _) in self.devices.values() {
            *counts.entry(state.as_str().to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// Ticks until every device has a final state, or the settle time after the jobs ended is over.
    /// A tick that fails on a passing fault (after the client's own retries) is tried again at the
    /// next tick: watching must outlast a flaky network; ten in a row end the watch.
    pub async fn watch(mut self) -> Result<(), WizardError> {
        let central = self.engine.clients.central.clone();
        let mut watch = Watch {
            hub_total: None,
            sweeps: HashMap::new(),
            swept: HashSet::new(),
            settle_deadline: None,
            settle: Duration::from_secs(self.plan.verify.settle_seconds as u64),
        };
        let mut interval = Duration::from_millis(200);
        let mut failures = 0;
        loop {
            let statuses = match self.tick(&central, &mut watch).await {
                Ok(statuses) => {
                    failures = 0;
                    statuses
                }
                Err(WizardError::Azure(e)) if is_passing(&e) && failures < 10 => {
                    failures += 1;
                    tracing::warn!(code = e.code(), "a monitor read failed; trying again at the next tick: {e}");
                    self.engine.ctx.sleep(Duration::from_secs(1)).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let progressed = !self.changed.is_empty();
            self.flush(statuses)?;
            if self.devices.values().all(|(s, _)| s.is_final()) {
                return Ok(());
            }
            // Quick while devices are moving, slower while nothing changes — but never so slow that
            // a wave of arrivals waits long to be seen (the client's rate limits pace real clouds).
            interval = if progressed { Duration::from_millis(200) } else { (interval * 3 / 2).min(Duration::from_millis(600)) };
            self.engine.ctx.sleep(interval).await?;
        }
    }

    async fn tick(&mut self, central: &CentralClient, watch: &mut Watch) -> Result<BTreeMap<String, String>, WizardError> {
        let settled = watch.settle_deadline.is_some_and(|d| Instant::now() >= d);
        let mut statuses = BTreeMap::new();
        let mut failures = BTreeMap::new();
        for job in &self.jobs {
            let read = central.job(&job.id).await?;
            let status = read.status.unwrap_or_else(|| "running".into());
            if status == "failed" {
                return Err(WizardError::JobFailed { job: job.id.clone(), detail: "Central reports the job failed.".into(), request_id: None });
            }
            failures.insert(job.id.clone(), read.progress.map(|p| p.failed).unwrap_or(u64::MAX));
            statuses.insert(job.id.clone(), status);
        }
        // The hub first: arrivals are what the person waits to see.
        if watch.hub_total.is_none() {
            watch.hub_total = Some(self.planes.hub.device_statistics().await.map(|s| s.total_device_count).unwrap_or(u64::MAX));
        }
        self.read_hub(watch.hub_total.unwrap_or(u64::MAX)).await?;

        let small = self.devices.len() <= LIVE_SWEEP_LIMIT;
        let mut waiting_on_jobs = false;
        for job in self.jobs.clone() {
            let status = statuses[&job.id].clone();
            let ended = is_finished(&status);
            if ended && watch.swept.contains(&job.id) {
                continue;
            }
            if self.in_state(DeviceState::Pending).is_empty() {
                if ended {
                    watch.swept.insert(job.id.clone());
                }
                continue;
            }
            // A job that ended with no failed device has nothing to explain: its per-device
            // answers are read at the settle time, for the devices that never arrived.
            let deferred = ended && failures[&job.id] == 0 && !settled;
            let wanted = (ended && !deferred) || (small && status == "running");
            if wanted {
                let pages = if settled { usize::MAX } else { SWEEP_PAGES_PER_TICK };
                let done = self.sweep_job(central, &job, &status, watch, pages).await?;
                if done && ended {
                    watch.swept.insert(job.id.clone());
                }
            }
            waiting_on_jobs |= !ended || (!deferred && !watch.swept.contains(&job.id));
        }
        // DPS is asked only about devices that answered and have not shown up in the hub: where
        // it put them, or why it refused them. Healthy devices never cost a DPS call.
        if self.devices.values().any(|(s, _)| *s == DeviceState::Answered) {
            self.read_registrations().await?;
        }
        if !waiting_on_jobs && watch.settle_deadline.is_none() {
            watch.settle_deadline = Some(Instant::now() + watch.settle);
        }
        if settled && self.jobs.iter().all(|j| watch.swept.contains(&j.id)) {
            self.conclude(central).await?;
        }
        Ok(statuses)
    }

    fn flush(&mut self, jobs: BTreeMap<String, String>) -> Result<(), WizardError> {
        let changed = std::mem::take(&mut self.changed);
        if !changed.is_empty() {
            self.engine.ctx.record_items(DEVICE, changed.iter().map(|r| (r.key.as_str(), r.state.as_str(), r.reason.as_deref())))?;
        }
        self.engine.ctx.tick(self.counts(), CentralToHubTick { jobs, changed });
        Ok(())
    }

    /// Each device's status in the job, `pages` pages at a time (the pager carries on at the next
    /// tick): answered, or failed and why (from its command history). True once the list is done.
    async fn sweep_job(&mut self, central: &CentralClient, job: &JobRef, status: &str, watch: &mut Watch, pages: usize) -> Result<bool, WizardError> {
        if !watch.sweeps.contains_key(&job.id) {
            watch.sweeps.insert(job.id.clone(), central.job_devices(&job.id)?);
        }
        let mut failed = Vec::new();
        let mut done = false;
        for _ in 0..pages {
            let pager = watch.sweeps.get_mut(&job.id).expect("the sweep's pager");
            let Some(page) = pager.next_page().await else {
                done = true;
                break;
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    watch.sweeps.remove(&job.id); // start over at the next tick
                    return Err(e.into());
                }
            };
            for entry in page {
                let Some(id) = self.by_lower.get(&entry.id.to_ascii_lowercase()).cloned() else { continue };
                if self.devices[&id].0 != DeviceState::Pending {
                    continue;
                }
                match entry.status.as_str() {
                    "completed" => self.set(&id, DeviceState::Answered, None),
                    "failed" => failed.push(id),
                    _ if status == "cancelled" => self.set(&id, DeviceState::Failed, Some(format!("{JOB_ENDED}:cancelled"))),
                    _ => {}
                }
            }
        }
        if done {
            watch.sweeps.remove(&job.id);
        }
        let component = self.command.component.clone();
        let reasons = for_each(failed, central.clone(), move |central, id| {
            let component = component.clone();
            async move {
                match central.command_history(&id, component.as_deref(), COMMAND).await {
                    Ok(history) => match history.last().and_then(|c| c.response_code) {
                        Some(501) => NO_DEVICE_MOVE.to_string(),
                        Some(code) if code >= 300 => format!("{COMMAND_ERROR}:{code}"),
                        // Answered fine after all (a late answer): it will show in DPS if it moved.
                        Some(_) => String::new(),
                        None => NO_ANSWER.to_string(),
                    },
                    Err(_) => NO_ANSWER.to_string(),
                }
            }
        })
        .await;
        for (id, reason) in reasons {
            if reason.is_empty() {
                self.set(&id, DeviceState::Answered, None)
            } else {
                self.set(&id, DeviceState::Failed, Some(reason))
            }
        }
        Ok(done)
    }

    /// Where the target DPS assigned the devices that registered through the enrollment group.
    async fn read_registrations(&mut self) -> Result<(), WizardError> {
        let mut pager = self.planes.dps.registration_states(&self.plan.enrollment.dps_group_id, 1000)?;
        while let Some(page) = pager.next_page().await {
            for state in page? {
                let Some(id) = self.by_lower.get(&state.registration_id.to_ascii_lowercase()).cloned() else { continue };
                if !matches!(self.devices[&id].0, DeviceState::Pending | DeviceState::Answered) {
                    continue;
                }
                match state.status.as_deref() {
                    Some("assigned") => match state.assigned_hub.as_deref().map(str::to_ascii_lowercase) {
                        Some(hub) if hub == self.hub_host => self.set(&id, DeviceState::Registered, None),
                        Some(other) => self.set(&id, DeviceState::Failed, Some(format!("{ASSIGNED_ELSEWHERE}:{other}"))),
                        None => {}
                    },
                    Some("failed") | Some("disabled") => {
                        let why = state.error_message.clone().unwrap_or_else(|| state.status.clone().unwrap_or_default());
                        self.set(&id, DeviceState::Failed, Some(format!("{DPS_REFUSED}:{why}")));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Devices found connected in the target hub are verified, whatever step they were last seen
    /// at: connecting to the hub proves the device answered, registered and was assigned there.
    /// A hub that holds little besides this migration's devices is scanned whole (a thousand per
    /// query); a hub shared with a larger fleet is asked about the waiting devices by ID, a hundred
    /// per query.
    async fn read_hub(&mut self, hub_total: u64) -> Result<(), WizardError> {
        let waiting: Vec<String> = self.devices.iter().filter(|(_, (s, _))| !s.is_final()).map(|(id, _)| id.clone()).collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let whole = super::arrivals::read_whole_hub(hub_total, self.devices.len());
        let present = super::arrivals::in_hub(&self.planes.hub, &waiting, whole, true).await?;
        let connected: Vec<String> = present.into_iter().filter(|(_, connected)| *connected).map(|(id, _)| id).collect();
        for device in connected {
            let Some(id) = self.by_lower.get(&device.to_ascii_lowercase()).cloned() else { continue };
            if !self.devices[&id].0.is_final() {
                self.set(&id, DeviceState::Verified, None);
            }
        }
        Ok(())
    }

    /// The settle time is over: whatever has not arrived failed, for the reason the evidence gives.
    async fn conclude(&mut self, central: &CentralClient) -> Result<(), WizardError> {
        for id in self.in_state(DeviceState::Registered) {
            self.set(&id, DeviceState::Failed, Some(NOT_CONNECTED.into()));
        }
        for id in self.in_state(DeviceState::Pending) {
            self.set(&id, DeviceState::Failed, Some(format!("{JOB_ENDED}:without an answer from the device")));
        }
        let answered = self.in_state(DeviceState::Answered);
        let group = Arc::new(self.central_group.clone());
        let kinds = for_each(answered, central.clone(), move |central, id| {
            let group = group.clone();
            async move { attestation_of(&central, &group, &id).await.ok() }
        })
        .await;
        for (id, kind) in kinds {
            let reason = if kind == Some(AttestationKind::OwnKey) { WRONG_KEY } else { NEVER_REGISTERED };
            self.set(&id, DeviceState::Failed, Some(reason.into()));
        }
        Ok(())
    }
}

/// Runs `work` for each ID, eight at a time (the client keeps the service's rate).
async fn for_each<T, F, Fut>(ids: Vec<String>, central: CentralClient, work: F) -> Vec<(String, T)>
where
    T: Send + 'static,
    F: Fn(CentralClient, String) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(ids.len());
    let mut pending = ids.into_iter();
    loop {
        while tasks.len() < 8 {
            let Some(id) = pending.next() else { break };
            let future = work(central.clone(), id.clone());
            tasks.spawn(async move { (id, future.await) });
        }
        match tasks.join_next().await {
            Some(Ok(result)) => results.push(result),
            Some(Err(_)) => {}
            None => return results,
        }
    }
}
