//! The Bulk identities wizard against the in-process sandbox with Azurite: export to a local file,
//! import with each of the nine modes (the hub's state asserted after each), the file checked
//! before anything is uploaded, import errors put beside their lines, one job per hub, and the
//! operations built on import (generate, delete / disable by a query, regenerate keys).

use iotm_azure::arm::ArmClient;
use iotm_azure::blob::{container_create_sas_url, container_sas_url, ContainerClient};
use iotm_azure::hub::{DeviceIdentity, HubClient};
use iotm_azure::hub_jobs::NewJob;
use iotm_azure::{ClientSecretCredential, Cloud, ConnectionString, Pipeline, PipelineOptions, Secret};
use iotm_core::journal::{Journal, MigrationState};
use iotm_core::runtime::RunOutcome;
use iotm_core::wizards::bulk_identities::report::{build, Report};
use iotm_core::wizards::bulk_identities::{wizard, BulkError, Clients, HubTarget, ImportMode, Operation, Plan, StorageTarget};
use iotm_sandbox::scenario::{Scenario, SANDBOX_CONFIDENTIAL_CLIENT_ID};
use iotm_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

const PRODUCTION: &str = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11";
const GROUP: &str = "rg-iot-prod";
const HUB: &str = "contoso-hub-weu";
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

struct World {
    _sandbox: Sandbox,
    dir: tempfile::TempDir,
    journal: Journal,
    clients: Clients,
    hub: HubClient,
}

async fn start() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxConfig::new(dir.path().join("sandbox"), Scenario::builtin()).with_azurite()).await.unwrap();
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    let pipeline = Pipeline::new(Cloud::sandbox(&sandbox.base_url, ca).unwrap(), PipelineOptions::default()).unwrap();
    let secret = sandbox.cloud.grants().client_secret(SANDBOX_CONFIDENTIAL_CLIENT_ID).unwrap();
    let tenant = Scenario::builtin().tenants[0].id.clone();
    let credential = Arc::new(ClientSecretCredential::new(pipeline.clone(), &tenant, SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::new(secret)).unwrap());
    let arm = ArmClient::new(pipeline.clone(), credential);
    let host = arm.iot_hub(PRODUCTION, GROUP, HUB).await.unwrap().properties.host_name.unwrap();
    let key = arm.iot_hub_key(PRODUCTION, GROUP, HUB, "iothubowner").await.unwrap().primary_key.unwrap();
    let hub = HubClient::from_connection_string(pipeline.clone(), ConnectionString::for_policy(&host, "iothubowner", &key));
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    World { _sandbox: sandbox, dir, journal, clients: Clients { pipeline, arm }, hub }
}

fn plan(operation: Operation) -> Plan {
    Plan {
        hub: HubTarget { subscription_id: PRODUCTION.into(), resource_group: GROUP.into(), hub_name: HUB.into() },
        storage: StorageTarget {
            subscription_id: PRODUCTION.into(),
            resource_group: GROUP.into(),
            account: "contosomigration".into(),
            container: "bulk-jobs".into(),
        },
        operation,
    }
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn run(&self, operation: Operation) -> (Result<RunOutcome, BulkError>, Report) {
        let id = wizard::create(&self.journal, &plan(operation)).unwrap();
        let clients = Clients { pipeline: self.clients.pipeline.clone(), arm: self.clients.arm.clone() };
        let outcome = wizard::run(&self.journal, &id, clients, &|_| {}).await;
        (outcome, build(&self.journal, &id).unwrap())
    }

    async fn import(&self, lines: &[Value], default_mode: ImportMode) -> Report {
        let file = self.path("devices.txt");
        std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        let (outcome, report) = self.run(Operation::Import { file: file.display().to_string(), default_mode }).await;
        outcome.unwrap();
        assert_eq!(report.state, MigrationState::Completed);
        report
    }

    async fn device(&self, id: &str) -> Option<DeviceIdentity> {
        self.hub.device(id).await.ok()
    }

    async fn create(&self, id: &str) -> DeviceIdentity {
        self.hub.create_or_update_device(&DeviceIdentity::with_generated_keys(id), None).await.unwrap()
    }

    async fn status(&self, id: &str) -> Option<String> {
        self.device(id).await.and_then(|d| d.status)
    }
}

