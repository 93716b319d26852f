//! The dry run of a linked hubs plan: the change applied to a fresh read of the DPS and nothing
//! written — the exact JSON of `properties.iotHubs` before and after (keys masked), the same in
//! words ("update link contoso-hub-weu: weight 1 → 3"), the enrollments an unlink would edit, and
//! for a rotation the steps it would take. Refusals (a bad weight, a policy without the rights, an
//! enrollment an unlink would orphan) come here, before anything is written.

use super::edit::{apply, masked_json, Change};
use super::enrollments::{check_unlink, service_client, PinnedEnrollment};
use super::error::LinkedHubsError;
use super::link::link_from_arm;
use super::plan::{short, Action, Plan};
use super::view::hub_names;
use super::wizard::Clients;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DpsLinkedHubsDryRun")]
pub struct DryRun {
    pub title: String,
    /// The DPS's allocation policy (`Hashed`, `GeoLatency`, `Static`) and region: what the
    /// expected spread of registrations over the hubs is computed from.
    pub allocation_policy: String,
    pub location: String,
    /// What would change, a line each.
    pub changes: Vec<String>,
    /// `properties.iotHubs` as read, and as the write would leave it (keys masked).
    #[ts(type = "unknown[]")]
    pub before: Value,
    #[ts(type = "unknown[]")]
    pub after: Value,
    /// The enrollments naming a hub an unlink removes: edited (the hub taken out of them) only if
    /// the plan allows it, else the run is refused.
    pub pinned: Vec<PinnedEnrollment>,
    /// A rotation's steps, in order, in words.
    pub steps: Vec<String>,
    /// ARM's names of the hubs, by host (lower-cased), for people to read.
    #[ts(type = "Record<string, string>")]
    pub hub_names: BTreeMap<String, String>,
}

