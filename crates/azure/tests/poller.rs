//! The long-running-operation poller against the ways ARM can answer that the sandbox does not
//! (its own hub creation, which succeeds through Azure-AsyncOperation, is in `sandbox_cloud.rs`):
//! a failed operation, a `Location` watched until it stops answering 202, an operation that never
//! ends, a status URL outside the cloud or on another of its hosts, and a `Retry-After` past what a
//! `Duration` holds.

mod common;

use axum::http::{header, HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use common::{https_server, pipeline_to, TestCloud};
use iotm_azure::arm::models::IotHub;
use iotm_azure::arm::ArmClient;
use iotm_azure::{CentralApiToken, Secret};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const HUBS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Devices/IotHubs";
const ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");

fn hub(name: &str, state: &str) -> Json<serde_json::Value> {
    Json(
        json!({"name": name, "location": "westeurope", "sku": {"name": "S1", "capacity": 1}, "properties": {"provisioningState": state, "hostName": format!("{name}.azure-devices.net")}}),
    )
}

async fn fake_arm(state: &std::path::Path, location_polls: Arc<AtomicUsize>) -> String {
    let base = Arc::new(OnceLock::<String>::new());
    let own = base.clone();
    let router = Router::new()
        .route(
            &format!("{HUBS}/failing"),
            put(move || async move {
                (
                    StatusCode::CREATED,
                    [(ASYNC_OPERATION, format!("{}/ops/failing", own.get().unwrap())), (header::RETRY_AFTER, "0".into())],
                    hub("failing", "Accepted"),
                )
                    .into_response()
            }),
        )
        .route(
            "/ops/failing",
            get(|| async { Json(json!({"status": "Failed", "error": {"code": "IotHubCreationFailed", "message": "No capacity left in westeurope."}})) }),
        )
        .route(
            &format!("{HUBS}/located"),
            put(|| async { (StatusCode::ACCEPTED, [(header::LOCATION, "/ops/located"), (header::RETRY_AFTER, "0")]).into_response() })
                .get(|| async { hub("located", "Succeeded") }),
        )
        .route(
            "/ops/located",
            get(move || async move {
                if location_polls.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::ACCEPTED
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route(
            &format!("{HUBS}/forever"),
            put(|| async { (StatusCode::CREATED, [(ASYNC_OPERATION, "/ops/forever")], hub("forever", "Creating")).into_response() }),
        )
        .route("/ops/forever", get(|| async { ([(header::RETRY_AFTER, "1")], Json(json!({"status": "Running"}))).into_response() }))
        .route(
            &format!("{HUBS}/elsewhere"),
            put(|| async { (StatusCode::CREATED, [(ASYNC_OPERATION, "https://example.com/ops/1")], hub("elsewhere", "Creating")).into_response() }),
        );
    let url = https_server(state, router).await;
    base.set(url.clone()).unwrap();
    url
}

#[tokio::test]
async fn each_end_of_a_long_running_operation_is_told_apart() {
    let cloud = TestCloud::start().await;
    let polls = Arc::new(AtomicUsize::new(0));
    let base = fake_arm(cloud.state.path(), polls.clone()).await;
    let arm = ArmClient::new(pipeline_to(&cloud.sandbox, &base), Arc::new(CentralApiToken::new(Secret::from("unused"))));
    let new_hub = IotHub::new("westeurope", "S1", 1);

    let failed = arm.create_or_update_iot_hub("s", "g", "failing", &new_hub, None).await.unwrap().wait().await.unwrap_err();
    assert_eq!(failed.code(), "azure.operation_failed");
    assert!(failed.to_string().contains("Failed (IotHubCreationFailed): No capacity left in westeurope."), "{failed}");

    let located =
        arm.create_or_update_iot_hub("s", "g", "located", &new_hub, None).await.unwrap().with_interval(Duration::from_millis(10)).wait().await.unwrap();
    assert_eq!(located.properties.host_name.as_deref(), Some("located.azure-devices.net"));
    assert_eq!(polls.load(Ordering::SeqCst), 3, "polled until the Location stopped answering 202");

    let started = Instant::now();
    let endless =
        arm.create_or_update_iot_hub("s", "g", "forever", &new_hub, None).await.unwrap().with_timeout(Duration::from_millis(2500)).wait().await.unwrap_err();
    assert_eq!(endless.code(), "azure.timeout");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_secs(4), "{took:?}");

    let foreign = arm.create_or_update_iot_hub("s", "g", "elsewhere", &new_hub, None).await.err().expect("a status URL outside the cloud is refused");
    assert_eq!(foreign.code(), "azure.host_not_allowed");
}

/// A pipeline on `base` whose longest wait is short, so a clamped wait shows in the time taken.
fn pipeline_with_short_waits(cloud: &TestCloud, base: &str) -> iotm_azure::Pipeline {
    let ca = std::fs::read_to_string(&cloud.sandbox.ca_cert_path).unwrap();
    let options = iotm_azure::PipelineOptions { max_retry_delay: Duration::from_millis(200), ..Default::default() };
    iotm_azure::Pipeline::new(iotm_azure::Cloud::sandbox(base, ca).unwrap(), options).unwrap()
}

#[tokio::test]
async fn a_retry_after_no_duration_can_hold_is_waited_for_at_most_the_cap_not_a_crash() {
    let cloud = TestCloud::start().await;
    let router = Router::new()
        .route(
            &format!("{HUBS}/eager"),
            put(|| async { (StatusCode::ACCEPTED, [(header::LOCATION, "/ops/eager"), (header::RETRY_AFTER, "1e20")]).into_response() })
                .get(|| async { hub("eager", "Succeeded") }),
        )
        .route("/ops/eager", get(|| async { (StatusCode::OK, [(header::RETRY_AFTER, "1e20")]).into_response() }));
    let base = https_server(cloud.state.path(), router).await;
    let arm = ArmClient::new(pipeline_with_short_waits(&cloud, &base), Arc::new(CentralApiToken::new(Secret::from("unused"))));
    let started = Instant::now();
    let created = arm.create_or_update_iot_hub("s", "g", "eager", &IotHub::new("westeurope", "S1", 1), None).await.unwrap().wait().await.unwrap();
    assert_eq!(created.properties.host_name.as_deref(), Some("eager.azure-devices.net"));
    assert!(started.elapsed() < Duration::from_secs(5), "the wait was capped at the pipeline's 200 ms: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_throttled_call_whose_retry_after_no_duration_can_hold_retries_after_the_cap() {
    let cloud = TestCloud::start().await;
    let tries = Arc::new(AtomicUsize::new(0));
    let seen = tries.clone();
    let router = Router::new().route(
        &format!("{HUBS}/busy"),
        get(move || async move {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::TOO_MANY_REQUESTS, [(HeaderName::from_static("retry-after-ms"), "1e30")]).into_response()
            } else {
                hub("busy", "Succeeded").into_response()
            }
        }),
    );
    let base = https_server(cloud.state.path(), router).await;
    let arm = ArmClient::new(pipeline_with_short_waits(&cloud, &base), Arc::new(CentralApiToken::new(Secret::from("unused"))));
    let started = Instant::now();
    let read = arm.iot_hub("s", "g", "busy").await.unwrap();
    assert_eq!(read.name.as_deref(), Some("busy"));
    assert_eq!(tries.load(Ordering::SeqCst), 2, "retried once, after the capped wait");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_status_url_on_another_host_of_the_cloud_is_refused_and_never_called() {
    let cloud = TestCloud::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let watcher = Router::new().route(
        "/ops/1",
        get(move || async move {
            seen.fetch_add(1, Ordering::SeqCst);
            Json(json!({"status": "Succeeded"}))
        }),
    );
    let elsewhere = https_server(cloud.state.path(), watcher).await;
    let status_url = format!("{elsewhere}/ops/1");
    let router = Router::new().route(
        &format!("{HUBS}/moved"),
        put(move || async move { (StatusCode::CREATED, [(ASYNC_OPERATION, status_url)], hub("moved", "Creating")).into_response() }),
    );
    let base = https_server(cloud.state.path(), router).await;
    let arm = ArmClient::new(pipeline_to(&cloud.sandbox, &base), Arc::new(CentralApiToken::new(Secret::from("unused"))));
    let refused = arm.create_or_update_iot_hub("s", "g", "moved", &IotHub::new("westeurope", "S1", 1), None).await.err().expect("refused");
    assert_eq!(refused.code(), "azure.link_to_another_host", "{refused}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the other host never saw the credential");
}
