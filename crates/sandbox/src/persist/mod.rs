//! The sandbox's state kept across restarts, so a rehearsal survives closing the app: every
//! service's state (ARM's hubs and DPSs, hubs' registries, DPSs' enrollments and registrations,
//! Central apps with their jobs and command history, the simulated fleet, the keys) in one
//! versioned JSON file in the state folder, written atomically when the state changes (at most
//! once a second, and on stop) and read on start. Sign-ins are not kept: the user signs in again.
//!
//! A file of another format, or saved for another scenario, or unreadable, is set aside (renamed,
//! with a log line saying why) and the sandbox starts afresh: a saved state never stops it.

mod file;
mod hosts;
mod saver;

pub use file::{forget, Store, STATE_FILE};
pub use saver::Saver;

use crate::central::app::LiveCentralApp;
use crate::central::persist::CentralRecord;
use crate::cloud::Cloud;
use crate::dps::persist::DpsRecord;
use crate::dps::state::Dps;
use crate::hub::persist::HubRecord;
use crate::hub::state::Hub;
use crate::live::Reserved;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The snapshot's format; a file of another one is set aside, never guessed at.
pub const FORMAT: u32 = 1;

/// Everything the sandbox keeps, as written to the state file.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    /// Of the scenario the sandbox was configured with: another one (a new built-in scenario in a
    /// new version of the app) starts afresh.
    pub scenario_fingerprint: String,
    pub ports: Ports,
    /// The scenario running (the control API may have loaded another).
    pub scenario: Scenario,
    pub clock_offset: i64,
    pub quotas: bool,
    pub hubs: Vec<HubRecord>,
    pub provisioning_services: Vec<DpsRecord>,
    pub central_apps: Vec<CentralRecord>,
    /// ARM's deployments and the resources kept for types without a service of their own (a file
    /// saved before they were kept has none).
    #[serde(default)]
    pub arm: crate::arm::ArmRecord,
}

/// The ports of the sandbox's own listeners, taken again on start when they are free so the URL
/// the app and its journal know stays valid.
#[derive(Serialize, Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Ports {
    pub control: u16,
    pub mqtt: u16,
    pub proxy: u16,
    /// Entra's plain-HTTP sign-in page (a file saved before it existed has none: any port).
    #[serde(default)]
    pub sign_in: u16,
}

impl Snapshot {
    pub fn of(cloud: &Cloud, scenario_fingerprint: &str, ports: Ports) -> Snapshot {
        Snapshot {
            format: FORMAT,
            scenario_fingerprint: scenario_fingerprint.to_string(),
            ports,
            scenario: cloud.scenario().clone(),
            clock_offset: cloud.clock_offset(),
            quotas: cloud.quotas_on(),
            hubs: cloud.hubs().all().iter().map(|h| h.record()).collect(),
            provisioning_services: cloud.provisioning_services().all().iter().map(|d| d.record()).collect(),
            central_apps: cloud.central_apps().all().iter().map(|a| a.record()).collect(),
            arm: cloud.arm_store().record(),
        }
    }
}

/// A snapshot turned back into live services, each hub and DPS with the listener reserved for it.
pub struct Restored {
    pub scenario: Scenario,
    pub clock_offset: i64,
    pub quotas: bool,
    pub hubs: Reserved<Hub>,
    pub dps: Reserved<Dps>,
    pub central: Vec<Arc<LiveCentralApp>>,
    pub arm: crate::arm::ArmRecord,
}

/// What `Store::load` found: the services to restore and the ports the sandbox listened on.
pub struct Loaded {
    pub restored: Restored,
    pub ports: Ports,
}

/// A short fingerprint of a scenario (SHA-256 of its JSON).
pub fn fingerprint(scenario: &Scenario) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(scenario).unwrap_or_default();
    sha2::Sha256::digest(&json)[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
