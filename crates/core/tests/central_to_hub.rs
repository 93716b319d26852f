//! The Central → Hub wizard's pieces against the sandbox's IoT Central, through the typed client.

use iotm_azure::central::CentralClient;
use iotm_azure::{CentralApiToken, Cloud, Pipeline, PipelineOptions, Secret};
use iotm_core::wizards::central_to_hub::template::{find_device_move, PayloadShape};
use iotm_sandbox::scenario::Scenario;
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn the_template_check_reads_what_central_returns() {
    let state = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin())).await.unwrap();
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    let pipeline = Pipeline::new(Cloud::sandbox(&sandbox.base_url, ca).unwrap(), PipelineOptions::default()).unwrap();
    let token = { sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap().api_token().unwrap() };
    let central = CentralClient::new(pipeline, Arc::new(CentralApiToken::new(Secret::new(token))), "contoso-fleet").unwrap();
    let templates = central.device_templates().unwrap().all().await.unwrap();
    let thermostat = templates.iter().find(|t| t.id == "dtmi:contoso:Thermostat;1").unwrap();
    let found = find_device_move(thermostat).unwrap();
    assert_eq!(found.path, "migration.DeviceMove");
    assert!(matches!(found.payload, PayloadShape::Object { ref fields } if fields.contains(&"idScope".to_string())));
    let legacy = templates.iter().find(|t| t.id == "dtmi:contoso:LegacySensor;1").unwrap();
    assert_eq!(find_device_move(legacy).unwrap_err().code(), "centralToHub.template_without_device_move");
    sandbox.stop();
}
