//! Whoever watches a run hears how it ended, also when it is refused before it starts: a retry
//! asked for while the migration still runs ends at once as "already running" on its own channel,
//! rather than leaving its page saying "running" forever.

mod common;

use common::*;
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{Pipeline, PipelineOptions};
use iotm_core::journal::Journal;
use iotm_core::runtime::{Connect, Event, MigrationPlan, Migrations, Progress, RunMode, StepState};
use iotm_core::wizards::central_to_hub::Clients;
use iotm_core::ErrorPayload;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_refused_because_the_run_goes_on_tells_its_watcher_it_ended() {
    let world = start(scenario(10), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let migrations = Migrations::new(Arc::new(Journal::open(&dir.path().join("journal.db")).unwrap()));
    let id = migrations.create(&MigrationPlan::CentralToHub(plan())).unwrap();
    let account = Account(world.clients.clone());
    let begun = Notify::new();
    let tell_begun = |event: Event| {
        if matches!(event.progress, Progress::Step { state: StepState::Started, .. }) {
            begun.notify_one();
        }
    };
    let first = migrations.run(&id, RunMode::Run, &account, &tell_begun);
    let heard = Mutex::new(Vec::new());
    let listen = |event: Event| heard.lock().unwrap().push(event.progress);
    let second = async {
        begun.notified().await;
        migrations.run(&id, RunMode::Retry { include_unlikely: false }, &account, &listen).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(second.unwrap_err().code, "migration.alreadyRunning");
    let heard = heard.into_inner().unwrap();
    assert!(
        matches!(heard.as_slice(), [Progress::Finished { ok: false, code: Some(code), .. }] if code == "migration.alreadyRunning"),
        "the refused retry's watcher hears its end: {heard:?}"
    );
    world.sandbox.stop();
}
