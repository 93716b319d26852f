//! Enrollment groups and individual enrollments (service API 2021-10-01): create or replace with
//! ETags, get, delete, query. Both have the same life; they differ in their ID field, where they
//! keep certificates (a group's signing certificates, a device's client certificates) and which
//! attestations they take. A symmetric-key enrollment without keys gets generated ones, as DPS does.

use super::{DpsCtx, DpsError};
use crate::live::{new_etag, new_key};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

type Q = Query<HashMap<String, String>>;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Group,
    Individual,
}

impl Kind {
    fn id_field(self) -> &'static str {
        match self {
            Kind::Group => "enrollmentGroupId",
            Kind::Individual => "registrationId",
        }
    }
    fn certificates(self) -> &'static str {
        match self {
            Kind::Group => "signingCertificates",
            Kind::Individual => "clientCertificates",
        }
    }
    fn item_type(self) -> &'static str {
        match self {
            Kind::Group => "enrollmentGroup",
            Kind::Individual => "enrollment",
        }
    }
    fn store(self, ctx: &DpsCtx) -> &Mutex<BTreeMap<String, Value>> {
        match self {
            Kind::Group => &ctx.dps.enrollment_groups,
            Kind::Individual => &ctx.dps.enrollments,
        }
    }
    fn not_found(self, id: &str) -> DpsError {
        match self {
            Kind::Group => DpsError::new(StatusCode::NOT_FOUND, 404202, format!("Enrollment group '{id}' was not found.")),
            Kind::Individual => DpsError::new(StatusCode::NOT_FOUND, 404201, format!("Enrollment '{id}' was not found.")),
        }
    }
}

fn now_iso() -> String {
    crate::timestamps::now_rfc3339()
}

fn bad(message: String) -> DpsError {
    DpsError::new(StatusCode::BAD_REQUEST, 400004, message)
}

/// Checks the attestation and fills what DPS fills: generated keys, certificate info.
fn checked_attestation(kind: Kind, enrollment: &mut Value) -> Result<(), DpsError> {
    let attestation = enrollment["attestation"]["type"].as_str().unwrap_or_default().to_string();
    match attestation.as_str() {
        "symmetricKey" => {
            let keys = &mut enrollment["attestation"]["symmetricKey"];
            for k in ["primaryKey", "secondaryKey"] {
                if keys[k].as_str().is_none_or(str::is_empty) {
                    keys[k] = json!(new_key());
                } else if keys[k]
                    .as_str()
                    .and_then(|v| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok())
                    .is_none_or(|k| !(16..=64).contains(&k.len()))
                {
                    return Err(bad(format!("attestation.symmetricKey.{k} is not a base64 key of 16 to 64 bytes.")));
                }
            }
        }
        "x509" => {
            if enrollment["attestation"]["x509"]["caReferences"].is_object() {
                return Err(bad(
                    "attestation.x509.caReferences (certificates uploaded to the DPS) are not served by the sandbox: give the certificate itself.".into(),
                ));
            }
            let field = kind.certificates();
            for which in ["primary", "secondary"] {
                let slot = &mut enrollment["attestation"]["x509"][field][which];
                match slot["certificate"].as_str() {
                    None if which == "secondary" => {}
                    None => return Err(bad(format!("attestation.x509.{field}.primary.certificate is required (PEM or base64 DER)."))),
                    Some(text) => {
                        let cert = crate::x509::parse_certificate(text)
                            .ok_or_else(|| bad(format!("attestation.x509.{field}.{which}.certificate is not an X.509 certificate (PEM or base64 DER).")))?;
                        slot["info"] =
                            crate::x509::info(&cert).ok_or_else(|| bad(format!("attestation.x509.{field}.{which}.certificate does not parse as X.509.")))?;
                    }
                }
            }
        }
        "tpm" if kind == Kind::Individual => return Err(bad("attestation.type 'tpm' is not served by the sandbox: use symmetricKey or x509.".into())),
        other => return Err(bad(format!("attestation.type '{other}' is not supported here: use symmetricKey or x509."))),
    }
    Ok(())
}

