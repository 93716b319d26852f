//! `iotm dps linked-hubs list | link | update | unlink | rotate-keys`: the DPS linked hubs wizard
//! from a command line, on the same runtime and journal as the window (the app's journal unless
//! `--journal`), so the Jobs page sees these changes too. Resources are named
//! `<subscription>/<resource-group>/<name>`. Each change first prints its dry run — what changes,
//! in words and as the exact JSON of `properties.iotHubs` (keys masked); `--dry-run` stops there.
//! A rotation cut off anywhere continues with `--resume <id>`.

use super::{app_data_dir, bad_input, execute, failed, Failure, ServicePrincipal};
use crate::args::Options;
use iotm_core::journal::{Journal, JOURNAL_FILE};
use iotm_core::runtime::{Migrations, RunMode, WizardEngine};
use iotm_core::wizards::dps_linked_hubs::edit::check_weight;
use iotm_core::wizards::dps_linked_hubs::{dry_run, view, Action, DpsLinkedHubs, DpsRef, HubRef, LinkedHubsError, Plan};
use iotm_core::wizards::WizardId;
use iotm_core::Coded;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const USAGE: &str = "\
  iotm dps linked-hubs list --dps <sub/rg/name>
  iotm dps linked-hubs link --dps <sub/rg/name> --hub <sub/rg/name> [--policy iothubowner] [--weight 1-1000] [--apply true|false] [--dry-run]
  iotm dps linked-hubs update --dps <sub/rg/name> --host <hub host> [--weight 1-1000] [--apply true|false] [--dry-run]
  iotm dps linked-hubs unlink --dps <sub/rg/name> --host <hub host>[,<host>…] [--edit-enrollments] [--dry-run]
  iotm dps linked-hubs rotate-keys --dps <sub/rg/name> --hub <sub/rg/name> [--policy iothubowner] [--renew-secondary] [--dry-run]
  iotm dps linked-hubs rotate-keys --resume <id>      (continues a change that was cut off; any action)";

/// True when the words ask for this command (`dps linked-hubs …`).
pub fn wanted(args: &[String]) -> bool {
    let words: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    words.windows(2).any(|w| w == ["dps", "linked-hubs"])
}

const FLAGS: [&str; 4] = ["dry-run", "edit-enrollments", "renew-secondary", "help"];

fn parse(args: &[String]) -> Result<(String, BTreeMap<String, String>), Failure> {
    let (mut words, mut named) = (Vec::new(), BTreeMap::new());
    let mut i = 0;
    while i < args.len() {
        if let Some(name) = args[i].strip_prefix("--") {
            if FLAGS.contains(&name) {
                named.insert(name.to_string(), "true".to_string());
                i += 1;
                continue;
            }
            let value = args.get(i + 1).filter(|v| !v.starts_with("--")).ok_or_else(|| bad_input(format!("--{name} needs a value")))?;
            named.insert(name.to_string(), value.clone());
            i += 2;
        } else {
            words.push(args[i].clone());
            i += 1;
        }
    }
    if named.contains_key("help") {
        return Ok(("help".into(), named));
    }
    match words.as_slice() {
        [dps, hubs, action] if dps == "dps" && hubs == "linked-hubs" => Ok((action.clone(), named)),
        _ => Err(bad_input(format!("dps linked-hubs needs one action: list, link, update, unlink or rotate-keys\n{USAGE}"))),
    }
}

fn three(named: &BTreeMap<String, String>, option: &str) -> Result<[String; 3], Failure> {
    let text = named.get(option).ok_or_else(|| bad_input(format!("--{option} <subscription>/<resource-group>/<name> is required")))?;
    match text.split('/').collect::<Vec<_>>().as_slice() {
        [s, g, n] if !s.is_empty() && !g.is_empty() && !n.is_empty() => Ok([s.to_string(), g.to_string(), n.to_string()]),
        _ => Err(bad_input(format!("--{option} '{text}' is not <subscription>/<resource-group>/<name>"))),
    }
}

fn weight(named: &BTreeMap<String, String>) -> Result<Option<i64>, Failure> {
    named.get("weight").map(|w| w.parse::<i64>().map_err(|_| bad_input(format!("--weight '{w}' is not a whole number from 1 to 1000")))).transpose()
}

fn apply_flag(named: &BTreeMap<String, String>) -> Result<Option<bool>, Failure> {
    named.get("apply").map(|a| a.parse::<bool>().map_err(|_| bad_input(format!("--apply '{a}' is not true or false")))).transpose()
}

/// A refusal: bad input (exit 2) when it is the person's to fix, else a failure; with its code.
fn refused_code(code: &str, message: &str) -> Failure {
    let input = code.starts_with("dpsLinkedHubs.") && !["dpsLinkedHubs.too_many_conflicts", "dpsLinkedHubs.proof_failed"].contains(&code);
    let input = input || code == "migration.badPlan";
    Failure(if input { 2 } else { 1 }, format!("{message} [{code}]"))
}

fn refused(e: LinkedHubsError) -> Failure {
    refused_code(&e.code(), &e.to_string())
}

