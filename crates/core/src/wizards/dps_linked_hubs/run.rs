//! The run of a linked hubs plan on the shared runtime, every write a journaled step: a link, an
//! update, an unlink (each pinned enrollment edited in a step of its own first), or a key rotation
//! (rotation.rs, six steps). A step cut off after its write landed finds the DPS already as the
//! plan wants it on resume (a hub linked, or gone) and counts that as done. Each run ends reading
//! the DPS back and checking it is as the plan says.

use super::dry_run::{change_of, linked_host_of};
use super::edit::{hub_host, write, Change};
use super::enrollments::{check_unlink, service_client, unpin};
use super::error::LinkedHubsError;
use super::plan::{short, Action, Plan};
use super::rotation::{Rotation, RotationPlan};
use super::view::hub_names;
use super::wizard::{Clients, DpsLinkedHubsTick};
use crate::runtime::RunContext;
use iotm_azure::arm::models::LinkedHub;
use serde_json::{json, Value};

/// The item kinds a run records.
pub const HUB: &str = "hub";
pub const ENROLLMENT: &str = "enrollment";

type Ctx<'a> = RunContext<'a, DpsLinkedHubsTick>;

fn phase(ctx: &Ctx<'_>, phase: &str) {
    ctx.tick(ctx.item_counts(HUB).unwrap_or_default(), DpsLinkedHubsTick { phase: phase.into() });
}

fn host_of(hub: &LinkedHub) -> String {
    hub.name.clone().unwrap_or_default().to_ascii_lowercase()
}

async fn linked(clients: &Clients, plan: &Plan) -> Result<Vec<LinkedHub>, LinkedHubsError> {
    let d = &plan.dps;
    Ok(clients.arm.provisioning_service(&d.subscription_id, &d.resource_group, &d.name).await?.properties.iot_hubs)
}

/// The DPS as the plan wants it, read back: the hub linked with the weight and flag asked for, or gone.
async fn verify(clients: &Clients, plan: &Plan, host: &str, weight: Option<i64>, flag: Option<bool>, present: bool) -> Result<(), LinkedHubsError> {
    let hubs = linked(clients, plan).await?;
    let found = hubs.iter().find(|h| host_of(h) == host);
    let wrong = |what: String| LinkedHubsError::ProofFailed { dps: plan.dps.name.clone(), hub: host.into(), detail: what };
    match (found, present) {
        (None, true) => Err(wrong("the DPS read back does not link it".into())),
        (Some(_), false) => Err(wrong("the DPS read back still links it".into())),
        (Some(h), true) if weight.is_some() && h.allocation_weight.or(Some(1)) != weight => {
            Err(wrong(format!("the DPS read back has weight {:?}, not {weight:?}", h.allocation_weight)))
        }
        (Some(h), true) if flag.is_some() && h.apply_allocation_policy.or(Some(true)) != flag => {
            Err(wrong(format!("the DPS read back has apply allocation policy {:?}, not {flag:?}", h.apply_allocation_policy)))
        }
        _ => Ok(()),
    }
}

/// Writes `change` as one step. A resumed link (or unlink) whose write had landed before the cut
/// finds the hub already linked (or gone), and is done.
async fn write_step(ctx: &Ctx<'_>, clients: &Clients, plan: &Plan, key: &str, title: &str, change: Change, host: &str) -> Result<Value, LinkedHubsError> {
    let intent = json!({"hub": host, "action": key});
    ctx.step(key, title, intent, |unfinished| async move {
        match write(&clients.arm, &plan.dps, &change, &clients.suffix).await {
            Ok((diff, _)) => Ok(json!({"hub": host, "diff": diff})),
            // Cut off after the write landed: the DPS is already as this step makes it.
            Err(LinkedHubsError::AlreadyLinked { .. }) if unfinished && key == "link" => Ok(json!({"hub": host, "foundDone": true})),
            Err(LinkedHubsError::NotLinked { .. }) if unfinished && key == "unlink" => Ok(json!({"hub": host, "foundDone": true})),
            Err(e) => Err(e),
        }
    })
    .await
}

