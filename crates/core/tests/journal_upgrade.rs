//! A journal written before the migration runtime (schema 1, committed as a fixture) opens in this
//! version: its migrations still list with their wizard and state, their devices became items, the
//! completed one still reports, and the interrupted one resumes to its end against a sandbox of the
//! same scenario — its done steps read from the journal, never run again.

mod common;

use common::*;
use iotm_azure::PipelineOptions;
use iotm_core::journal::{Journal, MigrationState};
use iotm_core::runtime::StepState;
use iotm_core::wizards::central_to_hub::{self as c2h, report, CentralToHubProgress as Progress};
use iotm_core::wizards::WizardId;
use std::sync::Mutex;

const COMPLETED: &str = "1796184808-66648bfb";
const INTERRUPTED: &str = "1796184821-398150f1";

fn upgraded_copy(dir: &tempfile::TempDir) -> Journal {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-v1.db");
    let path = dir.path().join("journal.db");
    std::fs::copy(fixture, &path).unwrap();
    Journal::open(&path).unwrap()
}

#[test]
fn the_migrations_of_a_version_one_journal_list_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let journal = upgraded_copy(&dir);
    let listed: Vec<(String, WizardId, MigrationState, u32)> = journal.list().unwrap().into_iter().map(|m| (m.id, m.wizard, m.state, m.steps_done)).collect();
    assert_eq!(
        listed,
        [
            (INTERRUPTED.to_string(), WizardId::CentralToHub, MigrationState::Running, 4),
            (COMPLETED.to_string(), WizardId::CentralToHub, MigrationState::Completed, 8)
        ]
    );
    assert_eq!(journal.resumable().unwrap().len(), 1);
    let report = report::build(&journal, COMPLETED).unwrap();
    assert_eq!((report.total, report.verified, report.failed, report.unfinished), (20, 16, 4, 0));
    assert_eq!(journal.item_counts(INTERRUPTED, c2h::DEVICE).unwrap().get("pending"), Some(&20));
    assert_eq!(journal.identifier(COMPLETED, "job:thermostats", || "minted-again".into()).unwrap(), "iotm-2f4a17f1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interrupted_migration_of_a_version_one_journal_resumes_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let journal = upgraded_copy(&dir);
    let world = start(scenario(20), PipelineOptions::default()).await;
    let events = Mutex::new(Vec::new());
    let progress = |p: Progress| events.lock().unwrap().push(p);
    let outcome = c2h::run(&journal, INTERRUPTED, world.clients.clone(), &progress).await.unwrap();
    let personas = world.personas();
    let healthy = personas.values().filter(|p| matches!(p, iotm_sandbox::fleet::Persona::Healthy | iotm_sandbox::fleet::Persona::Slow)).count() as u64;
    assert_eq!((outcome.counts.get("verified"), outcome.counts.values().sum::<u64>()), (Some(&healthy), 20), "{:?}", outcome.counts);
    for row in journal.items(INTERRUPTED, c2h::DEVICE, None, 0, 100).unwrap() {
        assert_eq!((row.state.as_str(), row.reason.as_deref().map(|r| r.split(':').next().unwrap())), expected(personas[&row.key]), "{}", row.key);
    }
    let already: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Step { key, state: StepState::AlreadyDone, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(already, ["template", "select-devices"], "done before the upgrade: read from the journal");
    assert_eq!(journal.list().unwrap().iter().find(|m| m.id == INTERRUPTED).unwrap().state, MigrationState::Completed);
    world.sandbox.stop();
}
