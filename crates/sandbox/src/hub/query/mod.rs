//! `POST /devices/query` (Query_GetTwins): device twins selected by the hub's query language, paged
//! by `x-ms-max-item-count` (default 100, at most 1000) and an opaque `x-ms-continuation` token.
//! A page walks the registry in device-ID order from where the last one stopped (the token is that
//! device ID), so paging through a hub of 100 000 devices renders each twin once, not per page.

mod eval;
mod parse;

// Configurations select their devices with the same language.
pub use eval::selects;
pub use parse::{parse, Condition};

use super::{HubCtx, HubError};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Bound;

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn bad_request(text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", text)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The device ID a continuation token resumes after.
fn resume_after(token: Option<&str>) -> Result<Option<String>, HubError> {
    token
        .map(|t| {
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad_request("The continuation token is not one this hub issued."))
        })
        .transpose()
}

pub async fn twins(State(ctx): State<HubCtx>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: String) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let body: Value = serde_json::from_str(&body).map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))?;
    let text =
        body.get("query").and_then(Value::as_str).filter(|t| !t.trim().is_empty()).ok_or_else(|| bad_request("The body must be {\"query\": \"<query>\"}."))?;
    let query = parse::parse(text).map_err(|e| bad_request(format!("{e} (in: {text})")))?;
    let size = header(&headers, "x-ms-max-item-count").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
    let after = resume_after(header(&headers, "x-ms-continuation"))?;

    let devices = ctx.hub.devices.lock().unwrap();
    let start = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut selected =
        devices.range::<str, _>((start, Bound::Unbounded)).map(|(_, d)| d.twin_json()).filter(|twin| eval::selects(query.condition.as_ref(), twin));
    let page: Vec<Value> = selected.by_ref().take(size).collect();
    // One more match means another page; the token is the last device ID of this one.
    let next = match (page.last(), selected.next()) {
        (Some(last), Some(_)) => last["deviceId"].as_str().map(|id| URL_SAFE_NO_PAD.encode(id)),
        _ => None,
    };
    drop(devices);

    let items: Vec<Value> = page.into_iter().map(|twin| eval::project(query.fields.as_deref(), twin)).collect();
    let mut response = Json(Value::Array(items)).into_response();
    response.headers_mut().insert("x-ms-item-type", HeaderValue::from_static("twin"));
    if let Some(token) = next {
        response.headers_mut().insert("x-ms-continuation", HeaderValue::from_str(&token).expect("base64 is a valid header value"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::identity::DeviceIdentity;
    use crate::hub::state::Hub;
    use crate::testing;
    use std::sync::Arc;

    async fn post(ctx: &HubCtx, query: &str, page: Option<usize>, continuation: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut headers = testing::sas(&ctx.hub.host, &ctx.hub.policies()[3], ctx.cloud.now());
        if let Some(n) = page {
            headers.insert("x-ms-max-item-count", n.into());
        }
        if let Some(c) = continuation {
            headers.insert("x-ms-continuation", c.parse().unwrap());
        }
        let q = HashMap::from([("api-version".to_string(), "2021-04-12".to_string())]);
        let response = match twins(State(ctx.clone()), Query(q), headers, serde_json::json!({"query": query}).to_string()).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    fn hub_with(cloud: &Arc<crate::cloud::Cloud>, n: usize) -> HubCtx {
        let hub = Arc::new(Hub::new(testing::placement(), "h", "S1", 1, "localhost:1".into()));
        {
            let mut devices = hub.devices.lock().unwrap();
            for i in 0..n {
                let id = format!("dev-{i:05}");
                let mut device = DeviceIdentity::new_sas(&id, String::new(), String::new());
                device.enabled = i % 3 != 0;
                device.connected = i % 2 == 0;
                devices.insert(id, device);
            }
        }
        HubCtx { cloud: cloud.clone(), hub }
    }

    #[tokio::test]
    async fn pages_follow_the_continuation_in_device_id_order_without_repeats() {
        let (_dir, cloud) = testing::cloud();
        let ctx = hub_with(&cloud, 2500);
        let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let (status, headers, body) = post(&ctx, "SELECT * FROM devices", Some(1000), token.as_deref()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers["x-ms-item-type"], "twin");
            seen.extend(body.as_array().unwrap().iter().map(|t| t["deviceId"].as_str().unwrap().to_string()));
            pages += 1;
            token = headers.get("x-ms-continuation").map(|v| v.to_str().unwrap().to_string());
            if token.is_none() {
                break;
            }
        }
        assert_eq!((pages, seen.len()), (3, 2500));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "in device-ID order, each once");
        // No header: 100 a page; more than 1000 asked: 1000.
        assert_eq!(post(&ctx, "SELECT * FROM devices", None, None).await.2.as_array().unwrap().len(), 100);
        assert_eq!(post(&ctx, "SELECT * FROM devices", Some(5000), None).await.2.as_array().unwrap().len(), 1000);
    }

    #[tokio::test]
    async fn where_and_projection_select_and_shape_the_twins() {
        let (_dir, cloud) = testing::cloud();
        let ctx = hub_with(&cloud, 12);
        let (_, headers, body) = post(
            &ctx,
            "SELECT deviceId, connectionState FROM devices WHERE status = 'enabled' AND connectionState IN ['Connected'] AND deviceId NOT IN ['dev-00004']",
            Some(2),
            None,
        )
        .await;
        assert_eq!(
            body,
            serde_json::json!([{"deviceId": "dev-00002", "connectionState": "Connected"}, {"deviceId": "dev-00008", "connectionState": "Connected"}])
        );
        let (_, last, body) = post(
            &ctx,
            "SELECT deviceId, connectionState FROM devices WHERE status = 'enabled' AND connectionState IN ['Connected'] AND deviceId NOT IN ['dev-00004']",
            Some(2),
            headers.get("x-ms-continuation").map(|v| v.to_str().unwrap()),
        )
        .await;
        assert_eq!(body, serde_json::json!([{"deviceId": "dev-00010", "connectionState": "Connected"}]));
        assert!(last.get("x-ms-continuation").is_none(), "the last page has no continuation");
        let (_, headers, body) = post(&ctx, "select * from devices where tags.site = 'x'", None, None).await;
        assert_eq!((body, headers.get("x-ms-continuation")), (serde_json::json!([]), None));
    }

    #[tokio::test]
    async fn a_query_it_cannot_read_is_a_400_naming_the_token() {
        let (_dir, cloud) = testing::cloud();
        let ctx = hub_with(&cloud, 1);
        let (status, headers, body) = post(&ctx, "SELECT * FROM devices WHERE status === 'x'", None, None).await;
        assert_eq!((status, &headers["iothub-errorcode"]), (StatusCode::BAD_REQUEST, &HeaderValue::from_static("ArgumentInvalid")));
        let message = body["Message"].as_str().unwrap();
        assert!(message.starts_with("ErrorCode:ArgumentInvalid;Syntax error at position 37") && message.contains("'='"), "{message}");
        assert_eq!(post(&ctx, "SELECT * FROM devices", None, Some("!!")).await.0, StatusCode::BAD_REQUEST);
    }
}
