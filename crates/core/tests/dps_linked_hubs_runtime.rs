//! The DPS linked hubs wizard on the shared runtime, against the sandbox: link, update and unlink
//! run as journaled migrations with their dry runs in words; an unlink that enrollments pin is
//! refused until allowed, then edits them; and a key rotation stopped after every step and killed
//! inside the next resumes to the same end as an uninterrupted one — the link on the new primary,
//! both old keys refused — while devices register every 100 ms and one more at every cut, none
//! failing.

mod common;

use common::*;
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::dps::device::register_with_key;
use iotm_azure::dps::{EnrollmentGroup, GroupKeys};
use iotm_azure::hub::HubClient;
use iotm_azure::sas::derive_device_key;
use iotm_azure::{ConnectionString, Pipeline, PipelineOptions, Secret};
use iotm_core::journal::{Journal, MigrationState};
use iotm_core::runtime::{migrations::dry_run_lines, Connect, Event, MigrationPlan, MigrationReport, Migrations, Progress, RunMode, StepState};
use iotm_core::wizards::central_to_hub::Clients;
use iotm_core::wizards::dps_linked_hubs::enrollments::service_client;
use iotm_core::wizards::dps_linked_hubs::rotation::STEPS;
use iotm_core::wizards::dps_linked_hubs::{Action, DpsRef, HubRef, Plan};
use iotm_core::ErrorPayload;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RG: &str = "rg-iot-prod";
const GROUP_KEY: &str = "cnVudGltZSByb3RhdGlvbiBncm91cCBrZXkgZm9yIGxpbmtlZCBodWJz";

struct Account(Clients);

impl Connect for Account {
    fn pipeline(&self) -> &Pipeline {
        &self.0.pipeline
    }
    fn arm(&self) -> Result<ArmClient, ErrorPayload> {
        Ok(self.0.arm.clone())
    }
    fn central(&self, _: &str, _: &iotm_core::wizards::CentralAccess) -> Result<CentralClient, ErrorPayload> {
        Ok(self.0.central.clone())
    }
}

fn dps() -> DpsRef {
    DpsRef { subscription_id: PRODUCTION.into(), resource_group: RG.into(), name: "contoso-dps".into() }
}

fn hub(name: &str) -> HubRef {
    HubRef { subscription_id: PRODUCTION.into(), resource_group: RG.into(), name: name.into() }
}

fn host_of(world: &World, name: &str) -> String {
    world.sandbox.cloud.hubs().named(name).unwrap().host().to_string()
}

fn migrations(dir: &tempfile::TempDir) -> Migrations {
    Migrations::new(Arc::new(Journal::open(&dir.path().join("journal.db")).unwrap()))
}

fn state_of(migrations: &Migrations, id: &str) -> MigrationState {
    migrations.list().unwrap().into_iter().find(|m| m.summary.id == id).unwrap().summary.state
}

/// The DPS's links as the sandbox holds them: host, weight, flag, and the key each uses.
fn links(world: &World) -> Vec<(String, Option<i64>, Option<bool>, String)> {
    let dps = world.sandbox.cloud.provisioning_services().named("contoso-dps").unwrap();
    dps.settings()
        .linked_hubs
        .into_iter()
        .map(|h| {
            let key = h.connection_string.split(';').find_map(|p| p.strip_prefix("SharedAccessKey=")).unwrap_or_default().to_string();
            (h.name.to_ascii_lowercase(), h.allocation_weight, h.apply_allocation_policy, key)
        })
        .collect()
}

async fn enroll_group(world: &World) {
    let (client, _) = service_client(&world.clients.arm, &world.clients.pipeline, &dps()).await.unwrap();
    let mut group = EnrollmentGroup::symmetric_key("steady");
    group.attestation.symmetric_key = Some(GroupKeys { primary_key: Some(Secret::new(GROUP_KEY.into())), secondary_key: Some(Secret::new(GROUP_KEY.into())) });
    client.create_or_update_enrollment_group(&group, None).await.unwrap();
}

async fn register(pipeline: &Pipeline, host: &str, scope: &str, id: &str) -> Result<(), String> {
    let key = derive_device_key(&Secret::new(GROUP_KEY.to_string()), id).unwrap();
    match register_with_key(pipeline, host, scope, id, &key, Duration::from_millis(50), Duration::from_secs(20)).await {
        Ok(s) if s.status.as_deref() == Some("assigned") => Ok(()),
        other => Err(format!("{id}: {other:?}")),
    }
}