pub async fn run(ctx: &Ctx<'_>, clients: &Clients, plan: &Plan) -> Result<(), LinkedHubsError> {
    match &plan.action {
        Action::Link { hub, policy, allocation_weight, apply_allocation_policy } => {
            phase(ctx, "linking");
            let change = change_of(clients, plan).await?.expect("a link changes the linked hubs");
            let Change::Link { connection_string, .. } = &change else { unreachable!("a link plan makes a link change") };
            let host = hub_host(connection_string, &clients.suffix)?;
            write_step(ctx, clients, plan, "link", &format!("Link {} through {policy}", hub.name), change, &host).await?;
            ctx.check("verify", "Read the DPS back", json!({"hub": host}), || verify(clients, plan, &host, *allocation_weight, *apply_allocation_policy, true))
                .await?;
            ctx.record_items(HUB, [(host.as_str(), "linked", None)])?;
        }
        Action::Update { host, allocation_weight, apply_allocation_policy } => {
            phase(ctx, "updating");
            let host = host.to_ascii_lowercase();
            let names = hub_names(&clients.arm, &plan.dps.subscription_id).await?;
            let name = names.get(&host).cloned().unwrap_or_else(|| short(&host).to_string());
            let change = change_of(clients, plan).await?.expect("an update changes the linked hubs");
            write_step(ctx, clients, plan, "update", &format!("Update the link of {name}"), change, &host).await?;
            ctx.check("verify", "Read the DPS back", json!({"hub": host}), || verify(clients, plan, &host, *allocation_weight, *apply_allocation_policy, true))
                .await?;
            ctx.record_items(HUB, [(host.as_str(), "updated", None)])?;
        }
        Action::Unlink { hosts, edit_enrollments } => unlink(ctx, clients, plan, hosts, *edit_enrollments).await?,
        Action::RotateKeys { hub, policy, renew_secondary } => {
            let host = ctx
                .check("linked", &format!("{} is linked to {}", hub.name, plan.dps.name), json!({"hub": hub.name}), || linked_host_of(clients, plan, hub))
                .await?;
            phase(ctx, "rotating");
            let rotation = RotationPlan { dps: plan.dps.clone(), hub: hub.clone(), policy: policy.clone(), renew_secondary: *renew_secondary };
            Rotation { arm: &clients.arm, pipeline: &clients.pipeline, suffix: &clients.suffix, plan: &rotation }.run(ctx).await?;
            ctx.record_items(HUB, [(host.as_str(), "rotated", None)])?;
        }
    }
    phase(ctx, "done");
    Ok(())
}

async fn unlink(ctx: &Ctx<'_>, clients: &Clients, plan: &Plan, hosts: &[String], edit_enrollments: bool) -> Result<(), LinkedHubsError> {
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    let (client, _) = service_client(&clients.arm, &clients.pipeline, &plan.dps).await?;
    let names = hub_names(&clients.arm, &plan.dps.subscription_id).await?;
    let names: Vec<String> = hosts.iter().map(|h| names.get(h).cloned().unwrap_or_else(|| short(h).to_string())).collect();
    let names = names.join(", ");
    // Checked on every run, since enrollments change between runs; a resumed run finds the ones it
    // edited no longer pinning the hubs.
    let pinned = ctx
        .check("pinned", "No enrollment is left without a hub", json!({"hubs": hosts}), || async {
            let now = linked(clients, plan).await?;
            check_unlink(&client, &now, &hosts, edit_enrollments).await
        })
        .await?;
    phase(ctx, "editing enrollments");
    for enrollment in &pinned {
        let key = format!("unpin:{}:{}", enrollment.kind, enrollment.id);
        let title = format!("Take {names} out of the {} enrollment {}", enrollment.kind, enrollment.id);
        ctx.step(&key, &title, json!({"kind": enrollment.kind, "id": enrollment.id}), |_| async {
            unpin(&client, enrollment, &hosts).await?;
            Ok::<_, LinkedHubsError>(json!({"edited": true}))
        })
        .await?;
        let name = format!("{} {}", enrollment.kind, enrollment.id);
        ctx.record_items(ENROLLMENT, [(name.as_str(), "edited", None)])?;
    }
    phase(ctx, "unlinking");
    write_step(ctx, clients, plan, "unlink", &format!("Unlink {names}"), Change::Unlink { hosts: hosts.clone() }, &hosts.join(",")).await?;
    for host in &hosts {
        ctx.check(&format!("verify:{host}"), "Read the DPS back", json!({"hub": host}), || verify(clients, plan, host, None, None, false)).await?;
    }
    ctx.record_items(HUB, hosts.iter().map(|h| (h.as_str(), "unlinked", None)))?;
    Ok(())
}