fn entries(hubs: &Value) -> Vec<&Value> {
    hubs.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

fn name(entry: &Value) -> String {
    entry["name"].as_str().unwrap_or_default().to_ascii_lowercase()
}

fn weight(entry: &Value) -> i64 {
    entry["allocationWeight"].as_i64().unwrap_or(1)
}

fn flag(entry: &Value) -> bool {
    entry["applyAllocationPolicy"].as_bool().unwrap_or(true)
}

fn policy(entry: &Value) -> String {
    entry["connectionString"].as_str().unwrap_or_default().split(';').find_map(|p| p.strip_prefix("SharedAccessKeyName=")).unwrap_or("?").to_string()
}

/// The difference between two masked `properties.iotHubs`, a line per hub that changes, each hub
/// by its ARM name from `names` (by host).
pub fn change_lines(before: &Value, after: &Value, names: &BTreeMap<String, String>) -> Vec<String> {
    let (old, new) = (entries(before), entries(after));
    let label = |host: &str| names.get(host).cloned().unwrap_or_else(|| short(host).to_string());
    let mut lines = Vec::new();
    for hub in &new {
        let host = name(hub);
        match old.iter().find(|o| name(o) == host) {
            None => lines.push(format!(
                "link {}: weight {}, apply allocation policy {}, through policy {}",
                label(&host),
                weight(hub),
                if flag(hub) { "yes" } else { "no" },
                policy(hub)
            )),
            Some(was) => {
                let mut parts = Vec::new();
                if weight(was) != weight(hub) {
                    parts.push(format!("weight {} → {}", weight(was), weight(hub)));
                }
                if flag(was) != flag(hub) {
                    let word = |b| if b { "yes" } else { "no" };
                    parts.push(format!("apply allocation policy {} → {}", word(flag(was)), word(flag(hub))));
                }
                if policy(was) != policy(hub) {
                    parts.push(format!("policy {} → {}", policy(was), policy(hub)));
                }
                if !parts.is_empty() {
                    lines.push(format!("update link {}: {}", label(&host), parts.join(", ")));
                }
            }
        }
    }
    for hub in old.iter().filter(|o| !new.iter().any(|n| name(n) == name(o))) {
        lines.push(format!("unlink {}", label(&name(hub))));
    }
    lines
}

/// The rotation's steps in words (the journal keys are in `rotation::STEPS`).
pub fn rotation_steps(policy: &str, hub: &str, renew_secondary: bool) -> Vec<String> {
    let mut steps = vec![
        format!("point the link to {hub} at {policy}'s secondary key"),
        "prove it: a test device registers through the DPS (its enrollment deleted after)".to_string(),
        format!("renew {policy}'s primary key"),
        format!("point the link at {policy}'s new primary key"),
        "prove it again".to_string(),
    ];
    if renew_secondary {
        steps.push(format!("renew {policy}'s secondary key"));
    }
    steps
}

/// The change a link, update or unlink makes to `properties.iotHubs` (a rotation makes none that
/// a dry run can show: its writes are of keys).
pub async fn change_of(clients: &Clients, plan: &Plan) -> Result<Option<Change>, LinkedHubsError> {
    Ok(match &plan.action {
        Action::Link { hub, policy, allocation_weight, apply_allocation_policy } => {
            Some(link_from_arm(&clients.arm, hub, policy, *allocation_weight, *apply_allocation_policy).await?)
        }
        Action::Update { host, allocation_weight, apply_allocation_policy } => Some(Change::Update {
            host: host.clone(),
            allocation_weight: *allocation_weight,
            apply_allocation_policy: *apply_allocation_policy,
            connection_string: None,
        }),
        Action::Unlink { hosts, .. } => Some(Change::Unlink { hosts: hosts.clone() }),
        Action::RotateKeys { .. } => None,
    })
}

/// The host of the hub `plan` rotates, as the DPS's link names it; refused when it is not linked.
pub async fn linked_host_of(clients: &Clients, plan: &Plan, hub: &super::link::HubRef) -> Result<String, LinkedHubsError> {
    let read = clients.arm.iot_hub(&hub.subscription_id, &hub.resource_group, &hub.name).await?;
    let host = read.properties.host_name.unwrap_or_default().to_ascii_lowercase();
    let dps = clients.arm.provisioning_service(&plan.dps.subscription_id, &plan.dps.resource_group, &plan.dps.name).await?;
    if !dps.properties.iot_hubs.iter().any(|h| h.name.as_deref().map(str::to_ascii_lowercase).as_deref() == Some(host.as_str())) {
        return Err(LinkedHubsError::NotLinked { hub: host, dps: plan.dps.name.clone() });
    }
    Ok(host)
}

pub async fn dry_run(clients: &Clients, plan: &Plan) -> Result<DryRun, LinkedHubsError> {
    let d = &plan.dps;
    let read = clients.arm.provisioning_service(&d.subscription_id, &d.resource_group, &d.name).await?;
    let before = masked_json(&read.properties.iot_hubs);
    let mut hubs = read.properties.iot_hubs.clone();
    let mut pinned_by = Vec::new();
    let mut steps = Vec::new();
    match change_of(clients, plan).await? {
        Some(change) => apply(&change, &mut hubs, &d.name, &clients.suffix)?,
        None => {
            if let Action::RotateKeys { hub, policy, renew_secondary } = &plan.action {
                linked_host_of(clients, plan, hub).await?;
                steps = rotation_steps(policy, &hub.name, *renew_secondary);
            }
        }
    }
    if let Action::Unlink { hosts, .. } = &plan.action {
        let (client, _) = service_client(&clients.arm, &clients.pipeline, d).await?;
        // Orphaning is refused outright; pinned enrollments are shown, and the run needs consent.
        pinned_by = check_unlink(&client, &read.properties.iot_hubs, hosts, true).await?;
    }
    let after = masked_json(&hubs);
    let names = hub_names(&clients.arm, &d.subscription_id).await?;
    let label = |host: &str| names.get(&host.to_ascii_lowercase()).cloned().unwrap_or_else(|| short(host).to_string());
    let mut changes = change_lines(&before, &after, &names);
    if let Action::RotateKeys { hub, policy, .. } = &plan.action {
        changes.push(format!("rotate {policy}'s keys of {}: the link moves to the secondary key and back to a new primary", hub.name));
    }
    for p in &pinned_by {
        let removed: Vec<String> = p.iot_hubs.iter().filter(|h| action_hosts(plan).iter().any(|x| x.eq_ignore_ascii_case(h))).map(|h| label(h)).collect();
        changes.push(format!("remove {} from the {} enrollment {}", removed.join(", "), p.kind, p.id));
    }
    Ok(DryRun {
        title: plan.title(),
        allocation_policy: read.properties.allocation_policy.clone().unwrap_or_else(|| "Hashed".into()),
        location: read.location.clone(),
        changes,
        before,
        after,
        pinned: pinned_by,
        steps,
        hub_names: names,
    })
}

fn action_hosts(plan: &Plan) -> Vec<String> {
    match &plan.action {
        Action::Unlink { hosts, .. } => hosts.clone(),
        _ => Vec::new(),
    }
}

/// The dry run as a terminal prints it.
pub fn lines(dry: &DryRun) -> Vec<String> {
    let mut lines = vec![format!("{} (allocation policy {})", dry.title, dry.allocation_policy)];
    if dry.changes.is_empty() {
        lines.push("nothing would change".into());
    }
    lines.extend(dry.changes.iter().cloned());
    if !dry.steps.is_empty() {
        lines.push("steps:".into());
        lines.extend(dry.steps.iter().enumerate().map(|(i, s)| format!("  {}. {s}", i + 1)));
    }
    if dry.before != dry.after {
        lines.push(format!("properties.iotHubs before:\n{}", serde_json::to_string_pretty(&dry.before).unwrap_or_default()));
        lines.push(format!("properties.iotHubs after:\n{}", serde_json::to_string_pretty(&dry.after).unwrap_or_default()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hub(name: &str, weight: Option<i64>, apply: Option<bool>) -> Value {
        let mut v = json!({"name": name, "location": "westeurope", "connectionString": format!("HostName={name};SharedAccessKeyName=iothubowner;SharedAccessKey=****")});
        if let Some(w) = weight {
            v["allocationWeight"] = json!(w);
        }
        if let Some(a) = apply {
            v["applyAllocationPolicy"] = json!(a);
        }
        v
    }

    #[test]
    fn the_change_reads_as_what_it_does_to_each_hub() {
        let before = json!([hub("contoso-hub-weu.azure-devices.net", None, None), hub("contoso-hub-neu.azure-devices.net", Some(2), Some(true))]);
        let after = json!([hub("contoso-hub-weu.azure-devices.net", Some(3), Some(false)), hub("contoso-hub-eus.azure-devices.net", Some(5), None)]);
        let names = BTreeMap::from([("contoso-hub-eus.azure-devices.net".to_string(), "hub-in-east-us".to_string())]);
        assert_eq!(
            change_lines(&before, &after, &names),
            [
                "update link contoso-hub-weu: weight 1 → 3, apply allocation policy yes → no",
                "link hub-in-east-us: weight 5, apply allocation policy yes, through policy iothubowner",
                "unlink contoso-hub-neu",
            ]
        );
        assert!(change_lines(&before, &before, &names).is_empty(), "the same hubs read as no change");
    }
}
