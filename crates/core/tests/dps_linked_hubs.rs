//! The DPS linked hubs engine against the sandbox: concurrent writers lose no update; links are
//! refused for bad weights, policies without RegistryWrite+ServiceConnect, hubs with local auth
//! disabled and other clouds' hubs; an unlink never orphans an enrollment; a key rotation while
//! devices register every 100 ms fails none of them and leaves the old key refused; a rotation
//! cut off at each step resumes to the end.

mod common;

use common::*;
use iotm_azure::arm::ArmClient;
use iotm_azure::dps::device::register_with_key;
use iotm_azure::dps::{AttestationMechanism, EnrollmentGroup, GroupKeys, IndividualEnrollment};
use iotm_azure::hub::HubClient;
use iotm_azure::sas::derive_device_key;
use iotm_azure::{ConnectionString, PipelineOptions, Secret};
use iotm_core::journal::Journal;
use iotm_core::runtime::{Progress, RunContext, StepState, StopSignal};
use iotm_core::wizards::dps_linked_hubs::edit::{preview, write};
use iotm_core::wizards::dps_linked_hubs::enrollments::{service_client, unlink};
use iotm_core::wizards::dps_linked_hubs::link::{link_from_arm, offered_policies};
use iotm_core::wizards::dps_linked_hubs::rotation::STEPS;
use iotm_core::wizards::dps_linked_hubs::{Change, DpsRef, HubRef, Rotation, RotationPlan};
use iotm_core::wizards::WizardId;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RG: &str = "rg-iot-prod";
const SUFFIX: &str = "localhost";

fn dps() -> DpsRef {
    DpsRef { subscription_id: PRODUCTION.into(), resource_group: RG.into(), name: "contoso-dps".into() }
}

fn hub(name: &str) -> HubRef {
    HubRef { subscription_id: PRODUCTION.into(), resource_group: RG.into(), name: name.into() }
}

async fn world() -> World {
    start(scenario(0), PipelineOptions::default()).await
}

fn host_of(world: &World, name: &str) -> String {
    world.sandbox.cloud.hubs().named(name).unwrap().host().to_string()
}

