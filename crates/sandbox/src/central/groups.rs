//! Device groups: read, create, update and delete them, and list their members. A group is its
//! `filter`; the migration makes one per batch of devices to move and runs its job on it.

use super::attestation::merge;
use super::filter::Filter;
use super::{bad_request, open, page, parse_body, CentralError, Q};
use crate::cloud::Cloud;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// The fields a caller sets on a group (the rest — id, etag — are the service's).
const FIELDS: &[&str] = &["displayName", "description", "filter", "organizations"];

fn not_found(id: &str) -> CentralError {
    CentralError::not_found("Device group", id)
}

/// The group as stored, or why it cannot be: a display name and a filter the sandbox evaluates.
fn checked(id: &str, fields: &Value) -> Result<Value, CentralError> {
    let mut group = json!({"id": id});
    for field in FIELDS {
        if let Some(v) = fields.get(*field).filter(|v| !v.is_null()) {
            group[*field] = v.clone();
        }
    }
    if group["displayName"].as_str().is_none_or(str::is_empty) {
        return Err(bad_request("The device group needs a displayName."));
    }
    let filter = group["filter"].as_str().ok_or_else(|| bad_request("The device group needs a filter."))?;
    Filter::parse(filter).map_err(bad_request)?;
    group["etag"] = json!(format!("\"{}\"", crate::tokens::random_token(6)));
    Ok(group)
}

pub async fn list(State(cloud): State<Arc<Cloud>>, Path(sub): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let groups = app.groups.lock().unwrap().clone();
    Ok(page(&cloud, &sub, "deviceGroups", &q, groups))
}

pub async fn get(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let group = app.groups.lock().unwrap().iter().find(|g| g["id"] == id.as_str()).cloned();
    group.map(Json).ok_or_else(|| not_found(&id))
}

/// Creates the group, or replaces the one with this ID.
pub async fn put(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let group = checked(&id, &parse_body(&body)?)?;
    let mut groups = app.groups.lock().unwrap();
    match groups.iter_mut().find(|g| g["id"] == id.as_str()) {
        Some(old) => *old = group.clone(),
        None => groups.push(group.clone()),
    }
    Ok(Json(group))
}

pub async fn patch(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    let mut groups = app.groups.lock().unwrap();
    let old = groups.iter_mut().find(|g| g["id"] == id.as_str()).ok_or_else(|| not_found(&id))?;
    let mut fields = old.clone();
    for field in FIELDS {
        if let Some(v) = body.get(*field) {
            merge(&mut fields[*field], v);
        }
    }
    *old = checked(&id, &fields)?;
    Ok(Json(old.clone()))
}

pub async fn remove(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let mut groups = app.groups.lock().unwrap();
    let index = groups.iter().position(|g| g["id"] == id.as_str()).ok_or_else(|| not_found(&id))?;
    groups.remove(index);
    Ok(StatusCode::NO_CONTENT)
}

/// The devices the group's filter selects now.
pub async fn devices(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let filter = app
        .groups
        .lock()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id.as_str())
        .map(|g| g["filter"].as_str().unwrap_or_default().to_string())
        .ok_or_else(|| not_found(&id))?;
    let filter = Filter::parse(&filter).map_err(bad_request)?;
    let members = app.devices.lock().unwrap().iter().map(|(id, d)| d.to_json(id)).filter(|d| filter.matches(d)).collect();
    Ok(page(&cloud, &sub, &format!("deviceGroups/{id}/devices"), &q, members))
}
