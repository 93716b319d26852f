//! IoT Hub's per-tier limits, as a layer in front of every hub route: each request is classified
//! by method and path (`classes`), refused when its tier lacks the feature (403010), and, while
//! quotas are on for the hub, charged to a token bucket per throttle sized from the hub's current
//! SKU and units (`limits`) — 429 ThrottlingException with Retry-After when empty — and checked
//! against the device cap and the daily message quota (403002 IotHubQuotaExceeded).
//!
//! Quotas follow the sandbox-wide switch unless the hub has its own (scenario `quotas` on the hub,
//! or the control API), so a benchmark can turn them off for one hub.

mod classes;
pub(crate) mod limits;

use super::HubError;
use crate::central::throttle::TokenBucket;
use crate::cloud::Cloud;
use crate::hub::state::{Hub, HubScale};
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use classes::{Cost, Operation};
pub use limits::Throttle;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A hub's quota state: its own switch, its buckets, today's message count.
#[derive(Default)]
pub struct HubQuotas {
    /// None: follow the sandbox-wide switch.
    switch: Mutex<Option<bool>>,
    buckets: Mutex<HashMap<Throttle, TokenBucket>>,
    /// (UTC day number by the sandbox clock, messages counted that day).
    messages: Mutex<(i64, u64)>,
}

impl HubQuotas {
    pub fn set_switch(&self, on: Option<bool>) {
        *self.switch.lock().unwrap() = on;
    }

    pub fn switch(&self) -> Option<bool> {
        *self.switch.lock().unwrap()
    }

    pub fn enabled(&self, cloud: &Cloud) -> bool {
        self.switch().unwrap_or_else(|| cloud.quotas_on())
    }

    /// Charges `cost` to the throttle's bucket at `now`, at the rate the hub's scale gives now
    /// (an ARM rescale applies from the next call on). Err: whole seconds to wait.
    pub fn take(&self, throttle: Throttle, scale: &HubScale, cost: f64, now: Instant) -> Result<(), u64> {
        let rate = limits::per_second(throttle, &scale.sku, scale.capacity);
        let mut buckets = self.buckets.lock().unwrap();
        let bucket = buckets.entry(throttle).or_insert_with(|| TokenBucket::new_at(rate, limits::burst(rate), now));
        if bucket.rate() != rate {
            bucket.set_limits(rate, limits::burst(rate), now);
        }
        bucket.take_at(cost, now)
    }

    /// Messages counted today so far (the day turns at UTC midnight by the sandbox clock).
    pub(crate) fn messages_today(&self, now: i64) -> u64 {
        let mut m = self.messages.lock().unwrap();
        if m.0 != now.div_euclid(86_400) {
            *m = (now.div_euclid(86_400), 0);
        }
        m.1
    }

    pub(crate) fn count_messages(&self, now: i64, n: u64) {
        self.messages_today(now);
        self.messages.lock().unwrap().1 += n;
    }
}

fn throttled(op: &Operation, scale: &HubScale, seconds: u64) -> Response {
    let rate = limits::per_second(op.throttle.expect("only throttled operations are refused"), &scale.sku, scale.capacity);
    let text = format!(
        "Throttling threshold exceeded for {}: a {} hub with {} unit(s) allows {:.2} a second ({:.0} a minute). Retry in {seconds} s.",
        op.name,
        scale.sku,
        scale.capacity,
        rate,
        rate * 60.0
    );
    let mut response = HubError::new(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", text).into_response();
    response.headers_mut().insert("retry-after", seconds.into());
    response
}

fn quota_exceeded(text: String) -> Response {
    HubError::new(StatusCode::FORBIDDEN, "IotHubQuotaExceeded", text).into_response()
}

/// Bulk registry bodies are read once here to count their devices, then handed on unchanged.
async fn buffered(request: Request) -> Result<(Request, Value), Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .map_err(|e| HubError::new(StatusCode::PAYLOAD_TOO_LARGE, "MessageTooLarge", format!("The request body could not be read: {e}")).into_response())?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((Request::from_parts(parts, Body::from(bytes)), value))
}

