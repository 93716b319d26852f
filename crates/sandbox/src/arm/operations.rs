//! ARM long-running operations: a create or update answers at once with `Azure-AsyncOperation`
//! (and `Retry-After`), and that URL reports `Running` until the work is done, then `Succeeded`,
//! as the Azure SDKs' pollers expect.

use super::errors::{with_ids, ArmError};
use super::Ctx;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the sandbox's hubs and DPSs take to create or update.
const WORK: Duration = Duration::from_millis(1200);

/// The operations ARM has started: ID → when its work is done. A scenario load forgets them.
#[derive(Default)]
pub struct ArmOperations(Mutex<HashMap<String, Instant>>);

impl ArmOperations {
    fn start(&self, id: String) {
        self.0.lock().unwrap().insert(id, Instant::now() + WORK);
    }

    fn done_at(&self, id: &str) -> Option<Instant> {
        self.0.lock().unwrap().get(id).copied()
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The answer to a PUT that starts work on `resource_id`: `status` (201 created, 200 updated)
/// with the resource body, and where to poll.
pub fn started(ctx: &Ctx, resource_id: &str, version: &str, status: StatusCode, mut body: serde_json::Value) -> Response {
    // The resource is still being worked on: its first answer says so, as ARM's does.
    if let Some(properties) = body.get_mut("properties").and_then(serde_json::Value::as_object_mut) {
        properties.insert("provisioningState".into(), json!("Accepted"));
    }
    let id = ctx.cloud.request_id();
    ctx.cloud.arm_operations().start(id.clone());
    let url = format!("{}{resource_id}/operationResults/{id}?api-version={version}&asyncinfo", ctx.cloud.base_url());
    let mut response = with_ids(ctx.cloud, status, body);
    if let Ok(v) = HeaderValue::from_str(&url) {
        response.headers_mut().insert("azure-asyncoperation", v);
    }
    response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    response
}

pub fn status(ctx: &Ctx, id: &str, version: Option<&str>) -> Result<Response, ArmError> {
    version.ok_or_else(ArmError::missing_api_version)?;
    let done_at = ctx.cloud.arm_operations().done_at(id);
    let done_at = done_at.ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "OperationNotFound", format!("The operation '{id}' was not found.")))?;
    if Instant::now() < done_at {
        let mut response = with_ids(ctx.cloud, StatusCode::OK, json!({"status": "Running"}));
        response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        return Ok(response);
    }
    Ok(with_ids(ctx.cloud, StatusCode::OK, json!({"status": "Succeeded"})))
}
