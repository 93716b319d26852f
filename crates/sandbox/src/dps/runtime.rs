//! The device runtime API over HTTPS: a device registers with its derived key and polls the
//! operation. Every DPS listener answers for every ID scope, as the global endpoint does.

use super::registration::{self, authenticate, DeviceProof};
use super::{check_version, DpsCtx, DpsError, RUNTIME_VERSIONS};
use crate::x509::ClientChain;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type Q = Query<HashMap<String, String>>;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok())
}

fn dps_for(ctx: &DpsCtx, scope: &str) -> Result<Arc<crate::dps::state::Dps>, DpsError> {
    ctx.cloud.dps_by_scope(scope).ok_or_else(|| DpsError::new(StatusCode::UNAUTHORIZED, 401002, "Unauthorized: unknown ID scope"))
}

pub async fn register(
    State(ctx): State<DpsCtx>,
    Path((scope, id)): Path<(String, String)>,
    Query(q): Q,
    chain: Option<Extension<ClientChain>>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    let body: Value =
        serde_json::from_str(&body).map_err(|e| DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("The request body is not valid JSON: {e}")))?;
    if body["registrationId"].as_str() != Some(id.as_str()) {
        return Err(DpsError::new(StatusCode::BAD_REQUEST, 400004, format!("registrationId in the body must be '{id}'.")));
    }
    let dps = dps_for(&ctx, &scope)?;
    let proof = DeviceProof::from_request(authorization(&headers), chain.as_ref().map(|c| &c.0));
    let state = registration::register(&ctx.cloud, &dps, &scope, &id, proof, body.get("payload").cloned())?;
    Ok((StatusCode::ACCEPTED, Json(json!({"operationId": state.operation_id, "status": "assigning"}))).into_response())
}

pub async fn operation_status(
    State(ctx): State<DpsCtx>,
    Path((scope, id, op)): Path<(String, String, String)>,
    Query(q): Q,
    chain: Option<Extension<ClientChain>>,
    headers: HeaderMap,
) -> Result<Json<Value>, DpsError> {
    check_version(&q, RUNTIME_VERSIONS)?;
    let dps = dps_for(&ctx, &scope)?;
    authenticate(&ctx.cloud, &dps, DeviceProof::from_request(authorization(&headers), chain.as_ref().map(|c| &c.0)), &scope, &id)?;
    let state =
        registration::operation(&dps, &id, &op).ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404200, format!("Operation {op} was not found.")))?;
    let state = state.to_json();
    Ok(Json(json!({"operationId": op, "status": state["status"], "registrationState": state})))
}

