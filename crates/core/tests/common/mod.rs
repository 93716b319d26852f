//! The sandbox started in-process for an engine test: a fleet of simulated devices with every
//! persona, fast device timing, and the clients a migration runs through (ARM as the scenario's
//! automation service principal, Central by API token).
#![allow(dead_code)]

use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{CentralApiToken, ClientSecretCredential, Cloud, Pipeline, PipelineOptions, Secret};
use iotm_core::wizards::central_to_hub::plan::{Enrollment, Plan, Source, Target};
use iotm_core::wizards::central_to_hub::Clients;
use iotm_sandbox::fleet::Persona;
use iotm_sandbox::scenario::{Scenario, SANDBOX_CONFIDENTIAL_CLIENT_ID};
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub const PRODUCTION: &str = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11";
pub const THERMOSTAT: &str = "dtmi:contoso:Thermostat;1";

pub struct World {
    pub sandbox: Sandbox,
    pub state: tempfile::TempDir,
    pub clients: Clients,
}

/// The built-in scenario with `devices` thermostats, 5 % of each troubled persona, fast devices.
pub fn scenario(devices: usize) -> Scenario {
    let mut scenario = Scenario::builtin();
    let app = &mut scenario.subscriptions[0].resource_groups[0].iot_central_apps[0];
    let fleet = app.fleets.iter_mut().find(|f| f.prefix == "thermostat-").unwrap();
    fleet.count = devices as u32;
    fleet.personas = [Persona::Offline, Persona::NoDeviceMove, Persona::WrongKey, Persona::NeverMoves, Persona::Slow].into_iter().map(|p| (p, 5.0)).collect();
    scenario.device_timing.answer_ms = 20;
    scenario.device_timing.slow_answer_ms = 300;
    scenario.device_timing.reconnect_ms = 50;
    scenario.device_timing.command_timeout_ms = 800;
    scenario
}

pub async fn start(scenario: Scenario, options: PipelineOptions) -> World {
    let state = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), scenario)).await.unwrap();
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    let pipeline = Pipeline::new(Cloud::sandbox(&sandbox.base_url, ca).unwrap(), options).unwrap();
    let secret = sandbox.cloud.grants().client_secret(SANDBOX_CONFIDENTIAL_CLIENT_ID).unwrap();
    let tenant = Scenario::builtin().tenants[0].id.clone();
    let credential = Arc::new(ClientSecretCredential::new(pipeline.clone(), &tenant, SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::new(secret)).unwrap());
    let token = { sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap().api_token().unwrap() };
    let central = CentralClient::new(pipeline.clone(), Arc::new(CentralApiToken::new(Secret::new(token))), "contoso-fleet").unwrap();
    let clients = Clients { arm: ArmClient::new(pipeline.clone(), credential), central, pipeline };
    World { sandbox, state, clients }
}

/// Thermostats to contoso-hub-neu (not linked to contoso-dps yet) through contoso-dps.
pub fn plan() -> Plan {
    let mut plan = Plan {
        source: Source {
            subdomain: "contoso-fleet".into(),
            access: Default::default(),
            template_id: THERMOSTAT.into(),
            device_groups: vec!["thermostats".into()],
            include_already_in_target: false,
        },
        target: Target {
            subscription_id: PRODUCTION.into(),
            resource_group: "rg-iot-prod".into(),
            dps_name: "contoso-dps".into(),
            hub_name: "contoso-hub-neu".into(),
            hub_resource_group: None,
            link_hub_if_needed: true,
        },
        enrollment: Enrollment { dps_group_id: "central-migration".into(), ..Default::default() },
        job: Default::default(),
        verify: Default::default(),
    };
    plan.verify.settle_seconds = 3;
    plan
}

impl World {
    /// Each simulated thermostat's persona, by device ID.
    pub fn personas(&self) -> HashMap<String, Persona> {
        let app = self.sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
        app.simulated_devices().iter().filter(|d| d.id.starts_with("thermostat-")).map(|d| (d.id.clone(), d.persona())).collect()
    }

    /// The host of the hub named `name` (each sandbox hub listens on its own localhost port).
    pub fn hub_host(&self, name: &str) -> String {
        self.sandbox.cloud.hubs().named(name).map(|h| h.host().to_string()).unwrap()
    }

    /// Devices connected to `hub_host`, as the simulated devices see themselves.
    pub fn connected_to(&self, hub_host: &str) -> usize {
        let app = self.sandbox.cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
        app.simulated_devices()
            .iter()
            .filter(|d| {
                let link = d.link.lock().unwrap();
                link.connected && link.hub.as_deref() == Some(hub_host)
            })
            .count()
    }
}

/// What each persona must end as: (state, reason code).
pub fn expected(persona: Persona) -> (&'static str, Option<&'static str>) {
    match persona {
        Persona::Healthy | Persona::Slow => ("verified", None),
        Persona::Offline => ("failed", Some("noAnswer")),
        Persona::NoDeviceMove => ("failed", Some("noDeviceMove")),
        Persona::WrongKey => ("failed", Some("wrongKey")),
        Persona::NeverMoves => ("failed", Some("neverRegistered")),
    }
}

/// Counts of (persona, state, reason) for a quick look in a failure message.
pub fn tally(rows: &[(String, String, Option<String>)], personas: &HashMap<String, Persona>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (id, state, reason) in rows {
        let key = format!("{:?} → {state} {}", personas.get(id), reason.clone().unwrap_or_default());
        *out.entry(key).or_insert(0) += 1;
    }
    out
}