/// (line, device, error code) of each import error.
fn errors(report: &Report) -> Vec<(Option<u32>, String, Option<u32>)> {
    report.errors.iter().map(|e| (e.line, e.device_id.clone().unwrap_or_default(), e.error_code)).collect()
}

fn sas(key: &str) -> Value {
    json!({"type": "sas", "symmetricKey": {"primaryKey": key, "secondaryKey": key}})
}

#[tokio::test(flavor = "multi_thread")]
async fn export_saves_every_device_to_the_chosen_file_with_or_without_keys() {
    let w = start().await;
    for id in ["e-1", "e-2", "e-3"] {
        w.create(id).await;
    }
    let to = w.path("export/devices.txt");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let (outcome, report) = w.run(Operation::Export { exclude_keys: false, save_to: to.display().to_string() }).await;
    outcome.unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(&to).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(), ["e-1", "e-2", "e-3"]);
    assert!(lines[0]["authentication"]["symmetricKey"]["primaryKey"].is_string());
    assert_eq!(report.counts.get("exported"), Some(&3));
    assert_eq!(report.jobs.len(), 1);
    let (outcome, _) = w.run(Operation::Export { exclude_keys: true, save_to: to.display().to_string() }).await;
    outcome.unwrap();
    let first: Value = serde_json::from_str(std::fs::read_to_string(&to).unwrap().lines().next().unwrap()).unwrap();
    assert!(first["authentication"]["symmetricKey"]["primaryKey"].is_null(), "{first}");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_create_registers_new_devices_and_puts_an_existing_one_beside_its_line() {
    let w = start().await;
    w.create("dup").await;
    let report = w
        .import(
            &[
                json!({"id": "c-1", "importMode": "create", "authentication": sas(KEY), "tags": {"site": "munich"}}),
                json!({"id": "dup", "importMode": "create"}),
            ],
            ImportMode::Create,
        )
        .await;
    assert_eq!(errors(&report), vec![(Some(2), "dup".into(), Some(409001))]);
    assert_eq!(report.errors[0].meaning, "a device with this ID is registered already");
    let c1 = w.device("c-1").await.unwrap();
    assert_eq!(c1.authentication.unwrap().symmetric_key.unwrap().primary_key.unwrap().expose(), KEY);
    assert_eq!(w.hub.twin("c-1").await.unwrap().tags, json!({"site": "munich"}));
    assert_eq!((report.counts.get("imported"), report.counts.get("failed")), (Some(&1), Some(&1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_update_overwrites_existing_devices_and_logs_missing_ones() {
    let w = start().await;
    w.create("u-1").await;
    let report = w.import(&[json!({"id": "u-1", "status": "disabled", "authentication": sas(KEY)}), json!({"id": "u-missing"})], ImportMode::Update).await;
    assert_eq!(errors(&report), vec![(Some(2), "u-missing".into(), Some(404001))]);
    assert_eq!(w.status("u-1").await.as_deref(), Some("disabled"));
    assert!(w.device("u-missing").await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_update_if_match_etag_applies_only_a_matching_etag() {
    let w = start().await;
    let a = w.create("ue-a").await;
    w.create("ue-b").await;
    let report = w
        .import(
            &[
                json!({"id": "ue-a", "importMode": "updateIfMatchETag", "eTag": a.etag, "status": "disabled", "authentication": sas(KEY)}),
                json!({"id": "ue-b", "importMode": "updateIfMatchETag", "eTag": "stale", "status": "disabled", "authentication": sas(KEY)}),
            ],
            ImportMode::Create,
        )
        .await;
    assert_eq!(errors(&report), vec![(Some(2), "ue-b".into(), Some(412001))]);
    assert_eq!((w.status("ue-a").await.as_deref(), w.status("ue-b").await.as_deref()), (Some("disabled"), Some("enabled")));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_create_or_update_creates_and_replaces_and_is_the_default_for_lines_without_a_mode() {
    let w = start().await;
    w.create("cu-old").await;
    let report = w
        .import(
            &[json!({"id": "cu-old", "status": "disabled", "authentication": sas(KEY)}), json!({"id": "cu-new", "tags": {"wave": 1}})],
            ImportMode::CreateOrUpdate,
        )
        .await;
    assert_eq!(errors(&report), vec![]);
    assert_eq!(w.status("cu-old").await.as_deref(), Some("disabled"));
    assert_eq!(w.hub.twin("cu-new").await.unwrap().tags, json!({"wave": 1}));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_create_or_update_if_match_etag_checks_existing_devices_only() {
    let w = start().await;
    w.create("cue-old").await;
    let report = w
        .import(
            &[
                json!({"id": "cue-old", "importMode": "createOrUpdateIfMatchETag", "eTag": "stale", "status": "disabled"}),
                json!({"id": "cue-new", "importMode": "createOrUpdateIfMatchETag", "eTag": "whatever"}),
            ],
            ImportMode::Create,
        )
        .await;
    assert_eq!(errors(&report), vec![(Some(1), "cue-old".into(), Some(412001))]);
    assert_eq!(w.status("cue-old").await.as_deref(), Some("enabled"));
    assert!(w.device("cue-new").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_delete_removes_devices_and_logs_missing_ones() {
    let w = start().await;
    w.create("del-1").await;
    w.create("keep").await;
    let report = w.import(&[json!({"id": "del-1"}), json!({"id": "del-missing"})], ImportMode::Delete).await;
    assert_eq!(errors(&report), vec![(Some(2), "del-missing".into(), Some(404001))]);
    assert!(w.device("del-1").await.is_none() && w.device("keep").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_delete_if_match_etag_deletes_only_on_a_matching_etag() {
    let w = start().await;
    let a = w.create("de-a").await;
    w.create("de-b").await;
    let report = w.import(&[json!({"id": "de-a", "eTag": a.etag}), json!({"id": "de-b", "eTag": "stale"})], ImportMode::DeleteIfMatchETag).await;
    assert_eq!(errors(&report), vec![(Some(2), "de-b".into(), Some(412001))]);
    assert!(w.device("de-a").await.is_none() && w.device("de-b").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_update_twin_sets_tags_and_desired_and_leaves_the_identity() {
    let w = start().await;
    let before = w.create("tw-1").await;
    let report = w
        .import(
            &[json!({"id": "tw-1", "tags": {"floor": 3}, "properties": {"desired": {"mode": "eco"}}}), json!({"id": "tw-missing", "tags": {}})],
            ImportMode::UpdateTwin,
        )
        .await;
    assert_eq!(errors(&report), vec![(Some(2), "tw-missing".into(), Some(404001))]);
    let twin = w.hub.twin("tw-1").await.unwrap();
    assert_eq!((twin.tags.clone(), twin.properties["desired"]["mode"].clone()), (json!({"floor": 3}), json!("eco")));
    assert_eq!(w.device("tw-1").await.unwrap().etag, before.etag, "the identity is left as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_update_twin_if_match_etag_checks_the_twin_etag() {
    let w = start().await;
    w.create("twe-a").await;
    w.create("twe-b").await;
    let etag = w.hub.query("SELECT * FROM devices WHERE deviceId = 'twe-a'", 10).unwrap().all().await.unwrap()[0]["etag"].as_str().unwrap().to_string();
    let report = w
        .import(
            &[json!({"id": "twe-a", "twinETag": etag, "tags": {"ok": true}}), json!({"id": "twe-b", "twinETag": "AAAAAAAAAAk=", "tags": {"ok": false}})],
            ImportMode::UpdateTwinIfMatchETag,
        )
        .await;
    assert_eq!(errors(&report), vec![(Some(2), "twe-b".into(), Some(412001))]);
    assert_eq!((w.hub.twin("twe-a").await.unwrap().tags, w.hub.twin("twe-b").await.unwrap().tags), (json!({"ok": true}), json!({})));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_with_mistakes_is_refused_line_by_line_and_nothing_is_uploaded() {
    let w = start().await;
    let file = w.path("bad.txt");
    let text = [
        r#"{"id": "ok-1"}"#,
        r#"{"id": "broken", "importMode": "#,
        r#"{"id": "m", "importMode": "merge"}"#,
        r#"{"id": "ok-1"}"#,
        r#"{"id": "k", "authentication": {"type": "sas", "symmetricKey": {"primaryKey": "c2hvcnQ="}}}"#,
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    let (outcome, report) = w.run(Operation::Import { file: file.display().to_string(), default_mode: ImportMode::Create }).await;
    let Err(BulkError::InvalidFile { problems, .. }) = outcome else { panic!("refused as an invalid file: {outcome:?}") };
    let seen: Vec<(u32, &str)> = problems.iter().map(|p| (p.line, p.code.as_str())).collect();
    assert_eq!(seen, vec![(2, "bulk.line.json"), (3, "bulk.line.unknownMode"), (4, "bulk.line.duplicateId"), (5, "bulk.line.badKey")]);
    assert_eq!(report.state, MigrationState::Failed);
    assert!(report.jobs.is_empty(), "no job was started");
    assert!(w.hub.import_export_jobs().await.unwrap().is_empty());
    assert!(w.device("ok-1").await.is_none(), "nothing was imported");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_job_on_a_busy_hub_is_explained_and_starts_nothing() {
    let w = start().await;
    // Someone else's import, big enough to be running still, started on the hub directly.
    let arm = &w.clients.arm;
    let endpoint = arm.storage_account(PRODUCTION, GROUP, "contosomigration").await.unwrap().properties.primary_endpoints.blob.unwrap();
    let key = arm.storage_account_keys(PRODUCTION, GROUP, "contosomigration").await.unwrap().remove(0).value;
    let url = url::Url::parse(&format!("{}other", endpoint)).unwrap();
    let create = container_create_sas_url(&url, "contosomigration", &key, "2099-01-01T00:00:00Z").unwrap();
    ContainerClient::from_sas_url(w.clients.pipeline.clone(), &create).unwrap().create_container().await.unwrap();
    let sas = container_sas_url(&url, "contosomigration", &key, "rw", "2099-01-01T00:00:00Z").unwrap();
    let lines: String = (0..60_000).map(|i| format!("{{\"id\":\"bulk-{i:06}\"}}\n")).collect();
    ContainerClient::from_sas_url(w.clients.pipeline.clone(), &sas).unwrap().upload("devices.txt", lines.into_bytes(), "text/plain").await.unwrap();
    let other = w.hub.create_import_export_job(&NewJob::import(sas.clone(), None, sas)).await.unwrap();
    let to = w.path("never.txt");
    let (outcome, report) = w.run(Operation::Export { exclude_keys: true, save_to: to.display().to_string() }).await;
    let Err(BulkError::HubBusy { job, .. }) = &outcome else { panic!("refused as busy: {outcome:?}") };
    assert_eq!(job, &other.job_id, "the refusal names the job that holds the hub");
    assert!(outcome.as_ref().unwrap_err().to_string().contains("one at a time"));
    assert!(report.jobs.is_empty() && !to.exists(), "nothing was started or written");
    assert_eq!(w.hub.import_export_jobs().await.unwrap().len(), 1);
    w.hub.cancel_import_export_job(&other.job_id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_creates_numbered_devices_whose_keys_are_only_in_the_chosen_file() {
    let w = start().await;
    let keys = w.path("lab-keys.txt");
    let (outcome, report) = w.run(Operation::Generate { prefix: "lab".into(), count: 5, keys_file: keys.display().to_string() }).await;
    outcome.unwrap();
    assert_eq!(report.counts.get("imported"), Some(&5));
    let lines: Vec<Value> = std::fs::read_to_string(&keys).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let device = w.device(line["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(
            device.authentication.unwrap().symmetric_key.unwrap().primary_key.unwrap().expose(),
            line["authentication"]["symmetricKey"]["primaryKey"].as_str().unwrap()
        );
    }
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&keys).unwrap().permissions()) & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_disable_and_regenerate_keys_act_only_on_the_devices_a_query_finds() {
    let w = start().await;
    for id in ["q-a", "q-b", "keep"] {
        w.create(id).await;
    }
    let query = "SELECT * FROM devices WHERE STARTSWITH(deviceId, 'q-')".to_string();
    let query = if w.hub.query(&query, 10).unwrap().all().await.is_ok() { query } else { "SELECT * FROM devices WHERE deviceId IN ['q-a', 'q-b']".to_string() };
    let (outcome, _) = w.run(Operation::SetStatus { query: query.clone(), enabled: false }).await;
    outcome.unwrap();
    assert_eq!(
        (w.status("q-a").await.as_deref(), w.status("q-b").await.as_deref(), w.status("keep").await.as_deref()),
        (Some("disabled"), Some("disabled"), Some("enabled"))
    );
    let old_key = w.device("q-a").await.unwrap().authentication.unwrap().symmetric_key.unwrap().primary_key.unwrap().expose().clone();
    let keys = w.path("new-keys.txt");
    let (outcome, _) = w.run(Operation::RegenerateKeys { query: query.clone(), keys_file: keys.display().to_string() }).await;
    outcome.unwrap();
    let new_key = w.device("q-a").await.unwrap().authentication.unwrap().symmetric_key.unwrap().primary_key.unwrap().expose().clone();
    assert_ne!(new_key, old_key);
    assert!(std::fs::read_to_string(&keys).unwrap().contains(&new_key), "the new key is in the chosen file");
    assert_eq!(w.status("q-a").await.as_deref(), Some("disabled"), "regenerating keys leaves the status");
    let (outcome, _) = w.run(Operation::Delete { query: query.clone() }).await;
    outcome.unwrap();
    assert!(w.device("q-a").await.is_none() && w.device("q-b").await.is_none() && w.device("keep").await.is_some());
    let (outcome, _) = w.run(Operation::Delete { query }).await;
    assert!(matches!(outcome, Err(BulkError::NothingMatches { .. })), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_stopped_while_its_job_runs_finds_the_same_job_again_when_resumed() {
    use iotm_core::runtime::{run_as, Progress, RunMode, Runs};
    use iotm_core::wizards::bulk_identities::BulkIdentities;
    let w = start().await;
    let file = w.path("many.txt");
    std::fs::write(&file, (0..20_000).map(|i| format!("{{\"id\":\"many-{i:05}\",\"importMode\":\"create\"}}\n")).collect::<String>()).unwrap();
    let plan = plan(Operation::Import { file: file.display().to_string(), default_mode: ImportMode::Create });
    let id = wizard::create(&w.journal, &plan).unwrap();
    let runs = Runs::default();
    let (stopper, stop_id) = (runs.clone(), id.clone());
    // Stopped (as closing the app stops it) as soon as the hub has the job.
    let progress = move |event: Progress<_>| {
        if let Progress::Tick { news: iotm_core::wizards::bulk_identities::progress::BulkTick { job_id: Some(_), .. }, .. } = &event {
            stopper.stop(&stop_id);
        }
    };
    let stopped = run_as::<BulkIdentities>(&w.journal, &runs, &id, &w.clients, &plan, RunMode::Run, &progress).await;
    assert!(matches!(stopped, Err(BulkError::Run(iotm_core::runtime::RunError::Cancelled))), "{stopped:?}");
    let jobs = w.hub.import_export_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1, "the job was started once");
    // Resumed: the journal's job is followed to its end; no second job, no second upload.
    let clients = Clients { pipeline: w.clients.pipeline.clone(), arm: w.clients.arm.clone() };
    wizard::run(&w.journal, &id, clients, &|_| {}).await.unwrap();
    let after = w.hub.import_export_jobs().await.unwrap();
    assert_eq!(after.iter().map(|j| (j.job_id.as_str(), j.status.as_str())).collect::<Vec<_>>(), [(jobs[0].job_id.as_str(), "completed")]);
    let report = build(&w.journal, &id).unwrap();
    assert_eq!((report.state, report.counts.get("imported")), (MigrationState::Completed, Some(&20_000)));
    assert!(w.device("many-19999").await.is_some());
}
