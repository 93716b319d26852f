//! The Central → Hub engine refuses bad input with a clear, specific message and changes nothing:
//! for each bad plan the dry run and the run fail with the right code and a message naming the
//! thing; no DPS enrollment group, no `iotm-` Central job or device group, DPS links unchanged; the
//! run's journal shows the failing step with its code, earlier steps done and later ones absent.
//! Also: a token that expires mid-run is refreshed silently, and a refused Central job stops the
//! run with Central's error and request ID, and a later run resumes without duplicating anything.

mod common;

use common::*;
use iotm_azure::arm::ArmClient;
use iotm_azure::central::models::DeviceGroup;
use iotm_azure::central::CentralClient;
use iotm_azure::dps::{DpsClient, EnrollmentGroup};
use iotm_azure::{ClientSecretCredential, Cloud, ConnectionString, Pipeline, PipelineOptions, Secret};
use iotm_core::journal::{Journal, MigrationState};
use iotm_core::runtime::RunOutcome;
use iotm_core::runtime::StepState;
use iotm_core::wizards::central_to_hub::enrollment::thumbprint;
use iotm_core::wizards::central_to_hub::plan::Plan;
use iotm_core::wizards::central_to_hub::{self as c2h, create, dry_run, CentralToHubProgress as Progress, WizardError};
use iotm_sandbox::faults::{FaultKind, FaultRule};
use iotm_sandbox::fleet::Persona;
use iotm_sandbox::live::Placed;
use iotm_sandbox::scenario::{IotHub, ProvisioningService, Scenario, SANDBOX_CONFIDENTIAL_CLIENT_ID};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LAB: &str = "8d2f4b63-1e7c-4a9d-b5f0-3e6a8c0d2f22";
const AUTOMATION_SP: &str = "0a1b2c3d-2222-4000-8000-000000000003";

/// Everything a migration could change, as the sandbox holds it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    /// DPS name → (linked hub hosts, enrollment groups as stored).
    dps: BTreeMap<String, (Vec<String>, BTreeMap<String, Value>)>,
    /// Central jobs and device groups the migration would have made (`iotm-…`).
    jobs: Vec<String>,
    device_groups: Vec<String>,
    /// Hub name → device identities.
    hub_devices: BTreeMap<String, usize>,
}

fn snapshot(world: &World) -> Snapshot {
    let cloud = &world.sandbox.cloud;
    let dps = cloud.provisioning_services().all().iter().map(|d| (d.name().to_string(), (d.linked_hub_names(), d.enrollment_group_bodies()))).collect();
    let app = cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
    let jobs = app.job_ids().into_iter().filter(|k| k.starts_with("iotm-")).collect();
    let device_groups = app.device_group_ids().into_iter().filter(|id| id.starts_with("iotm-")).collect();
    let hub_devices = cloud.hubs().all().iter().map(|h| (h.name().to_string(), h.device_count())).collect();
    Snapshot { dps, jobs, device_groups, hub_devices }
}

/// A journal in its own folder (kept alive by the returned guard).
fn journal() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    (dir, journal)
}

async fn run(journal: &Journal, id: &str, world: &World) -> Result<RunOutcome, WizardError> {
    let progress = |_: Progress| {};
    c2h::run(journal, id, world.clients.clone(), &progress).await
}

/// The run's journal: exactly `done` (each finished without error), then `failed` with `code`.
fn assert_stopped_at(journal: &Journal, id: &str, done: &[&str], failed: &str, code: &str) {
    let steps = journal.steps(id).unwrap();
    let keys: Vec<&str> = steps.iter().map(|s| s.key.as_str()).collect();
    let mut want = done.to_vec();
    want.push(failed);
    assert_eq!(keys, want, "steps: {steps:#?}");
    for step in &steps[..done.len()] {
        assert!(step.outcome.is_some() && step.error_code.is_none(), "{} should be done: {step:?}", step.key);
    }
    let last = steps.last().unwrap();
    assert_eq!(last.error_code.as_deref(), Some(code), "{last:?}");
    assert!(last.error_message.as_deref().is_some_and(|m| !m.is_empty()), "{last:?}");
    let state = journal.list().unwrap().into_iter().find(|m| m.id == id).unwrap().state;
    assert_eq!(state, MigrationState::Failed);
}