/// Devices this call would add: a PUT without If-Match of an absent device, or the bulk entries
/// that create (`create`, or an upsert of an absent device).
fn new_devices(hub: &Hub, path: &str, headers: &HeaderMap, body: &Value) -> usize {
    let devices = hub.devices.lock().unwrap();
    match body.as_array() {
        Some(items) => items
            .iter()
            .filter(|d| {
                let mode = d["importMode"].as_str().unwrap_or("createOrUpdate");
                let absent = d["id"].as_str().or(d["deviceId"].as_str()).is_some_and(|id| !devices.contains_key(id));
                mode.eq_ignore_ascii_case("create") || (mode.to_ascii_lowercase().starts_with("createorupdate") && absent)
            })
            .count(),
        None => {
            let id = path.trim_matches('/').split('/').nth(1).unwrap_or_default();
            let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
            usize::from(!headers.contains_key("if-match") && !devices.contains_key(id.as_ref()))
        }
    }
}

fn payload_meters(request: &Request) -> f64 {
    let len =
        request.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).or_else(|| request.body().size_hint().exact()).unwrap_or(0);
    len.div_ceil(4096).max(1) as f64
}

/// The layer: `.layer(from_fn_with_state((cloud, hub), quotas::apply))`.
pub async fn apply(State((cloud, hub)): State<(Arc<Cloud>, Arc<Hub>)>, request: Request, next: Next) -> Response {
    // An unsigned call is the handler's to refuse (401); it spends nobody's budget.
    if !request.headers().contains_key("authorization") {
        return next.run(request).await;
    }
    let op = classes::classify(request.method(), request.uri().path());
    let scale = hub.scale.lock().unwrap().clone();
    // A missing feature is the tier's, not a quota: refused whatever the switch.
    if op.standard_only && scale.tier() == "Basic" {
        let text = format!("The operation ({}) is not available in the basic tier ({}): upgrade the hub to a standard tier.", op.name, scale.sku);
        return HubError::new(StatusCode::FORBIDDEN, "OperationNotAvailableInCurrentTier", text).into_response();
    }
    let Some(throttle) = op.throttle.filter(|_| hub.quotas.enabled(&cloud)) else {
        return next.run(request).await;
    };
    let (request, body) = if op.cost == Cost::Items {
        match buffered(request).await {
            Ok(r) => r,
            Err(response) => return response,
        }
    } else {
        (request, Value::Null)
    };
    if op.creates_devices {
        let (adding, cap) = (new_devices(&hub, request.uri().path(), request.headers(), &body), limits::max_devices(&scale.sku));
        let registered = hub.devices.lock().unwrap().len();
        if adding > 0 && registered + adding > cap {
            return quota_exceeded(format!("Total number of devices on IotHub '{}' exceeded the allocated quota. Max allowed device count : '{cap}', current device count : '{registered}'.", hub.name));
        }
    }
    let now = cloud.now();
    let (daily, meter) = limits::daily_messages(&scale.sku, scale.capacity);
    if op.d2c_message {
        let used = hub.quotas.messages_today(now);
        if used >= daily {
            return quota_exceeded(format!("Total number of messages on IotHub '{}' exceeded the allocated quota. Max allowed message count : '{daily}', current message count : '{used}'. Reduce traffic and try again in a few hours.", hub.name));
        }
    }
    let cost = match op.cost {
        Cost::One => 1.0,
        // A bulk call of more than 100 is refused by the handler; it costs no more than a full one.
        Cost::Items => body.as_array().map_or(1, |a| a.len().clamp(1, 100)) as f64,
        Cost::Meters => payload_meters(&request),
    };
    if let Err(seconds) = hub.quotas.take(throttle, &scale, cost, Instant::now()) {
        return throttled(&op, &scale, seconds);
    }
    let size = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .or_else(|| request.body().size_hint().exact().map(|n| n as usize))
        .unwrap_or(0);
    let response = next.run(request).await;
    // A message counts once the hub took it, in steps of the tier's message size.
    if op.d2c_message && response.status().is_success() {
        hub.quotas.count_messages(now, size.div_ceil(meter).max(1) as u64);
    }
    response
}

#[cfg(test)]
mod tests;
