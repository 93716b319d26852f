//! A state file written by `az iot hub state export` imports here: the CLI's own sample
//! (tests/fixtures/az_iot_hub_state_export.json), its placeholder keys and thumbprints made real
//! ones (the hub refuses `PRIMARYKEY` as a key, as Azure does), is imported into an empty sandbox
//! hub — an ADM configuration, an edge deployment, SAS / self-signed devices, edge devices whose
//! runtime modules get their desired properties through the device's deployment, a module with
//! tags, a child under its edge parent — and the hub exported again holds what the sample holds.

mod hub_state_support;

use hub_state_support::{comparable, plan, run, start};
use iotm_core::journal::Journal;
use iotm_core::wizards::hub_state::plan::Action;
use serde_json::Value;
use std::path::Path;

/// What neither side can carry over unchanged: what the service fills in (modelId, connection
/// state, the edge deployment's timestamps the CLI copies), and `null` labels, which the hub keeps as `{}`.
fn normalized(mut state: Value) -> Value {
    state.as_object_mut().unwrap().remove("arm");
    for list in ["admConfigurations", "edgeDeployments"] {
        for configuration in state["configurations"][list].as_object_mut().unwrap().values_mut() {
            let fields = configuration.as_object_mut().unwrap();
            for generated in ["createdTimeUtc", "etag", "lastUpdatedTimeUtc", "schemaVersion", "systemMetrics"] {
                fields.remove(generated);
            }
            if fields["labels"].is_null() {
                fields["labels"] = serde_json::json!({});
            }
            fields["metrics"].as_object_mut().unwrap().remove("results");
        }
    }
    for device in state["devices"].as_object_mut().unwrap().values_mut() {
        let identity = device["identity"].as_object_mut().unwrap();
        identity.remove("modelId");
        identity.remove("connectionState");
        for module in device["modules"].as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
            module["identity"].as_object_mut().unwrap().remove("connectionState");
            module["twin"].as_object_mut().unwrap().remove("modelId");
        }
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clis_sample_state_file_imports_and_exports_back_as_it_came() {
    let world = start().await;
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/az_iot_hub_state_export.json")).unwrap();
    let sample = sample
        .replace("PRIMARYKEY", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=")
        .replace("SECONDARYKEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        .replace("\"THUMBPRINT\"", "\"0123456789ABCDEF0123456789ABCDEF01234567\"");
    let file = dir.path().join("az-state.json");
    std::fs::write(&file, &sample).unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();

    let id = run(&world, &journal, &plan(Action::Import, None, Some("contoso-hub-neu"), Some(&file), false)).await.unwrap();
    let counts = journal.item_kinds(&id).unwrap();
    assert_eq!(counts["device"]["created"], 3, "{counts:?}");
    assert_eq!(counts["configuration"]["created"], 2);
    assert_eq!(counts["parent"]["set"], 1);
    assert_eq!(counts["module"].get("failed"), None);
    let modules = world.client("contoso-hub-neu").await.modules("edge1").await.unwrap();
    let managed: Vec<_> = modules.iter().filter(|m| m.managed_by.as_deref() == Some("iotEdge")).map(|m| m.module_id.as_str()).collect();
    assert_eq!(managed, ["$edgeAgent", "$edgeHub", "SimulatedTemperatureSensor"]);

    let back = dir.path().join("neu.json");
    run(&world, &journal, &plan(Action::Export, Some("contoso-hub-neu"), None, Some(&back), false)).await.unwrap();
    assert_eq!(normalized(comparable(&back)), normalized(serde_json::from_str(&sample).unwrap()));
}
