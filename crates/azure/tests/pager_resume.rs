//! A long listing stops and starts again: after two pages the pager's place is saved (as JSON, as a
//! journal checkpoint holds it), the pager is dropped, and a new one started from that place reads
//! exactly the items that were left — by Central's `nextLink` and by the hub query's
//! `x-ms-continuation`.

mod common;

use common::{TestCloud, FLEET, GROUP, PRODUCTION};
use iotm_azure::hub::{DeviceIdentity, HubClient};
use iotm_azure::pager::{Continuation, PageToken, Pager};
use iotm_azure::{ConnectionString, Request, SasCredential, Service};
use reqwest::Method;
use std::sync::Arc;

/// The token as a journal would keep it: written to JSON text and read back.
fn through_the_journal(token: PageToken) -> PageToken {
    let saved = serde_json::to_string(&token).unwrap();
    serde_json::from_str(&saved).unwrap()
}

#[tokio::test]
async fn a_central_device_list_resumed_after_two_pages_reads_exactly_the_rest() {
    let cloud = TestCloud::start().await;
    let central = cloud.central(FLEET);
    let everything: Vec<String> = central.devices().unwrap().all().await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(everything.len(), 252);

    let mut pager = central.devices().unwrap();
    assert_eq!(pager.continuation().unwrap(), None, "nothing to resume before the first page");
    let mut read = Vec::new();
    for _ in 0..2 {
        read.extend(pager.next_page().await.unwrap().unwrap().into_iter().map(|d| d.id));
    }
    let token = pager.continuation().unwrap().expect("a third page is left");
    assert!(matches!(&token, PageToken::NextLink(link) if link.contains("skiptoken")), "{token:?}");
    drop(pager);

    let token = through_the_journal(token);
    let mut resumed = central.devices().unwrap().resumed_from(&token).unwrap();
    assert_eq!(resumed.continuation().unwrap(), Some(token.clone()), "a resumed pager keeps its place until it reads on");
    let mut rest = Vec::new();
    while let Some(page) = resumed.next_page().await {
        rest.extend(page.unwrap().into_iter().map(|d| d.id));
    }
    assert_eq!(resumed.continuation().unwrap(), None, "nothing is left after the last page");
    assert_eq!(rest.len(), 52, "252 devices at 100 a page: 52 on the third");
    read.extend(rest);
    assert_eq!(read, everything, "every device once, in order");
}

#[tokio::test]
async fn a_hub_query_resumed_from_its_continuation_header_reads_exactly_the_rest() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let owner = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-weu", "iothubowner").await.unwrap();
    let host = arm.iot_hub(PRODUCTION, GROUP, "contoso-hub-weu").await.unwrap().properties.host_name.unwrap();
    let connection = ConnectionString::for_policy(&host, &owner.key_name, owner.primary_key.as_ref().unwrap());
    let hub = HubClient::from_connection_string(cloud.pipeline.clone(), connection.clone());
    for n in 1..=7 {
        hub.create_or_update_device(&DeviceIdentity::with_generated_keys(&format!("resume-{n}")), None).await.unwrap();
    }
    let ids: Vec<String> = (1..=7).map(|n| format!("'resume-{n}'")).collect();
    let sql = &format!("SELECT * FROM devices WHERE deviceId IN [{}]", ids.join(", "));
    let id = |twin: serde_json::Value| twin["deviceId"].as_str().unwrap().to_string();
    let everything: Vec<String> = hub.query(sql, 3).unwrap().all().await.unwrap().into_iter().map(id).collect();
    assert_eq!(everything.len(), 7);

    let mut pager = hub.query(sql, 3).unwrap();
    let mut read: Vec<String> = Vec::new();
    for _ in 0..2 {
        read.extend(pager.next_page().await.unwrap().unwrap().into_iter().map(id));
    }
    let token = pager.continuation().unwrap().expect("a third page is left");
    assert!(matches!(token, PageToken::Continuation(_)), "{token:?}");
    drop(pager);

    // Started afresh from the query request itself, as a wizard rebuilds it after a restart.
    let mut first = Request::new(Service::Hub, "Query_GetTwins", Method::POST, format!("https://{host}/devices/query?api-version=2021-04-12").parse().unwrap())
        .json(&serde_json::json!({ "query": sql }))
        .unwrap()
        .header("x-ms-max-item-count", "3")
        .unwrap()
        .retry_safe(true);
    first = first.partition(iotm_azure::rate_limit::hub_query_partition(&host));
    let credential = Arc::new(SasCredential::new(connection));
    let token = through_the_journal(token);
    let resumed: Pager<serde_json::Value> = Pager::resume(cloud.pipeline.clone(), credential, first, Continuation::Header, "device twins", &token).unwrap();
    assert_eq!(resumed.continuation().unwrap(), Some(token), "a resumed pager keeps its place until it reads on");
    let rest: Vec<String> = resumed.all().await.unwrap().into_iter().map(id).collect();
    assert_eq!(rest.len(), 1, "7 devices at 3 a page: 1 on the third");
    read.extend(rest);
    assert_eq!(read, everything, "every device once, in order");
}

