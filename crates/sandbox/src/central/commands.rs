//! Command history (`GET …/devices/{id}[/components/{c}]/commands/{name}`): the most recent run of
//! a command on a device, whether it was run directly or by a job — what the migration reads to
//! see how a device answered DeviceMove. One compact record per device and command path, the
//! request shared by every device a job ran it on.

use super::{open, CentralError, Q};
use crate::cloud::Cloud;
use crate::fleet::{DeviceTiming, MethodOutcome};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One run of a command: its request ID, timeouts (seconds), request, and the answer if one came.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CommandRun {
    pub id: String,
    pub connection_timeout: u8,
    pub response_timeout: u8,
    pub request: Arc<Value>,
    pub answer: Option<(u16, Value)>,
}

impl CommandRun {
    pub fn new(request: Arc<Value>, connection_timeout: u8, response_timeout: u8, outcome: &MethodOutcome) -> CommandRun {
        let answer = match outcome {
            MethodOutcome::Answered { status, payload } => Some((*status, payload.clone())),
            MethodOutcome::TimedOut => None,
        };
        CommandRun { id: crate::tokens::random_token(12), connection_timeout, response_timeout, request, answer }
    }

    /// The spec's DeviceCommand: `response` and `responseCode` only when the device answered.
    pub fn to_json(&self) -> Value {
        let mut command =
            json!({"id": self.id, "connectionTimeout": self.connection_timeout, "responseTimeout": self.response_timeout, "request": *self.request});
        if let Some((code, payload)) = &self.answer {
            command["response"] = payload.clone();
            command["responseCode"] = json!(code);
        }
        command
    }
}

/// A command where the device is: over MQTT to the app's own hub (a real device SDK connected
/// there), else the simulated device. `None` when it is neither: the caller decides how long
/// Central waits for a device that never answers.
pub(super) async fn invoke(
    cloud: &Arc<Cloud>,
    app: &super::app::LiveCentralApp,
    device_id: &str,
    method: &str,
    payload: &Value,
    timing: &DeviceTiming,
) -> Option<MethodOutcome> {
    let timeout = std::time::Duration::from_millis(timing.command_timeout_ms);
    if let Some(outcome) = app.hub.live_devices().invoke(device_id, method, payload, timeout).await {
        return Some(outcome);
    }
    let simulated = app.fleet.read().unwrap().get(device_id).cloned();
    match simulated {
        Some(device) => Some(device.invoke(cloud, method, payload, timing).await),
        None => None,
    }
}

/// A device's last runs, by command path (`Command` or `component.Command`): a few at most.
type DeviceRuns = Vec<(Box<str>, CommandRun)>;

/// The last run per device and command path.
#[derive(Default)]
pub struct CommandHistory(Mutex<HashMap<String, DeviceRuns>>);

impl CommandHistory {
    pub fn record(&self, device_id: &str, path: &str, run: CommandRun) {
        let mut history = self.0.lock().unwrap();
        let runs = history.entry(device_id.to_string()).or_default();
        match runs.iter_mut().find(|(p, _)| &**p == path) {
            Some(slot) => slot.1 = run,
            None => runs.push((path.into(), run)),
        }
    }

    pub fn last(&self, device_id: &str, path: &str) -> Option<CommandRun> {
        self.0.lock().unwrap().get(device_id)?.iter().find(|(p, _)| &**p == path).map(|(_, run)| run.clone())
    }

    /// Every device's runs, in device order (the state snapshot).
    pub fn all(&self) -> Vec<(String, Vec<(String, CommandRun)>)> {
        let history = self.0.lock().unwrap();
        let mut all: Vec<_> = history.iter().map(|(d, runs)| (d.clone(), runs.iter().map(|(p, r)| (p.to_string(), r.clone())).collect())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    pub fn restored(all: Vec<(String, Vec<(String, CommandRun)>)>) -> CommandHistory {
        CommandHistory(Mutex::new(all.into_iter().map(|(d, runs)| (d, runs.into_iter().map(|(p, r)| (p.into_boxed_str(), r)).collect())).collect()))
    }

    pub fn forget(&self, device_id: &str) {
        self.0.lock().unwrap().remove(device_id);
    }
}

fn history(cloud: &Cloud, sub: &str, id: &str, path: &str, q: &HashMap<String, String>, headers: &HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(cloud, sub, headers, q)?;
    if !app.devices.lock().unwrap().contains_key(id) {
        return Err(CentralError::not_found("Device", id));
    }
    let last = app.commands.last(id, path).map(|run| run.to_json());
    Ok(Json(json!({"value": last.into_iter().collect::<Vec<_>>()})))
}

pub async fn root_history(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id, command)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    history(&cloud, &sub, &id, &command, &q, &headers)
}

pub async fn component_history(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id, component, command)): Path<(String, String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    history(&cloud, &sub, &id, &format!("{component}.{command}"), &q, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_replaces_the_one_before_and_a_timeout_has_no_response() {
        let history = CommandHistory::default();
        let request = Arc::new(json!({"idScope": "0ne1"}));
        history.record(
            "d1",
            "migration.DeviceMove",
            CommandRun::new(request.clone(), 0, 30, &MethodOutcome::Answered { status: 200, payload: json!({"result": true}) }),
        );
        let first = history.last("d1", "migration.DeviceMove").unwrap().to_json();
        assert_eq!(
            (first["responseCode"].clone(), first["response"].clone(), first["request"].clone()),
            (json!(200), json!({"result": true}), json!({"idScope": "0ne1"}))
        );
        history.record("d1", "migration.DeviceMove", CommandRun::new(request, 5, 10, &MethodOutcome::TimedOut));
        let second = history.last("d1", "migration.DeviceMove").unwrap().to_json();
        assert!(second.get("response").is_none() && second.get("responseCode").is_none());
        assert_eq!((second["connectionTimeout"].clone(), second["responseTimeout"].clone()), (json!(5), json!(10)));
        assert_ne!(first["id"], second["id"]);
        assert!(history.last("d1", "DeviceMove").is_none() && history.last("d2", "migration.DeviceMove").is_none());
        history.forget("d1");
        assert!(history.last("d1", "migration.DeviceMove").is_none());
    }
}
