//! A persistent sandbox stopped and started again is the same cloud: the same IDs, keys, links,
//! enrollments, devices and jobs; what was running runs on; a state file it cannot use is set
//! aside and the sandbox starts fresh.

use crate::central::app::LiveCentralApp;
use crate::cloud::Cloud;
use crate::fleet::{DeviceTiming, Persona};
use crate::scenario::Scenario;
use crate::{Sandbox, SandboxConfig};
use axum::extract::{Path, Query, State};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The built-in scenario with devices that answer in milliseconds (slow ones in a few hundred).
fn quick_scenario() -> Scenario {
    let mut scenario = Scenario::builtin();
    scenario.device_timing = DeviceTiming { answer_ms: 20, slow_answer_ms: 300, reconnect_ms: 50, command_timeout_ms: 400 };
    scenario
}

async fn start(dir: &std::path::Path, scenario: Scenario) -> Sandbox {
    Sandbox::start(SandboxConfig::new(dir.to_path_buf(), scenario).persistent()).await.unwrap()
}

fn fleet_app(cloud: &Cloud) -> Arc<LiveCentralApp> {
    cloud.central_apps().by_subdomain("contoso-fleet").unwrap()
}

/// What the migration sets up on the target DPS: an enrollment group with Central's group keys.
fn enroll_fleet_on_target(cloud: &Cloud) {
    let app = fleet_app(cloud);
    let keys = app.group_keys();
    let target = cloud.provisioning_services().named("contoso-dps").unwrap();
    target.put_enrollment_group(
        "from-contoso-fleet".into(),
        json!({"enrollmentGroupId": "from-contoso-fleet", "provisioningStatus": "enabled", "attestation": {"type": "symmetricKey", "symmetricKey": keys}}),
    );
}

/// Starts a DeviceMove job on the thermostats, as the migration does (through Central's API).
async fn start_move_job(cloud: &Arc<Cloud>, job_id: &str, batch: u32) -> Value {
    let app = fleet_app(cloud);
    let scope = cloud.provisioning_services().named("contoso-dps").unwrap().id_scope().to_string();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", app.api_token().unwrap().parse().unwrap());
    let body = json!({
        "displayName": "Move", "group": "thermostats", "batch": {"type": "number", "value": batch},
        "data": [{"type": "command", "target": "dtmi:contoso:Thermostat;1", "path": "migration.DeviceMove", "value": {"idScope": scope}}],
    });
    let q = Query([("api-version".to_string(), "2022-07-31".to_string())].into());
    let answer = crate::central::jobs::create(State(cloud.clone()), Path(("contoso-fleet".into(), job_id.into())), q, headers, body.to_string()).await;
    answer.map_err(|e| format!("{e:?}")).unwrap().0
}

fn job(cloud: &Cloud, id: &str) -> Value {
    fleet_app(cloud).job_json(id).unwrap()
}

