//! Where a list's next links may lead, and that a list ends. Every host of the sandbox cloud is
//! allowed (as every Central app and hub of a real cloud is), so these two servers on two ports
//! stand for two Central apps: a link from one to the other would carry the first one's
//! credential to the second, and is refused before any call — also when it comes back from a saved
//! place in the journal.

mod common;

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use common::{https_server, pipeline_to, TestCloud};
use iotm_azure::pager::{Continuation, PageToken, Pager};
use iotm_azure::{CentralApiToken, Request, Secret, Service};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A server that counts the calls it gets and answers each with one item and no next link.
async fn other_app(cloud: &TestCloud) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let router = Router::new().route(
        "/api/devices",
        get(move || async move {
            seen.fetch_add(1, Ordering::SeqCst);
            Json(serde_json::json!({"value": [99]}))
        }),
    );
    (https_server(cloud.state.path(), router).await, calls)
}

fn credential() -> Arc<CentralApiToken> {
    Arc::new(CentralApiToken::new(Secret::new("SharedAccessSignature sr=first-app".into())))
}

fn first_request(base: &str) -> Request {
    Request::get(Service::Central, "Devices_List", format!("{base}/api/devices").parse().unwrap())
}

#[tokio::test]
async fn a_next_link_to_another_host_of_the_cloud_is_refused_and_never_called() {
    let cloud = TestCloud::start().await;
    let (elsewhere, calls) = other_app(&cloud).await;
    let link = format!("{elsewhere}/api/devices");
    let router = Router::new().route("/api/devices", get(move || async move { Json(serde_json::json!({"value": [1, 2], "nextLink": link})) }));
    let base = https_server(cloud.state.path(), router).await;
    let mut pager: Pager<u32> = Pager::new(pipeline_to(&cloud.sandbox, &base), credential(), first_request(&base), Continuation::NextLink, "devices");
    assert_eq!(pager.next_page().await.unwrap().unwrap(), [1, 2]);
    let refused = pager.next_page().await.unwrap().unwrap_err();
    assert_eq!(refused.code(), "azure.link_to_another_host", "{refused}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the other host was never called with the first one's credential");
}

#[tokio::test]
async fn a_saved_next_link_to_another_host_than_the_lists_own_is_refused_when_resumed() {
    let cloud = TestCloud::start().await;
    let (elsewhere, calls) = other_app(&cloud).await;
    let base = https_server(cloud.state.path(), Router::new()).await;
    let token = PageToken::NextLink(format!("{elsewhere}/api/devices?$skiptoken=100"));
    let mut pager =
        Pager::<u32>::resume(pipeline_to(&cloud.sandbox, &base), credential(), first_request(&base), Continuation::NextLink, "devices", &token).unwrap();
    let refused = pager.next_page().await.unwrap().unwrap_err();
    assert_eq!(refused.code(), "azure.link_to_another_host", "{refused}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_list_whose_next_links_never_end_stops_at_the_page_cap() {
    let cloud = TestCloud::start().await;
    let page = |Query(q): Query<HashMap<String, String>>| async move {
        let n: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        Json(serde_json::json!({"value": [n], "nextLink": format!("devices?page={}", n + 1)}))
    };
    let base = https_server(cloud.state.path(), Router::new().route("/api/devices", get(page))).await;
    let pager: Pager<u32> =
        Pager::new(pipeline_to(&cloud.sandbox, &base), credential(), first_request(&base), Continuation::NextLink, "devices").with_max_pages(5);
    let endless = tokio::time::timeout(std::time::Duration::from_secs(20), pager.all()).await.expect("the list stops").unwrap_err();
    assert_eq!(endless.code(), "azure.decode");
    assert!(endless.to_string().contains("within 5 pages"), "{endless}");
    assert_eq!(iotm_azure::pager::MAX_PAGES, 100_000, "the default cap is far above any fleet");
}
