//! Import/export jobs (`Jobs_CreateImportExportJob`, `Jobs_GetImportExportJob(s)`,
//! `Jobs_CancelImportExportJob`, api 2021-04-12): the registry to and from devices.txt in a blob
//! container reached by SAS, on Azurite. As on the service: one such job per hub at a time (403
//! JobQuotaExceeded), the output container's write access checked at creation (400
//! BlobContainerValidationError), the rest found while the job runs and told in its failureReason.

mod lines;
mod registry;
mod run;
pub mod state;

use super::{HubCtx, HubError};
use crate::storage::blob::Container;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use serde_json::Value;
use state::{Job, Kind, Status};
use std::collections::HashMap;

pub use state::HubJobs;

type Q = Query<HashMap<String, String>>;

const DEVICES_BLOB: &str = "devices.txt";
const ERRORS_BLOB: &str = "importErrors.log";

fn invalid(text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", text)
}

fn container_invalid(text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "BlobContainerValidationError", text)
}

fn job_not_found(id: &str) -> HubError {
    HubError::new(StatusCode::NOT_FOUND, "JobNotFound", format!("Job with id '{id}' not found"))
}

fn quota_exceeded(active: &str) -> HubError {
    HubError::new(
        StatusCode::FORBIDDEN,
        "JobQuotaExceeded",
        format!("Job quota has been exceeded: the import/export job '{active}' is still running, and a hub runs one at a time."),
    )
}

fn text<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, HubError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!("{field} must be a string, not {other}"))),
    }
}

/// The container a URI names, on the sandbox's blob storage (which must be running).
fn container(ctx: &HubCtx, field: &str, uri: Option<&str>) -> Result<Container, HubError> {
    let uri = uri.ok_or_else(|| invalid(format!("{field} is required")))?;
    let azurite =
        ctx.cloud.azurite().map_err(|why| container_invalid(format!("The sandbox cloud has no blob storage, so {field} cannot be reached: {why}")))?;
    Container::from_sas_url(uri, &azurite.tls).map_err(|why| container_invalid(format!("{field}: {why}")))
}

/// What the service does before it accepts a job: write to the output container. A block staged
/// and never committed leaves no blob behind (the job's own commit discards it).
async fn check_writable(output: &Container, blob: &str) -> Result<(), HubError> {
    let probe = base64::engine::general_purpose::STANDARD.encode("probe-00000000");
    output
        .put_block(blob, &probe, b"-".to_vec())
        .await
        .map_err(|e| container_invalid(format!("Unauthorized to write to output blob container. Storage answered {e}")))
}

/// `POST /jobs/create`.
pub async fn create(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, HubError> {
    let body: Value = serde_json::from_str(&body).map_err(|e| invalid(format!("The request body is not valid JSON: {e}")))?;
    let kind = match text(&body, "type")? {
        Some("export") => Kind::Export,
        Some("import") => Kind::Import,
        other => return Err(invalid(format!("type must be 'export' or 'import' for an import/export job, not {other:?}"))),
    };
    ctx.authorize(&headers, &q, if kind == Kind::Export { "RegistryRead" } else { "RegistryWrite" })?;
    Ok(Json(start(&ctx, kind, &body).await?.to_json()))
}

/// Starts an import or export job the body (`JobProperties`) describes, after the service's
/// checks. The data plane's `POST /jobs/create` and ARM's exportDevices/importDevices both start
/// jobs here, so either sees the other's jobs.
pub async fn start(ctx: &HubCtx, kind: Kind, body: &Value) -> Result<Job, HubError> {
    let body = body.clone();
    if text(&body, "storageAuthenticationType")?.is_some_and(|t| t.eq_ignore_ascii_case("identityBased")) {
        return Err(container_invalid("The sandbox cloud's hubs have no managed identity: use keyBased authentication (container URIs with a SAS token)."));
    }
    if let Some(active) = ctx.hub.jobs.active() {
        return Err(quota_exceeded(&active));
    }
    let output = container(ctx, "outputBlobContainerUri", text(&body, "outputBlobContainerUri")?)?;
    let input = match kind {
        Kind::Import => Some(container(ctx, "inputBlobContainerUri", text(&body, "inputBlobContainerUri")?)?),
        Kind::Export => None,
    };
    let azurite = ctx.cloud.azurite().map_err(container_invalid)?;
    azurite.ready().await.map_err(|why| container_invalid(format!("The sandbox's blob storage is not reachable: {why}")))?;
    let input_blob = text(&body, "inputBlobName")?.unwrap_or(DEVICES_BLOB).to_string();
    let output_blob = text(&body, "outputBlobName")?.unwrap_or(if kind == Kind::Export { DEVICES_BLOB } else { ERRORS_BLOB }).to_string();
    check_writable(&output, &output_blob).await?;
    let job = Job {
        id: ctx.cloud.request_id(),
        kind,
        status: Status::Enqueued,
        progress: 0,
        start: crate::live::now_iso(),
        end: None,
        failure_reason: None,
        exclude_keys: body.get("excludeKeysInExport").and_then(Value::as_bool).unwrap_or(false),
        input_blob_name: (kind == Kind::Import).then(|| input_blob.clone()),
        output_blob_name: Some(output_blob.clone()),
    };
    ctx.hub.jobs.admit(job.clone()).map_err(|active| quota_exceeded(&active))?;
    let hub = ctx.hub.clone();
    let id = job.id.clone();
    match input {
        None => tokio::spawn(run::export(hub, id, output, output_blob, job.exclude_keys)),
        Some(input) => tokio::spawn(run::import(hub, id, input, input_blob, output, output_blob)),
    };
    Ok(job)
}

/// `GET /jobs/{id}`.
pub async fn get(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    ctx.hub.jobs.get(&id).map(|j| Json(j.to_json())).ok_or_else(|| job_not_found(&id))
}

/// `GET /jobs`: every import/export job the hub remembers.
pub async fn list(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    Ok(Json(Value::Array(ctx.hub.jobs.list().iter().map(Job::to_json).collect())))
}

/// `DELETE /jobs/{id}`: an active job stops at once; an ended one stays as it ended.
pub async fn cancel(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    ctx.hub.jobs.cancel(&id).ok_or_else(|| job_not_found(&id))?;
    Ok(StatusCode::NO_CONTENT)
}
