//! The Central → Hub engine end to end against the sandbox: 200 simulated devices of every persona
//! moved to a hub that is not linked yet; every device ends as its persona dictates, with the right
//! reason; a second run changes nothing; faults injected on every service leave the same end state,
//! including PUTs applied whose answers are lost (the retry meets its own work: one job, still).

mod common;

use common::*;
use iotm_azure::PipelineOptions;
use iotm_core::journal::Journal;
use iotm_core::runtime::attempts::RetryRound;
use iotm_core::runtime::StepState;
use iotm_core::wizards::central_to_hub::{self as c2h, create, dry_run, report, CentralToHubProgress as Progress, DeviceState};
use iotm_sandbox::faults::{FaultKind, FaultRule};
use std::sync::Mutex;

fn check_end_state(world: &World, journal: &Journal, id: &str) {
    let personas = world.personas();
    let rows: Vec<(String, String, Option<String>)> =
        journal.items(id, c2h::DEVICE, None, 0, u32::MAX).unwrap().into_iter().map(|r| (r.key, r.state, r.reason)).collect();
    assert_eq!(rows.len(), personas.len(), "every thermostat is tracked");
    for (device, state, reason) in &rows {
        let persona = personas[device];
        let (want_state, want_reason) = expected(persona);
        let code = reason.as_deref().map(|r| r.split(':').next().unwrap());
        assert!(state == want_state && code == want_reason, "{device} ({persona:?}) ended {state} {reason:?}; tally: {:#?}", tally(&rows, &personas));
    }
    assert_eq!(world.connected_to(&world.hub_host("contoso-hub-neu")), rows.iter().filter(|r| r.1 == "verified").count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_devices_of_every_persona_end_as_their_persona_says() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = create(&journal, &plan()).unwrap();
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress| events.lock().unwrap().push(p);
    let outcome = c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    assert_eq!(outcome.counts.get("verified"), Some(&160), "{:?}", outcome.counts);
    check_end_state(&world, &journal, &id);

    let report = report::build(&journal, &id).unwrap();
    assert_eq!((report.total, report.verified, report.failed), (200, 160, 40));
    for code in ["noAnswer", "noDeviceMove", "wrongKey", "neverRegistered"] {
        assert_eq!(report.by_reason.get(code), Some(&10), "{code}: {:?}", report.by_reason);
    }
    let steps: Vec<String> = report.steps.iter().map(|s| s.key.clone()).collect();
    assert_eq!(steps, ["template", "target", "enrollment", "select-devices", "link-hub", "enrollment-group", "job:thermostats", "verify"]);
    assert!(events.lock().unwrap().iter().any(|e| matches!(e, Progress::Tick { news, .. } if !news.changed.is_empty())));

    // Run again: every step is read from the journal, nothing is created twice.
    let jobs_before = world.clients.central.jobs().unwrap().all().await.unwrap().len();
    let again = Mutex::new(Vec::new());
    let progress = |p: Progress| again.lock().unwrap().push(p);
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    assert_eq!(world.clients.central.jobs().unwrap().all().await.unwrap().len(), jobs_before);
    // The read-only checks (target, enrollment) run on every run; no step with a side effect starts again.
    let fresh = again
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Progress::Step { state: StepState::Started, key, .. } if key != "target" && key != "enrollment"))
        .count();
    assert_eq!(fresh, 0, "a finished migration starts no step again");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_throttling_errors_and_resets_leave_the_same_end_state() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    for service in ["arm", "central", "dps", "hub"] {
        // A dropped answer to a call that was applied, too: the retried PUT finds its work done.
        for kind in [FaultKind::Throttle, FaultKind::Unavailable, FaultKind::Reset, FaultKind::ApplyThenReset] {
            let rule = FaultRule { service: Some(service.into()), operation: None, kind, share: 0.034, count: None, retry_after_seconds: 1, stall_seconds: 0 };
            world.sandbox.cloud.faults().add(rule).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = create(&journal, &plan()).unwrap();
    let progress = |_: Progress| {};
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    check_end_state(&world, &journal, &id);
    assert_eq!(world.clients.central.jobs().unwrap().all().await.unwrap().iter().filter(|j| j.id.starts_with("iotm-")).count(), 1, "exactly one job");
    world.sandbox.stop();
}

/// Every call the engine makes with PUT on `service`, then a rule that applies the first `count`
/// of them and drops their answers (the pipeline retries a PUT: the retry finds the work done).
fn apply_then_drop_puts(world: &World, services: &[&str], count: u64) {
    for service in services {
        let rule = FaultRule {
            service: Some((*service).into()),
            operation: Some("PUT ".into()),
            kind: FaultKind::ApplyThenReset,
            share: 1.0,
            count: Some(count),
            retry_after_seconds: 1,
            stall_seconds: 0,
        };
        world.sandbox.cloud.faults().add(rule).unwrap();
    }
}

fn puts_seen(world: &World, service: &str) -> u64 {
    world.sandbox.cloud.faults().counters().iter().filter(|(k, _)| k.starts_with(&format!("{service} PUT "))).map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_applied_whose_answers_are_lost_leave_the_same_end_state_and_one_job() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    apply_then_drop_puts(&world, &["arm", "central", "dps", "hub"], 1);
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = create(&journal, &plan()).unwrap();
    let progress = |_: Progress| {};
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    check_end_state(&world, &journal, &id);
    assert_eq!(world.clients.central.jobs().unwrap().all().await.unwrap().iter().filter(|j| j.id.starts_with("iotm-")).count(), 1, "exactly one job");
    // The faults really hit: the hub link (ARM), the enrollment group (DPS) and the job (Central)
    // were each applied, their answers lost and the PUT retried. (The run makes no PUT to the hub:
    // DPS creates the devices there; the hub's rule stands for any later PUT.)
    for service in ["arm", "central", "dps"] {
        assert_eq!(puts_seen(&world, service), 2, "{service}: {:?}", world.sandbox.cloud.faults().counters());
    }
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_reruns_the_job_on_the_devices_central_can_reach_again() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = create(&journal, &plan()).unwrap();
    let progress = |_: Progress| {};
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    // The offline devices come back online; the ones without DeviceMove stay as they are.
    {
        let app = world.sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
        for device in app.simulated_devices().iter().filter(|d| d.persona() == iotm_sandbox::fleet::Persona::Offline) {
            *device.persona.lock().unwrap() = iotm_sandbox::fleet::Persona::Healthy;
            // Back online, it reconnects where it was registered (as the control API does it).
            let scope = device.link.lock().unwrap().id_scope.clone();
            device.register(&world.sandbox.cloud, &scope).unwrap();
        }
    }
    let outcome = c2h::retry(&journal, &id, world.clients.clone(), false, &progress).await.unwrap();
    assert_eq!((outcome.counts.get("verified"), outcome.counts.get("failed")), (Some(&170), Some(&30)), "{:?}", outcome.counts);
    let report = report::build(&journal, &id).unwrap();
    assert_eq!(report.by_reason.get("noAnswer"), None);
    assert_eq!(report.by_reason.get("noDeviceMove"), Some(&10));
    let reruns: Vec<String> = report.steps.iter().filter(|s| s.key.starts_with("rerun:")).map(|s| s.key.clone()).collect();
    assert_eq!(reruns, ["rerun:thermostats:1"]);
    // The ten offline devices were retried and moved; the ten without DeviceMove were left out
    // (they would answer 501 again) and keep their one attempt; each retried device keeps its first.
    assert_eq!(report.retries, [RetryRound { attempt: 1, retried: 10, moved: 10, left_out: 10 }]);
    let retried = report.devices.iter().filter(|d| d.attempts == 2).collect::<Vec<_>>();
    assert_eq!(retried.len(), 10);
    assert!(retried.iter().all(|d| d.state == DeviceState::Verified && d.earlier_reasons == ["noAnswer"]), "{retried:?}");
    assert!(report.devices.iter().filter(|d| d.reason_code.as_deref() == Some("noDeviceMove")).all(|d| d.attempts == 1));
    assert_eq!(world.clients.central.jobs().unwrap().all().await.unwrap().iter().filter(|j| j.id.starts_with("iotm-")).count(), 2, "the job and its one rerun");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_applied_whose_answer_is_lost_is_watched_like_any_rerun() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let id = create(&journal, &plan()).unwrap();
    let progress = |_: Progress| {};
    c2h::run(&journal, &id, world.clients.clone(), &progress).await.unwrap();
    {
        let app = world.sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
        for device in app.simulated_devices().iter().filter(|d| d.persona() == iotm_sandbox::fleet::Persona::Offline) {
            *device.persona.lock().unwrap() = iotm_sandbox::fleet::Persona::Healthy;
            let scope = device.link.lock().unwrap().id_scope.clone();
            device.register(&world.sandbox.cloud, &scope).unwrap();
        }
    }
    let rule = FaultRule {
        service: Some("central".into()),
        operation: Some("/rerun/".into()),
        kind: FaultKind::ApplyThenReset,
        share: 1.0,
        count: Some(1),
        retry_after_seconds: 1,
        stall_seconds: 0,
    };
    world.sandbox.cloud.faults().add(rule).unwrap();
    let outcome = c2h::retry(&journal, &id, world.clients.clone(), false, &progress).await.unwrap();
    assert_eq!((outcome.counts.get("verified"), outcome.counts.get("failed")), (Some(&170), Some(&30)), "{:?}", outcome.counts);
    let rerun = report::build(&journal, &id).unwrap().steps.into_iter().find(|s| s.key == "rerun:thermostats:1").unwrap();
    assert!(rerun.outcome.as_ref().is_some_and(|o| o["jobId"].is_string()), "the rerun is recorded as made, not skipped: {:?}", rerun.outcome);
    assert_eq!(world.clients.central.jobs().unwrap().all().await.unwrap().iter().filter(|j| j.id.starts_with("iotm-")).count(), 2, "the job and its one rerun");
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_page_can_create_a_dps_and_then_lists_it() {
    use iotm_core::wizards::central_to_hub::options::{create_dps, target_options};
    let world = start(scenario(10), PipelineOptions::default()).await;
    let bad = create_dps(&world.clients.arm, PRODUCTION, "rg-iot-prod", "no spaces allowed", "westeurope").await.unwrap_err();
    assert_eq!(bad.code(), "migration.badPlan");
    // The form offers the subscription's resource groups and regions, as ARM lists them.
    let offered = target_options(&world.clients.arm, PRODUCTION).await.unwrap();
    assert!(offered.resource_groups.iter().any(|g| g.name == "rg-iot-prod" && !g.location.is_empty()), "{:?}", offered.resource_groups);
    assert!(offered.resource_groups.iter().all(|g| offered.locations.iter().any(|l| l.name == g.location.to_ascii_lowercase())), "{:?}", offered.locations);
    // ARM's regions for the subscription, by their display names, not only those in use.
    assert!(offered.locations.iter().any(|l| l.name == "swedencentral" && l.display_name == "Sweden Central"), "{:?}", offered.locations);
    let no_group = create_dps(&world.clients.arm, PRODUCTION, " ", "contoso-dps-x", "westeurope").await.unwrap_err();
    assert_eq!(iotm_core::error::Coded::field(&no_group).as_deref(), Some("resourceGroup"), "{no_group}");
    let created = create_dps(&world.clients.arm, PRODUCTION, "rg-iot-prod", "contoso-dps-neu", "northeurope").await.unwrap();
    assert!(!created.id_scope.is_empty() && created.linked_hubs.is_empty(), "{created:?}");
    let listed = target_options(&world.clients.arm, PRODUCTION).await.unwrap();
    assert!(listed.dps.iter().any(|d| d.name == "contoso-dps-neu" && d.id_scope == created.id_scope));
    world.sandbox.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_run_again_leaves_out_the_devices_already_in_the_hub() {
    let world = start(scenario(200), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
    let first = create(&journal, &plan()).unwrap();
    c2h::run(&journal, &first, world.clients.clone(), &|_: Progress| {}).await.unwrap();
    let moved = world.connected_to(&world.hub_host("contoso-hub-neu"));
    assert_eq!(moved, 160);

    // The same plan again: the dry run flags the 160 devices in the hub and leaves them out.
    let dry = dry_run::dry_run(&world.clients, &plan(), &|_, _| {}).await.unwrap();
    assert_eq!(dry.readiness.left_out, 160);
    let flagged = dry.readiness.rows.iter().filter(|r| r.already_in_target.as_ref().is_some_and(|a| a.code == "alreadyInTarget")).count();
    assert_eq!(flagged, 160);
    assert_eq!(dry.readiness.ready + dry.readiness.expected_to_fail, 40, "only the devices not in the hub are counted: {:?}", dry.readiness.by_reason);
    let job = dry.changes.iter().find(|c| c.kind == "createJob").expect("a job for the rest");
    assert!(job.description.contains("to the 40 devices") && job.description.contains("leaving out the 160"), "{}", job.description);
    assert!(!dry.cannot_know.is_empty());

    // Run it: one job, on a device group that leaves them out; only the 40 get DeviceMove.
    let jobs_before = world.clients.central.jobs().unwrap().all().await.unwrap();
    let second = create(&journal, &plan()).unwrap();
    c2h::run(&journal, &second, world.clients.clone(), &|_: Progress| {}).await.unwrap();
    let jobs_after = world.clients.central.jobs().unwrap().all().await.unwrap();
    let new_jobs: Vec<_> = jobs_after.iter().filter(|j| !jobs_before.iter().any(|b| b.id == j.id)).collect();
    assert_eq!(new_jobs.len(), 1, "{new_jobs:?}");
    let group = world.clients.central.device_group(&new_jobs[0].group).await.unwrap();
    assert_eq!(group.filter.matches("$id != ").count(), 160, "{}", group.filter);
    assert_eq!(world.clients.central.job_devices(&new_jobs[0].id).unwrap().all().await.unwrap().len(), 40);
    let report = report::build(&journal, &second).unwrap();
    assert_eq!((report.total, report.left_out, report.verified), (40, 160, 0), "{:?}", report.by_reason);
    assert_eq!(world.connected_to(&world.hub_host("contoso-hub-neu")), 160, "nothing moved twice");

    // Asking to include them sends DeviceMove to all 200 again; a fleet all in the hub has nothing to move.
    let mut include = plan();
    include.source.include_already_in_target = true;
    let dry = dry_run::dry_run(&world.clients, &include, &|_, _| {}).await.unwrap();
    assert_eq!((dry.readiness.left_out, dry.readiness.rows.len()), (0, 200));
    assert_eq!(dry.readiness.rows.iter().filter(|r| r.already_in_target.is_some()).count(), 160, "flagged, though included");
}