async fn get(kind: Kind, ctx: DpsCtx, id: String, q: HashMap<String, String>, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentRead")?;
    kind.store(&ctx).lock().unwrap().get(&id.to_ascii_lowercase()).cloned().map(Json).ok_or_else(|| kind.not_found(&id))
}

async fn put(kind: Kind, ctx: DpsCtx, id: String, q: HashMap<String, String>, headers: HeaderMap, body: String) -> Result<Response, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentWrite")?;
    let mut enrollment: Value = serde_json::from_str(&body).map_err(|e| bad(format!("The request body is not valid JSON: {e}")))?;
    if !enrollment.is_object() {
        return Err(bad("The request body must be a JSON object.".into()));
    }
    if enrollment[kind.id_field()].as_str() != Some(id.as_str()) {
        return Err(bad(format!("{} in the body must be '{id}'.", kind.id_field())));
    }
    checked_attestation(kind, &mut enrollment)?;
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
    let mut store = kind.store(&ctx).lock().unwrap();
    let existing = store.get(&id.to_ascii_lowercase()).cloned();
    match (&existing, if_match.as_deref()) {
        (Some(old), Some(etag)) if etag != "*" && old["etag"].as_str() != Some(etag) => {
            return Err(DpsError::new(StatusCode::PRECONDITION_FAILED, 412001, format!("The ETag does not match the current ETag of '{id}'.")))
        }
        (None, Some(etag)) if etag != "*" => return Err(kind.not_found(&id)),
        _ => {}
    }
    let stamp = now_iso();
    enrollment["etag"] = json!(new_etag());
    enrollment["createdDateTimeUtc"] = existing.as_ref().map(|o| o["createdDateTimeUtc"].clone()).unwrap_or(json!(stamp));
    enrollment["lastUpdatedDateTimeUtc"] = json!(stamp);
    if enrollment.get("provisioningStatus").is_none() {
        enrollment["provisioningStatus"] = json!("enabled");
    }
    store.insert(id.to_ascii_lowercase(), enrollment.clone());
    Ok((StatusCode::OK, Json(enrollment)).into_response())
}

async fn delete(kind: Kind, ctx: DpsCtx, id: String, q: HashMap<String, String>, headers: HeaderMap) -> Result<StatusCode, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentWrite")?;
    kind.store(&ctx).lock().unwrap().remove(&id.to_ascii_lowercase()).map(|_| StatusCode::NO_CONTENT).ok_or_else(|| kind.not_found(&id))
}

/// `SELECT *`, paged by `x-ms-max-item-count` and `x-ms-continuation`.
async fn query(kind: Kind, ctx: DpsCtx, q: HashMap<String, String>, headers: HeaderMap) -> Result<Response, DpsError> {
    ctx.authorize_service(&headers, &q, "EnrollmentRead")?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let size = header("x-ms-max-item-count").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100);
    let start = header("x-ms-continuation").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let all: Vec<Value> = kind.store(&ctx).lock().unwrap().values().cloned().collect();
    let end = (start + size).min(all.len());
    let mut response = Json(Value::Array(all.get(start..end).map(<[Value]>::to_vec).unwrap_or_default())).into_response();
    response.headers_mut().insert("x-ms-item-type", HeaderValue::from_static(kind.item_type()));
    if end < all.len() {
        response.headers_mut().insert("x-ms-continuation", HeaderValue::from_str(&end.to_string()).expect("digits"));
    }
    Ok(response)
}

macro_rules! handlers {
    ($module:ident, $kind:expr) => {
        pub mod $module {
            use super::*;
            pub async fn get(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
                super::get($kind, ctx, id, q, headers).await
            }
            pub async fn put(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, DpsError> {
                super::put($kind, ctx, id, q, headers, body).await
            }
            pub async fn delete(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, DpsError> {
                super::delete($kind, ctx, id, q, headers).await
            }
            pub async fn query(State(ctx): State<DpsCtx>, Query(q): Q, headers: HeaderMap) -> Result<Response, DpsError> {
                super::query($kind, ctx, q, headers).await
            }
        }
    };
}

handlers!(groups, Kind::Group);
handlers!(individual, Kind::Individual);
