//! Each service's own error, read from its own shape, as the code the UI branches on plus the
//! service's code, status and request ID.

mod common;

use common::{tenant, TestCloud, FLEET, GROUP, LAB, PRODUCTION};
use iotm_azure::arm::ArmClient;
use iotm_azure::dps::DpsClient;
use iotm_azure::hub::HubClient;
use iotm_azure::{ClientSecretCredential, ConnectionString, Secret, Service};
use iotm_sandbox::scenario::SANDBOX_CONFIDENTIAL_CLIENT_ID;
use std::sync::Arc;

#[tokio::test]
async fn arm_answers_a_missing_hub_with_resource_not_found_and_a_foreign_subscription_with_forbidden() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let missing = arm.iot_hub(PRODUCTION, GROUP, "no-such-hub").await.unwrap_err();
    assert_eq!((missing.code(), missing.status(), missing.service_code()), ("azure.service", Some(404), Some("ResourceNotFound")));
    let details = missing.service_error().unwrap();
    assert_eq!(details.service, Service::Arm);
    assert!(details.request_id.is_some(), "ARM's x-ms-request-id is kept for support");
    assert!(missing.to_string().contains("no-such-hub"), "{missing}");

    let foreign = arm.subscription(LAB).await.unwrap_err();
    assert_eq!((foreign.code(), foreign.service_code()), ("azure.forbidden", Some("AuthorizationFailed")));
}

#[tokio::test]
async fn central_answers_a_missing_device_with_not_found_and_a_bad_token_with_unauthorized() {
    let cloud = TestCloud::start().await;
    let missing = cloud.central(FLEET).device("no-such-device").await.unwrap_err();
    assert_eq!((missing.code(), missing.status(), missing.service_code()), ("azure.service", Some(404), Some("NotFound")));
    assert_eq!(missing.service_error().unwrap().service, Service::Central);

    let forged = iotm_azure::central::CentralClient::new(
        cloud.pipeline.clone(),
        Arc::new(iotm_azure::CentralApiToken::new(Secret::from("SharedAccessSignature sr=x&sig=forged&skn=a&se=1"))),
        FLEET,
    )
    .unwrap();
    let refused = forged.device("thermostat-001").await.unwrap_err();
    assert_eq!((refused.code(), refused.service_code()), ("azure.unauthorized", Some("Unauthorized")));
}

#[tokio::test]
async fn the_hub_answers_a_missing_device_with_device_not_found_and_the_dps_with_its_numeric_codes() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let hub = arm.iot_hub(PRODUCTION, GROUP, "contoso-hub-weu").await.unwrap();
    let owner = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-weu", "iothubowner").await.unwrap();
    let registry = HubClient::from_connection_string(
        cloud.pipeline.clone(),
        ConnectionString::for_policy(hub.properties.host_name.as_deref().unwrap(), "iothubowner", owner.primary_key.as_ref().unwrap()),
    );
    let missing = registry.device("no-such-device").await.unwrap_err();
    assert_eq!((missing.code(), missing.status(), missing.service_code()), ("azure.service", Some(404), Some("DeviceNotFound")));
    assert!(missing.to_string().contains("no-such-device not registered"), "{missing}");

    // A policy without write rights is refused by the hub in its own words.
    let reader = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-weu", "registryRead").await.unwrap();
    let read_only = HubClient::from_connection_string(
        cloud.pipeline.clone(),
        ConnectionString::for_policy(hub.properties.host_name.as_deref().unwrap(), "registryRead", reader.primary_key.as_ref().unwrap()),
    );
    let refused = read_only.delete_device("anything", None).await.unwrap_err();
    assert_eq!((refused.code(), refused.service_code()), ("azure.unauthorized", Some("IotHubUnauthorizedAccess")));

    let dps = arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap();
    let key = arm.provisioning_service_keys(PRODUCTION, GROUP, "contoso-dps").unwrap().all().await.unwrap().remove(0);
    let client = DpsClient::from_connection_string(
        cloud.pipeline.clone(),
        ConnectionString::for_policy(dps.properties.service_operations_host_name.as_deref().unwrap(), &key.key_name, key.primary_key.as_ref().unwrap()),
    );
    let group = client.enrollment_group("no-such-group").await.unwrap_err();
    assert_eq!((group.code(), group.status(), group.service_code()), ("azure.service", Some(404), Some("404202")));
    assert!(group.service_error().unwrap().request_id.is_some(), "DPS's trackingId is kept");
    let registration = client.registration_state("no-such-device").await.unwrap_err();
    assert_eq!((registration.status(), registration.service_code()), (Some(404), Some("404201")));
}

#[tokio::test]
async fn entra_answers_a_wrong_client_secret_with_aadsts7000215() {
    let cloud = TestCloud::start().await;
    let wrong = ClientSecretCredential::new(cloud.pipeline.clone(), &tenant(), SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::from("not-the-secret")).unwrap();
    let arm = ArmClient::new(cloud.pipeline.clone(), Arc::new(wrong));
    let error = arm.subscriptions().unwrap().all().await.unwrap_err();
    assert_eq!(error.code(), "azure.unauthorized");
    let details = error.service_error().unwrap();
    assert_eq!((details.service, details.status, details.code.as_deref(), details.aadsts), (Service::Entra, 401, Some("invalid_client"), Some(7000215)));
    assert!(details.message.starts_with("Invalid client secret provided"), "{}", details.message);
    assert!(!error.to_string().contains("not-the-secret"));
    assert_eq!(cloud.calls_to("arm"), 0, "no ARM call without a token");
}
