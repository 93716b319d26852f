//! The plan of a Hub state migration: export a hub to a state file, import a file into a hub, or
//! migrate one hub into another; which aspects; whether the target is replaced (what it holds that
//! the state lacks is deleted). It names hubs and files, never keys: those come from ARM at run time.

use super::state_file::Variant;
pub use crate::runtime::PlanProblem;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStateAction")]
pub enum Action {
    /// The source hub to the state file.
    Export,
    /// The state file into the target hub.
    Import,
    /// The source hub into the target hub, directly.
    Migrate,
}

/// The parts of a hub that move, as `az iot hub state --aspects` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStateAspect")]
pub enum Aspect {
    Arm,
    Configurations,
    Devices,
}

/// A hub, reached through ARM (its `iothubowner` policy's key is read when the run needs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HubRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub hub_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename = "HubStatePlan")]
pub struct Plan {
    pub action: Action,
    /// Left out of a plan file: configurations and devices.
    #[serde(default)]
    pub aspects: Vec<Aspect>,
    /// The hub read from (export, migrate).
    #[serde(default)]
    pub source: Option<HubRef>,
    /// The hub written to (import, migrate); it must exist.
    #[serde(default)]
    pub target: Option<HubRef>,
    /// The state file written (export) or read (import).
    #[serde(default)]
    pub file: Option<String>,
    /// How an export writes the file: the CLI's JSON (default) or JSON Lines for large hubs. An
    /// import tells the variant from the file itself.
    #[serde(default)]
    pub variant: Option<Variant>,
    /// Delete from the target the devices, modules and configurations the state does not hold.
    #[serde(default)]
    pub replace: bool,
}

impl Plan {
    /// What a plan file may leave out.
    pub fn complete(&mut self) {
        if self.aspects.is_empty() {
            self.aspects = vec![Aspect::Configurations, Aspect::Devices];
        }
        self.aspects.sort();
        self.aspects.dedup();
        if self.action == Action::Export && self.variant.is_none() {
            self.variant = Some(Variant::Json);
        }
    }

    pub fn has(&self, aspect: Aspect) -> bool {
        self.aspects.contains(&aspect)
    }

    /// Every field that cannot work, by its path.
    pub fn check(&self) -> Result<(), Vec<PlanProblem>> {
        let mut problems = Vec::new();
        let needs_source = matches!(self.action, Action::Export | Action::Migrate);
        let needs_target = matches!(self.action, Action::Import | Action::Migrate);
        let needs_file = matches!(self.action, Action::Export | Action::Import);
        for (field, hub, needed) in [("source", &self.source, needs_source), ("target", &self.target, needs_target)] {
            match (hub, needed) {
                (None, true) => problems.push(PlanProblem::new(field, format!("a {:?} needs the {field} hub", self.action).to_lowercase())),
                (Some(_), false) => problems.push(PlanProblem::new(field, format!("an {:?} has no {field} hub", self.action).to_lowercase())),
                (Some(hub), true) => {
                    for (name, value) in [("subscriptionId", &hub.subscription_id), ("resourceGroup", &hub.resource_group), ("hubName", &hub.hub_name)] {
                        if value.trim().is_empty() {
                            problems.push(PlanProblem::new(format!("{field}.{name}"), "must not be empty"));
                        }
                    }
                }
                (None, false) => {}
            }
        }
        match (&self.file, needs_file) {
            (None, true) => problems.push(PlanProblem::new("file", "the state file must be named")),
            (Some(f), true) if f.trim().is_empty() => problems.push(PlanProblem::new("file", "must not be empty")),
            (Some(_), false) => problems.push(PlanProblem::new("file", "a migrate goes hub to hub, with no file")),
            _ => {}
        }
        if let (Some(s), Some(t)) = (&self.source, &self.target) {
            if s.subscription_id == t.subscription_id && s.hub_name.eq_ignore_ascii_case(&t.hub_name) {
                problems.push(PlanProblem::new("target.hubName", "is the source hub itself"));
            }
        }
        if self.has(Aspect::Arm) {
            problems.push(PlanProblem::new("aspects", "the ARM aspect (the hub's own settings) is not built yet; choose configurations and devices"));
        }
        if self.replace && self.action == Action::Export {
            problems.push(PlanProblem::new("replace", "an export writes a new file; replace applies to import and migrate"));
        }
        if self.variant.is_some() && self.action != Action::Export {
            problems.push(PlanProblem::new("variant", "only an export chooses the file's variant; an import reads it from the file"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn title(&self) -> String {
        let hub = |h: &Option<HubRef>| h.as_ref().map(|h| h.hub_name.clone()).unwrap_or_default();
        let file = self.file.as_deref().map(|f| std::path::Path::new(f).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let file = file.unwrap_or_default();
        match self.action {
            Action::Export => format!("Export {} to {file}", hub(&self.source)),
            Action::Import => format!("Import {file} into {}", hub(&self.target)),
            Action::Migrate => format!("Migrate {} to {}", hub(&self.source), hub(&self.target)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(name: &str) -> Option<HubRef> {
        Some(HubRef { subscription_id: "s".into(), resource_group: "rg".into(), hub_name: name.into() })
    }

    #[test]
    fn a_plan_is_checked_for_what_its_action_needs() {
        let mut export =
            Plan { action: Action::Export, aspects: vec![], source: hub("a"), target: None, file: Some("a.json".into()), variant: None, replace: false };
        export.complete();
        assert_eq!((export.aspects.clone(), export.variant), (vec![Aspect::Configurations, Aspect::Devices], Some(Variant::Json)));
        assert_eq!(export.check(), Ok(()));
        assert_eq!(export.title(), "Export a to a.json");
        let mut migrate =
            Plan { action: Action::Migrate, aspects: vec![Aspect::Arm], source: hub("a"), target: hub("A"), file: None, variant: None, replace: true };
        migrate.complete();
        let fields: Vec<String> = migrate.check().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["target.hubName", "aspects"]);
        let import = Plan { action: Action::Import, aspects: vec![Aspect::Devices], source: None, target: None, file: None, variant: None, replace: false };
        let fields: Vec<String> = import.check().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["target", "file"]);
    }
}
