//! The plan of a DPS linked hubs change, as the runtime journals it: which DPS, and one action —
//! link a hub (through one of its policies, read from ARM at run time), update a link's weight or
//! flag, unlink hubs, or rotate the keys of the policy a link uses. It names resources and
//! policies, never keys: a plan can be printed, saved and resumed without holding a secret.

use super::edit::DpsRef;
use super::link::HubRef;
use crate::runtime::PlanProblem;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

fn owner() -> String {
    "iothubowner".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(rename = "DpsLinkedHubsAction")]
pub enum Action {
    /// Link the hub through `policy`'s primary key, with its weight and flag in the same write.
    #[serde(rename_all = "camelCase")]
    Link {
        hub: HubRef,
        #[serde(default = "owner")]
        policy: String,
        #[serde(default)]
        #[ts(type = "number | null")]
        allocation_weight: Option<i64>,
        #[serde(default)]
        apply_allocation_policy: Option<bool>,
    },
    /// Change a linked hub's weight or flag (what is left out stays as it is).
    #[serde(rename_all = "camelCase")]
    Update {
        host: String,
        #[serde(default)]
        #[ts(type = "number | null")]
        allocation_weight: Option<i64>,
        #[serde(default)]
        apply_allocation_policy: Option<bool>,
    },
    /// Unlink the hubs; enrollments pinning them are edited only when `edit_enrollments`.
    #[serde(rename_all = "camelCase")]
    Unlink {
        hosts: Vec<String>,
        #[serde(default)]
        edit_enrollments: bool,
    },
    /// Rotate the keys of the policy the hub's link uses, with no provisioning gap.
    #[serde(rename_all = "camelCase")]
    RotateKeys {
        hub: HubRef,
        #[serde(default = "owner")]
        policy: String,
        #[serde(default)]
        renew_secondary: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename = "DpsLinkedHubsPlan")]
pub struct Plan {
    pub dps: DpsRef,
    pub action: Action,
}

fn weight_problem(weight: Option<i64>, problems: &mut Vec<PlanProblem>) {
    if let Some(w) = weight.filter(|w| !(1..=1000).contains(w)) {
        problems.push(PlanProblem::new("action.allocationWeight", format!("{w} is out of range: DPS takes a whole number from 1 to 1000")));
    }
}

fn resource_problems(field: &str, parts: [(&str, &str); 3], problems: &mut Vec<PlanProblem>) {
    for (name, value) in parts {
        if value.trim().is_empty() {
            problems.push(PlanProblem::new(format!("{field}.{name}"), "must not be empty"));
        }
    }
}

impl Plan {
    /// Every field that cannot work, by its path.
    pub fn check(&self) -> Result<(), Vec<PlanProblem>> {
        let mut problems = Vec::new();
        let d = &self.dps;
        resource_problems("dps", [("subscriptionId", &d.subscription_id), ("resourceGroup", &d.resource_group), ("name", &d.name)], &mut problems);
        let hub_problems = |hub: &HubRef, problems: &mut Vec<PlanProblem>| {
            resource_problems("action.hub", [("subscriptionId", &hub.subscription_id), ("resourceGroup", &hub.resource_group), ("name", &hub.name)], problems)
        };
        match &self.action {
            Action::Link { hub, policy, allocation_weight, .. } => {
                hub_problems(hub, &mut problems);
                weight_problem(*allocation_weight, &mut problems);
                if policy.trim().is_empty() {
                    problems.push(PlanProblem::new("action.policy", "must not be empty"));
                }
            }
            Action::Update { host, allocation_weight, apply_allocation_policy } => {
                if host.trim().is_empty() {
                    problems.push(PlanProblem::new("action.host", "must name the linked hub's host"));
                }
                weight_problem(*allocation_weight, &mut problems);
                if allocation_weight.is_none() && apply_allocation_policy.is_none() {
                    problems.push(PlanProblem::new("action", "an update changes the weight, the flag, or both"));
                }
            }
            Action::Unlink { hosts, .. } => {
                if hosts.is_empty() || hosts.iter().any(|h| h.trim().is_empty()) {
                    problems.push(PlanProblem::new("action.hosts", "must name at least one linked hub's host"));
                }
            }
            Action::RotateKeys { hub, policy, .. } => {
                hub_problems(hub, &mut problems);
                if policy.trim().is_empty() {
                    problems.push(PlanProblem::new("action.policy", "must not be empty"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn title(&self) -> String {
        let dps = &self.dps.name;
        match &self.action {
            Action::Link { hub, .. } => format!("Link {} to {dps}", hub.name),
            Action::Update { host, .. } => format!("Update the link of {} on {dps}", short(host)),
            Action::Unlink { hosts, .. } => format!("Unlink {} from {dps}", hosts.iter().map(|h| short(h)).collect::<Vec<_>>().join(", ")),
            Action::RotateKeys { hub, policy, .. } => format!("Rotate {policy} keys of {} on {dps}", hub.name),
        }
    }
}

/// A hub's name as people say it when ARM's name for it is not at hand: its host's first label
/// (`contoso-hub-weu` of `contoso-hub-weu.azure-devices.net`), or the whole host when that label
/// names no hub (the sandbox's `localhost:35049`).
pub fn short(host: &str) -> &str {
    match host.split(['.', ':']).next() {
        Some(label) if !label.is_empty() && label != "localhost" => label,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dps() -> DpsRef {
        DpsRef { subscription_id: "s".into(), resource_group: "rg".into(), name: "contoso-dps".into() }
    }

    #[test]
    fn a_plan_file_reads_with_its_defaults_and_each_bad_field_is_named() {
        let plan: Plan = serde_json::from_str(
            r#"{"dps":{"subscriptionId":"s","resourceGroup":"rg","name":"contoso-dps"},"action":{"kind":"rotateKeys","hub":{"subscriptionId":"s","resourceGroup":"rg","name":"weu"}}}"#,
        )
        .unwrap();
        assert_eq!(
            plan.action,
            Action::RotateKeys {
                hub: HubRef { subscription_id: "s".into(), resource_group: "rg".into(), name: "weu".into() },
                policy: "iothubowner".into(),
                renew_secondary: false
            }
        );
        assert_eq!(plan.check(), Ok(()));
        assert_eq!(plan.title(), "Rotate iothubowner keys of weu on contoso-dps");
        let update =
            Plan { dps: dps(), action: Action::Update { host: "weu.azure-devices.net".into(), allocation_weight: Some(1001), apply_allocation_policy: None } };
        let fields: Vec<String> = update.check().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["action.allocationWeight"]);
        let nothing = Plan {
            dps: DpsRef { name: " ".into(), ..dps() },
            action: Action::Update { host: "h".into(), allocation_weight: None, apply_allocation_policy: None },
        };
        let fields: Vec<String> = nothing.check().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["dps.name", "action"]);
        let unlink = Plan { dps: dps(), action: Action::Unlink { hosts: vec![], edit_enrollments: true } };
        assert_eq!(unlink.check().unwrap_err()[0].field, "action.hosts");
    }
}
