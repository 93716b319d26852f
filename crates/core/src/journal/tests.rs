use super::*;
use crate::wizards::WizardId;
use serde_json::json;

fn journal(dir: &tempfile::TempDir) -> Journal {
    Journal::open(&dir.path().join(JOURNAL_FILE)).unwrap()
}

#[test]
fn a_step_begun_and_finished_is_skipped_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::CentralToHub, "Move thermostats", &json!({"group": "thermostats"})).unwrap();
    assert_eq!(j.begin_step(&id, "enrollment-group", &json!({"name": "from-fleet"})).unwrap(), StepStart::Fresh);
    j.finish_step(&id, "enrollment-group", Ok(&json!({"etag": "e1"}))).unwrap();
    assert_eq!(j.begin_step(&id, "enrollment-group", &json!({})).unwrap(), StepStart::Done { outcome: json!({"etag": "e1"}) });
    let summary = &j.list().unwrap()[0];
    assert_eq!((summary.steps_done, summary.steps_failed, summary.state), (1, 0, MigrationState::Planned));
}

#[test]
fn after_a_crash_the_unfinished_step_and_the_running_migration_are_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let (id, job) = {
        let j = journal(&dir);
        let id = j.create(WizardId::CentralToHub, "Move", &json!({})).unwrap();
        j.set_state(&id, MigrationState::Running).unwrap();
        let job = j.identifier(&id, "central-job", || "job-1234".into()).unwrap();
        j.begin_step(&id, "create-job", &json!({"jobId": job})).unwrap();
        (id, job)
        // dropped without finishing: the app was killed here
    };
    let j = journal(&dir);
    assert_eq!(j.resumable().unwrap().iter().map(|m| m.id.clone()).collect::<Vec<_>>(), vec![id.clone()]);
    assert_eq!(j.begin_step(&id, "create-job", &json!({})).unwrap(), StepStart::Unfinished { intent: json!({"jobId": "job-1234"}) });
    assert_eq!(j.identifier(&id, "central-job", || "job-9999".into()).unwrap(), job, "the same job ID, so the job is not created twice");
}

#[test]
fn a_failed_step_keeps_its_code_and_a_redacted_message() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::CentralToHub, "Move", &json!({})).unwrap();
    j.begin_step(&id, "link-hub", &json!({})).unwrap();
    j.finish_step(&id, "link-hub", Err(("azure.forbidden", "refused for HostName=h;SharedAccessKeyName=o;SharedAccessKey=S3cr3tS3cr3t="))).unwrap();
    let step = &j.steps(&id).unwrap()[0];
    assert_eq!(step.error_code.as_deref(), Some("azure.forbidden"));
    assert!(!step.error_message.as_deref().unwrap().contains("S3cr3t"));
    assert!(matches!(j.finish_step(&id, "never-begun", Ok(&json!(1))), Err(JournalError::NotFound(_))));
}

#[test]
fn a_plan_with_a_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = journal(&dir).create(WizardId::HubState, "x", &json!({"target": "HostName=h;SharedAccessKeyName=o;SharedAccessKey=abcdefghijkl"})).unwrap_err();
    assert_eq!(err.code(), "journal.secret_in_plan");
}

#[test]
fn ten_thousand_device_states_are_kept_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::CentralToHub, "Move", &json!({})).unwrap();
    let ids: Vec<String> = (0..10_000).map(|n| format!("thermostat-{n:05}")).collect();
    j.record_items(&id, "device", ids.iter().map(|d| (d.as_str(), "pending", None))).unwrap();
    j.record_items(&id, "device", ids.iter().take(9_990).map(|d| (d.as_str(), "moved", None))).unwrap();
    j.record_items(&id, "device", ids.iter().skip(9_990).map(|d| (d.as_str(), "failed", Some("command timed out")))).unwrap();
    assert_eq!(j.item_counts(&id, "device").unwrap(), BTreeMap::from([("failed".to_string(), 10), ("moved".to_string(), 9_990)]));
    let failed = j.items(&id, "device", Some("failed"), 0, 100).unwrap();
    assert_eq!(failed.len(), 10);
    let first = &failed[0];
    assert_eq!((first.key.as_str(), first.state.as_str(), first.reason.as_deref()), ("thermostat-09990", "failed", Some("command timed out")));
}

#[test]
fn items_of_different_kinds_with_the_same_key_are_kept_apart_and_counted_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let id = j.create(WizardId::HubState, "Hub state", &json!({})).unwrap();
    j.record_items(&id, "device", [("edge-1", "imported", None)]).unwrap();
    j.record_items(&id, "module", [("edge-1", "failed", Some("409001"))]).unwrap();
    j.record_items(&id, "module", [("edge-1/$edgeAgent", "imported", None)]).unwrap();
    let kinds = j.item_kinds(&id).unwrap();
    assert_eq!(kinds["device"], BTreeMap::from([("imported".to_string(), 1)]));
    assert_eq!(kinds["module"], BTreeMap::from([("failed".to_string(), 1), ("imported".to_string(), 1)]));
    assert_eq!(j.items(&id, "device", None, 0, 10).unwrap().len(), 1);
}

#[test]
fn a_checkpoint_is_replaced_by_the_next_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let j = journal(&dir);
        let id = j.create(WizardId::HubState, "Hub state", &json!({})).unwrap();
        assert_eq!(j.load_checkpoint(&id, "devices-pager").unwrap(), None);
        j.checkpoint(&id, "devices-pager", &json!({"continuation": "page-2"})).unwrap();
        j.checkpoint(&id, "devices-pager", &json!({"continuation": "page-3"})).unwrap();
        id
    };
    let j = journal(&dir);
    assert_eq!(j.load_checkpoint(&id, "devices-pager").unwrap(), Some(json!({"continuation": "page-3"})));
    assert!(matches!(j.checkpoint("no-such-migration", "k", &json!(1)), Err(JournalError::NotFound(_))));
}

#[test]
fn a_journal_from_a_newer_app_is_refused_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    drop(Journal::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Journal::open(&path).err().unwrap();
    assert_eq!(err.code(), "journal.too_new");
    assert!(err.to_string().contains("newer IoT Migrator"), "{err}");
}
