//! Central jobs (2022-07-31): create a command or property job on a device group, read it and its
//! per-device statuses, stop, resume and rerun it on the failed devices. The job runs here, in
//! batches, calling each simulated device; at most five run at once per application, as on Central.

use super::app::{CommandTarget, LiveCentralApp};
use super::commands::CommandRun;
use super::{bad_request, open, page, parse_body, CentralError, Q};
use crate::cloud::Cloud;
use crate::fleet::{DeviceTiming, MethodOutcome, Persona, SimDevice};
use crate::live::now_iso;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Central runs at most this many jobs at a time per application.
pub const MAX_RUNNING_JOBS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeviceRun {
    Pending,
    Completed,
    Failed,
}

impl DeviceRun {
    fn as_str(self) -> &'static str {
        match self {
            DeviceRun::Pending => "pending",
            DeviceRun::Completed => "completed",
            DeviceRun::Failed => "failed",
        }
    }
}

pub struct JobState {
    /// running, stopped, completed, cancelled.
    pub status: &'static str,
    pub start: String,
    pub end: Option<String>,
    pub devices: Vec<(String, DeviceRun)>,
    /// Bumped on resume, so a runner still finishing its batch after a stop bows out.
    pub generation: u64,
}

/// What a job does on each device.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum JobAction {
    /// Runs this command.
    Command(CommandTarget),
    /// Writes a writable property (`property` or `component.property`); the value is the job's.
    Property,
}

pub struct CentralJob {
    pub id: String,
    /// What the caller defined (displayName, description, group, batch, cancellationThreshold, data).
    pub definition: Value,
    pub action: JobAction,
    pub state: Mutex<JobState>,
}

impl CentralJob {
    pub fn to_json(&self) -> Value {
        let state = self.state.lock().unwrap();
        let count = |r: DeviceRun| state.devices.iter().filter(|(_, s)| *s == r).count();
        let mut job = self.definition.clone();
        job["id"] = json!(self.id);
        job["status"] = json!(state.status);
        job["start"] = json!(state.start);
        if let Some(end) = &state.end {
            job["end"] = json!(end);
        }
        job["progress"] = json!({"total": state.devices.len(), "pending": count(DeviceRun::Pending), "completed": count(DeviceRun::Completed), "failed": count(DeviceRun::Failed)});
        job
    }

    fn is_running(&self) -> bool {
        self.state.lock().unwrap().status == "running"
    }
}

/// A batch or threshold (`{"type":"number"|"percentage","value":n}`) as a device count of `total`.
fn count_of(spec: &Value, total: usize, field: &str) -> Result<Option<usize>, CentralError> {
    if spec.is_null() {
        return Ok(None);
    }
    let value = spec["value"].as_f64().filter(|v| *v > 0.0).ok_or_else(|| bad_request(format!("{field}.value must be a positive number.")))?;
    match spec["type"].as_str() {
        Some("number") => Ok(Some(value as usize)),
        Some("percentage") if value <= 100.0 => Ok(Some(((value / 100.0) * total as f64).ceil().max(1.0) as usize)),
        Some("percentage") => Err(bad_request(format!("{field}.value is a percentage: at most 100."))),
        _ => Err(bad_request(format!("{field}.type must be 'number' or 'percentage'."))),
    }
}

/// Checks the definition against the app: the group exists, the data is one command or writable
/// property the target template has. Returns the action and the devices it runs on.
fn validate(app: &LiveCentralApp, body: &Value) -> Result<(JobAction, Vec<String>), CentralError> {
    let group = body["group"].as_str().ok_or_else(|| bad_request("The job needs a 'group' (a device group ID)."))?;
    let data = body["data"].as_array().filter(|d| !d.is_empty()).ok_or_else(|| bad_request("The job needs 'data' with at least one item."))?;
    let item = &data[0];
    let kind = item["type"].as_str().unwrap_or_default();
    if kind != "command" && kind != "property" {
        return Err(bad_request(format!("data[0].type '{kind}' is not run by the sandbox: use 'command' or 'property'.")));
    }
    let target = item["target"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| bad_request("data[0].target must name a device template."))?;
    let path = item["path"].as_str().ok_or_else(|| bad_request(format!("data[0].path must name the {kind}.")))?;
    if !app.templates.iter().any(|t| t["@id"] == target) {
        return Err(CentralError::not_found("Device template", target));
    }
    let action = if kind == "command" {
        JobAction::Command(app.command_at(target, path).ok_or_else(|| bad_request(format!("The device template {target} has no command at '{path}'.")))?)
    } else if app.has_writable_property(target, path) {
        JobAction::Property
    } else {
        return Err(bad_request(format!("The device template {target} has no writable property at '{path}'.")));
    };
    let devices = app.group_members(group, target).ok_or_else(|| CentralError::not_found("Device group", group))?;
    Ok((action, devices))
}

