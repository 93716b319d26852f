//! The Hub state wizard against the in-process sandbox: a hub exported, imported into an empty hub
//! and exported again gives the same file, and a second dry run finds nothing to change; a migrate
//! killed part-way resumes with nothing done twice; Replace deletes what the state lacks; a bad
//! state file is refused before the target is touched.

mod hub_state_support;

use hub_state_support::{comparable, plan, run, start, World};
use iotm_azure::hub::{DeviceAuthentication, DeviceCapabilities, DeviceIdentity, DeviceKeys, ModuleIdentity};
use iotm_azure::Secret;
use iotm_core::journal::Journal;
use iotm_core::runtime::Progress;
use iotm_core::wizards::hub_state::plan::Action;
use iotm_core::wizards::hub_state::plan::Plan;
use iotm_core::wizards::hub_state::state_file::Variant;
use iotm_core::wizards::hub_state::to_hub::Change;
use iotm_core::wizards::hub_state::{self, dry_run, HubStateTick};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn sas(id: &str, n: usize) -> DeviceIdentity {
    let key = |k: &str| Some(Secret::new(base64_key(&format!("{id}-{k}-{n}"))));
    DeviceIdentity {
        device_id: id.into(),
        status: Some(if n % 7 == 3 { "disabled" } else { "enabled" }.into()),
        status_reason: (n % 7 == 3).then(|| "retired".to_string()),
        authentication: Some(DeviceAuthentication {
            kind: "sas".into(),
            symmetric_key: Some(DeviceKeys { primary_key: key("p"), secondary_key: key("s") }),
            x509_thumbprint: None,
        }),
        ..DeviceIdentity::default()
    }
}

