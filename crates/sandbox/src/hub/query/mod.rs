//! `POST /devices/query` (Query_GetTwins): device twins, module twins (`FROM devices.modules`) or
//! per-device job details (`FROM devices.jobs`) selected by the hub's query language, grouped and
//! aggregated when the SELECT list asks, paged by `x-ms-max-item-count` (default 100, at most 1000)
//! and an opaque `x-ms-continuation` token. A page walks the registry in device-ID (then module-ID)
//! order from where the last one stopped, so paging through a hub of 100 000 devices renders each
//! twin once, not per page. `x-ms-item-type` says what the items are: `twin`, `raw` (projections
//! and aggregates) or `deviceJob`.

mod aggregate;
mod ast;
mod eval;
mod lex;
mod operand;
mod parse;
mod parser;

// Configurations select their devices with the same language; routes test their conditions.
pub use ast::Dialect;
pub use eval::{evaluate, selects};
pub use parse::{parse, parse_condition, Condition, Source};

use super::{HubCtx, HubError};
use axum::extract::{Query as QueryParams, State};
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

/// Where a page resumes: how many items earlier pages returned (for TOP) and the key of the last
/// one (a device ID, `device/module` for module twins, `#<offset>` for aggregate rows).
struct Resume {
    returned: usize,
    after: Option<String>,
}

fn resume(token: Option<&str>) -> Result<Resume, HubError> {
    let Some(token) = token else { return Ok(Resume { returned: 0, after: None }) };
    let text = URL_SAFE_NO_PAD.decode(token).ok().and_then(|b| String::from_utf8(b).ok());
    let text = text.ok_or_else(|| bad_request("The continuation token is not one this hub issued."))?;
    // A token of an earlier sandbox (a journal kept across an upgrade) is the bare device ID.
    Ok(match text.split_once(':').and_then(|(n, key)| Some((n.parse::<usize>().ok()?, key))) {
        Some((returned, key)) => Resume { returned, after: Some(key.to_string()) },
        None => Resume { returned: 0, after: Some(text) },
    })
}

fn token(returned: usize, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{returned}:{key}"))
}

/// One page of `items` (already past the resume point) with the key each resumes after.
fn page(items: impl Iterator<Item = (String, Value)>, size: usize, resume: &Resume, top: Option<usize>) -> (Vec<Value>, Option<String>) {
    let left = top.map_or(usize::MAX, |t| t.saturating_sub(resume.returned));
    let size = size.min(left);
    let mut items = items.peekable();
    let mut out = Vec::with_capacity(size.min(MAX_PAGE));
    let mut last = None;
    while out.len() < size {
        let Some((key, item)) = items.next() else { break };
        out.push(item);
        last = Some(key);
    }
    // One more item, and TOP not reached, means another page.
    let more = out.len() < left && items.peek().is_some();
    let next = last.filter(|_| more).map(|key| token(resume.returned + out.len(), &key));
    (out, next)
}

