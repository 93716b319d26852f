//! The pipeline under the sandbox's fault injection: throttling, outages and dropped connections
//! are ridden out, Retry-After is waited for, and a POST that is not safe to repeat is never sent
//! twice.

mod common;

use common::{TestCloud, FLEET, GROUP, PRODUCTION};
use iotm_azure::central::models::DeviceCommand;
use iotm_azure::{Request, Service};
use iotm_sandbox::faults::FaultKind;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_paged_device_listing_and_arm_reads_complete_under_ten_percent_throttling_and_outages() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    // Sign in before the faults start: Entra is not under test here.
    arm.subscription(PRODUCTION).await.unwrap();
    let central = cloud.central(FLEET);
    cloud.sandbox.cloud.faults().reset_counters();
    for service in ["arm", "central"] {
        cloud.fault(service, None, FaultKind::Throttle, 0.10, None, 1);
        cloud.fault(service, None, FaultKind::Unavailable, 0.10, None, 1);
        cloud.fault(service, None, FaultKind::Reset, 0.05, None, 1);
    }
    let started = Instant::now();

    let devices = central.devices().unwrap().all().await.unwrap();
    assert_eq!(devices.len(), 252);
    let mut arm_calls = 0;
    for _ in 0..3 {
        assert_eq!(arm.subscriptions().unwrap().all().await.unwrap().len(), 1);
        assert_eq!(arm.central_apps(PRODUCTION).unwrap().all().await.unwrap().len(), 2);
        assert_eq!(arm.iot_hubs(PRODUCTION).unwrap().all().await.unwrap().len(), 2);
        assert_eq!(arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap().name.as_deref(), Some("contoso-dps"));
        assert!(!arm.iot_hub_keys(PRODUCTION, GROUP, "contoso-hub-weu").unwrap().all().await.unwrap().is_empty());
        arm_calls += 5;
    }

    // Every call the sandbox saw beyond the logical ones was a retry.
    let (central_sent, arm_sent) = (cloud.calls_to("central"), cloud.calls_to("arm"));
    let retries = (central_sent - 3) + (arm_sent - arm_calls);
    eprintln!(
        "under faults: {central_sent} Central calls for 3 pages, {arm_sent} ARM calls for {arm_calls} reads: {retries} retries in {:?}",
        started.elapsed()
    );
    assert!(central_sent >= 3 && arm_sent >= arm_calls);
}

#[tokio::test]
async fn retry_after_is_waited_for_before_each_retry() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    arm.subscription(PRODUCTION).await.unwrap();
    cloud.fault("arm", Some("GET /subscriptions/"), FaultKind::Throttle, 1.0, Some(2), 1);
    let url = url::Url::parse(&format!("{}subscriptions/{PRODUCTION}?api-version=2022-12-01", cloud.pipeline.cloud().endpoints().resource_manager)).unwrap();
    let started = Instant::now();
    let response = cloud.pipeline.send(&Request::get(Service::Arm, "Subscriptions_Get", url), Some(cloud.credential.as_ref())).await.unwrap();
    let took = started.elapsed();
    eprintln!("two 429s with Retry-After: 1, then an answer: {took:?} over {} tries", response.attempts);
    assert_eq!(response.attempts, 3);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(4), "the backoff replaced, not added to, Retry-After: {took:?}");
}

#[tokio::test]
async fn throttling_that_never_ends_is_reported_as_throttled_after_the_last_retry() {
    let options = iotm_azure::PipelineOptions { max_retries: 2, ..Default::default() };
    let cloud = TestCloud::start_with(options).await;
    let central = cloud.central(FLEET);
    cloud.fault("central", None, FaultKind::Throttle, 1.0, None, 0);
    let error = central.device("thermostat-001").await.unwrap_err();
    assert_eq!(error.code(), "azure.throttled");
    assert_eq!(error.service_code(), Some("TooManyRequests"));
    assert_eq!(cloud.calls_to("central"), 3, "the first try and two retries");
}

#[tokio::test]
async fn a_post_not_marked_safe_is_not_retried_after_a_dropped_connection() {
    let cloud = TestCloud::start().await;
    let central = cloud.central(FLEET);
    let command = "POST /iotc/contoso-fleet/api/devices/thermostat-001/components/migration/commands/DeviceMove";
    cloud.fault("central", Some(command), FaultKind::Reset, 1.0, Some(1), 1);
    let error = central
        .run_component_command(
            "thermostat-001",
            "migration",
            "DeviceMove",
            &DeviceCommand { request: serde_json::json!({"idScope": "0ne00000000"}), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "azure.connection", "{error}");
    let sent = cloud.counters().get("central POST /iotc/{app}/api/devices/{id}/components/{component}/commands/{command}").copied();
    assert_eq!(sent, Some(1), "the command went out once: the device may have acted on it");

    // The same dropped connection under a GET is simply tried again.
    cloud.fault("central", Some("GET /iotc/contoso-fleet/api/devices/thermostat-002"), FaultKind::Reset, 1.0, Some(1), 1);
    assert_eq!(central.device("thermostat-002").await.unwrap().id, "thermostat-002");
    assert_eq!(cloud.counters().get("central GET /iotc/{app}/api/devices/{id}").copied(), Some(2));
}
