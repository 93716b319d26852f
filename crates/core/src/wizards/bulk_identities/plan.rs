//! A bulk job as a value: the hub, the storage it goes through, and what it does (export, import
//! of a local devices.txt, or a bulk operation built on import). Printable, saveable, resumable;
//! every field that cannot work named by its path.

use super::modes::ImportMode;
use crate::runtime::PlanProblem;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "BulkPlan")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub hub: HubTarget,
    pub storage: StorageTarget,
    pub operation: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "BulkHubTarget")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HubTarget {
    pub subscription_id: String,
    pub resource_group: String,
    pub hub_name: String,
}

/// A storage account ARM lists, and the container the jobs use there (created when missing).
/// The app lists the account's keys and mints container SAS URLs with the least rights each party
/// needs (the hub: write for its output, read for its input; the app: write to upload, read to
/// download), expiring within the hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "BulkStorageTarget")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageTarget {
    pub subscription_id: String,
    pub resource_group: String,
    pub account: String,
    pub container: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "BulkOperation")]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum Operation {
    /// Every device identity and twin into devices.txt, saved at `saveTo`.
    Export {
        #[serde(default)]
        exclude_keys: bool,
        save_to: String,
    },
    /// A local devices.txt, checked, uploaded in blocks and imported; a line without
    /// `importMode` is imported as `defaultMode` (the service alone would take it as `create`).
    Import { file: String, default_mode: ImportMode },
    /// `count` new devices `<prefix>-00001…` with symmetric keys, written to `keysFile` only.
    Generate { prefix: String, count: u32, keys_file: String },
    /// The devices a hub query finds, deleted.
    Delete { query: String },
    /// The devices a hub query finds, enabled or disabled.
    SetStatus { query: String, enabled: bool },
    /// The devices a hub query finds get new symmetric keys, written to `keysFile` only.
    RegenerateKeys { query: String, keys_file: String },
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Export { .. } => "export",
            Operation::Import { .. } => "import",
            Operation::Generate { .. } => "generate",
            Operation::Delete { .. } => "delete",
            Operation::SetStatus { enabled: true, .. } => "enable",
            Operation::SetStatus { enabled: false, .. } => "disable",
            Operation::RegenerateKeys { .. } => "regenerate-keys",
        }
    }

    /// The hub query of an operation that selects devices by one.
    pub fn query(&self) -> Option<&str> {
        match self {
            Operation::Delete { query } | Operation::SetStatus { query, .. } | Operation::RegenerateKeys { query, .. } => Some(query),
            _ => None,
        }
    }
}

/// The most devices one Generate makes (a hub's S1 unit holds 400,000; jobs take up to millions).
pub const MOST_GENERATED: u32 = 1_000_000;

impl Plan {
    pub fn title(&self) -> String {
        format!("Bulk {} — {}", self.operation.name(), self.hub.hub_name)
    }

    pub fn check(&self) -> Result<(), Vec<PlanProblem>> {
        let mut problems = Vec::new();
        let mut required = |field: &str, value: &str| {
            if value.trim().is_empty() {
                problems.push(PlanProblem::new(field, "is required"));
            }
        };
        required("hub.subscriptionId", &self.hub.subscription_id);
        required("hub.resourceGroup", &self.hub.resource_group);
        required("hub.hubName", &self.hub.hub_name);
        required("storage.subscriptionId", &self.storage.subscription_id);
        required("storage.resourceGroup", &self.storage.resource_group);
        required("storage.account", &self.storage.account);
        match &self.operation {
            Operation::Export { save_to, .. } => required("operation.saveTo", save_to),
            Operation::Import { file, .. } => required("operation.file", file),
            Operation::Generate { prefix, keys_file, .. } => {
                required("operation.prefix", prefix);
                required("operation.keysFile", keys_file);
            }
            Operation::RegenerateKeys { query, keys_file } => {
                required("operation.query", query);
                required("operation.keysFile", keys_file);
            }
            Operation::Delete { query } | Operation::SetStatus { query, .. } => required("operation.query", query),
        }
        // Container names: 3 to 63 lower-case letters, digits and single hyphens, as Storage requires.
        let c = &self.storage.container;
        if c.len() < 3
            || c.len() > 63
            || !c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            || c.starts_with('-')
            || c.ends_with('-')
            || c.contains("--")
        {
            problems.push(PlanProblem::new(
                "storage.container",
                "must be 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
            ));
        }
        if let Operation::Generate { prefix, count, .. } = &self.operation {
            if *count == 0 || *count > MOST_GENERATED {
                problems.push(PlanProblem::new("operation.count", format!("must be 1 to {MOST_GENERATED}")));
            }
            if let Some(why) = super::validate::id_problem(&format!("{prefix}-0000001")) {
                problems.push(PlanProblem::new("operation.prefix", format!("makes device IDs that {why}")));
            }
        }
        if let Some(q) = self.operation.query() {
            if !q.trim().is_empty() && !q.trim_start().to_ascii_uppercase().starts_with("SELECT") {
                problems.push(PlanProblem::new("operation.query", "must be a hub query (SELECT * FROM devices WHERE …)"));
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems),
        }
    }
}
