//! The host allow-list: a request outside the chosen cloud fails before any network I/O, a nextLink
//! pointing outside it is refused, and a redirect to another host is not followed.

mod common;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use common::{https_server, pipeline_to, TestCloud};
use iotm_azure::arm::ArmClient;
use iotm_azure::auth::{BoxFuture, Credential};
use iotm_azure::{AzureError, CentralApiToken, Cloud, Pipeline, PipelineOptions, Request, Secret, Service};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A credential that counts how often it was asked.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Credential for Counting {
    fn authorization<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Secret::from("Bearer not-a-real-token")) })
    }
}

/// A loopback TCP listener that records every connection made to it.
async fn tripwire() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

/// Answers the sandbox never gives: a foreign nextLink, redirects of every kind.
async fn odd_server(state: &std::path::Path, other_host: String) -> String {
    let own = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let downgrade = own.clone();
    let router = Router::new()
        .route("/subscriptions", get(|| async { Json(json!({"value": [{"id": "/subscriptions/s1", "subscriptionId": "s1", "displayName": "First page"}], "nextLink": "https://example.com/subscriptions?page=2"})) }))
        .route("/elsewhere", get(move || async move { (StatusCode::FOUND, [(header::LOCATION, format!("{other_host}/stolen"))]).into_response() }))
        .route("/downgrade", get(move || async move { (StatusCode::FOUND, [(header::LOCATION, downgrade.get().unwrap().replace("https://", "http://") + "/final")]).into_response() }))
        .route("/moved", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/final")]).into_response() }))
        .route("/loop", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response() }))
        .route("/final", get(|| async { Json(json!({"arrived": true})) }));
    let base = https_server(state, router).await;
    own.set(base.clone()).unwrap();
    base
}

fn url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap()
}

#[tokio::test]
async fn a_host_outside_the_cloud_is_refused_before_any_connection_or_token() {
    let (port, hits) = tripwire().await;
    let public = Pipeline::new(Cloud::AzureCloud, PipelineOptions::default()).unwrap();
    let credential = Counting::default();
    for (target, code) in [
        (format!("http://localhost:{port}/"), "azure.not_https"),
        (format!("http://127.0.0.1:{port}/devices"), "azure.not_https"),
        (format!("https://127.0.0.1:{port}/devices"), "azure.host_not_allowed"),
        (format!("https://localhost:{port}/"), "azure.host_not_allowed"),
    ] {
        let error = public.send(&Request::get(Service::Hub, "Devices_GetIdentity", url(&target)), Some(&credential)).await.unwrap_err();
        assert_eq!(error.code(), code, "{target}");
    }

    // The sandbox profile refuses a public host the same way: no token asked, nothing sent.
    let cloud = TestCloud::start().await;
    cloud.sandbox.cloud.faults().reset_counters();
    let error = cloud.pipeline.send(&Request::get(Service::Arm, "Subscriptions_List", url("https://example.com/")), Some(&credential)).await.unwrap_err();
    assert_eq!(error.code(), "azure.host_not_allowed");
    assert!(error.to_string().contains("example.com"), "{error}");
    let error = cloud
        .pipeline
        .send(&Request::get(Service::Arm, "Subscriptions_List", url("https://management.azure.com/subscriptions")), Some(&credential))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "azure.host_not_allowed");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the listener saw a connection");
    assert_eq!(credential.0.load(Ordering::SeqCst), 0, "a token was asked for a refused host");
    assert!(cloud.counters().is_empty(), "the sandbox saw calls: {:?}", cloud.counters());
}

#[tokio::test]
async fn a_next_link_outside_the_allow_list_is_refused_after_its_page_is_delivered() {
    let cloud = TestCloud::start().await;
    let base = odd_server(cloud.state.path(), "https://127.0.0.1:9".into()).await;
    let arm = ArmClient::new(pipeline_to(&cloud.sandbox, &base), Arc::new(CentralApiToken::new(Secret::from("unused"))));
    let mut pager = arm.subscriptions().unwrap();
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first[0].display_name, "First page");
    let refused = pager.next_page().await.unwrap().unwrap_err();
    assert_eq!(refused.code(), "azure.host_not_allowed");
    assert!(pager.next_page().await.is_none(), "the list ends there");
    assert_eq!(arm.subscriptions().unwrap().all().await.unwrap_err().code(), "azure.host_not_allowed");
}

#[tokio::test]
async fn a_redirect_is_followed_on_the_same_host_only() {
    let cloud = TestCloud::start().await;
    let (port, hits) = tripwire().await;
    // 127.0.0.1 is allowed in the sandbox, but it is another host than localhost.
    let base = odd_server(cloud.state.path(), format!("https://127.0.0.1:{port}")).await;
    let pipeline = pipeline_to(&cloud.sandbox, &base);
    let get = |path: &str| Request::get(Service::Arm, "Test_Redirect", url(&format!("{base}{path}")));

    let moved = pipeline.send(&get("/moved"), None).await.unwrap();
    assert_eq!(moved.json::<serde_json::Value>("a JSON object").unwrap()["arrived"], true);
    for path in ["/elsewhere", "/downgrade", "/loop"] {
        let error = pipeline.send(&get(path), None).await.unwrap_err();
        assert_eq!(error.code(), "azure.redirect_refused", "{path}: {error}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the other host was contacted");
}
