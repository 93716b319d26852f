//! Enrollment groups: read, create (symmetric key or X.509), update and delete them. Each is also
//! an enrollment group of the app's own DPS, as on Central, so devices can register with it; the
//! migration copies a group's keys into the target DPS so its devices keep attesting as they do.

use super::app::LiveCentralApp;
use super::attestation::{certificates, keys, merge, public};
use super::{bad_request, open, page, parse_body, CentralError, Q};
use crate::cloud::Cloud;
use crate::live::new_etag;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn not_found(id: &str) -> CentralError {
    CentralError::not_found("Enrollment group", id)
}

/// The group as stored (certificates kept), or why it cannot be.
fn checked(id: &str, body: &Value) -> Result<Value, CentralError> {
    if body["displayName"].as_str().is_none_or(str::is_empty) {
        return Err(bad_request("The enrollment group needs a displayName."));
    }
    let kind =
        body["type"].as_str().filter(|t| ["iot", "iotEdge"].contains(t)).ok_or_else(|| bad_request("The enrollment group's type must be iot or iotEdge."))?;
    let attestation = match body["attestation"]["type"].as_str() {
        Some("symmetricKey") => json!({"type": "symmetricKey", "symmetricKey": keys(&body["attestation"]["symmetricKey"], "attestation.symmetricKey")?}),
        Some("x509") => json!({"type": "x509", "x509": certificates(&body["attestation"]["x509"], "signingCertificates", true)?}),
        other => return Err(bad_request(format!("attestation.type '{}' is not one of symmetricKey, x509.", other.unwrap_or_default()))),
    };
    let enabled = body["enabled"].as_bool().unwrap_or(true);
    Ok(
        json!({"id": id, "displayName": body["displayName"], "enabled": enabled, "type": kind, "attestation": attestation, "etag": format!("\"{}\"", crate::tokens::random_token(6))}),
    )
}

/// The group as Central shows it: certificates by their info only.
fn shown(group: &Value) -> Value {
    let mut shown = group.clone();
    shown["attestation"] = public(&group["attestation"]);
    shown
}

/// Mirrors the group into the app's DPS (by lower-case ID, as DPS keys them).
fn mirror(app: &LiveCentralApp, group: &Value) {
    let id = group["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let status = if group["enabled"] == true { "enabled" } else { "disabled" };
    let edge = group["type"] == "iotEdge";
    let dps_group = json!({"enrollmentGroupId": id, "provisioningStatus": status, "etag": new_etag(), "attestation": public(&group["attestation"]), "capabilities": {"iotEdge": edge}});
    app.dps.put_enrollment_group(id, dps_group);
}

pub async fn list(State(cloud): State<Arc<Cloud>>, Path(sub): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let groups = app.enrollment_groups.lock().unwrap().iter().map(shown).collect();
    Ok(page(&cloud, &sub, "enrollmentGroups", &q, groups))
}

pub async fn get(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let group = app.enrollment_groups.lock().unwrap().iter().find(|g| g["id"] == id.as_str()).map(shown);
    group.map(Json).ok_or_else(|| not_found(&id))
}

/// Creates the group (keys generated when not given), or replaces the one with this ID.
pub async fn put(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let group = checked(&id, &parse_body(&body)?)?;
    {
        let mut groups = app.enrollment_groups.lock().unwrap();
        match groups.iter_mut().find(|g| g["id"] == id.as_str()) {
            Some(old) => *old = group.clone(),
            None => groups.push(group.clone()),
        }
    }
    mirror(&app, &group);
    Ok(Json(shown(&group)))
}

/// Changes some fields (display name, enabled, keys or certificates); the ID and type stay.
pub async fn patch(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let group = {
        let mut groups = app.enrollment_groups.lock().unwrap();
        let old = groups.iter_mut().find(|g| g["id"] == id.as_str()).ok_or_else(|| not_found(&id))?;
        let mut fields = old.clone();
        for field in ["displayName", "enabled", "attestation"] {
            if let Some(v) = body.get(field) {
                merge(&mut fields[field], v);
            }
        }
        *old = checked(&id, &fields)?;
        old.clone()
    };
    mirror(&app, &group);
    Ok(Json(shown(&group)))
}

pub async fn remove(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    {
        let mut groups = app.enrollment_groups.lock().unwrap();
        let index = groups.iter().position(|g| g["id"] == id.as_str()).ok_or_else(|| not_found(&id))?;
        groups.remove(index);
    }
    app.dps.remove_enrollment_group(&id.to_ascii_lowercase());
    Ok(StatusCode::NO_CONTENT)
}
