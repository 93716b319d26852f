//! The five wizards as the sidebar lists them. Each shares one shape: plan → dry run → run →
//! verify → report. `available` turns true as each wizard's engine lands; until then the UI says
//! plainly that it comes in a later version.

pub mod bulk_identities;
pub mod central_access;
pub mod central_to_hub;
pub mod dps_linked_hubs;
pub mod hub_state;

pub use central_access::CentralAccess;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum WizardId {
    CentralToHub,
    HubState,
    BulkIdentities,
    DpsLinkedHubs,
    IotOperationsClone,
}

impl WizardId {
    pub const ALL: [WizardId; 5] =
        [WizardId::CentralToHub, WizardId::HubState, WizardId::BulkIdentities, WizardId::DpsLinkedHubs, WizardId::IotOperationsClone];

    /// As the journal stores it and the UI routes by it (`centralToHub`).
    pub fn as_str(self) -> &'static str {
        match self {
            WizardId::CentralToHub => "centralToHub",
            WizardId::HubState => "hubState",
            WizardId::BulkIdentities => "bulkIdentities",
            WizardId::DpsLinkedHubs => "dpsLinkedHubs",
            WizardId::IotOperationsClone => "iotOperationsClone",
        }
    }

    pub fn parse(text: &str) -> Option<WizardId> {
        WizardId::ALL.into_iter().find(|w| w.as_str() == text)
    }

    /// As the CLI names it (`iotm central-to-hub run`).
    pub fn command_name(self) -> &'static str {
        match self {
            WizardId::CentralToHub => "central-to-hub",
            WizardId::HubState => "hub-state",
            WizardId::BulkIdentities => "bulk-identities",
            WizardId::DpsLinkedHubs => "dps-linked-hubs",
            WizardId::IotOperationsClone => "iot-operations-clone",
        }
    }

    pub fn from_command_name(text: &str) -> Option<WizardId> {
        WizardId::ALL.into_iter().find(|w| w.command_name() == text)
    }
}

impl std::fmt::Display for WizardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.command_name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum WizardStep {
    Plan,
    DryRun,
    Run,
    Verify,
    Report,
}

impl WizardStep {
    pub const ALL: [WizardStep; 5] = [WizardStep::Plan, WizardStep::DryRun, WizardStep::Run, WizardStep::Verify, WizardStep::Report];
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Wizard {
    pub id: WizardId,
    pub title: String,
    pub summary: String,
    /// What the wizard will do, step by step, in the user's words.
    pub what_it_does: Vec<String>,
    pub steps: Vec<WizardStep>,
    pub available: bool,
}

fn wizard(id: WizardId, title: &str, summary: &str, what_it_does: &[&str]) -> Wizard {
    // Each wizard turns available as its page lands.
    let available = matches!(id, WizardId::CentralToHub | WizardId::HubState | WizardId::BulkIdentities);
    Wizard {
        id,
        title: title.into(),
        summary: summary.into(),
        what_it_does: what_it_does.iter().map(|s| s.to_string()).collect(),
        steps: WizardStep::ALL.to_vec(),
        available,
    }
}

pub fn catalog() -> Vec<Wizard> {
    vec![
        wizard(
            WizardId::CentralToHub,
            "Central → Hub",
            "Move devices from an IoT Central application to an IoT hub through DPS, with the DeviceMove command.",
            &[
                "Pick a Central application, device group and template carrying the DeviceMove command.",
                "Pick the target DPS and its linked hub; create the enrollment group from Central's group keys.",
                "Dispatch the DeviceMove job with the DPS ID scope, watch every device, verify it in the hub.",
                "Retry the devices that failed and keep the history of every run.",
            ],
        ),
        wizard(
            WizardId::HubState,
            "Hub state",
            "Export, import or migrate an IoT hub's settings, configurations and devices, as az iot hub state does.",
            &[
                "Export ARM settings, configurations, device identities, twins and modules, streaming.",
                "Import into another hub, resumable after any interruption.",
            ],
        ),
        wizard(
            WizardId::BulkIdentities,
            "Bulk identities",
            "Export and import an IoT hub's device identities in bulk, with the hub's import/export jobs through blob storage.",
            &[
                "Export every device (with or without keys) to devices.txt through a storage account's container, and browse it in a table.",
                "Import a devices.txt in any of the nine import modes, checked line by line before it is uploaded.",
                "Show the job's importErrors.log line by line, beside the input line each error refers to.",
            ],
        ),
        wizard(
            WizardId::DpsLinkedHubs,
            "DPS linked hubs",
            "Link, update and unlink a DPS's hubs, and rotate their keys with no provisioning gap.",
            &["Link or unlink hubs, change allocation weights, rotate keys safely."],
        ),
        wizard(
            WizardId::IotOperationsClone,
            "IoT Operations clone",
            "Clone an Azure IoT Operations instance to ARM templates in a folder, or to another cluster.",
            &["Read an instance's resources and write them as templates, or deploy them to another cluster."],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_five_wizards_each_with_the_five_steps_and_only_built_ones_are_ready() {
        let wizards = catalog();
        assert_eq!(wizards.len(), 5);
        assert!(wizards.iter().all(|w| w.steps == WizardStep::ALL));
        let ready: Vec<WizardId> = wizards.iter().filter(|w| w.available).map(|w| w.id).collect();
        assert_eq!(ready, [WizardId::CentralToHub, WizardId::HubState, WizardId::BulkIdentities]);
        assert_eq!(wizards[0].title, "Central → Hub");
    }

    #[test]
    fn a_wizard_id_reads_back_from_the_journal_and_the_command_line() {
        for id in WizardId::ALL {
            assert_eq!(WizardId::parse(id.as_str()), Some(id));
            assert_eq!(WizardId::from_command_name(id.command_name()), Some(id));
            assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(id.as_str()));
        }
        assert_eq!(WizardId::parse("teleport"), None);
    }
}
