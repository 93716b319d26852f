//! `Microsoft.Devices/IotHubs` operations beside the resource itself: `IotHubStats`, `skus`,
//! `quotaMetrics`, `checkNameAvailability`, and the import/export jobs as ARM lists them (`jobs`,
//! `jobs/{id}`) — the hub's own jobs, the ones its data plane's `GET /jobs` lists too.

use super::errors::ArmError;
use super::subscriptions::{check_version, readable};
use super::{find_placed, json, Ctx};
use crate::api_versions::ARM_IOT_HUBS as VERSIONS;
use crate::hub::jobs::state::Job;
use crate::hub::state::Hub;
use crate::live::Placed;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

pub const TYPE: &str = "Microsoft.Devices/IotHubs";

/// The hub, after the api-version and RBAC checks for `action`.
pub fn hub(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>, action: &str) -> Result<Arc<Hub>, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    find_placed(ctx, &ctx.cloud.hubs().all(), TYPE, sub, group, name, action)
}

/// `GET …/IotHubStats`: the identity registry's device counts.
pub fn stats(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = hub(ctx, sub, group, name, version, "Microsoft.Devices/IotHubs/IotHubStats/Read")?;
    let (total, enabled) = hub.registry_statistics();
    Ok(json(ctx.cloud, j!({"totalDeviceCount": total, "enabledDeviceCount": enabled, "disabledDeviceCount": total - enabled})))
}

fn tier(sku: &str) -> &'static str {
    match sku.as_bytes().first() {
        Some(b'F') => "Free",
        Some(b'B') => "Basic",
        _ => "Standard",
    }
}

/// `GET …/skus`: the SKUs the hub may move to (the free tier stays free; basic may go up to
/// standard; standard stays standard), with the units each allows.
pub fn valid_skus(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = hub(ctx, sub, group, name, version, "Microsoft.Devices/IotHubs/skus/Read")?;
    let current = hub.scale().sku;
    let skus: &[&str] = match tier(&current) {
        "Free" => &["F1"],
        "Basic" => &["B1", "B2", "B3", "S1", "S2", "S3"],
        _ => &["S1", "S2", "S3"],
    };
    let items = skus
        .iter()
        .map(|sku| {
            let capacity = match *sku {
                "F1" => j!({"minimum": 1, "maximum": 1, "default": 1, "scaleType": "None"}),
                "B3" | "S3" => j!({"minimum": 1, "maximum": 10, "default": 1, "scaleType": "Manual"}),
                _ => j!({"minimum": 1, "maximum": 200, "default": 1, "scaleType": "Manual"}),
            };
            j!({"resourceType": TYPE, "sku": {"name": sku, "tier": tier(sku)}, "capacity": capacity})
        })
        .collect();
    Ok(json(ctx.cloud, ctx.paged(items)))
}

/// `GET …/quotaMetrics`: today's messages and the registered devices, against their quotas.
pub fn quota_metrics(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = hub(ctx, sub, group, name, version, "Microsoft.Devices/IotHubs/quotaMetrics/Read")?;
    let items = hub.quota_metrics(ctx.cloud.now()).iter().map(|(name, current, max)| j!({"name": name, "currentValue": current, "maxValue": max})).collect();
    Ok(json(ctx.cloud, ctx.paged(items)))
}

/// A hub name Azure takes: 3 to 50 letters, digits and hyphens, not ending with a hyphen.
fn valid_hub_name(name: &str) -> bool {
    (3..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !name.ends_with('-')
}

/// `POST /subscriptions/{sub}/providers/Microsoft.Devices/checkNameAvailability`: a hub's name is
/// its host name, so a name taken by any hub of the cloud is unavailable.
pub fn check_name_availability(ctx: &Ctx, sub: &str, version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    readable(ctx, &ctx.cloud.scenario().subscriptions, sub, "Microsoft.Devices/checkNameAvailability/Action", &format!("/subscriptions/{sub}"))?;
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", "The request content must be {\"name\": \"<IoT hub name>\"}."))?;
    let answer = if !valid_hub_name(name) {
        j!({"nameAvailable": false, "reason": "Invalid", "message": format!("IotHub name '{name}' is invalid: use 3 to 50 letters, digits or hyphens, not ending with a hyphen.")})
    } else if ctx.cloud.hubs().all().iter().any(|h| h.name().eq_ignore_ascii_case(name)) {
        j!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("IotHub name '{name}' is not available")})
    } else {
        j!({"nameAvailable": true, "message": ""})
    };
    Ok(json(ctx.cloud, answer))
}

/// RFC 1123, as ARM's JobResponse writes its times.
fn rfc1123(rfc3339: &str) -> Value {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or(Value::Null, |t| j!(t.with_timezone(&chrono::Utc).format("%a, %d %b %Y %H:%M:%S GMT").to_string()))
}

/// `JobResponse`: the data plane's job record in ARM's shape.
pub fn job_response(job: &Job) -> Value {
    let record = job.to_json();
    let mut body = j!({"jobId": job.id, "startTimeUtc": rfc1123(&job.start), "type": record["type"], "status": record["status"]});
    if let Some(end) = &job.end {
        body["endTimeUtc"] = rfc1123(end);
    }
    if let Some(reason) = &job.failure_reason {
        body["failureReason"] = j!(reason);
    }
    body
}

/// `GET …/jobs`.
pub fn list_jobs(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = hub(ctx, sub, group, name, version, "Microsoft.Devices/IotHubs/Jobs/Read")?;
    Ok(json(ctx.cloud, ctx.paged(hub.import_export_jobs().iter().map(job_response).collect())))
}

/// `GET …/jobs/{jobId}`.
pub fn get_job(ctx: &Ctx, sub: &str, group: &str, name: &str, job_id: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = hub(ctx, sub, group, name, version, "Microsoft.Devices/IotHubs/Jobs/Read")?;
    let job = hub
        .import_export_jobs()
        .into_iter()
        .find(|j| j.id == job_id)
        .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "JobNotFound", format!("Job with id '{job_id}' not found on IoT hub '{name}'.")))?;
    Ok(json(ctx.cloud, job_response(&job)))
}