/// The dry run and a run of `plan` both fail with `code`, whose message names each of `names`;
/// the run stops at `failed` after `done`; nothing in the sandbox changed.
async fn refused(world: &World, plan: &Plan, code: &str, names: &[&str], done: &[&str], failed: &str) -> (String, String) {
    let before = snapshot(world);
    let dry = dry_run::dry_run(&world.clients, plan, &|_, _| {}).await.map(|_| ()).unwrap_err();
    assert_eq!(dry.code(), code, "dry run: {dry}");
    let dry_message = dry.to_string();
    for name in names {
        assert!(dry_message.contains(name), "the dry run's message should name {name}: {dry_message}");
    }
    let (_dir, journal) = journal();
    let id = create(&journal, plan).unwrap();
    let error = run(&journal, &id, world).await.unwrap_err();
    assert_eq!(error.code(), code, "run: {error}");
    let message = error.to_string();
    for name in names {
        assert!(message.contains(name), "the run's message should name {name}: {message}");
    }
    assert_stopped_at(&journal, &id, done, failed, code);
    assert_eq!(snapshot(world), before, "nothing may change");
    (dry_message, message)
}

fn small_plan() -> Plan {
    let mut plan = plan();
    plan.verify.settle_seconds = 2;
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_without_device_move_is_refused() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    let mut plan = small_plan();
    plan.source.template_id = "dtmi:contoso:LegacySensor;1".into();
    plan.source.device_groups = vec!["legacy-sensors".into()];
    let (_, message) =
        refused(&world, &plan, "centralToHub.template_without_device_move", &["dtmi:contoso:LegacySensor;1", "DeviceMove"], &[], "template").await;
    assert!(message.contains("DeviceMigration"), "says what to add: {message}");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_group_with_no_device_of_the_template_is_refused() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    let group = DeviceGroup {
        id: "no-thermostats".into(),
        display_name: "Thermostats named nobody".into(),
        filter: format!("SELECT * FROM devices WHERE $template = \"{THERMOSTAT}\" AND $displayName = \"nobody\""),
        description: None,
        etag: None,
        organizations: vec![],
    };
    world.clients.central.create_device_group("no-thermostats", &group).await.unwrap();
    let mut plan = small_plan();
    plan.source.device_groups = vec!["no-thermostats".into()];
    refused(&world, &plan, "centralToHub.empty_selection", &["no-thermostats", THERMOSTAT], &["template", "target", "enrollment"], "select-devices").await;
    world.sandbox.stop();
}

