//! The run context's promises, on a real journal: a step cut off between its intent and its
//! outcome is checked rather than redone, a done step is never run again, a failure is journaled
//! with its code, a checkpoint outlives the process, and a stop wakes a sleeping run at once.

use super::*;
use crate::journal::{Journal, StepStart};
use crate::wizards::WizardId;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn journal(dir: &tempfile::TempDir) -> Journal {
    Journal::open(&dir.path().join("journal.db")).unwrap()
}

fn quiet(_: Progress<()>) {}

#[tokio::test]
async fn a_step_cut_off_between_intent_and_outcome_is_checked_not_redone() {
    let dir = tempfile::tempdir().unwrap();
    let created = AtomicUsize::new(0);
    let id = {
        let j = journal(&dir);
        let id = j.create(WizardId::CentralToHub, "t", &json!({})).unwrap();
        // The first run journaled its intent and made the thing, then was killed before the outcome.
        assert_eq!(j.begin_step(&id, "create-group", &json!({"group": "g1"})).unwrap(), StepStart::Fresh);
        created.fetch_add(1, Ordering::SeqCst);
        id
    };
    let j = journal(&dir);
    let ctx = RunContext::new(&j, &id, &quiet, StopSignal::default());
    let told_unfinished = Mutex::new(None);
    let (told_unfinished_ref, created_ref) = (&told_unfinished, &created);
    let outcome = ctx
        .step::<RunError, _, _>("create-group", "Create the group", json!({"group": "g1"}), |unfinished| async move {
            *told_unfinished_ref.lock().unwrap() = Some(unfinished);
            // What a wizard does with `unfinished`: look before making it again.
            let exists = created_ref.load(Ordering::SeqCst) == 1;
            if !(unfinished && exists) {
                created_ref.fetch_add(1, Ordering::SeqCst);
            }
            Ok(json!({"group": "g1", "found": exists}))
        })
        .await
        .unwrap();
    assert_eq!(*told_unfinished.lock().unwrap(), Some(true));
    assert_eq!(created.load(Ordering::SeqCst), 1, "the group is not made twice");
    assert_eq!(outcome["found"], json!(true));
    // Done now: a third run reads the outcome and does not act at all.
    let acted = AtomicUsize::new(0);
    let again = ctx
        .step::<RunError, _, _>("create-group", "Create the group", json!({}), |_| async {
            acted.fetch_add(1, Ordering::SeqCst);
            Ok(json!(null))
        })
        .await
        .unwrap();
    assert_eq!((acted.load(Ordering::SeqCst), again), (0, outcome));
}

#[tokio::test]
async fn a_failed_step_is_journaled_with_its_code_and_a_stopped_one_stays_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::CentralToHub, "t", &json!({})).unwrap();
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress<()>| events.lock().unwrap().push(p);
    let ctx = RunContext::new(&j, &id, &progress, StopSignal::default());
    let refused = ctx.step::<RunError, _, _>("link", "Link", json!({}), |_| async { Err(RunError::AlreadyRunning("other".into())) }).await;
    assert_eq!(refused.unwrap_err().code(), "migration.alreadyRunning");
    let stopped = ctx.step::<RunError, _, _>("job", "Job", json!({}), |_| async { Err(RunError::Cancelled) }).await;
    assert_eq!(stopped.unwrap_err().code(), "migration.cancelled");
    let steps = j.steps(&id).unwrap();
    assert_eq!((steps[0].key.as_str(), steps[0].error_code.as_deref()), ("link", Some("migration.alreadyRunning")));
    assert_eq!((steps[1].key.as_str(), steps[1].error_code.as_deref(), steps[1].outcome.as_ref()), ("job", None, None), "resumable");
    let states: Vec<StepState> = events.lock().unwrap().iter().filter_map(|e| if let Progress::Step { state, .. } = e { Some(*state) } else { None }).collect();
    assert_eq!(states, [StepState::Started, StepState::Failed, StepState::Started]);
}

#[tokio::test]
async fn a_checkpoint_and_an_identifier_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Where {
        continuation: String,
        done: u32,
    }
    let (id, job) = {
        let j = journal(&dir);
        let id = j.create(WizardId::HubState, "t", &json!({})).unwrap();
        let ctx = RunContext::new(&j, &id, &quiet, StopSignal::default());
        assert_eq!(ctx.load_checkpoint::<Where>("devices").unwrap(), None);
        ctx.checkpoint("devices", &Where { continuation: "c2".into(), done: 200 }).unwrap();
        (id, ctx.identifier("import-job", || "job-1".into()).unwrap())
    };
    let j = journal(&dir);
    let ctx = RunContext::new(&j, &id, &quiet, StopSignal::default());
    assert_eq!(ctx.load_checkpoint::<Where>("devices").unwrap(), Some(Where { continuation: "c2".into(), done: 200 }));
    assert_eq!(ctx.identifier("import-job", || "job-2".into()).unwrap(), job);
    let err = ctx.load_checkpoint::<u32>("devices").unwrap_err();
    assert_eq!(err.code(), "migration.badCheckpoint");
}

#[tokio::test]
async fn a_stop_wakes_a_sleeping_run() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::CentralToHub, "t", &json!({})).unwrap();
    let stop = StopSignal::default();
    let ctx = RunContext::new(&j, &id, &quiet, stop.clone());
    let started = Instant::now();
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.stop();
    };
    let (slept, ()) = tokio::join!(ctx.sleep(Duration::from_secs(3600)), stopper);
    assert_eq!(slept.unwrap_err().code(), "migration.cancelled");
    assert!(started.elapsed() < Duration::from_secs(60), "woken by the stop, not by the hour passing");
    // Stopped before it starts: a step does not begin.
    let began = ctx.step::<RunError, _, _>("late", "Late", json!({}), |_| async { Ok(json!(1)) }).await;
    assert!(began.is_err() && j.steps(&id).unwrap().is_empty());
}