/// The parts of a cloud a restart must keep, as comparable text (keys included: they must match).
fn fingerprint_of(cloud: &Cloud) -> Value {
    let hubs: Vec<Value> = cloud
        .hubs()
        .all()
        .iter()
        .map(|h| json!({"name": h.name_for_test(), "host": h.host(), "key": h.policies()[0].primary_key, "devices": h.device_count(), "etag": h.etag()}))
        .collect();
    let dps: Vec<Value> = cloud
        .provisioning_services()
        .all()
        .iter()
        .map(|d| json!({"scope": d.id_scope(), "key": d.policies()[0].primary_key, "linked": d.linked_hub_names(), "groups": d.enrollment_group_bodies(), "etag": d.settings().etag}))
        .collect();
    let apps: Vec<Value> = cloud
        .central_apps()
        .all()
        .iter()
        .map(|a| {
            json!({"scope": a.id_scope(), "token": a.api_token(), "jobs": a.job_ids(), "groups": a.device_group_ids(), "keys": a.derived_keys("thermostat-001"),
                   "devices": a.simulated_devices().iter().map(|d| (d.id.clone(), d.persona(), d.link.lock().unwrap().hub.clone())).collect::<Vec<_>>()})
        })
        .collect();
    json!({"hubs": hubs, "dps": dps, "apps": apps})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_has_the_same_scopes_keys_links_enrollments_devices_and_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), quick_scenario()).await;
    enroll_fleet_on_target(&first.cloud);
    start_move_job(&first.cloud, "move-1", 500).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while job(&first.cloud, "move-1")["status"] == "running" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // the devices' reconnections
    let before = fingerprint_of(&first.cloud);
    let (url, job_before) = (first.base_url.clone(), job(&first.cloud, "move-1"));
    assert!(before["hubs"][0]["devices"].as_u64().unwrap() > 100, "the move filled the target hub: {}", before["hubs"][0]["devices"]);

    let store = super::Store::new(dir.path(), &quick_scenario());
    let started = Instant::now();
    let written = store.save(&first.cloud, super::Ports::default()).unwrap();
    eprintln!("built-in scenario after a move: state file {written} bytes, written in {:?}", started.elapsed());
    first.stop();
    let mode = std::fs::metadata(dir.path().join(super::STATE_FILE)).unwrap();
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600, "the file holds keys: the user's alone");

    let second = start(dir.path(), quick_scenario()).await;
    assert_eq!(fingerprint_of(&second.cloud), before);
    assert_eq!(second.base_url, url, "the sandbox's URL stays valid");
    assert_eq!(job(&second.cloud, "move-1"), job_before);
    let app = fleet_app(&second.cloud);
    let command = app.last_command("thermostat-001", "migration.DeviceMove");
    assert!(command.is_some_and(|c| c["request"]["idScope"].is_string()), "the command history is kept");
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_central_job_running_when_the_sandbox_stops_runs_to_its_end_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), quick_scenario()).await;
    enroll_fleet_on_target(&first.cloud);
    start_move_job(&first.cloud, "move-1", 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let progress = job(&first.cloud, "move-1")["progress"].clone();
    assert!(progress["pending"].as_u64().unwrap() > 0, "stopped mid-run: {progress}");
    first.stop();

    let second = start(dir.path(), quick_scenario()).await;
    assert_eq!(job(&second.cloud, "move-1")["status"], "running");
    let deadline = Instant::now() + Duration::from_secs(60);
    while job(&second.cloud, "move-1")["status"] == "running" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = job(&second.cloud, "move-1");
    assert_eq!((done["status"].clone(), done["progress"]["pending"].clone(), done["progress"]["total"].clone()), (json!("completed"), json!(0), json!(240)));
    tokio::time::sleep(Duration::from_millis(400)).await; // the last devices' reconnections
    let target = second.cloud.hubs().named("contoso-hub-weu").unwrap();
    let app = fleet_app(&second.cloud);
    for device in app.simulated_devices().iter().filter(|d| d.id.starts_with("thermostat-") && d.persona() == Persona::Healthy) {
        assert_eq!(device.link.lock().unwrap().hub.as_deref(), Some(target.host()), "{} moved", device.id);
    }
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_whose_port_was_taken_moves_and_every_mention_of_its_host_follows() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), quick_scenario()).await;
    enroll_fleet_on_target(&first.cloud);
    let old = first.cloud.hubs().named("contoso-hub-weu").unwrap().host().to_string();
    let device = fleet_app(&first.cloud).simulated_device("thermostat-001").unwrap();
    device.register(&first.cloud, first.cloud.provisioning_services().named("contoso-dps").unwrap().id_scope()).unwrap();
    first.stop();
    let port: u16 = old.strip_prefix("localhost:").unwrap().parse().unwrap();
    // The stopped hub's listener closes once its aborted task is dropped: a moment later.
    let deadline = Instant::now() + Duration::from_secs(5);
    let _squatter = loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => break listener,
            Err(e) if Instant::now() > deadline => panic!("the old hub's port stayed bound: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };

    let second = start(dir.path(), quick_scenario()).await;
    let hub = second.cloud.hubs().named("contoso-hub-weu").unwrap();
    assert_ne!(hub.host(), old);
    let dps = second.cloud.provisioning_services().named("contoso-dps").unwrap();
    let linked = dps.settings().linked_hubs;
    assert_eq!(linked[0].name, hub.host());
    assert!(linked[0].connection_string.contains(&format!("HostName={};", hub.host())));
    let device = fleet_app(&second.cloud).simulated_device("thermostat-001").unwrap();
    assert_eq!(device.link.lock().unwrap().hub.as_deref(), Some(hub.host()));
    assert!(second.cloud.hub_by_host(hub.host()).is_some() && second.cloud.hub_by_host(&old).is_none());
    second.stop();
}

async fn starts_fresh_beside(contents: &[u8], expect_aside: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(super::STATE_FILE), contents).unwrap();
    let sandbox = start(dir.path(), quick_scenario()).await;
    assert_eq!(fleet_app(&sandbox.cloud).job_ids(), Vec::<String>::new(), "a fresh cloud");
    assert_eq!(sandbox.cloud.hubs().all().len(), 2);
    let aside: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.contains("set-aside")).collect();
    assert_eq!(aside.len(), usize::from(expect_aside), "{aside:?}");
    sandbox.stop();
    let saved: Value = serde_json::from_slice(&std::fs::read(dir.path().join(super::STATE_FILE)).unwrap()).unwrap();
    assert_eq!(saved["format"], super::FORMAT, "the fresh state is saved in its place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_set_aside_and_the_sandbox_starts_fresh() {
    starts_fresh_beside(b"{\"format\": 1, \"hubs\": [tru", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_of_a_newer_format_is_set_aside_and_the_sandbox_starts_fresh() {
    starts_fresh_beside(format!("{{\"format\": {}, \"whatever\": true}}", super::FORMAT + 1).as_bytes(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_saved_for_another_scenario_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    start(dir.path(), Scenario::builtin()).await.stop();
    let saved = std::fs::read(dir.path().join(super::STATE_FILE)).unwrap();
    starts_fresh_beside(&saved, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_not_asked_to_persist_writes_nothing_and_a_reset_one_forgets() {
    let dir = tempfile::tempdir().unwrap();
    Sandbox::start(SandboxConfig::new(dir.path().to_path_buf(), quick_scenario())).await.unwrap().stop();
    assert!(!dir.path().join(super::STATE_FILE).exists());

    let first = start(dir.path(), quick_scenario()).await;
    let scope = fleet_app(&first.cloud).id_scope().to_string();
    first.stop();
    assert!(dir.path().join(super::STATE_FILE).exists());
    start(dir.path(), quick_scenario()).await.reset(dir.path()).unwrap();
    assert!(!dir.path().join(super::STATE_FILE).exists());
    let fresh = start(dir.path(), quick_scenario()).await;
    assert_ne!(fleet_app(&fresh.cloud).id_scope(), scope, "new scopes after a reset");
    fresh.stop();
}