/// The built-in scenario with a DPS and a hub in the lab subscription, which the automation
/// service principal has no role on.
fn with_lab_dps(mut scenario: Scenario) -> Scenario {
    let lab = scenario.subscriptions.iter_mut().find(|s| s.id == LAB).unwrap();
    assert!(!lab.access.iter().any(|a| a == AUTOMATION_SP));
    let group = &mut lab.resource_groups[0];
    group.iot_hubs.push(IotHub { name: "lab-hub".into(), sku: "S1".into(), capacity: 1, quotas: None });
    group.provisioning_services.push(ProvisioningService { name: "lab-dps".into(), linked_hubs: vec!["lab-hub".into()], allocation_policy: "Hashed".into() });
    scenario
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dps_the_caller_has_no_role_on_is_refused() {
    let world = start(with_lab_dps(scenario(20)), PipelineOptions::default()).await;
    let mut plan = small_plan();
    plan.target.subscription_id = LAB.into();
    plan.target.resource_group = "rg-iot-lab".into();
    plan.target.dps_name = "lab-dps".into();
    plan.target.hub_name = "lab-hub".into();
    let (_, message) = refused(
        &world,
        &plan,
        "centralToHub.dps_forbidden",
        &["lab-dps", "Microsoft.Devices/provisioningServices/Read", AUTOMATION_SP],
        &["template"],
        "target",
    )
    .await;
    assert!(message.contains("Ask for a role"), "says what to do: {message}");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlinked_hub_the_caller_may_not_link_is_refused() {
    // The automation service principal only reads the production subscription.
    let mut scenario = scenario(20);
    let production = &mut scenario.subscriptions[0];
    production.access.retain(|a| a != AUTOMATION_SP);
    production.readers.push(AUTOMATION_SP.into());
    let world = start(scenario, PipelineOptions::default()).await;
    let plan = small_plan();
    let before = snapshot(&world);
    assert_eq!(before.dps["contoso-dps"].0.len(), 1, "only contoso-hub-weu is linked");

    // The dry run reads everything a reader may read, so it cannot tell the link will be refused;
    // it shows the link as a change the run will make.
    let dry = dry_run::dry_run(&world.clients, &plan, &|_, _| {}).await.unwrap();
    assert!(dry.changes.iter().any(|c| c.kind == "linkHub"), "{:?}", dry.changes);

    let (_dir, journal) = journal();
    let id = create(&journal, &plan).unwrap();
    let error = run(&journal, &id, &world).await.unwrap_err();
    assert_eq!(error.code(), "centralToHub.link_forbidden", "{error}");
    let message = error.to_string();
    for name in ["contoso-hub-neu", "contoso-dps", "Microsoft.Devices/provisioningServices/Write"] {
        assert!(message.contains(name), "should name {name}: {message}");
    }
    assert_stopped_at(&journal, &id, &["template", "target", "enrollment", "select-devices"], "link-hub", "centralToHub.link_forbidden");
    assert_eq!(snapshot(&world), before, "DPS links and groups unchanged");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlinked_hub_when_linking_is_not_allowed_is_refused() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    let mut plan = small_plan();
    plan.target.link_hub_if_needed = false;
    refused(&world, &plan, "centralToHub.hub_not_linked", &["contoso-hub-neu", "contoso-dps"], &["template"], "target").await;
    world.sandbox.stop();
}

/// A client of the plan's DPS service API, signed with its owner policy read from ARM.
async fn dps_client(world: &World, plan: &Plan) -> DpsClient {
    let t = &plan.target;
    let arm: &ArmClient = &world.clients.arm;
    let dps = arm.provisioning_service(&t.subscription_id, &t.resource_group, &t.dps_name).await.unwrap();
    let policies = arm.provisioning_service_keys(&t.subscription_id, &t.resource_group, &t.dps_name).unwrap().all().await.unwrap();
    let owner = policies.iter().find(|p| p.key_name == "provisioningserviceowner").unwrap();
    let host = dps.properties.service_operations_host_name.clone().unwrap();
    DpsClient::from_connection_string(world.clients.pipeline.clone(), ConnectionString::for_policy(&host, &owner.key_name, owner.primary_key.as_ref().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_group_with_other_keys_is_a_clash_and_is_left_alone() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    let plan = small_plan();
    let dps = dps_client(&world, &plan).await;
    // Same name, keys DPS generates (not Central's).
    dps.create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key(&plan.enrollment.dps_group_id), None).await.unwrap();
    let existing = world.sandbox.cloud.provisioning_services().named("contoso-dps").unwrap().enrollment_group_bodies();
    assert_eq!(existing.len(), 1);
    let (_, message) = refused(
        &world,
        &plan,
        "centralToHub.enrollment_clash",
        &["central-migration", "contoso-dps", "other symmetric keys"],
        &["template", "target"],
        "enrollment",
    )
    .await;
    assert!(message.contains("Choose another group name"), "says what to do: {message}");
    // `refused` compared the stored group (keys, etag) before and after: untouched.
    world.sandbox.stop();
}

/// Creates an X.509 enrollment group in Central, through Central's API, signed by `pem`.
async fn central_x509_group(world: &World, id: &str, pem: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read_to_string(&world.sandbox.ca_cert_path).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()).build().unwrap();
    let token = { world.sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap().api_token().unwrap() };
    let body = json!({"displayName": "X.509 devices", "type": "iot", "attestation": {"type": "x509", "x509": {"signingCertificates": {"primary": {"certificate": pem}}}}});
    let url = format!("{}/iotc/contoso-fleet/api/enrollmentGroups/{id}?api-version=2022-07-31", world.sandbox.base_url);
    let response = http.put(url).header("authorization", token).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_group_needs_its_certificate_and_only_that_one() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    // The sandbox CA's certificate stands in for the group's signing certificate.
    let signing = std::fs::read_to_string(&world.sandbox.ca_cert_path).unwrap();
    central_x509_group(&world, "x509-devices", &signing).await;
    let expected = thumbprint(&signing).unwrap();
    let mut plan = small_plan();
    plan.enrollment.central_group_id = "x509-devices".into();
    let (_, message) =
        refused(&world, &plan, "centralToHub.x509_certificate_needed", &["x509-devices", &expected], &["template", "target"], "enrollment").await;
    assert!(message.contains("PEM"), "says what to give: {message}");

    // Another certificate (issued by the same CA, so it looks plausible): named by both thumbprints.
    let (other_path, _) = iotm_sandbox::tls::issue_localhost_certificate(world.state.path(), "not-the-signer").unwrap();
    let other = std::fs::read_to_string(other_path).unwrap();
    let given = thumbprint(&other).unwrap();
    assert_ne!(given, expected);
    plan.enrollment.x509_certificate_pem = Some(other);
    refused(&world, &plan, "centralToHub.x509_certificate_mismatch", &["x509-devices", &expected, &given], &["template", "target"], "enrollment").await;
    world.sandbox.stop();
}

/// Each device ends as its persona says, and the verified ones are connected to the new hub.
fn check_end_state(world: &World, journal: &Journal, id: &str) {
    let personas = world.personas();
    let rows: Vec<(String, String, Option<String>)> =
        journal.items(id, c2h::DEVICE, None, 0, u32::MAX).unwrap().into_iter().map(|r| (r.key, r.state, r.reason)).collect();
    assert_eq!(rows.len(), personas.len(), "every thermostat is tracked");
    for (device, state, reason) in &rows {
        let (want_state, want_reason) = expected(personas[device]);
        let code = reason.as_deref().map(|r| r.split(':').next().unwrap());
        assert!(
            state == want_state && code == want_reason,
            "{device} ({:?}) ended {state} {reason:?}; tally: {:#?}",
            personas[device],
            tally(&rows, &personas)
        );
    }
    let verified = rows.iter().filter(|r| r.1 == "verified").count();
    assert_eq!(verified, personas.values().filter(|p| matches!(p, Persona::Healthy | Persona::Slow)).count());
    assert_eq!(world.connected_to(&world.hub_host("contoso-hub-neu")), verified);
}

fn token_requests(world: &World) -> u64 {
    world.sandbox.cloud.faults().counters().iter().filter(|(k, _)| k.starts_with("entra POST") && k.contains("token")).map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_mid_run_is_renewed_silently() {
    // Access tokens live 10 minutes here, so moving the sandbox clock 15 minutes expires them while
    // the SAS tokens the client signs by its own clock for the DPS and hub (an hour) stay valid.
    let mut scenario = scenario(20);
    scenario.access_token_seconds = 600;
    let mut world = start(scenario, PipelineOptions::default()).await;
    // Central reached with the service principal's Entra token too (the sandbox's Central accepts
    // it: the principal has a role on the app's subscription), so the monitor's calls need it.
    let ca = std::fs::read_to_string(&world.sandbox.ca_cert_path).unwrap();
    let pipeline = Pipeline::new(Cloud::sandbox(&world.sandbox.base_url, ca).unwrap(), PipelineOptions::default()).unwrap();
    let secret = world.sandbox.cloud.grants().client_secret(SANDBOX_CONFIDENTIAL_CLIENT_ID).unwrap();
    let tenant = Scenario::builtin().tenants[0].id.clone();
    let credential = Arc::new(ClientSecretCredential::new(pipeline.clone(), &tenant, SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::new(secret)).unwrap());
    world.clients.central = CentralClient::new(pipeline.clone(), credential.clone(), "contoso-fleet").unwrap();
    world.clients.arm = ArmClient::new(pipeline.clone(), credential);
    world.clients.pipeline = pipeline;

    let (_dir, journal) = journal();
    let id = create(&journal, &small_plan()).unwrap();
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress| events.lock().unwrap().push(p);
    let engine = c2h::run(&journal, &id, world.clients.clone(), &progress);
    let advanced = Mutex::new(None);
    let clock = async {
        // Wait until the job is sent and the run is monitoring, then let 15 minutes pass on the
        // cloud's clock (past the 10-minute tokens, inside the SAS tokens' hour).
        loop {
            let steps = journal.steps(&id).unwrap();
            if steps.iter().any(|s| s.key == "job:thermostats" && s.outcome.is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        *advanced.lock().unwrap() = Some(token_requests(&world));
        world.sandbox.cloud.advance_clock(15 * 60);
    };
    let (outcome, ()) = tokio::join!(engine, clock);
    let outcome = outcome.unwrap_or_else(|e| panic!("the run should outlive the token: {e} ({})", e.code()));
    let before = advanced.lock().unwrap().expect("the clock was moved while the run monitored");
    assert!(token_requests(&world) > before, "a fresh token was fetched after the clock moved ({before} requests before)");
    assert_eq!(
        outcome.counts.get("verified").copied().unwrap_or(0) as usize,
        world.personas().values().filter(|p| matches!(p, Persona::Healthy | Persona::Slow)).count()
    );
    check_end_state(&world, &journal, &id);
    assert!(!events.lock().unwrap().iter().any(|e| matches!(e, Progress::Step { state: StepState::Failed, .. })));
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_central_job_stops_the_run_with_centrals_error_and_a_later_run_completes_once() {
    let world = start(scenario(20), PipelineOptions::default()).await;
    let refusal =
        FaultKind::Refuse { status: 400, code: "InvalidJobDefinition".into(), message: Some("The job's data is not valid for this template.".into()) };
    world
        .sandbox
        .cloud
        .faults()
        .add(FaultRule {
            service: Some("central".into()),
            operation: Some("PUT /iotc/contoso-fleet/api/jobs".into()),
            kind: refusal,
            share: 1.0,
            count: None,
            retry_after_seconds: 1,
            stall_seconds: 0,
        })
        .unwrap();
    let plan = small_plan();
    let (_dir, journal) = journal();
    let id = create(&journal, &plan).unwrap();
    let error = run(&journal, &id, &world).await.unwrap_err();
    assert_eq!(error.code(), "centralToHub.job_failed", "{error}");
    let request_id = error.request_id().expect("Central's request ID is kept");
    let message = error.to_string();
    for part in ["InvalidJobDefinition", "The job's data is not valid for this template.", request_id.as_str()] {
        assert!(message.contains(part), "should carry {part}: {message}");
    }
    assert_eq!(message.matches(request_id.as_str()).count(), 1, "the request ID once: {message}");
    assert_stopped_at(
        &journal,
        &id,
        &["template", "target", "enrollment", "select-devices", "link-hub", "enrollment-group"],
        "job:thermostats",
        "centralToHub.job_failed",
    );
    let stopped = snapshot(&world);
    assert!(stopped.jobs.is_empty(), "no job was made: {stopped:?}");

    // Central takes jobs again: the same migration resumes and completes, making nothing twice.
    world.sandbox.cloud.faults().clear();
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress| events.lock().unwrap().push(p);
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    check_end_state(&world, &journal, &id);
    let after = snapshot(&world);
    assert_eq!(after.jobs.len(), 1, "one job: {after:?}");
    assert_eq!(
        after.dps["contoso-dps"].0.iter().filter(|h| **h == world.hub_host("contoso-hub-neu")).count(),
        1,
        "linked once: {:?}",
        after.dps["contoso-dps"].0
    );
    assert_eq!(after.dps["contoso-dps"].1.len(), 1, "one enrollment group");
    let started: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Step { key, state: StepState::Started, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["target", "enrollment", "job:thermostats", "verify"], "only the checks and the failed step onwards run again");
    world.sandbox.stop();
}