/// A writable property update as a device takes it: a connected device acknowledges it after its
/// answer delay; one offline, slower than the timeout or not simulated fails at the timeout (the
/// value is not kept: the sandbox serves no properties API).
async fn acknowledge(device: Option<Arc<SimDevice>>, timing: &DeviceTiming) -> bool {
    let timeout = timing.command_timeout_ms;
    let answer = match &device {
        Some(d) if d.link.lock().unwrap().connected && d.persona() != Persona::Offline => {
            Some(if d.persona() == Persona::Slow { timing.slow_answer_ms } else { timing.answer_ms })
        }
        _ => None,
    };
    let wait = answer.filter(|ms| *ms <= timeout).unwrap_or(timeout);
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    answer.is_some_and(|ms| ms <= timeout)
}

/// Starts a job on `devices`: records it, then runs it in the background.
fn start(
    cloud: &Arc<Cloud>,
    app: &Arc<LiveCentralApp>,
    id: &str,
    definition: Value,
    action: JobAction,
    devices: Vec<String>,
) -> Result<Arc<CentralJob>, CentralError> {
    let mut jobs = app.jobs.lock().unwrap();
    if jobs.contains_key(id) {
        return Err(CentralError::new(StatusCode::CONFLICT, "Conflict", format!("A job with ID {id} already exists.")));
    }
    if cloud.quotas_on() && jobs.values().filter(|j| j.is_running()).count() >= MAX_RUNNING_JOBS {
        return Err(CentralError::new(
            StatusCode::CONFLICT,
            "TooManyRunningJobs",
            format!("The application already runs {MAX_RUNNING_JOBS} jobs; wait for one to finish or stop one."),
        ));
    }
    let job = Arc::new(CentralJob {
        id: id.into(),
        definition,
        action,
        state: Mutex::new(JobState {
            status: "running",
            start: now_iso(),
            end: None,
            devices: devices.into_iter().map(|d| (d, DeviceRun::Pending)).collect(),
            generation: 0,
        }),
    });
    jobs.insert(id.into(), job.clone());
    tokio::spawn(run(cloud.clone(), app.clone(), job.clone()));
    Ok(job)
}

/// Runs the pending devices batch by batch until done, stopped, or past the cancellation threshold.
pub(super) async fn run(cloud: Arc<Cloud>, app: Arc<LiveCentralApp>, job: Arc<CentralJob>) {
    let total = job.state.lock().unwrap().devices.len();
    let batch_size = count_of(&job.definition["batch"], total, "batch").ok().flatten().unwrap_or(total).max(1);
    let threshold = &job.definition["cancellationThreshold"];
    let (limit, per_batch) = (count_of(threshold, total, "cancellationThreshold").ok().flatten(), threshold["batch"].as_bool().unwrap_or(false));
    // One request for every device, shared by their command-history records.
    let payload = Arc::new(job.definition["data"][0]["value"].clone());
    let generation = job.state.lock().unwrap().generation;
    loop {
        let batch: Vec<usize> = {
            let state = job.state.lock().unwrap();
            if state.status != "running" || state.generation != generation {
                return;
            }
            state.devices.iter().enumerate().filter(|(_, (_, s))| *s == DeviceRun::Pending).map(|(i, _)| i).take(batch_size).collect()
        };
        if batch.is_empty() {
            let mut state = job.state.lock().unwrap();
            state.status = "completed";
            state.end = Some(now_iso());
            return;
        }
        let mut calls = tokio::task::JoinSet::new();
        for index in batch {
            let device_id = job.state.lock().unwrap().devices[index].0.clone();
            let device = app.fleet.read().unwrap().get(&device_id).cloned();
            let (cloud, app, action, payload, timing) = (cloud.clone(), app.clone(), job.action.clone(), payload.clone(), app.timing.clone());
            calls.spawn(async move {
                let ok = match (action, device) {
                    (JobAction::Command(command), _) => {
                        let outcome = match super::commands::invoke(&cloud, &app, &device_id, &command.method_name(), &payload, &timing).await {
                            Some(outcome) => outcome,
                            None => {
                                tokio::time::sleep(std::time::Duration::from_millis(timing.command_timeout_ms)).await;
                                MethodOutcome::TimedOut
                            }
                        };
                        let ok = matches!(outcome, MethodOutcome::Answered { status: 200, .. });
                        // A job's run is in the device's command history too (Central's default timeouts).
                        app.commands.record(&device_id, &command.path(), CommandRun::new(payload, 0, 30, &outcome));
                        ok
                    }
                    (JobAction::Property, device) => acknowledge(device, &timing).await,
                };
                (index, ok)
            });
        }
        let mut failed_in_batch = 0;
        while let Some(Ok((index, ok))) = calls.join_next().await {
            failed_in_batch += usize::from(!ok);
            job.state.lock().unwrap().devices[index].1 = if ok { DeviceRun::Completed } else { DeviceRun::Failed };
        }
        let mut state = job.state.lock().unwrap();
        if state.generation != generation {
            return;
        }
        let failed = if per_batch { failed_in_batch } else { state.devices.iter().filter(|(_, s)| *s == DeviceRun::Failed).count() };
        if limit.is_some_and(|l| failed >= l) && state.status == "running" {
            state.status = "cancelled";
            state.end = Some(now_iso());
            return;
        }
    }
}

