//! ARM calling itself, as Azure Resource Manager calls its resource providers: a deployment's
//! resource is PUT through the very route a client's PUT takes (api-version, RBAC under the
//! deploying caller's own token, the provider's validation, its long-running operation), so a
//! deployed IoT hub is the same hub a direct PUT would have made.

use crate::cloud::Cloud;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A provider's answer: status, headers, JSON body (Null when it had none).
pub type Reply = (StatusCode, HeaderMap, Value);

/// One request through ARM's router. Boxed, because the router itself starts deployments that
/// make such calls.
pub fn call(cloud: Arc<Cloud>, auth: String, method: Method, path_and_query: String, body: Option<Value>) -> Pin<Box<dyn Future<Output = Reply> + Send>> {
    Box::pin(async move {
        let Ok(uri) = path_and_query.parse::<Uri>() else {
            return (StatusCode::BAD_REQUEST, HeaderMap::new(), error_body("InvalidResourceId", &format!("'{path_and_query}' is not a resource path.")));
        };
        let query: HashMap<String, String> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&auth) {
            headers.insert(header::AUTHORIZATION, v);
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let response = super::handle(State(cloud), method, uri, headers, Query(query), axum::body::Bytes::from(bytes)).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap_or_default();
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

pub fn error_body(code: &str, message: &str) -> Value {
    serde_json::json!({"error": {"code": code, "message": message}})
}

/// The path and query of a URL the sandbox gave out (`https://localhost:…/subscriptions/…`).
fn local_path(cloud: &Cloud, url: &str) -> String {
    let base = cloud.base_url();
    url.strip_prefix(&base).unwrap_or(url).to_string()
}

/// A failed provider call: its HTTP status and ARM's `error` object.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub error: Value,
}

impl Failure {
    fn from(status: StatusCode, body: &Value) -> Failure {
        let error = match body.get("error") {
            Some(e) if e.is_object() => e.clone(),
            _ => {
                serde_json::json!({"code": status.canonical_reason().unwrap_or("Error").replace(' ', ""), "message": format!("The resource provider answered {status}.")})
            }
        };
        Failure { status, error }
    }
}

/// PUTs a resource and waits for its long-running operation (Azure-AsyncOperation or Location),
/// then reads it back: the resource as its GET shows it.
pub async fn put_and_wait(cloud: &Arc<Cloud>, auth: &str, id: &str, api_version: &str, body: Value) -> Result<Value, Failure> {
    let url = format!("{id}?api-version={api_version}");
    let (status, headers, reply) = call(cloud.clone(), auth.into(), Method::PUT, url.clone(), Some(body)).await;
    if !status.is_success() {
        return Err(Failure::from(status, &reply));
    }
    if let Some(poll) = headers.get("azure-asyncoperation").and_then(|v| v.to_str().ok()) {
        let poll = local_path(cloud, poll);
        loop {
            let (s, _, status_body) = call(cloud.clone(), auth.into(), Method::GET, poll.clone(), None).await;
            if !s.is_success() {
                return Err(Failure::from(s, &status_body));
            }
            match status_body["status"].as_str().unwrap_or_default() {
                "Succeeded" => break,
                "Failed" | "Canceled" => return Err(Failure::from(StatusCode::BAD_REQUEST, &status_body)),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    } else if status == StatusCode::ACCEPTED {
        if let Some(location) = headers.get("location").and_then(|v| v.to_str().ok()) {
            let location = local_path(cloud, location);
            loop {
                let (s, _, b) = call(cloud.clone(), auth.into(), Method::GET, location.clone(), None).await;
                match s {
                    StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(200)).await,
                    s if s.is_success() => break,
                    s => return Err(Failure::from(s, &b)),
                }
            }
        }
    }
    let (s, _, now) = call(cloud.clone(), auth.into(), Method::GET, url, None).await;
    Ok(if s.is_success() { now } else { reply })
}

/// GET (or POST, for `list*` actions) through ARM's router.
pub async fn read(cloud: &Arc<Cloud>, auth: &str, method: Method, path_and_query: &str) -> Result<Value, Failure> {
    let (status, _, body) = call(cloud.clone(), auth.into(), method, path_and_query.into(), None).await;
    if status.is_success() {
        Ok(body)
    } else {
        Err(Failure::from(status, &body))
    }
}
