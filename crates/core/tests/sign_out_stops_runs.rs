//! A migration running as an account that signs out stops at its next safe point, as the Stop
//! button stops it, and stays resumable: run again (after signing in again) it finishes. The
//! runtime does this for every wizard, through `Connect::signed_out`.

mod common;

use common::*;
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{Pipeline, PipelineOptions};
use iotm_core::journal::{Journal, MigrationState};
use iotm_core::runtime::{Connect, Event, MigrationPlan, Migrations, Progress, RunMode, StepState, StopSignal};
use iotm_core::wizards::central_to_hub::Clients;
use iotm_core::ErrorPayload;
use std::sync::Arc;

/// The clients of one sign-in, and the signal its sign-out fires.
struct SignedInAs {
    clients: Clients,
    signed_out: StopSignal,
}

impl Connect for SignedInAs {
    fn pipeline(&self) -> &Pipeline {
        &self.clients.pipeline
    }
    fn arm(&self) -> Result<ArmClient, ErrorPayload> {
        Ok(self.clients.arm.clone())
    }
    fn central(&self, _: &str, _: &iotm_core::wizards::CentralAccess) -> Result<CentralClient, ErrorPayload> {
        Ok(self.clients.central.clone())
    }
    fn signed_out(&self) -> Option<StopSignal> {
        Some(self.signed_out.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_stops_the_accounts_run_at_a_safe_point_and_it_resumes_after_sign_in() {
    let world = start(scenario(10), PipelineOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let migrations = Migrations::new(Arc::new(Journal::open(&dir.path().join("journal.db")).unwrap()));
    let id = migrations.create(&MigrationPlan::CentralToHub(plan())).unwrap();

    let first = SignedInAs { clients: world.clients.clone(), signed_out: StopSignal::default() };
    // The person signs out as soon as the run has begun its first step.
    let sign_out = |event: Event| {
        if matches!(event.progress, Progress::Step { state: StepState::Started, .. }) {
            first.signed_out.stop();
        }
    };
    let stopped = migrations.run(&id, RunMode::Run, &first, &sign_out).await.unwrap_err();
    assert_eq!(stopped.code, "migration.cancelled", "{}", stopped.message);
    assert!(!migrations.is_running(&id));
    let summary = migrations.journal().list().unwrap().into_iter().find(|m| m.id == id).unwrap();
    assert_eq!(summary.state, MigrationState::Running, "left resumable, not failed");

    // Signed in again: the same migration resumes and finishes.
    let again = SignedInAs { clients: world.clients.clone(), signed_out: StopSignal::default() };
    let outcome = migrations.run(&id, RunMode::Run, &again, &|_| {}).await.unwrap();
    assert!(outcome.counts.get("verified").is_some_and(|n| *n > 0), "{:?}", outcome.counts);
    world.sandbox.stop();
}