/// The plan the words describe.
fn plan(action: &str, dps: DpsRef, named: &BTreeMap<String, String>) -> Result<Plan, Failure> {
    let hub = || -> Result<HubRef, Failure> {
        let [s, g, n] = three(named, "hub")?;
        Ok(HubRef { subscription_id: s, resource_group: g, name: n })
    };
    let policy = || named.get("policy").cloned().unwrap_or_else(|| "iothubowner".into());
    let host = || named.get("host").cloned().ok_or_else(|| bad_input("--host <hub host> is required"));
    let action = match action {
        "link" => Action::Link { hub: hub()?, policy: policy(), allocation_weight: weight(named)?, apply_allocation_policy: apply_flag(named)? },
        "update" => Action::Update { host: host()?, allocation_weight: weight(named)?, apply_allocation_policy: apply_flag(named)? },
        "unlink" => Action::Unlink { hosts: host()?.split(',').map(str::to_string).collect(), edit_enrollments: named.contains_key("edit-enrollments") },
        "rotate-keys" => Action::RotateKeys { hub: hub()?, policy: policy(), renew_secondary: named.contains_key("renew-secondary") },
        other => return Err(bad_input(format!("'{other}' is not a dps linked-hubs action\n{USAGE}"))),
    };
    Ok(Plan { dps, action })
}

fn list_line(h: &iotm_core::wizards::dps_linked_hubs::LinkedHubView) -> String {
    format!(
        "  {} ({})  {}  weight {}{}  apply allocation policy: {}  policy {}  pinned by {} group(s), {} individual  {} device(s) assigned",
        h.name,
        h.host,
        h.location,
        h.allocation_weight,
        if h.weight_is_default { " (default)" } else { "" },
        h.apply_allocation_policy,
        h.policy_name.as_deref().unwrap_or("?"),
        h.pinning_enrollment_groups,
        h.pinning_individual_enrollments,
        h.registrations
    )
}

pub async fn run(args: &[String], options: &Options) -> Result<(), Failure> {
    let (action, named) = parse(args)?;
    if action == "help" {
        println!("{USAGE}");
        return Ok(());
    }
    let principal = ServicePrincipal::from_env(options)?;
    let journal_path = options.journal.clone().unwrap_or_else(|| app_data_dir().join(JOURNAL_FILE));
    let migrations = Arc::new(Migrations::new(Arc::new(Journal::open(&journal_path)?)));
    if let Some(id) = named.get("resume") {
        let found = migrations.journal().wizard_of(id).map_err(|e| failed(e.to_payload()))?;
        if found != WizardId::DpsLinkedHubs {
            return Err(bad_input(format!("{id} is a {found} migration, not a dps linked-hubs change")));
        }
        println!("change {id}");
        return execute(&migrations, WizardId::DpsLinkedHubs, id, &principal, RunMode::Run, options).await;
    }
    let [s, g, n] = three(&named, "dps")?;
    let dps = DpsRef { subscription_id: s, resource_group: g, name: n };
    if action == "list" {
        let arm = iotm_azure::arm::ArmClient::new(principal.pipeline.clone(), principal.principal.clone());
        let seen = view::see(&arm, &principal.pipeline, &dps).await.map_err(refused)?;
        println!("{} — allocation policy {}", seen.name, seen.allocation_policy);
        for h in &seen.hubs {
            println!("{}", list_line(h));
        }
        return Ok(());
    }
    let plan = plan(&action, dps, &named)?;
    // A weight out of range is the engine's own refusal, with its code, as a plan file's would be.
    if let Action::Link { allocation_weight, .. } | Action::Update { allocation_weight, .. } = &plan.action {
        check_weight(*allocation_weight).map_err(refused)?;
    }
    DpsLinkedHubs::check_plan(&plan).map_err(|p| refused_code("migration.badPlan", &p.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    // What will change, always first.
    let clients = DpsLinkedHubs::clients(&plan, &principal).map_err(failed)?;
    let dry = dry_run::dry_run(&clients, &plan).await.map_err(refused)?;
    for line in dry_run::lines(&dry) {
        println!("{line}");
    }
    if named.contains_key("dry-run") {
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if let Action::Unlink { hosts, edit_enrollments: false } = &plan.action {
        if !dry.pinned.is_empty() {
            let enrollments = dry.pinned.iter().map(|p| format!("{} {}", p.kind, p.id)).collect();
            return Err(refused(LinkedHubsError::PinnedEnrollments { hub: hosts.join(", "), enrollments }));
        }
    }
    let id = migrations.create(&iotm_core::runtime::MigrationPlan::DpsLinkedHubs(plan.clone())).map_err(failed)?;
    println!("change {id} (if cut off: iotm dps linked-hubs {action} --resume {id})");
    execute(&migrations, WizardId::DpsLinkedHubs, &id, &principal, RunMode::Run, options).await?;
    if let Action::RotateKeys { policy, .. } = &plan.action {
        println!("keys rotated; the link uses {policy}'s new primary key");
    }
    Ok(())
}
