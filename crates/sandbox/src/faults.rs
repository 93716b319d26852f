//! Fault injection and call counting for tests, driven by the control API: every request to an
//! emulated service is counted by service and operation, and may be answered with a throttle
//! (429), an outage (503), a dropped connection (before the service acts, or after it has acted —
//! the lost answer a client retries into a conflict), a stall, or a refusal with a chosen status
//! and error code (a 4xx no retry helps), for a share of calls or a set count.

use crate::cloud::Cloud;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// 429 with Retry-After, in the service's error shape.
    Throttle,
    /// 503 with Retry-After.
    Unavailable,
    /// The connection is dropped without an answer, before the service sees the call.
    Reset,
    /// The service handles the call (a PUT creates what it names), then the connection is dropped
    /// without its answer: what a client sees when a timeout cuts off a call that was applied.
    ApplyThenReset,
    /// The answer comes only after `stallSeconds`.
    Stall,
    /// The call is refused with `status` and the service's error `code` (and `message`), in the
    /// service's error shape with a request ID: `{"refuse": {"status": 400, "code": "BadRequest"}}`.
    Refuse {
        status: u16,
        code: String,
        #[serde(default)]
        message: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// `entra`, `arm`, `central`, `hub` or `dps`; every service when absent.
    #[serde(default)]
    pub service: Option<String>,
    /// Applies to requests whose `METHOD /path` contains this text, e.g. `PUT /iotc/contoso-fleet/api/jobs`.
    #[serde(default)]
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// Share of matching calls hit, 0 to 1.
    #[serde(default = "all")]
    pub share: f64,
    /// Hit at most this many calls, then the rule is spent.
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default = "one_second")]
    pub retry_after_seconds: u64,
    #[serde(default = "two_minutes")]
    pub stall_seconds: u64,
}

fn all() -> f64 {
    1.0
}
fn one_second() -> u64 {
    1
}
fn two_minutes() -> u64 {
    120
}

#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    counters: Mutex<BTreeMap<String, u64>>,
    /// Every call ever counted (the counters above can be reset): a cheap sign of activity.
    calls: std::sync::atomic::AtomicU64,
}

/// Marks a response whose connection the server must drop instead of answering.
#[derive(Clone, Copy)]
pub struct ResetConnection;

impl Faults {
    pub fn add(&self, rule: FaultRule) -> Result<(), String> {
        if !(0.0..=1.0).contains(&rule.share) {
            return Err(format!("share must be between 0 and 1, not {}", rule.share));
        }
        if let Some(s) = rule.service.as_deref().filter(|s| !["entra", "arm", "central", "hub", "dps"].contains(s)) {
            return Err(format!("service '{s}' is not one of entra, arm, central, hub, dps"));
        }
        if let FaultKind::Refuse { status, code, .. } = &rule.kind {
            if !(400..=599).contains(status) || code.trim().is_empty() {
                return Err(format!("a refusal needs a status from 400 to 599 and an error code, not {status} '{code}'"));
            }
        }
        self.rules.lock().unwrap().push(rule);
        Ok(())
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().unwrap().clone()
    }

    /// Calls counted since the sandbox started, never reset.
    pub fn calls_seen(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn reset_counters(&self) {
        self.counters.lock().unwrap().clear();
    }

    /// Counts the call and returns the fault to apply to it, if a rule hits it.
    fn hit(&self, service: &str, key: &str, call: &str) -> Option<FaultRule> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.counters.lock().unwrap().entry(key.to_string()).or_default() += 1;
        let mut rules = self.rules.lock().unwrap();
        let index = rules.iter().position(|r| {
            r.service.as_deref().is_none_or(|s| s == service)
                && r.operation.as_deref().is_none_or(|o| call.contains(o))
                && r.count != Some(0)
                && rand::random::<f64>() < r.share
        })?;
        let rule = &mut rules[index];
        if let Some(n) = rule.count.as_mut() {
            *n -= 1;
        }
        Some(rule.clone())
    }
}

/// The service a control-plane path belongs to (data-plane listeners know theirs).
pub fn service_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/_sandbox") {
        None
    } else if path.starts_with("/iotc/") {
        Some("central")
    } else if path.starts_with("/subscriptions") || path.starts_with("/providers") || path.starts_with("/tenants") {
        Some("arm")
    } else {
        Some("entra")
    }
}

/// A refusal in the service's own error shape, with the request ID the service would give.
fn refusal(cloud: &Cloud, service: &str, status: u16, code: &str, message: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let message = message.map(str::to_string).unwrap_or_else(|| format!("Injected by the sandbox's control API: {code}."));
    let request_id = cloud.request_id();
    let body = match service {
        "hub" => json!({"Message": format!("ErrorCode:{code};{message}"), "ExceptionMessage": ""}),
        "dps" => json!({"errorCode": code.parse::<u64>().unwrap_or(status.as_u16() as u64 * 1000), "message": message, "trackingId": request_id}),
        "central" => json!({"error": {"code": code, "message": message, "requestId": request_id}}),
        _ => json!({"error": {"code": code, "message": message}}),
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = request_id.parse() {
        response.headers_mut().insert("x-ms-request-id", v);
    }
    response
}

fn fault_response(service: &str, status: StatusCode, retry_after: u64) -> Response {
    let message = format!("Injected by the sandbox's control API: {}.", status.canonical_reason().unwrap_or_default());
    let body = match service {
        "hub" => {
            json!({"Message": format!("ErrorCode:{};{message}", if status == StatusCode::TOO_MANY_REQUESTS { "ThrottlingException" } else { "ServiceUnavailable" }), "ExceptionMessage": ""})
        }
        "dps" => json!({"errorCode": status.as_u16() as u32 * 1000 + 1, "message": message}),
        _ => json!({"error": {"code": if status == StatusCode::TOO_MANY_REQUESTS { "TooManyRequests" } else { "ServiceUnavailable" }, "message": message}}),
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert("retry-after", retry_after.into());
    response
}

/// Marks `response` so the server drops the connection instead of sending it.
fn dropped(mut response: Response) -> Response {
    response.extensions_mut().insert(ResetConnection);
    response
}

/// Middleware for every emulated service: count, then maybe inject a fault.
pub async fn apply(State((cloud, fixed_service)): State<(Arc<Cloud>, Option<&'static str>)>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let Some(service) = fixed_service.or_else(|| service_of(&path)) else {
        return next.run(request).await;
    };
    let template = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| path.clone());
    let method = request.method().as_str().to_string();
    let key = format!("{service} {method} {template}");
    let call = format!("{method} {path}");
    match cloud.faults().hit(service, &key, &call) {
        None => next.run(request).await,
        Some(rule) => match rule.kind {
            FaultKind::Throttle => fault_response(service, StatusCode::TOO_MANY_REQUESTS, rule.retry_after_seconds),
            FaultKind::Unavailable => fault_response(service, StatusCode::SERVICE_UNAVAILABLE, rule.retry_after_seconds),
            FaultKind::Reset => dropped(StatusCode::SERVICE_UNAVAILABLE.into_response()),
            FaultKind::ApplyThenReset => dropped(next.run(request).await),
            FaultKind::Refuse { status, code, message } => refusal(&cloud, service, status, &code, message.as_deref()),
            FaultKind::Stall => {
                tokio::time::sleep(std::time::Duration::from_secs(rule.stall_seconds)).await;
                next.run(request).await
            }
        },
    }
}