pub async fn twins(
    State(ctx): State<HubCtx>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let body: Value = serde_json::from_str(&body).map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))?;
    let text =
        body.get("query").and_then(Value::as_str).filter(|t| !t.trim().is_empty()).ok_or_else(|| bad_request("The body must be {\"query\": \"<query>\"}."))?;
    let query = parse::parse(text).map_err(|e| bad_request(format!("{e} (in: {text})")))?;
    let size = header(&headers, "x-ms-max-item-count").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
    let resume = resume(header(&headers, "x-ms-continuation"))?;
    let after = resume.after.clone();

    let devices = ctx.hub.devices.lock().unwrap();
    let condition = query.condition.as_ref();
    let (items, next, kind) = if query.aggregates() || !query.group_by.is_empty() {
        // Aggregates need every selected twin; the rows page by their place in the answer.
        let rows = aggregate::rows(&query, devices.values().map(|d| d.twin_json()).filter(|t| eval::selects(condition, t)));
        let skip = after.as_deref().and_then(|a| a.strip_prefix('#')).and_then(|n| n.parse::<usize>().ok()).map_or(0, |n| n + 1);
        let (items, next) = page(rows.into_iter().enumerate().skip(skip).map(|(i, r)| (format!("#{i}"), r)), size, &resume, query.top);
        (items, next, "raw")
    } else {
        let start = after.as_deref().map(|a| a.split('/').next().unwrap_or(a)).map_or(Bound::Unbounded, Bound::Included);
        let after = after.clone();
        let from_devices = devices.range::<str, _>((start, Bound::Unbounded));
        let fields = query.fields.as_deref();
        let (items, next) = match query.source {
            Source::Devices => page(
                from_devices
                    .filter(|(id, _)| after.as_deref() != Some(id.as_str()))
                    .map(|(id, d)| (id.clone(), d.twin_json()))
                    .filter(|(_, t)| eval::selects(condition, t))
                    .map(|(id, t)| (id, eval::project(fields, t))),
                size,
                &resume,
                query.top,
            ),
            Source::Modules => page(
                from_devices
                    .flat_map(|(id, d)| d.modules.iter().flat_map(|m| m.iter()).map(move |(mid, m)| (id, mid, m)))
                    // After the last (device, module) pair, compared as a pair: the registry's order.
                    .filter(|(id, mid, _)| after.as_deref().and_then(|a| a.split_once('/')).is_none_or(|last| (id.as_str(), mid.as_str()) > last))
                    .map(|(id, mid, m)| (format!("{id}/{mid}"), m.twin_json()))
                    .filter(|(_, t)| eval::selects(condition, t))
                    .map(|(key, t)| (key, eval::project(fields, t))),
                size,
                &resume,
                query.top,
            ),
            // Per-device details of scheduled twin-update and direct-method jobs: the sandbox
            // runs no such jobs (only import/export jobs, which are not per-device), so none.
            Source::Jobs => (vec![], None),
        };
        let kind = match (query.source, fields) {
            (Source::Jobs, _) => "deviceJob",
            (_, Some(_)) => "raw",
            (_, None) => "twin",
        };
        (items, next, kind)
    };
    drop(devices);

    let mut response = Json(Value::Array(items)).into_response();
    response.headers_mut().insert("x-ms-item-type", HeaderValue::from_static(kind));
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
        let response = match twins(State(ctx.clone()), QueryParams(q), headers, serde_json::json!({"query": query}).to_string()).await {
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
        // A token an earlier sandbox wrote (the bare device ID) still resumes after that device.
        let (_, _, body) = post(&ctx, "SELECT * FROM devices", None, Some(&URL_SAFE_NO_PAD.encode("dev-00000"))).await;
        assert_eq!(body, serde_json::json!([]));
    }
    #[tokio::test]
    async fn count_group_by_modules_jobs_and_top() {
        let (_dir, cloud) = testing::cloud();
        let ctx = hub_with(&cloud, 12);
        {
            let mut devices = ctx.hub.devices.lock().unwrap();
            for (device, module) in [("dev-00001", "edgeHub"), ("dev-00001", "agent"), ("dev-00003", "agent")] {
                let m = crate::hub::module_identity::ModuleIdentity::from_request(device, module, &serde_json::json!({}), None).unwrap();
                devices.get_mut(device).unwrap().modules.get_or_insert_with(Default::default).insert(module.into(), m);
            }
        }
        let (status, headers, body) = post(&ctx, "SELECT COUNT() AS n FROM devices", None, None).await;
        assert_eq!((status, &headers["x-ms-item-type"], body), (StatusCode::OK, &HeaderValue::from_static("raw"), serde_json::json!([{"n": 12}])));
        let (_, _, body) = post(&ctx, "SELECT status, COUNT() AS n FROM devices GROUP BY status", None, None).await;
        assert_eq!(body, serde_json::json!([{"status": "disabled", "n": 4}, {"status": "enabled", "n": 8}]));
        let (_, _, body) = post(&ctx, "SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'dev-0001') AND IS_STRING(deviceId)", None, None).await;
        assert_eq!(body, serde_json::json!([{"n": 2}]));

        // Module twins page in (device, module) order.
        let (_, headers, body) = post(&ctx, "SELECT * FROM devices.modules", Some(2), None).await;
        let ids: Vec<_> = body.as_array().unwrap().iter().map(|t| format!("{}/{}", t["deviceId"].as_str().unwrap(), t["moduleId"].as_str().unwrap())).collect();
        assert_eq!((ids, &headers["x-ms-item-type"]), (vec!["dev-00001/agent".to_string(), "dev-00001/edgeHub".into()], &HeaderValue::from_static("twin")));
        let (_, last, body) = post(&ctx, "SELECT * FROM devices.modules", Some(2), headers.get("x-ms-continuation").map(|v| v.to_str().unwrap())).await;
        assert_eq!((body.as_array().unwrap().len(), body[0]["deviceId"].as_str()), (1, Some("dev-00003")));
        assert!(last.get("x-ms-continuation").is_none());
        let (_, _, body) = post(&ctx, "SELECT * FROM devices.modules WHERE devices.modules.moduleId = 'agent' AND deviceId = 'dev-00003'", None, None).await;
        assert_eq!(body.as_array().unwrap().len(), 1);

        let (status, headers, body) = post(&ctx, "SELECT * FROM devices.jobs WHERE devices.jobs.deviceId = 'dev-00001'", None, None).await;
        assert_eq!((status, &headers["x-ms-item-type"], body), (StatusCode::OK, &HeaderValue::from_static("deviceJob"), serde_json::json!([])));

        // TOP caps the whole answer, across pages.
        let (_, headers, body) = post(&ctx, "SELECT TOP 5 * FROM devices", Some(3), None).await;
        assert_eq!(body.as_array().unwrap().len(), 3);
        let (_, last, body) = post(&ctx, "SELECT TOP 5 * FROM devices", Some(3), headers.get("x-ms-continuation").map(|v| v.to_str().unwrap())).await;
        assert_eq!((body.as_array().unwrap().len(), last.get("x-ms-continuation")), (2, None));
    }

    #[tokio::test]
    async fn what_the_hub_refuses_is_a_400_with_its_reason() {
        let (_dir, cloud) = testing::cloud();
        let ctx = hub_with(&cloud, 1);
        for (query, says) in [
            ("SELECT deviceId FROM devices.jobs", "SELECT * only"),
            ("SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'x')", "not a function"),
            ("SELECT deviceId, COUNT() FROM devices", "neither in the GROUP BY"),
        ] {
            let (status, headers, body) = post(&ctx, query, None, None).await;
            assert_eq!((status, &headers["iothub-errorcode"]), (StatusCode::BAD_REQUEST, &HeaderValue::from_static("ArgumentInvalid")), "{query}");
            assert!(body["Message"].as_str().unwrap().contains(says), "{query}: {body}");
        }
    }
}
