//! The typed clients against the sandbox's built-in scenario, signed in as its confidential client:
//! what the migration wizards read and write in ARM, IoT Central, IoT Hub and DPS.

mod common;

use common::{TestCloud, FLEET, GROUP, PRODUCTION};
use iotm_azure::arm::models::{IotHub, ResourceId};
use iotm_azure::central::models::{Job, JobData};
use iotm_azure::dps::{DpsClient, EnrollmentGroup};
use iotm_azure::hub::{DeviceIdentity, HubClient};
use iotm_azure::ConnectionString;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_service_principal_lists_its_subscriptions_and_the_central_apps_in_them() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let subscriptions = arm.subscriptions().unwrap().all().await.unwrap();
    assert_eq!(subscriptions.iter().map(|s| s.subscription_id.as_str()).collect::<Vec<_>>(), [PRODUCTION], "the lab subscription is not shared with it");
    assert_eq!(subscriptions[0].display_name, "Contoso IoT Production (sandbox)");
    let groups = arm.resource_groups(PRODUCTION).unwrap().all().await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), [GROUP]);
    assert_eq!(arm.resource_group(PRODUCTION, GROUP).await.unwrap().location, "westeurope");

    let apps = arm.central_apps(PRODUCTION).unwrap().all().await.unwrap();
    let mut subdomains: Vec<&str> = apps.iter().map(|a| a.properties.subdomain.as_str()).collect();
    subdomains.sort();
    assert_eq!(subdomains, ["contoso-cold-chain", FLEET]);
    let fleet = arm.central_app(PRODUCTION, GROUP, FLEET).await.unwrap();
    assert_eq!(fleet.properties.application_id.as_deref(), Some("b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c01"));
}

#[tokio::test]
async fn the_dps_its_linked_hub_and_the_hub_keys_open_the_hub_registry() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let dps = arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap();
    assert_eq!(dps.properties.iot_hubs.len(), 1);
    let linked_host = dps.properties.iot_hubs[0].name.clone().expect("the linked hub's host");
    assert!(dps.properties.iot_hubs[0].connection_string.expose().ends_with("SharedAccessKey=****"), "DPS masks linked hubs' keys");

    // The linked hub, found among the subscription's hubs by its host name.
    let hubs = arm.iot_hubs(PRODUCTION).unwrap().all().await.unwrap();
    let hub = hubs.iter().find(|h| h.properties.host_name.as_deref() == Some(linked_host.as_str())).expect("the linked hub is listed");
    assert_eq!(hub.name.as_deref(), Some("contoso-hub-weu"));
    let id = ResourceId::parse(hub.id.as_deref().unwrap()).unwrap();
    assert_eq!(arm.iot_hub(&id.subscription_id, &id.resource_group, &id.name).await.unwrap().sku.name, "S1");

    let policies = arm.iot_hub_keys(PRODUCTION, GROUP, "contoso-hub-weu").unwrap().all().await.unwrap();
    assert!(policies.iter().any(|p| p.key_name == "registryRead"));
    let owner = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-weu", "iothubowner").await.unwrap();
    assert_eq!(owner.rights, "RegistryWrite, ServiceConnect, DeviceConnect");

    // A device created with a SAS minted from the owner policy's connection string.
    let connection = ConnectionString::for_policy(&linked_host, &owner.key_name, owner.primary_key.as_ref().unwrap());
    let registry = HubClient::from_connection_string(cloud.pipeline.clone(), ConnectionString::parse(connection.to_secret_string().expose()).unwrap());
    let created = registry.create_or_update_device(&DeviceIdentity::with_generated_keys("migrated-001"), None).await.unwrap();
    let keys = created.authentication.as_ref().and_then(|a| a.symmetric_key.as_ref()).expect("generated keys");
    assert!(keys.primary_key.is_some() && keys.secondary_key.is_some());
    let read = registry.device("migrated-001").await.unwrap();
    assert_eq!((read.status.as_deref(), read.connection_state.as_deref()), (Some("enabled"), Some("Disconnected")));
    assert_eq!(registry.twin("migrated-001").await.unwrap().device_id, "migrated-001");
    assert!(registry.devices(100).await.unwrap().iter().any(|d| d.device_id == "migrated-001"));

    // A replacement must name the ETag it read: a stale one is refused, the current one accepted.
    let disabled = DeviceIdentity { status: Some("disabled".into()), ..read.clone() };
    let stale = registry.create_or_update_device(&disabled, Some("AAAAAstale=")).await.unwrap_err();
    assert_eq!((stale.code(), stale.status(), stale.service_code()), ("azure.service", Some(412), Some("PreconditionFailed")));
    let updated = registry.create_or_update_device(&disabled, read.etag.as_deref()).await.unwrap();
    assert_eq!(updated.status.as_deref(), Some("disabled"));
    registry.delete_device("migrated-001", updated.etag.as_deref()).await.unwrap();
    assert!(registry.device("migrated-001").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn all_252_devices_of_contoso_fleet_are_listed_with_an_api_token_across_every_page() {
    let cloud = TestCloud::start().await;
    let central = cloud.central(FLEET);
    let mut pager = central.devices().unwrap();
    let mut devices = Vec::new();
    while let Some(page) = pager.next_page().await {
        devices.extend(page.unwrap());
    }
    assert_eq!(devices.len(), 252);
    assert_eq!(pager.pages(), 3, "Central pages at 100 devices");
    let ids: std::collections::BTreeSet<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 252, "no device twice");
    assert_eq!(devices.iter().filter(|d| d.template.as_deref() == Some("dtmi:contoso:Thermostat;1")).count(), 240);

    let credentials = central.device_credentials("thermostat-001").await.unwrap();
    assert!(credentials.id_scope.starts_with("0ne") && credentials.symmetric_key.is_some());
    assert_eq!(central.device_attestation("thermostat-001").await.unwrap().kind, "symmetricKey");
    assert_eq!(central.device("legacy-001").await.unwrap().template.as_deref(), Some("dtmi:contoso:LegacySensor;1"));

    let templates = central.device_templates().unwrap().all().await.unwrap();
    assert_eq!(templates.len(), 2);
    let thermostat = central.device_template("dtmi:contoso:Thermostat;1").await.unwrap();
    assert!(thermostat.capability_model.to_string().contains("dtmi:azureiot:DeviceMigration;1"));
    assert_eq!(central.device_groups().unwrap().all().await.unwrap().len(), 2);
    assert_eq!(central.device_group("legacy-sensors").await.unwrap().display_name, "Legacy sensors");
    assert_eq!(central.device_group_devices("legacy-sensors").unwrap().all().await.unwrap().len(), 12);
    let enrollment = central.enrollment_groups().unwrap().all().await.unwrap();
    assert!(enrollment.iter().any(|g| g.id == "sas-iot-devices" && g.attestation.symmetric_key.is_some()));
    assert_eq!(central.enrollment_group("sas-iot-devices").await.unwrap().kind, "iot");
}

