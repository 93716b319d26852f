//! `iotm hub-state export | import | migrate`: the Hub state wizard's plan made from the command's
//! words, as `az iot hub state` takes them, then run on the same engine as the window's. A Replace
//! is shown as counts from a dry run and asked about first, unless `--yes`.

use super::args::Options;
use super::{bad_input, failed, Failure};
use iotm_core::runtime::{self, Connect, MigrationPlan};
use iotm_core::wizards::hub_state::plan::{Action, Aspect, HubRef, Plan};
use iotm_core::wizards::hub_state::state_file::Variant;
use iotm_core::wizards::hub_state::to_hub::Change;
use iotm_core::wizards::hub_state::{dry_run, HubState};
use iotm_core::Coded;
use std::io::BufRead;

/// `<resource-group>/<hub>` in the subscription of `--subscription` (or AZURE_SUBSCRIPTION_ID).
fn hub(text: &str, options: &Options) -> Result<HubRef, Failure> {
    let (group, name) = text
        .split_once('/')
        .filter(|(g, n)| !g.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| bad_input(format!("'{text}' is not a hub: write it as <resource-group>/<hub-name>")))?;
    let subscription = options
        .subscription
        .clone()
        .or_else(|| std::env::var("AZURE_SUBSCRIPTION_ID").ok().filter(|s| !s.is_empty()))
        .ok_or_else(|| bad_input("the hubs' subscription is not given: --subscription <id> (or AZURE_SUBSCRIPTION_ID)"))?;
    Ok(HubRef { subscription_id: subscription, resource_group: group.into(), hub_name: name.into() })
}

fn aspects(options: &Options) -> Result<Vec<Aspect>, Failure> {
    let Some(text) = options.aspects.as_deref() else { return Ok(vec![]) };
    text.split(',')
        .map(|a| match a.trim() {
            "arm" => Ok(Aspect::Arm),
            "configurations" => Ok(Aspect::Configurations),
            "devices" => Ok(Aspect::Devices),
            other => Err(bad_input(format!("--aspects: '{other}' is not arm, configurations or devices"))),
        })
        .collect()
}

/// The plan the words describe, completed and checked as a plan file would be.
pub fn plan(action: &str, first: &str, second: &str, options: &Options) -> Result<Plan, Failure> {
    let variant = match options.variant.as_deref() {
        None => None,
        Some("json") => Some(Variant::Json),
        Some("lines") => Some(Variant::Lines),
        Some(other) => return Err(bad_input(format!("--variant {other} is not json or lines"))),
    };
    let (action, source, target, file) = match action {
        "export" => (Action::Export, Some(hub(first, options)?), None, Some(second.to_string())),
        "import" => (Action::Import, None, Some(hub(second, options)?), Some(first.to_string())),
        _ => (Action::Migrate, Some(hub(first, options)?), Some(hub(second, options)?), None),
    };
    let mut plan = Plan { action, aspects: aspects(options)?, source, target, file, variant, replace: options.replace };
    plan.complete();
    plan.check().map_err(|problems| bad_input(problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    Ok(plan)
}

/// Asks before a Replace deletes, naming what it would delete; `--yes` answers for the person.
async fn confirm_replace(plan: &Plan, connect: &dyn Connect, options: &Options) -> Result<(), Failure> {
    let clients = <HubState as runtime::WizardEngine>::clients(plan, connect).map_err(failed)?;
    let dry = dry_run::dry_run(&clients, plan, &|_, _| {}).await.map_err(|e| failed(e.to_payload()))?;
    let hub = plan.target.as_ref().map(|t| t.hub_name.as_str()).unwrap_or_default();
    let question = format!(
        "Replace deletes from {hub} what the state does not hold: {} devices, {} modules, {} configurations.",
        dry.deletes("device"),
        dry.deletes("module"),
        dry.deletes("configuration")
    );
    println!("{question}");
    // Named, so a person sees what would go before saying yes (the first twenty; the counts are complete).
    let deletes: Vec<_> = dry.changes.iter().filter(|c| c.change == Change::Delete).collect();
    for change in deletes.iter().take(20) {
        println!("  delete {} {}", change.kind, change.id);
    }
    if deletes.len() > 20 {
        println!("  … and {} more", deletes.len() - 20);
    }
    if options.yes {
        return Ok(());
    }
    print!("Continue? [y/N] ");
    use std::io::Write;
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure(3, "nothing was changed (Replace not confirmed; --yes confirms it)".into()))
    }
}

/// What the command does: a dry run printed, or the migration created and run to its end.
pub async fn command(plan: Plan, connect: &dyn Connect, options: &Options) -> Result<Option<MigrationPlan>, Failure> {
    let migration = MigrationPlan::HubState(plan.clone());
    if options.dry_run {
        let progress = |checked, total| eprintln!("compared {checked} of {total} devices");
        for line in runtime::migrations::dry_run_lines(&migration, connect, &progress).await.map_err(failed)? {
            println!("{line}");
        }
        return Ok(None);
    }
    if plan.replace {
        confirm_replace(&plan, connect, options).await?;
    }
    Ok(Some(migration))
}