fn find(app: &LiveCentralApp, id: &str) -> Result<Arc<CentralJob>, CentralError> {
    app.jobs.lock().unwrap().get(id).cloned().ok_or_else(|| CentralError::not_found("Job", id))
}

pub async fn create(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let (action, devices) = validate(&app, &body)?;
    count_of(&body["batch"], devices.len(), "batch")?;
    count_of(&body["cancellationThreshold"], devices.len(), "cancellationThreshold")?;
    let mut definition = json!({});
    for field in ["displayName", "description", "group", "batch", "cancellationThreshold", "data", "organizations"] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            definition[field] = v.clone();
        }
    }
    Ok(Json(start(&cloud, &app, &id, definition, action, devices)?.to_json()))
}

pub async fn get(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    Ok(Json(find(&app, &id)?.to_json()))
}

pub async fn list(State(cloud): State<Arc<Cloud>>, Path(sub): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let jobs: Vec<Value> = app.jobs.lock().unwrap().values().map(|j| j.to_json()).collect();
    Ok(page(&cloud, &sub, "jobs", &q, jobs))
}

pub async fn devices(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let job = find(&app, &id)?;
    let statuses: Vec<Value> = job.state.lock().unwrap().devices.iter().map(|(d, s)| json!({"id": d, "status": s.as_str()})).collect();
    Ok(page(&cloud, &sub, &format!("jobs/{id}/devices"), &q, statuses))
}

pub async fn stop(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let job = find(&app, &id)?;
    let mut state = job.state.lock().unwrap();
    if state.status != "running" {
        return Err(CentralError::new(StatusCode::CONFLICT, "Conflict", format!("Job {id} is {}, not running.", state.status)));
    }
    state.status = "stopped";
    Ok(StatusCode::NO_CONTENT)
}

pub async fn resume(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let job = find(&app, &id)?;
    {
        let running = app.jobs.lock().unwrap().values().filter(|j| j.is_running()).count();
        let mut state = job.state.lock().unwrap();
        if state.status != "stopped" {
            return Err(CentralError::new(StatusCode::CONFLICT, "Conflict", format!("Job {id} is {}; only a stopped job resumes.", state.status)));
        }
        if cloud.quotas_on() && running >= MAX_RUNNING_JOBS {
            return Err(CentralError::new(StatusCode::CONFLICT, "TooManyRunningJobs", format!("The application already runs {MAX_RUNNING_JOBS} jobs.")));
        }
        state.status = "running";
        state.generation += 1;
    }
    tokio::spawn(run(cloud.clone(), app.clone(), job));
    Ok(StatusCode::NO_CONTENT)
}

/// A new job (ID `rerun_id`) with the same definition, on the devices that failed.
pub async fn rerun(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id, rerun_id)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let job = find(&app, &id)?;
    let failed: Vec<String> = {
        let state = job.state.lock().unwrap();
        if state.status == "running" {
            return Err(CentralError::new(StatusCode::CONFLICT, "Conflict", format!("Job {id} is still running; rerun it when it has finished.")));
        }
        state.devices.iter().filter(|(_, s)| *s == DeviceRun::Failed).map(|(d, _)| d.clone()).collect()
    };
    if failed.is_empty() {
        return Err(bad_request(format!("Job {id} has no failed devices to rerun.")));
    }
    Ok(Json(start(&cloud, &app, &rerun_id, job.definition.clone(), job.action.clone(), failed)?.to_json()))
}