async fn linked(arm: &ArmClient) -> Vec<(String, Option<i64>, Option<bool>)> {
    let read = arm.provisioning_service(PRODUCTION, RG, "contoso-dps").await.unwrap();
    read.properties.iot_hubs.iter().map(|h| (h.name.clone().unwrap(), h.allocation_weight, h.apply_allocation_policy)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_dps_lose_no_update() {
    let world = world().await;
    let arm = &world.clients.arm;
    let weu = host_of(&world, "contoso-hub-weu");
    let link = link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", Some(3), Some(true)).await.unwrap();
    let weigh = Change::Update { host: weu.clone(), allocation_weight: Some(7), apply_allocation_policy: None, connection_string: None };
    let flag = Change::Update { host: weu.clone(), allocation_weight: None, apply_allocation_policy: Some(false), connection_string: None };
    let target = dps();
    let (a, b, c) = tokio::join!(write(arm, &target, &link, SUFFIX), write(arm, &target, &weigh, SUFFIX), write(arm, &target, &flag, SUFFIX));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let now = linked(arm).await;
    assert_eq!(now, vec![(weu, Some(7), Some(false)), (host_of(&world, "contoso-hub-neu"), Some(3), Some(true))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_links_are_refused_with_their_codes_and_nothing_changes() {
    let world = world().await;
    let arm = &world.clients.arm;
    let before = linked(arm).await;
    let code = |r: Result<Change, iotm_core::wizards::dps_linked_hubs::LinkedHubsError>| r.unwrap_err().code();
    assert_eq!(code(link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", Some(0), None).await), "dpsLinkedHubs.weight_out_of_range");
    assert_eq!(code(link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", Some(1001), None).await), "dpsLinkedHubs.weight_out_of_range");
    assert_eq!(code(link_from_arm(arm, &hub("contoso-hub-neu"), "service", None, None).await), "dpsLinkedHubs.policy_lacks_rights");
    let offers: Vec<String> = offered_policies(arm, &hub("contoso-hub-neu")).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(offers, ["iothubowner"], "only policies with RegistryWrite and ServiceConnect");
    let other_cloud = Change::Link {
        connection_string: Secret::new("HostName=far.azure-devices.cn;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5a2V5".to_string()),
        location: "chinaeast".into(),
        allocation_weight: None,
        apply_allocation_policy: None,
    };
    assert_eq!(preview(arm, &dps(), &other_cloud, SUFFIX).await.unwrap_err().code(), "dpsLinkedHubs.other_cloud");
    world.sandbox.cloud.hubs().named("contoso-hub-neu").unwrap().set_local_auth_disabled(true);
    assert_eq!(code(link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", None, None).await), "dpsLinkedHubs.local_auth_disabled");
    assert_eq!(offered_policies(arm, &hub("contoso-hub-neu")).await.unwrap_err().code(), "dpsLinkedHubs.local_auth_disabled");
    assert_eq!(linked(arm).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_is_the_exact_json_of_the_linked_hubs_before_and_after() {
    let world = world().await;
    let arm = &world.clients.arm;
    let link = link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", Some(10), Some(true)).await.unwrap();
    let diff = preview(arm, &dps(), &link, SUFFIX).await.unwrap();
    let neu = host_of(&world, "contoso-hub-neu");
    assert_eq!(diff.before.as_array().unwrap().len(), 1);
    assert_eq!(
        diff.after[1],
        serde_json::json!({"connectionString": format!("HostName={neu};SharedAccessKeyName=iothubowner;SharedAccessKey=****"), "location": "westeurope", "name": neu, "allocationWeight": 10, "applyAllocationPolicy": true})
    );
    assert_eq!(linked(arm).await.len(), 1, "a dry run writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlink_lists_pinned_enrollments_edits_them_when_asked_and_never_orphans_one() {
    let world = world().await;
    let arm = &world.clients.arm;
    let (weu, neu) = (host_of(&world, "contoso-hub-weu"), host_of(&world, "contoso-hub-neu"));
    write(arm, &dps(), &link_from_arm(arm, &hub("contoso-hub-neu"), "iothubowner", None, None).await.unwrap(), SUFFIX).await.unwrap();
    let (client, _) = service_client(arm, &world.clients.pipeline, &dps()).await.unwrap();
    let mut group = EnrollmentGroup::symmetric_key("both-hubs");
    group.iot_hubs = vec![weu.clone(), neu.clone()];
    client.create_or_update_enrollment_group(&group, None).await.unwrap();
    let solo = IndividualEnrollment {
        registration_id: "only-neu".into(),
        attestation: AttestationMechanism { kind: "symmetricKey".into(), symmetric_key: Some(GroupKeys::default()), x509: None },
        iot_hubs: vec![neu.clone()],
        ..Default::default()
    };
    client.create_or_update_individual_enrollment(&solo, None).await.unwrap();
    let view = iotm_core::wizards::dps_linked_hubs::view::see(arm, &world.clients.pipeline, &dps()).await.unwrap();
    let shown: Vec<_> = view
        .hubs
        .iter()
        .map(|h| {
            (h.host.as_str(), h.allocation_weight, h.weight_is_default, h.policy_name.as_deref(), h.pinning_enrollment_groups, h.pinning_individual_enrollments)
        })
        .collect();
    assert_eq!(shown, [(weu.as_str(), 1, true, Some("iothubowner"), 1, 0), (neu.as_str(), 1, true, Some("iothubowner"), 1, 1)]);
    assert!(!serde_json::to_string(&view).unwrap().contains("SharedAccessKey="), "the view never holds a key");
    let refused = unlink(arm, &world.clients.pipeline, &dps(), std::slice::from_ref(&neu), true, SUFFIX).await.unwrap_err();
    assert_eq!(refused.code(), "dpsLinkedHubs.would_orphan_enrollments");
    assert!(refused.to_string().contains("individual only-neu"), "{refused}");
    client.delete_individual_enrollment("only-neu", None).await.unwrap();
    let stopped = unlink(arm, &world.clients.pipeline, &dps(), std::slice::from_ref(&neu), false, SUFFIX).await.unwrap_err();
    assert_eq!(stopped.code(), "dpsLinkedHubs.pinned_enrollments");
    assert_eq!(linked(arm).await.len(), 2, "stopped: nothing unlinked");
    let (_, edited) = unlink(arm, &world.clients.pipeline, &dps(), std::slice::from_ref(&neu), true, SUFFIX).await.unwrap();
    assert_eq!(edited.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["both-hubs"]);
    assert_eq!(client.enrollment_group("both-hubs").await.unwrap().iot_hubs, vec![weu.clone()]);
    assert_eq!(linked(arm).await.iter().map(|h| h.0.clone()).collect::<Vec<_>>(), [weu]);
}

const GROUP_KEY: &str = "bGlua2VkIGh1YnMgcm90YXRpb24gZ3JvdXAga2V5IDAx";

/// Devices that register through DPS, a new one starting every 100 ms (whether or not the last
/// one has finished) until told to stop: (registered, failed, why each failed).
fn keep_registering(world: &World, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u32, u32, Vec<String>)> {
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
            started.push(tokio::spawn(async move {
                let id = format!("steady-{n}");
                let key = derive_device_key(&Secret::new(GROUP_KEY.to_string()), &id).unwrap();
                match register_with_key(&pipeline, &host, &scope, &id, &key, Duration::from_millis(50), Duration::from_secs(20)).await {
                    Ok(s) if s.status.as_deref() == Some("assigned") => None,
                    other => Some(format!("{id}: {other:?}")),
                }
            }));
        }
        let (mut ok, mut why) = (0, Vec::new());
        for device in started {
            match device.await.unwrap() {
                None => ok += 1,
                Some(failure) => why.push(failure),
            }
        }
        (ok, why.len() as u32, why)
    })
}

async fn enroll_steady_group(world: &World) {
    let (client, _) = service_client(&world.clients.arm, &world.clients.pipeline, &dps()).await.unwrap();
    let mut group = EnrollmentGroup::symmetric_key("steady");
    group.attestation.symmetric_key = Some(GroupKeys { primary_key: Some(Secret::new(GROUP_KEY.into())), secondary_key: Some(Secret::new(GROUP_KEY.into())) });
    client.create_or_update_enrollment_group(&group, None).await.unwrap();
}

fn rotation_plan(renew_secondary: bool) -> RotationPlan {
    RotationPlan { dps: dps(), hub: hub("contoso-hub-weu"), policy: "iothubowner".into(), renew_secondary }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_while_devices_register_every_100_ms_fails_none_and_the_old_key_is_refused() {
    let world = world().await;
    enroll_steady_group(&world).await;
    let arm = &world.clients.arm;
    let old = arm.iot_hub_key(PRODUCTION, RG, "contoso-hub-weu", "iothubowner").await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let devices = keep_registering(&world, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = journal.create(WizardId::DpsLinkedHubs, "Rotate iothubowner", &serde_json::json!({})).unwrap();
    let quiet = |_: Progress<()>| {};
    let ctx = RunContext::new(&journal, &id, &quiet, StopSignal::default());
    let plan = rotation_plan(true);
    let started = std::time::Instant::now();
    Rotation { arm, pipeline: &world.clients.pipeline, suffix: SUFFIX, plan: &plan }.run(&ctx).await.unwrap();
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (ok, failed, why) = devices.await.unwrap();
    eprintln!("rotation took {took:?}; {ok} registrations during it, {failed} failed");
    assert_eq!(failed, 0, "{why:?}");
    assert!(ok as u128 >= took.as_millis() / 100, "a device started every 100 ms: {ok} in {took:?}");
    let host = host_of(&world, "contoso-hub-weu");
    for stale in [old.primary_key.unwrap(), old.secondary_key.unwrap()] {
        let client = HubClient::from_connection_string(world.clients.pipeline.clone(), ConnectionString::for_policy(&host, "iothubowner", &stale));
        assert_eq!(client.devices(1).await.unwrap_err().status(), Some(401), "the old keys are refused");
    }
    let steps = journal.steps(&id).unwrap();
    assert_eq!(steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), STEPS);
    assert!(steps.iter().all(|s| s.outcome.is_some() && s.error_code.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_cut_off_at_each_step_resumes_to_the_end() {
    let world = world().await;
    enroll_steady_group(&world).await;
    let arm = &world.clients.arm;
    let plan = rotation_plan(true);
    let rotation = Rotation { arm, pipeline: &world.clients.pipeline, suffix: SUFFIX, plan: &plan };
    for (cut, cut_inside) in STEPS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
        let id = journal.create(WizardId::DpsLinkedHubs, "Rotate", &serde_json::json!({})).unwrap();
        // First run: stopped once `cut` steps are done, then killed inside the next (intent journaled, no outcome).
        let stop = StopSignal::default();
        let done = AtomicU32::new(0);
        let stopper = stop.clone();
        let progress = move |p: Progress<()>| {
            if let Progress::Step { state: StepState::Done, .. } = p {
                if done.fetch_add(1, Ordering::SeqCst) + 1 >= cut as u32 {
                    stopper.stop();
                }
            }
        };
        if cut > 0 {
            let ctx = RunContext::new(&journal, &id, &progress, stop);
            assert_eq!(rotation.run(&ctx).await.unwrap_err().code(), "migration.cancelled", "cut {cut}");
        }
        journal.begin_step(&id, cut_inside, &serde_json::json!({})).unwrap();
        let quiet = |_: Progress<()>| {};
        let ctx = RunContext::new(&journal, &id, &quiet, StopSignal::default());
        rotation.run(&ctx).await.unwrap_or_else(|e| panic!("resume after cut {cut}: {e}"));
        let steps = journal.steps(&id).unwrap();
        assert!(steps.iter().all(|s| s.outcome.is_some() && s.error_code.is_none()), "cut {cut}: {steps:#?}");
        assert_eq!(steps.len(), STEPS.len());
    }
    // The link works after all of it: a device registers through it.
    let dps = world.sandbox.cloud.provisioning_services().named("contoso-dps").unwrap();
    let key = derive_device_key(&Secret::new(GROUP_KEY.to_string()), "after-cuts").unwrap();
    let state = register_with_key(&world.clients.pipeline, dps.host(), dps.id_scope(), "after-cuts", &key, Duration::from_millis(50), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(state.status.as_deref(), Some("assigned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dps_the_caller_may_only_read_is_refused_as_read_only_and_unchanged() {
    const AUTOMATION_SP: &str = "0a1b2c3d-2222-4000-8000-000000000003";
    let mut read_only = scenario(0);
    let production = &mut read_only.subscriptions[0];
    production.access.retain(|oid| oid != AUTOMATION_SP);
    production.readers.push(AUTOMATION_SP.into());
    let world = start(read_only, PipelineOptions::default()).await;
    let arm = &world.clients.arm;
    let weu = host_of(&world, "contoso-hub-weu");
    let weigh = Change::Update { host: weu, allocation_weight: Some(4), apply_allocation_policy: None, connection_string: None };
    let refused = write(arm, &dps(), &weigh, SUFFIX).await.unwrap_err();
    assert_eq!(refused.code(), "dpsLinkedHubs.read_only_dps", "{refused}");
    assert!(refused.to_string().contains("contoso-dps"), "{refused}");
    assert_eq!(linked(arm).await[0].1, None, "nothing written");
}
