//! Direct methods: `POST /twins/{id}/methods` (and `/twins/{id}/modules/{mid}/methods`). The hub
//! forwards the call to the connected device and answers its status and payload; the devices
//! that can answer are those connected over MQTT (hub/device_mqtt.rs) and the sandbox's simulated
//! fleet, each while connected to this hub. A device
//! that is not connected (after waiting `connectTimeoutInSeconds` for it) is 404 DeviceNotOnline,
//! one that does not answer within `responseTimeoutInSeconds` is 504 GatewayTimeout.

use super::devices::bad_json;
use super::twins::module_not_found;
use super::{HubCtx, HubError};
use crate::fleet::{DeviceTiming, MethodOutcome, Persona, SimDevice};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Q = Query<HashMap<String, String>>;

/// The request's timeouts, as the hub bounds them (seconds).
#[derive(Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub response: u64,
    pub connect: u64,
}

fn bad(text: String) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", text)
}

/// Method name and timeouts of a CloudToDeviceMethod body (response 5–300 s, default 30;
/// connect 0–300 s, default 0).
pub fn parse(body: &Value) -> Result<(String, Value, Timeouts), HubError> {
    let name = body
        .get("methodName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| HubError::new(StatusCode::BAD_REQUEST, "ArgumentNull", "methodName is required."))?;
    if name.len() > 128 {
        return Err(bad(format!("methodName '{name}' is longer than 128 characters.")));
    }
    let seconds = |field: &str, range: std::ops::RangeInclusive<u64>, default: u64| -> Result<u64, HubError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|s| range.contains(s))
                .ok_or_else(|| bad(format!("{field} must be a whole number of seconds from {} to {}, not {v}.", range.start(), range.end()))),
        }
    };
    let timeouts = Timeouts { response: seconds("responseTimeoutInSeconds", 5..=300, 30)?, connect: seconds("connectTimeoutInSeconds", 0..=300, 0)? };
    Ok((name.to_string(), body.get("payload").cloned().unwrap_or(Value::Null), timeouts))
}

fn not_online(id: &str) -> HubError {
    HubError::new(StatusCode::NOT_FOUND, "DeviceNotOnline", format!("Timed out waiting for device to connect. Device {id} is not online."))
}

/// The simulated device connected to this hub under this ID, with its fleet's timing.
fn connected_sim(ctx: &HubCtx, id: &str) -> Option<(Arc<SimDevice>, DeviceTiming)> {
    let apps = ctx.cloud.central_apps().all();
    apps.iter().find_map(|app| {
        let device = app.simulated_device(id)?;
        let online = {
            let link = device.link.lock().unwrap();
            link.connected && link.hub.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&ctx.hub.host))
        };
        (online && device.persona() != Persona::Offline).then(|| (device, app.timing().clone()))
    })
}

async fn invoke(
    ctx: HubCtx,
    id: String,
    module_id: Option<String>,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "ServiceConnect")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let (name, payload, timeouts) = parse(&body)?;
    {
        let devices = ctx.hub.devices.lock().unwrap();
        let device = devices.get(&id).ok_or_else(|| HubError::device_not_found(&id))?;
        if let Some(mid) = &module_id {
            device.modules.as_ref().and_then(|m| m.get(mid)).ok_or_else(|| module_not_found(&id, mid))?;
        }
    }
    // A device connected over MQTT (a real device SDK) answers first, else the simulated one.
    // Neither has modules: a module never has a connection to answer on.
    let wait_until = Instant::now() + Duration::from_secs(timeouts.connect);
    let response_timeout = Duration::from_secs(timeouts.response);
    let outcome = loop {
        if module_id.is_none() {
            if let Some(outcome) = ctx.hub.live_devices().invoke(&id, &name, &payload, response_timeout).await {
                break outcome;
            }
            if let Some((device, mut timing)) = connected_sim(&ctx, &id) {
                timing.command_timeout_ms = timeouts.response * 1000;
                break device.invoke(&ctx.cloud, &name, &payload, &timing).await;
            }
        }
        if Instant::now() >= wait_until {
            return Err(not_online(&id));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    match outcome {
        MethodOutcome::Answered { status, payload } => Ok(Json(json!({"status": status, "payload": payload}))),
        MethodOutcome::TimedOut => {
            Err(HubError::new(StatusCode::GATEWAY_TIMEOUT, "GatewayTimeout", format!("Timed out waiting for the response from device {id}.")))
        }
    }
}

pub async fn device(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, HubError> {
    invoke(ctx, id, None, q, headers, body).await
}

pub async fn module(
    State(ctx): State<HubCtx>,
    Path((id, mid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, HubError> {
    invoke(ctx, id, Some(mid), q, headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_default_and_are_bounded() {
        let (name, payload, t) = parse(&json!({"methodName": "reboot", "payload": {"delay": 1}})).unwrap();
        assert_eq!((name.as_str(), payload, t), ("reboot", json!({"delay": 1}), Timeouts { response: 30, connect: 0 }));
        assert_eq!(parse(&json!({"methodName": "m", "responseTimeoutInSeconds": 4})).unwrap_err().name, "ArgumentInvalid");
        assert_eq!(parse(&json!({"methodName": "m", "connectTimeoutInSeconds": 301})).unwrap_err().name, "ArgumentInvalid");
        assert_eq!(parse(&json!({"payload": 1})).unwrap_err().name, "ArgumentNull");
    }
}
