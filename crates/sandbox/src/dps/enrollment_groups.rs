//! Enrollment groups (service API 2021-10-01): create or replace with ETags, get, delete, query.
//! A symmetric-key group without keys gets generated ones, as DPS does.

use super::{DpsCtx, DpsError};
use crate::live::{new_etag, new_key};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

type Q = Query<HashMap<String, String>>;

fn now_iso() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn not_found(id: &str) -> DpsError {
    DpsError::new(StatusCode::NOT_FOUND, 404202, format!("Enrollment group '{id}' was not found."))
}

pub async fn get(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentRead")?;
    ctx.dps.enrollment_groups.lock().unwrap().get(&id.to_ascii_lowercase()).cloned().map(Json).ok_or_else(|| not_found(&id))
}

pub async fn put(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentWrite")?;
    let bad = |m: String| DpsError::new(StatusCode::BAD_REQUEST, 400004, m);
    let mut group: Value = serde_json::from_str(&body).map_err(|e| bad(format!("The request body is not valid JSON: {e}")))?;
    if group["enrollmentGroupId"].as_str() != Some(id.as_str()) {
        return Err(bad(format!("enrollmentGroupId in the body must be '{id}'.")));
    }
    let kind = group["attestation"]["type"].as_str().unwrap_or_default().to_string();
    match kind.as_str() {
        "symmetricKey" => {
            let keys = &mut group["attestation"]["symmetricKey"];
            for k in ["primaryKey", "secondaryKey"] {
                if keys[k].as_str().is_none_or(str::is_empty) {
                    keys[k] = json!(new_key());
                } else if keys[k].as_str().and_then(|v| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok()).is_none() {
                    return Err(bad(format!("attestation.symmetricKey.{k} is not valid base64.")));
                }
            }
        }
        "x509" => {
            if group["attestation"]["x509"]["caReferences"].is_object() {
                return Err(bad("attestation.x509.caReferences (certificates uploaded to the DPS) are not served by the sandbox: give signingCertificates.primary.certificate.".into()));
            }
            for which in ["primary", "secondary"] {
                let slot = &mut group["attestation"]["x509"]["signingCertificates"][which];
                match slot["certificate"].as_str() {
                    None if which == "secondary" => {}
                    None => return Err(bad("attestation.x509.signingCertificates.primary.certificate is required (PEM or base64 DER).".into())),
                    Some(text) => {
                        let cert = crate::x509::parse_certificate(text).ok_or_else(|| bad(format!("attestation.x509.signingCertificates.{which}.certificate is not a PEM or base64 DER certificate.")))?;
                        slot["info"] = crate::x509::info(&cert).ok_or_else(|| bad(format!("attestation.x509.signingCertificates.{which}.certificate does not parse as X.509.")))?;
                    }
                }
            }
        }
        other => return Err(bad(format!("attestation.type '{other}' is not supported for enrollment groups: use symmetricKey or x509."))),
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
    let mut groups = ctx.dps.enrollment_groups.lock().unwrap();
    let existing = groups.get(&id.to_ascii_lowercase()).cloned();
    match (&existing, if_match.as_deref()) {
        (Some(old), Some(etag)) if etag != "*" && old["etag"].as_str() != Some(etag) => {
            return Err(DpsError::new(StatusCode::PRECONDITION_FAILED, 412001, "The ETag does not match the enrollment group's current ETag."))
        }
        (None, Some(etag)) if etag != "*" => return Err(not_found(&id)),
        _ => {}
    }
    let stamp = now_iso();
    group["etag"] = json!(new_etag());
    group["createdDateTimeUtc"] = existing.as_ref().map(|o| o["createdDateTimeUtc"].clone()).unwrap_or(json!(stamp));
    group["lastUpdatedDateTimeUtc"] = json!(stamp);
    if group.get("provisioningStatus").is_none() {
        group["provisioningStatus"] = json!("enabled");
    }
    groups.insert(id.to_ascii_lowercase(), group.clone());
    Ok((StatusCode::OK, Json(group)).into_response())
}

pub async fn delete(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentWrite")?;
    ctx.dps.enrollment_groups.lock().unwrap().remove(&id.to_ascii_lowercase()).map(|_| StatusCode::NO_CONTENT).ok_or_else(|| not_found(&id))
}

/// `SELECT *` over the groups, paged by `x-ms-max-item-count` and `x-ms-continuation`.
pub async fn query(State(ctx): State<DpsCtx>, Query(q): Q, headers: HeaderMap) -> Result<Response, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentRead")?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let size = header("x-ms-max-item-count").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100);
    let start = header("x-ms-continuation").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let groups: Vec<Value> = ctx.dps.enrollment_groups.lock().unwrap().values().cloned().collect();
    let end = (start + size).min(groups.len());
    let mut response = Json(Value::Array(groups.get(start..end).map(<[Value]>::to_vec).unwrap_or_default())).into_response();
    response.headers_mut().insert("x-ms-item-type", HeaderValue::from_static("enrollmentGroup"));
    if end < groups.len() {
        response.headers_mut().insert("x-ms-continuation", HeaderValue::from_str(&end.to_string()).expect("digits"));
    }
    Ok(response)
}