#[tokio::test]
async fn a_central_job_is_created_read_stopped_and_resumed() {
    let cloud = TestCloud::start().await;
    let central = cloud.central(FLEET);
    let job = Job {
        display_name: Some("Move thermostats".into()),
        group: "thermostats".into(),
        data: vec![JobData::command("dtmi:contoso:Thermostat;1", "migration.DeviceMove", serde_json::json!({"idScope": "0ne00000000"}))],
        ..Job::default()
    };
    let created = central.create_job("move-1", &job).await.unwrap();
    assert_eq!((created.id.as_str(), created.status.as_deref()), ("move-1", Some("running")));
    assert_eq!(created.progress.as_ref().map(|p| p.total), Some(240));
    central.stop_job("move-1").await.unwrap();
    assert_eq!(central.job("move-1").await.unwrap().status.as_deref(), Some("stopped"));
    let statuses = central.job_devices("move-1").unwrap().all().await.unwrap();
    assert_eq!(statuses.len(), 240);
    central.resume_job("move-1").await.unwrap();
    assert_eq!(central.job("move-1").await.unwrap().status.as_deref(), Some("running"));
    assert_eq!(central.jobs().unwrap().all().await.unwrap().len(), 1);
    let again = central.create_job("move-1", &job).await.unwrap_err();
    assert_eq!((again.status(), again.service_code()), (Some(409), Some("Conflict")));
    central.stop_job("move-1").await.unwrap();
}