/// A 32-byte key in base64, as the hub takes it, different for every seed.
fn base64_key(seed: &str) -> String {
    use base64::Engine;
    let mut raw = [0u8; 32];
    for (at, byte) in seed.bytes().cycle().take(32).enumerate() {
        raw[at] = byte.wrapping_mul(31).wrapping_add(at as u8);
    }
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A source hub with every kind of device the state carries: SAS (some disabled), self-signed and
/// CA devices, twins with tags and desired properties, modules with twins, an edge device with a
/// child, an ADM configuration and an edge deployment.
async fn seed(world: &World, name: &str, plain: usize) {
    let hub = world.client(name).await;
    for n in 0..plain {
        let id = format!("sensor-{n:04}");
        hub.create_or_update_device(&sas(&id, n), None).await.unwrap();
        if n % 2 == 0 {
            let twin = json!({"tags": {"site": format!("plant-{}", n % 3), "environment": "test"}, "properties": {"desired": {"interval": n, "mode": {"eco": n % 4 == 0}}}});
            hub.replace_twin(&id, &twin, Some("*")).await.unwrap();
        }
    }
    let thumb = |c: char| c.to_string().repeat(40);
    let self_signed = DeviceIdentity {
        device_id: "camera-x509".into(),
        status: Some("enabled".into()),
        authentication: Some(DeviceAuthentication {
            kind: "selfSigned".into(),
            symmetric_key: None,
            x509_thumbprint: Some(json!({"primaryThumbprint": thumb('A'), "secondaryThumbprint": thumb('B')})),
        }),
        ..DeviceIdentity::default()
    };
    hub.create_or_update_device(&self_signed, None).await.unwrap();
    let ca = DeviceIdentity {
        device_id: "meter-ca".into(),
        status: Some("enabled".into()),
        authentication: Some(DeviceAuthentication { kind: "certificateAuthority".into(), symmetric_key: None, x509_thumbprint: None }),
        ..DeviceIdentity::default()
    };
    hub.create_or_update_device(&ca, None).await.unwrap();
    let edge = DeviceIdentity { capabilities: Some(DeviceCapabilities { iot_edge: true }), ..sas("gateway-1", 1) };
    hub.create_or_update_device(&edge, None).await.unwrap();
    let scope = hub.device("gateway-1").await.unwrap().device_scope.unwrap();
    let child = DeviceIdentity { device_scope: Some(scope), ..sas("leaf-1", 2) };
    hub.create_or_update_device(&child, None).await.unwrap();
    for (module_id, kind) in [("analytics", "sas"), ("camera-ca", "certificateAuthority")] {
        let module = ModuleIdentity {
            module_id: module_id.into(),
            device_id: "sensor-0000".into(),
            authentication: Some(DeviceAuthentication { kind: kind.into(), symmetric_key: None, x509_thumbprint: None }),
            ..ModuleIdentity::default()
        };
        hub.create_or_update_module(&module, None).await.unwrap();
    }
    hub.replace_module_twin("sensor-0000", "analytics", &json!({"tags": {"team": "vision"}, "properties": {"desired": {"fps": 25}}}), Some("*")).await.unwrap();
    let adm = json!({"id": "eco-mode", "content": {"deviceContent": {"properties.desired.mode": {"eco": true}}}, "targetCondition": "tags.environment='test'",
        "priority": 10, "labels": {"owner": "ops"}, "metrics": {"queries": {"eco": "SELECT deviceId FROM devices WHERE properties.reported.mode.eco = true"}}});
    hub.create_or_update_configuration("eco-mode", &adm, None).await.unwrap();
    let deployment = json!({"id": "edge-base", "content": {"modulesContent": {"$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "runtime": {"type": "docker", "settings": {}}, "systemModules": {}, "modules": {}}},
        "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}}}},
        "targetCondition": "capabilities.iotEdge = true", "priority": 1, "labels": {}, "metrics": {"queries": {}}});
    hub.create_or_update_configuration("edge-base", &deployment, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_exported_imported_into_an_empty_hub_and_exported_again_gives_the_same_file() {
    let world = start().await;
    seed(&world, "contoso-hub-weu", 40).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let first = dir.path().join("weu.json");
    run(&world, &journal, &plan(Action::Export, Some("contoso-hub-weu"), None, Some(&first), false)).await.unwrap();
    let exported = comparable(&first);
    assert_eq!(exported["devices"].as_object().unwrap().len(), 44);
    assert_eq!(exported["devices"]["leaf-1"]["parent"], "gateway-1");
    assert_eq!(exported["devices"]["sensor-0000"]["modules"]["analytics"]["twin"]["tags"]["team"], "vision");
    assert_eq!(exported["devices"]["sensor-0003"]["identity"]["status"], "disabled");
    assert!(exported["devices"]["sensor-0001"]["identity"]["authentication"]["symmetricKey"]["primaryKey"].as_str().is_some_and(|k| k.len() == 44));
    assert_eq!(exported["configurations"]["edgeDeployments"]["edge-base"]["priority"], 1);
    assert_eq!(exported["configurations"]["admConfigurations"]["eco-mode"]["content"], json!({"deviceContent": {"properties.desired.mode": {"eco": true}}}));

    assert_eq!(world.device_count("contoso-hub-neu"), 0);
    let import = plan(Action::Import, None, Some("contoso-hub-neu"), Some(&first), false);
    let id = run(&world, &journal, &import).await.unwrap();
    let counts = journal.item_kinds(&id).unwrap();
    assert_eq!(counts["device"]["created"], 44);
    assert_eq!(counts["module"]["created"], 2);
    assert_eq!(counts["configuration"]["created"], 2);
    assert_eq!(counts["parent"]["set"], 1);

    let second = dir.path().join("neu.json");
    run(&world, &journal, &plan(Action::Export, Some("contoso-hub-neu"), None, Some(&second), false)).await.unwrap();
    assert_eq!(comparable(&second), exported);

    let dry = dry_run::dry_run(&world.clients, &import, &|_, _| {}).await.unwrap();
    assert!(dry.changes.is_empty(), "{:?}", dry.changes);
    assert_eq!(dry.counts["device"]["unchanged"], 44);
    assert_eq!(dry.counts["configuration"]["unchanged"], 2);
}

/// Runs `plan` (454 devices into the empty contoso-hub-neu), drops the run mid-flight after its
/// second batch of devices (a kill), resumes it, and checks nothing was done twice and the target
/// equals the source hub.
async fn killed_after_two_batches_and_resumed(world: &World, journal: &Journal, dir: &Path, plan_to_kill: &Plan) {
    let id = hub_state::create(journal, plan_to_kill).unwrap();
    let batches = AtomicUsize::new(0);
    let progress = |event: Progress<HubStateTick>| {
        if matches!(&event, Progress::Tick { news, .. } if news.phase == "devices") {
            batches.fetch_add(1, Ordering::SeqCst);
        }
    };
    let killed = hub_state::run(journal, &id, world.clients.clone(), &progress);
    tokio::select! {
        _ = killed => panic!("the run ended before it was killed"),
        _ = async { while batches.load(Ordering::SeqCst) < 2 { tokio::time::sleep(std::time::Duration::from_millis(5)).await } } => {}
    }
    let arrived_before = world.device_count("contoso-hub-neu");
    assert!((200..454).contains(&arrived_before), "{arrived_before} devices arrived before the kill");
    let target = world.client("contoso-hub-neu").await;
    let before = target.devices(1000).await.unwrap();
    let generations: std::collections::HashMap<String, Option<String>> = before.iter().map(|d| (d.device_id.clone(), d.generation_id.clone())).collect();

    hub_state::run(journal, &id, world.clients.clone(), &|_| {}).await.unwrap();
    assert_eq!(world.device_count("contoso-hub-neu"), 454);
    let counts = journal.item_kinds(&id).unwrap();
    assert_eq!(counts["device"].get("failed"), None, "{counts:?}");
    assert_eq!(counts["device"].values().sum::<u64>(), 454);
    // The resumed run began after the last checkpoint: only the batch cut off by the kill is met
    // again (and found as wanted), not the devices before it.
    let met_again = counts["device"].get("unchanged").copied().unwrap_or(0);
    assert!(met_again <= 100, "{met_again} devices were met again: the run started over");
    // No device made twice: those there before the kill keep the generation they were made with.
    for device in target.devices(1000).await.unwrap() {
        if let Some(generation) = generations.get(&device.device_id) {
            assert_eq!(&device.generation_id, generation, "{} was made again", device.device_id);
        }
    }
    // The target equals the source.
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    run(world, journal, &plan(Action::Export, Some("contoso-hub-weu"), None, Some(&a), false)).await.unwrap();
    run(world, journal, &plan(Action::Export, Some("contoso-hub-neu"), None, Some(&b), false)).await.unwrap();
    assert_eq!(comparable(&a), comparable(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrate_killed_part_way_resumes_from_the_source_query_with_nothing_done_twice() {
    let world = start().await;
    seed(&world, "contoso-hub-weu", 450).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let migrate = plan(Action::Migrate, Some("contoso-hub-weu"), Some("contoso-hub-neu"), None, false);
    killed_after_two_batches_and_resumed(&world, &journal, dir.path(), &migrate).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_part_way_resumes_from_the_files_offset_with_nothing_done_twice() {
    let world = start().await;
    seed(&world, "contoso-hub-weu", 450).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let lines = dir.path().join("weu.jsonl");
    let mut export = plan(Action::Export, Some("contoso-hub-weu"), None, Some(&lines), false);
    export.variant = Some(Variant::Lines);
    run(&world, &journal, &export).await.unwrap();
    let import = plan(Action::Import, None, Some("contoso-hub-neu"), Some(&lines), false);
    killed_after_two_batches_and_resumed(&world, &journal, dir.path(), &import).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_deletes_what_the_state_lacks_after_a_dry_run_names_each_delete() {
    let world = start().await;
    seed(&world, "contoso-hub-weu", 6).await;
    let neu = world.client("contoso-hub-neu").await;
    for n in 0..3 {
        neu.create_or_update_device(&sas(&format!("stray-{n}"), n), None).await.unwrap();
    }
    let stray = json!({"id": "old-config", "content": {"deviceContent": {"properties.desired.old": 1}}, "targetCondition": "*", "priority": 0});
    neu.create_or_update_configuration("old-config", &stray, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let replace = plan(Action::Migrate, Some("contoso-hub-weu"), Some("contoso-hub-neu"), None, true);
    let dry = dry_run::dry_run(&world.clients, &replace, &|_, _| {}).await.unwrap();
    assert_eq!((dry.deletes("device"), dry.deletes("configuration")), (3, 1));
    assert_eq!(dry.counts["device"]["create"], 10);
    let mut deletes: Vec<_> = dry.changes.iter().filter(|c| c.change == Change::Delete).map(|c| format!("{} {}", c.kind, c.id)).collect();
    deletes.sort();
    assert_eq!(deletes, ["configuration old-config", "device stray-0", "device stray-1", "device stray-2"]);
    assert_eq!(world.device_count("contoso-hub-neu"), 3, "a dry run changes nothing");
    let id = run(&world, &journal, &replace).await.unwrap();
    assert_eq!(world.device_count("contoso-hub-neu"), 10);
    assert_eq!(journal.item_kinds(&id).unwrap()["device"]["deleted"], 3);
    assert!(neu.configurations().await.unwrap().iter().all(|c| c["id"] != "old-config"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_state_file_is_refused_before_the_target_is_touched() {
    let world = start().await;
    seed(&world, "contoso-hub-weu", 5).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let lines = dir.path().join("weu.jsonl");
    let mut export = plan(Action::Export, Some("contoso-hub-weu"), None, Some(&lines), false);
    export.variant = Some(Variant::Lines);
    run(&world, &journal, &export).await.unwrap();
    let text = std::fs::read_to_string(&lines).unwrap();
    assert_eq!(text.lines().count(), 1 + 1 + 9 + 1, "version, configurations, a line per device, end");

    // Cut after the fourth device: every whole line is valid, the end line is missing.
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, text.lines().take(6).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let refused = run(&world, &journal, &plan(Action::Import, None, Some("contoso-hub-neu"), Some(&cut), false)).await.unwrap_err();
    assert_eq!(refused.code(), "hubState.file_truncated", "{refused}");
    assert_eq!(world.device_count("contoso-hub-neu"), 0);

    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, text.lines().next().unwrap().replace(":1}", ":9}") + "\n").unwrap();
    let refused = run(&world, &journal, &plan(Action::Import, None, Some("contoso-hub-neu"), Some(&newer), false)).await.unwrap_err();
    assert_eq!(refused.code(), "hubState.file_newer_version");
    assert!(refused.to_string().contains("state format 9"), "{refused}");

    let wrong = dir.path().join("wrong.jsonl");
    std::fs::write(&wrong, text.replacen("\"status\":\"enabled\"", "\"status\":\"paused\"", 1)).unwrap();
    let refused = run(&world, &journal, &plan(Action::Import, None, Some("contoso-hub-neu"), Some(&wrong), false)).await.unwrap_err();
    let message = refused.to_string();
    assert_eq!(refused.code(), "hubState.file_invalid");
    assert!(message.contains("line 3, devices.") && message.contains(".identity.status: unknown variant `paused`"), "{message}");
    assert_eq!(world.device_count("contoso-hub-neu"), 0);
}
