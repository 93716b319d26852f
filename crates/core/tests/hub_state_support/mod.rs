//! What the Hub state wizard's sandbox tests share: the sandbox with quotas off and a pipeline
//! that does not pace, the two hubs of the built-in scenario, plans, runs, and state files compared
//! without what the hub generates on its own.
#![allow(dead_code)]

use iotm_azure::arm::ArmClient;
use iotm_azure::hub::HubClient;
use iotm_azure::{ClientSecretCredential, Cloud, Pipeline, PipelineOptions, RateLimits, Secret};
use iotm_core::journal::Journal;
use iotm_core::wizards::hub_state::plan::{Action, Aspect, HubRef, Plan};
use iotm_core::wizards::hub_state::state_file::VERSION_KEY;
use iotm_core::wizards::hub_state::{self, hubs, Clients, HubStateError};
use iotm_sandbox::scenario::{Scenario, SANDBOX_CONFIDENTIAL_CLIENT_ID};
use iotm_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

pub const PRODUCTION: &str = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11";

pub struct World {
    pub sandbox: Sandbox,
    pub _state: tempfile::TempDir,
    pub clients: Clients,
}

pub async fn start() -> World {
    let state = tempfile::tempdir().unwrap();
    let mut scenario = Scenario::builtin();
    scenario.quotas = false;
    let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), scenario)).await.unwrap();
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    let options = PipelineOptions { rate_limits: RateLimits::unlimited(), ..Default::default() };
    let pipeline = Pipeline::new(Cloud::sandbox(&sandbox.base_url, ca).unwrap(), options).unwrap();
    let secret = sandbox.cloud.grants().client_secret(SANDBOX_CONFIDENTIAL_CLIENT_ID).unwrap();
    let tenant = Scenario::builtin().tenants[0].id.clone();
    let credential = Arc::new(ClientSecretCredential::new(pipeline.clone(), &tenant, SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::new(secret)).unwrap());
    World { clients: Clients { arm: ArmClient::new(pipeline.clone(), credential), pipeline }, sandbox, _state: state }
}

pub fn hub(name: &str) -> HubRef {
    HubRef { subscription_id: PRODUCTION.into(), resource_group: "rg-iot-prod".into(), hub_name: name.into() }
}

impl World {
    pub async fn client(&self, name: &str) -> HubClient {
        hubs::connect(&self.clients.arm, &self.clients.pipeline, &hub(name)).await.unwrap()
    }

    pub fn device_count(&self, name: &str) -> usize {
        self.sandbox.cloud.hubs().named(name).unwrap().device_count()
    }
}

pub fn plan(action: Action, source: Option<&str>, target: Option<&str>, file: Option<&Path>, replace: bool) -> Plan {
    let mut plan = Plan {
        action,
        aspects: vec![Aspect::Configurations, Aspect::Devices],
        source: source.map(hub),
        target: target.map(hub),
        file: file.map(|f| f.display().to_string()),
        variant: None,
        replace,
    };
    plan.complete();
    plan
}

pub async fn run(world: &World, journal: &Journal, plan: &Plan) -> Result<String, HubStateError> {
    let id = hub_state::create(journal, plan)?;
    hub_state::run(journal, &id, world.clients.clone(), &|_| {}).await?;
    Ok(id)
}

/// A state file as JSON, without what the hub generates on its own (its counts of targeted and
/// applied devices) and this app's version line.
pub fn comparable(path: &Path) -> Value {
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove(VERSION_KEY);
    for list in ["admConfigurations", "edgeDeployments"] {
        for configuration in state["configurations"][list].as_object_mut().unwrap().values_mut() {
            configuration.as_object_mut().unwrap().remove("systemMetrics");
            configuration["metrics"].as_object_mut().unwrap().remove("results");
        }
    }
    state
}