/// Service API: a device's registration state (what the migration's verify step reads).
pub async fn registration_state(State(ctx): State<DpsCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, DpsError> {
    ctx.authorize_service(&headers, &q, "RegistrationStatusRead")?;
    let state = ctx.dps.registrations.lock().unwrap().get(&id.to_ascii_lowercase()).map(|r| r.to_json());
    state.map(Json).ok_or_else(|| DpsError::new(StatusCode::NOT_FOUND, 404201, format!("Registration '{id}' was not found.")))
}

/// Service API (DeviceRegistrationState_Query): the registration states of the devices that
/// registered through enrollment group `group`, in registration-ID order, paged by
/// `x-ms-max-item-count` and an `x-ms-continuation` token (the last registration ID of the page),
/// so a large group is walked once rather than copied per page.
pub async fn registration_states_of_group(State(ctx): State<DpsCtx>, Path(group): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Response, DpsError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use std::ops::Bound;
    ctx.authorize_service(&headers, &q, "RegistrationStatusRead")?;
    let group = group.to_ascii_lowercase();
    if !ctx.dps.enrollment_groups.lock().unwrap().contains_key(&group) {
        return Err(DpsError::new(StatusCode::NOT_FOUND, 404202, format!("Enrollment group '{group}' was not found.")));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let size = header("x-ms-max-item-count").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100).min(1000);
    let after = match header("x-ms-continuation") {
        None => None,
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| DpsError::new(StatusCode::BAD_REQUEST, 400004, "The continuation token is not one this DPS issued."))?,
        ),
    };
    let registrations = ctx.dps.registrations.lock().unwrap();
    let start = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut members = registrations.range::<str, _>((start, Bound::Unbounded)).filter(|(_, r)| r.enrollment_group.as_deref() == Some(group.as_str()));
    let page: Vec<(&String, Value)> = members.by_ref().take(size).map(|(id, r)| (id, r.to_json())).collect();
    let next = match (page.last(), members.next()) {
        (Some((last, _)), Some(_)) => Some(URL_SAFE_NO_PAD.encode(last.as_str())),
        _ => None,
    };
    let items: Vec<Value> = page.into_iter().map(|(_, state)| state).collect();
    drop(registrations);
    let mut response = Json(Value::Array(items)).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ms-item-type", HeaderValue::from_static("deviceRegistration"));
    headers.insert("x-ms-max-item-count", HeaderValue::from(size));
    if let Some(token) = next {
        headers.insert("x-ms-continuation", HeaderValue::from_str(&token).expect("base64 is a valid header value"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dps::registration::{Outcome, RegistrationRecord};
    use crate::dps::state::Dps;
    use crate::testing;

    fn record(id: &str, group: Option<&str>) -> RegistrationRecord {
        let now = chrono::Utc::now();
        RegistrationRecord {
            registration_id: id.into(),
            operation_id: "op".into(),
            created: now,
            updated: now,
            etag: "e".into(),
            outcome: Outcome::Assigned { hub: "hub".into(), device_id: id.into(), reprovisioned: false },
            payload: None,
            enrollment_group: group.map(str::to_string),
        }
    }

    async fn query(ctx: &DpsCtx, group: &str, page: usize, continuation: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut headers = testing::sas(&ctx.dps.host, &ctx.dps.policies[0], ctx.cloud.now());
        headers.insert("x-ms-max-item-count", page.into());
        if let Some(c) = continuation {
            headers.insert("x-ms-continuation", c.parse().unwrap());
        }
        let q = HashMap::from([("api-version".to_string(), "2021-10-01".to_string())]);
        let response = match registration_states_of_group(State(ctx.clone()), Path(group.to_string()), Query(q), headers).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_groups_registration_states_page_and_others_stay_out() {
        let (_dir, cloud) = testing::cloud();
        let dps = Arc::new(Dps::new(testing::placement(), "d", "localhost:2".into(), vec![], "Hashed"));
        dps.enrollment_groups.lock().unwrap().insert("fleet".into(), json!({"enrollmentGroupId": "Fleet"}));
        dps.enrollment_groups.lock().unwrap().insert("empty".into(), json!({"enrollmentGroupId": "empty"}));
        {
            let mut registrations = dps.registrations.lock().unwrap();
            for i in 0..5 {
                registrations.insert(format!("dev-{i}"), record(&format!("dev-{i}"), Some("fleet")));
            }
            registrations.insert("dev-2b".into(), record("dev-2b", None));
            registrations.insert("dev-3b".into(), record("dev-3b", Some("other")));
        }
        let ctx = DpsCtx { cloud, dps };
        let (status, headers, body) = query(&ctx, "FLEET", 3, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((&headers["x-ms-item-type"], &headers["x-ms-max-item-count"]), (&HeaderValue::from_static("deviceRegistration"), &HeaderValue::from(3)));
        let ids = |b: &Value| b.as_array().unwrap().iter().map(|s| s["registrationId"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&body), ["dev-0", "dev-1", "dev-2"]);
        assert_eq!(body[0]["status"], "assigned");
        let (_, last, body) = query(&ctx, "fleet", 3, Some(headers["x-ms-continuation"].to_str().unwrap())).await;
        assert_eq!((ids(&body), last.get("x-ms-continuation")), (vec!["dev-3".to_string(), "dev-4".to_string()], None));
        assert_eq!(query(&ctx, "empty", 3, None).await.2, json!([]));
        let (status, _, body) = query(&ctx, "nope", 3, None).await;
        assert_eq!((status, &body["errorCode"]), (StatusCode::NOT_FOUND, &json!(404202)));
    }
}