/// A device starting to register every 100 ms until told to stop: (registered, why each failed).
fn keep_registering(world: &World, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u32, Vec<String>)> {
    let pipeline = world.clients.pipeline.clone();
    let dps = world.sandbox.cloud.provisioning_services().named("contoso-dps").unwrap();
    let (host, scope) = (dps.host().to_string(), dps.id_scope().to_string());
    tokio::spawn(async move {
        let mut started = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            tick.tick().await;
            n += 1;
            let (pipeline, host, scope) = (pipeline.clone(), host.clone(), scope.clone());
            started.push(tokio::spawn(async move { register(&pipeline, &host, &scope, &format!("steady-{n}")).await }));
        }
        let (mut ok, mut why) = (0, Vec::new());
        for device in started {
            match device.await.unwrap() {
                Ok(()) => ok += 1,
                Err(failure) => why.push(failure),
            }
        }
        (ok, why)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_stopped_after_every_step_and_killed_inside_the_next_resumes_with_no_provisioning_gap() {
    let world = start(scenario(0), PipelineOptions::default()).await;
    enroll_group(&world).await;
    let arm = &world.clients.arm;
    let old = arm.iot_hub_key(PRODUCTION, RG, "contoso-hub-weu", "iothubowner").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let migrations = migrations(&dir);
    let plan = Plan { dps: dps(), action: Action::RotateKeys { hub: hub("contoso-hub-weu"), policy: "iothubowner".into(), renew_secondary: true } };
    let id = migrations.create(&MigrationPlan::DpsLinkedHubs(plan)).unwrap();
    let account = Account(world.clients.clone());
    let dps_service = world.sandbox.cloud.provisioning_services().named("contoso-dps").unwrap();
    let (dps_host, scope) = (dps_service.host().to_string(), dps_service.id_scope().to_string());
    let stop = Arc::new(AtomicBool::new(false));
    let devices = keep_registering(&world, stop.clone());

    for cut in 1..=STEPS.len() {
        // Stopped once `cut` of the rotation's steps are done (those done before count as they are passed again).
        let passed = AtomicUsize::new(0);
        let sink = |event: Event| {
            if let Progress::Step { key, state: StepState::Done | StepState::AlreadyDone, .. } = &event.progress {
                if STEPS.contains(&key.as_str()) && passed.fetch_add(1, Ordering::SeqCst) + 1 >= cut {
                    migrations.stop(&id);
                }
            }
        };
        let result = migrations.run(&id, RunMode::Run, &account, &sink).await;
        if cut < STEPS.len() {
            assert_eq!(result.unwrap_err().code, "migration.cancelled", "cut after step {cut}");
            assert_eq!(state_of(&migrations, &id), MigrationState::Running, "a stopped rotation stays resumable");
        } else {
            result.unwrap_or_else(|e| panic!("the last resume ends the rotation: {e}"));
        }
        // The link works however far the rotation got: a device provisions through it now.
        register(&world.clients.pipeline, &dps_host, &scope, &format!("at-cut-{cut}")).await.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        if let Some(next) = STEPS.get(cut) {
            // Killed inside the next step: its intent journaled, no outcome.
            migrations.journal().begin_step(&id, next, &serde_json::json!({})).unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let (ok, failed) = devices.await.unwrap();
    assert!(failed.is_empty(), "{} of {} registrations failed: {failed:?}", failed.len(), ok as usize + failed.len());
    assert!(ok > 0, "devices registered while the rotation ran");

    // The end an uninterrupted rotation reaches: the link on the policy's new primary, both keys renewed, the old refused.
    assert_eq!(state_of(&migrations, &id), MigrationState::Completed);
    let now = arm.iot_hub_key(PRODUCTION, RG, "contoso-hub-weu", "iothubowner").await.unwrap();
    let (primary, secondary) = (now.primary_key.clone().unwrap(), now.secondary_key.clone().unwrap());
    assert!(primary.expose() != old.primary_key.as_ref().unwrap().expose() && secondary.expose() != old.secondary_key.as_ref().unwrap().expose());
    let weu = host_of(&world, "contoso-hub-weu");
    let linked = links(&world);
    assert_eq!(linked.len(), 1);
    assert_eq!((linked[0].0.as_str(), linked[0].3.as_str()), (weu.to_ascii_lowercase().as_str(), primary.expose().as_str()), "the link uses the new primary");
    for stale in [old.primary_key.unwrap(), old.secondary_key.unwrap()] {
        let client = HubClient::from_connection_string(world.clients.pipeline.clone(), ConnectionString::for_policy(&weu, "iothubowner", &stale));
        assert_eq!(client.devices(1).await.unwrap_err().status(), Some(401), "an old key is refused");
    }
    let steps = migrations.journal().steps(&id).unwrap();
    for key in STEPS {
        assert!(steps.iter().any(|s| s.key == key && s.outcome.is_some() && s.error_code.is_none()), "{key} done: {steps:#?}");
    }
    let MigrationReport::DpsLinkedHubs(report) = migrations.report(&id).unwrap() else { panic!("a linked hubs report") };
    assert_eq!(report.items.iter().map(|r| (r.key.as_str(), r.state.as_str())).collect::<Vec<_>>(), [(weu.to_ascii_lowercase().as_str(), "rotated")]);
    assert!(!serde_json::to_string(&report).unwrap().contains(primary.expose().as_str()), "the report holds no key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_update_and_unlink_run_as_migrations_with_their_dry_runs_in_words() {
    let world = start(scenario(0), PipelineOptions::default()).await;
    let account = Account(world.clients.clone());
    let dir = tempfile::tempdir().unwrap();
    let migrations = migrations(&dir);
    let quiet = |_: Event| {};
    let (weu, neu) = (host_of(&world, "contoso-hub-weu").to_ascii_lowercase(), host_of(&world, "contoso-hub-neu").to_ascii_lowercase());

    let update = MigrationPlan::DpsLinkedHubs(Plan {
        dps: dps(),
        action: Action::Update { host: weu.clone(), allocation_weight: Some(3), apply_allocation_policy: None },
    });
    let lines = dry_run_lines(&update, &account, &|_: u32, _: u32| {}).await.unwrap();
    assert!(lines.contains(&"update link contoso-hub-weu: weight 1 → 3".to_string()), "{lines:#?}");
    assert_eq!(links(&world)[0].1, None, "a dry run writes nothing");
    let id = migrations.create(&update).unwrap();
    migrations.run(&id, RunMode::Run, &account, &quiet).await.unwrap();
    assert_eq!(links(&world)[0].1, Some(3));

    let link = MigrationPlan::DpsLinkedHubs(Plan {
        dps: dps(),
        action: Action::Link { hub: hub("contoso-hub-neu"), policy: "iothubowner".into(), allocation_weight: Some(5), apply_allocation_policy: Some(true) },
    });
    let lines = dry_run_lines(&link, &account, &|_: u32, _: u32| {}).await.unwrap();
    assert!(lines.contains(&"link contoso-hub-neu: weight 5, apply allocation policy yes, through policy iothubowner".to_string()), "{lines:#?}");
    assert!(!lines.join("\n").contains(links(&world)[0].3.as_str()), "the dry run masks keys");
    let id = migrations.create(&link).unwrap();
    migrations.run(&id, RunMode::Run, &account, &quiet).await.unwrap();
    assert_eq!(
        links(&world).iter().map(|l| (l.0.clone(), l.1, l.2)).collect::<Vec<_>>(),
        [(weu.clone(), Some(3), Some(true)), (neu.clone(), Some(5), Some(true))]
    );
    let MigrationReport::DpsLinkedHubs(report) = migrations.report(&id).unwrap() else { panic!("a linked hubs report") };
    assert_eq!(report.diff.as_ref().unwrap().after.as_array().unwrap().len(), 2, "the report shows what the write left");

    // An enrollment pinning the hub: the unlink is refused until allowed to edit it, then edits it.
    let (client, _) = service_client(&world.clients.arm, &world.clients.pipeline, &dps()).await.unwrap();
    let mut group = EnrollmentGroup::symmetric_key("both-hubs");
    group.iot_hubs = vec![weu.clone(), neu.clone()];
    client.create_or_update_enrollment_group(&group, None).await.unwrap();
    let unlink = |edit| MigrationPlan::DpsLinkedHubs(Plan { dps: dps(), action: Action::Unlink { hosts: vec![neu.clone()], edit_enrollments: edit } });
    let lines = dry_run_lines(&unlink(false), &account, &|_: u32, _: u32| {}).await.unwrap();
    assert!(
        lines.contains(&"unlink contoso-hub-neu".to_string()) && lines.contains(&"remove contoso-hub-neu from the group enrollment both-hubs".to_string()),
        "{lines:#?}"
    );
    let refused = migrations.create(&unlink(false)).unwrap();
    let error = migrations.run(&refused, RunMode::Run, &account, &quiet).await.unwrap_err();
    assert_eq!(error.code, "dpsLinkedHubs.pinned_enrollments");
    assert_eq!(state_of(&migrations, &refused), MigrationState::Failed);
    assert_eq!(links(&world).len(), 2, "refused: nothing unlinked");
    let id = migrations.create(&unlink(true)).unwrap();
    migrations.run(&id, RunMode::Run, &account, &quiet).await.unwrap();
    assert_eq!(links(&world).iter().map(|l| l.0.clone()).collect::<Vec<_>>(), std::slice::from_ref(&weu));
    assert_eq!(client.enrollment_group("both-hubs").await.unwrap().iot_hubs, vec![weu.clone()]);
    let MigrationReport::DpsLinkedHubs(report) = migrations.report(&id).unwrap() else { panic!("a linked hubs report") };
    let items: Vec<_> = report.items.iter().map(|r| (r.kind.as_str(), r.key.as_str(), r.state.as_str())).collect();
    assert_eq!(items, [("hub", neu.as_str(), "unlinked"), ("enrollment", "group both-hubs", "edited")]);
}