#[tokio::test]
async fn an_enrollment_group_is_created_in_the_dps_queried_page_by_page_and_guarded_by_its_etag() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let dps = arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap();
    let host = dps.properties.service_operations_host_name.clone().unwrap();
    let owner = arm.provisioning_service_keys(PRODUCTION, GROUP, "contoso-dps").unwrap().all().await.unwrap().remove(0);
    let client =
        DpsClient::from_connection_string(cloud.pipeline.clone(), ConnectionString::for_policy(&host, &owner.key_name, owner.primary_key.as_ref().unwrap()));

    let created = client.create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("migrated-thermostats"), None).await.unwrap();
    let keys = created.attestation.symmetric_key.as_ref().unwrap();
    assert!(keys.primary_key.is_some(), "DPS generates the group's keys");
    let etag = created.etag.clone().unwrap();
    client.create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("migrated-legacy"), None).await.unwrap();
    assert_eq!(client.enrollment_group("migrated-thermostats").await.unwrap().provisioning_status.as_deref(), Some("enabled"));

    let mut pager = client.enrollment_groups(1).unwrap();
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await {
        ids.extend(page.unwrap().into_iter().map(|g| g.enrollment_group_id));
    }
    ids.sort();
    assert_eq!(ids, ["migrated-legacy", "migrated-thermostats"]);
    assert_eq!(pager.pages(), 2, "one group per page, by x-ms-continuation");

    let disabled = EnrollmentGroup { provisioning_status: Some("disabled".into()), ..created.clone() };
    let stale = client.create_or_update_enrollment_group(&disabled, Some("AAAAAstale=")).await.unwrap_err();
    assert_eq!(stale.status(), Some(412));
    let updated = client.create_or_update_enrollment_group(&disabled, Some(&etag)).await.unwrap();
    assert_eq!(updated.provisioning_status.as_deref(), Some("disabled"));
    client.delete_enrollment_group("migrated-legacy", None).await.unwrap();
    assert!(client.enrollment_group("migrated-legacy").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_hub_is_created_through_the_long_running_operation_and_then_guarded_by_if_match() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let started = Instant::now();
    let poller = arm.create_or_update_iot_hub(PRODUCTION, GROUP, "contoso-hub-migrated", &IotHub::new("westeurope", "S1", 2), None).await.unwrap();
    let hub = poller.with_timeout(Duration::from_secs(30)).wait().await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "the sandbox's operation runs 1.2 s and says Retry-After: 1 ({took:?})");
    assert_eq!(hub.name.as_deref(), Some("contoso-hub-migrated"));
    assert_eq!((hub.sku.name.as_str(), hub.sku.capacity), ("S1", Some(2)));
    assert_eq!(hub.properties.provisioning_state.as_deref(), Some("Succeeded"));
    assert!(hub.properties.host_name.as_deref().is_some_and(|h| h.starts_with("localhost:")));

    // Rescale from a stale read is refused; from the current ETag it runs.
    let rescaled = IotHub { sku: iotm_azure::arm::models::HubSku { capacity: Some(3), ..hub.sku.clone() }, ..hub.clone() };
    let stale =
        arm.create_or_update_iot_hub(PRODUCTION, GROUP, "contoso-hub-migrated", &rescaled, Some("AAAAAstale=")).await.err().expect("a stale ETag is refused");
    assert_eq!((stale.status(), stale.service_code()), (Some(412), Some("PreconditionFailed")));
    let after = arm.create_or_update_iot_hub(PRODUCTION, GROUP, "contoso-hub-migrated", &rescaled, hub.etag.as_deref()).await.unwrap().wait().await.unwrap();
    assert_eq!(after.sku.capacity, Some(3));
    assert_ne!(after.etag, hub.etag);
}

#[tokio::test]
async fn a_second_hub_is_linked_to_the_dps_by_a_read_modify_write_guarded_by_its_etag() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let neu = arm.iot_hub(PRODUCTION, GROUP, "contoso-hub-neu").await.unwrap();
    let owner = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-neu", "iothubowner").await.unwrap();
    let connection = ConnectionString::for_policy(neu.properties.host_name.as_deref().unwrap(), "iothubowner", owner.primary_key.as_ref().unwrap());

    let mut dps = arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap();
    let read_etag = dps.etag.clone();
    dps.properties.iot_hubs.push(iotm_azure::arm::models::LinkedHub {
        connection_string: connection.to_secret_string(),
        location: "northeurope".into(),
        allocation_weight: Some(10),
        apply_allocation_policy: Some(true),
        name: None,
    });
    let linked = arm.create_or_update_provisioning_service(PRODUCTION, GROUP, "contoso-dps", &dps).await.unwrap().wait().await.unwrap();
    let hosts: Vec<&str> = linked.properties.iot_hubs.iter().filter_map(|h| h.name.as_deref()).collect();
    assert_eq!(hosts.len(), 2, "the masked first hub kept its key, the second was added");
    assert!(hosts.contains(&neu.properties.host_name.as_deref().unwrap()));
    assert_eq!(linked.properties.iot_hubs[1].allocation_weight, Some(10));
    assert_ne!(linked.etag, read_etag);

    // The same write from the old read is refused: someone changed the DPS since.
    let stale = arm.create_or_update_provisioning_service(PRODUCTION, GROUP, "contoso-dps", &dps).await.err().expect("a stale ETag is refused");
    assert_eq!((stale.status(), stale.service_code()), (Some(412), Some("PreconditionFailed")));
}