#[tokio::test]
async fn a_saved_place_from_a_list_paged_another_way_is_refused() {
    let cloud = TestCloud::start().await;
    let refused = cloud.central(FLEET).devices().unwrap().resumed_from(&PageToken::Continuation("abc".into())).err().expect("refused");
    assert_eq!(refused.code(), "azure.invalid_input");
}

#[tokio::test]
async fn a_resumed_next_link_outside_the_cloud_is_never_called() {
    let cloud = TestCloud::start().await;
    let token = PageToken::NextLink("https://attacker.example/api/devices?$skiptoken=1".into());
    let mut pager = cloud.central(FLEET).devices().unwrap().resumed_from(&token).unwrap();
    let refused = pager.next_page().await.unwrap().unwrap_err();
    assert_eq!(refused.code(), "azure.host_not_allowed");
    assert_eq!(cloud.calls_to("central"), 0);
}

#[tokio::test]
async fn a_next_link_carrying_a_signature_is_followed_but_never_saved() {
    use axum::routing::get;
    use axum::{Json, Router};
    let cloud = TestCloud::start().await;
    let router = Router::new()
        .route("/items", get(|| async { Json(serde_json::json!({"value": [1, 2], "nextLink": "/items2?sv=2024-08-04&sig=c2VjcmV0"})) }))
        .route("/items2", get(|| async { Json(serde_json::json!({"value": [3]})) }));
    let base = common::https_server(cloud.state.path(), router).await;
    let pipeline = common::pipeline_to(&cloud.sandbox, &base);
    let credential = Arc::new(iotm_azure::CentralApiToken::new(iotm_azure::Secret::new("SharedAccessSignature sr=x".into())));
    let first = Request::get(Service::Central, "Items_List", format!("{base}/items").parse().unwrap());
    let mut pager: Pager<u32> = Pager::new(pipeline, credential, first, Continuation::NextLink, "numbers");
    assert_eq!(pager.next_page().await.unwrap().unwrap(), [1, 2]);
    let refused = pager.continuation().unwrap_err();
    assert_eq!(refused.code(), "azure.invalid_input");
    assert!(!refused.to_string().contains("c2VjcmV0"), "{refused}");
    assert_eq!(pager.next_page().await.unwrap().unwrap(), [3], "the list itself still reads on");
}

#[tokio::test]
async fn a_relative_next_link_is_saved_whole_and_resumes_against_its_own_host() {
    use axum::extract::Query;
    use axum::routing::get;
    use axum::{Json, Router};
    use std::collections::HashMap;
    let cloud = TestCloud::start().await;
    let page = |Query(q): Query<HashMap<String, String>>| async move {
        match q.get("page").map(String::as_str) {
            None => Json(serde_json::json!({"value": [1, 2], "nextLink": "items?page=2"})),
            Some(_) => Json(serde_json::json!({"value": [3]})),
        }
    };
    let base = common::https_server(cloud.state.path(), Router::new().route("/api/items", get(page))).await;
    let pipeline = common::pipeline_to(&cloud.sandbox, &base);
    let credential = Arc::new(iotm_azure::CentralApiToken::new(iotm_azure::Secret::new("SharedAccessSignature sr=x".into())));
    let first = Request::get(Service::Central, "Items_List", format!("{base}/api/items").parse().unwrap());
    let mut pager: Pager<u32> = Pager::new(pipeline.clone(), credential.clone(), first.clone(), Continuation::NextLink, "numbers");
    assert_eq!(pager.next_page().await.unwrap().unwrap(), [1, 2]);
    let token = through_the_journal(pager.continuation().unwrap().unwrap());
    assert_eq!(token, PageToken::NextLink(format!("{base}/api/items?page=2")));
    let rest = Pager::<u32>::resume(pipeline, credential, first, Continuation::NextLink, "numbers", &token).unwrap().all().await.unwrap();
    assert_eq!(rest, [3]);
}
