//! `iotm dps linked-hubs list | link | update | unlink | rotate-keys`: the DPS linked hubs engine
//! from a command line. Resources are named `<subscription>/<resource-group>/<name>`. Each change
//! prints the exact JSON of `properties.iotHubs` before and after (keys masked); `--dry-run` stops
//! there. A rotation is journaled (`--journal`, default `dps-rotations.db` in the app's folder) and
//! `--resume <id>` continues one that was cut off.

use super::{app_data_dir, bad_input, Failure, ServicePrincipal};
use crate::args::Options;
use iotm_core::journal::Journal;
use iotm_core::runtime::{Progress, RunContext, StepState, StopSignal};
use iotm_core::wizards::dps_linked_hubs::edit::{preview, write};
use iotm_core::wizards::dps_linked_hubs::{enrollments, link, view, Change, DpsRef, HubRef, IotHubsDiff, LinkedHubsError, Rotation, RotationPlan};
use iotm_core::wizards::WizardId;
use std::collections::BTreeMap;

pub const USAGE: &str = "\
  iotm dps linked-hubs list --dps <sub/rg/name>
  iotm dps linked-hubs link --dps <sub/rg/name> --hub <sub/rg/name> [--policy iothubowner] [--weight 1-1000] [--apply true|false] [--dry-run]
  iotm dps linked-hubs update --dps <sub/rg/name> --host <hub host> [--weight 1-1000] [--apply true|false] [--dry-run]
  iotm dps linked-hubs unlink --dps <sub/rg/name> --host <hub host>[,<host>…] [--edit-enrollments]
  iotm dps linked-hubs rotate-keys --dps <sub/rg/name> --hub <sub/rg/name> [--policy iothubowner] [--renew-secondary] [--resume <id>]";

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

/// An engine refusal: bad input (exit 2) when it is the person's to fix, else a failure.
fn refused(e: LinkedHubsError) -> Failure {
    let code = e.code();
    let input = code.starts_with("dpsLinkedHubs.") && !["dpsLinkedHubs.too_many_conflicts", "dpsLinkedHubs.proof_failed"].contains(&code.as_str());
    Failure(if input { 2 } else { 1 }, format!("{e} [{code}]"))
}

fn print_diff(diff: &IotHubsDiff) {
    println!("properties.iotHubs before:\n{}", serde_json::to_string_pretty(&diff.before).unwrap_or_default());
    println!("properties.iotHubs after:\n{}", serde_json::to_string_pretty(&diff.after).unwrap_or_default());
}

pub async fn run(args: &[String], options: &Options) -> Result<(), Failure> {
    let (action, named) = parse(args)?;
    if action == "help" {
        println!("{USAGE}");
        return Ok(());
    }
    let [s, g, n] = three(&named, "dps")?;
    let dps = DpsRef { subscription_id: s, resource_group: g, name: n };
    let principal = ServicePrincipal::from_env(options)?;
    let arm = iotm_azure::arm::ArmClient::new(principal.pipeline.clone(), principal.principal.clone());
    let suffix = principal.pipeline.cloud().endpoints().hub_suffix;
    let dry = named.contains_key("dry-run");
    let change = match action.as_str() {
        "list" => {
            let seen = view::see(&arm, &principal.pipeline, &dps).await.map_err(refused)?;
            println!("{} — allocation policy {}", seen.name, seen.allocation_policy);
            for h in seen.hubs {
                println!(
                    "  {}  {}  weight {}{}  apply allocation policy: {}  policy {}  pinned by {} group(s), {} individual  {} device(s) assigned",
                    h.host,
                    h.location,
                    h.allocation_weight,
                    if h.weight_is_default { " (default)" } else { "" },
                    h.apply_allocation_policy,
                    h.policy_name.unwrap_or_else(|| "?".into()),
                    h.pinning_enrollment_groups,
                    h.pinning_individual_enrollments,
                    h.registrations
                );
            }
            return Ok(());
        }
        "link" => {
            let [s, g, n] = three(&named, "hub")?;
            let hub = HubRef { subscription_id: s, resource_group: g, name: n };
            let policy = named.get("policy").cloned().unwrap_or_else(|| "iothubowner".into());
            link::link_from_arm(&arm, &hub, &policy, weight(&named)?, apply_flag(&named)?).await.map_err(refused)?
        }
        "update" => Change::Update {
            host: named.get("host").cloned().ok_or_else(|| bad_input("--host <hub host> is required"))?,
            allocation_weight: weight(&named)?,
            apply_allocation_policy: apply_flag(&named)?,
            connection_string: None,
        },
        "unlink" => {
            let hosts: Vec<String> = named.get("host").ok_or_else(|| bad_input("--host <hub host> is required"))?.split(',').map(str::to_string).collect();
            let (diff, edited) =
                enrollments::unlink(&arm, &principal.pipeline, &dps, &hosts, named.contains_key("edit-enrollments"), &suffix).await.map_err(refused)?;
            for e in edited {
                println!("removed {} from the {} enrollment {}", hosts.join(", "), e.kind, e.id);
            }
            print_diff(&diff);
            return Ok(());
        }
        "rotate-keys" => return rotate(&arm, &principal, &dps, &named, &suffix, options).await,
        other => return Err(bad_input(format!("'{other}' is not a dps linked-hubs action\n{USAGE}"))),
    };
    let diff = if dry { preview(&arm, &dps, &change, &suffix).await } else { write(&arm, &dps, &change, &suffix).await.map(|(d, _)| d) }.map_err(refused)?;
    print_diff(&diff);
    if dry {
        println!("dry run: nothing was changed");
    }
    Ok(())
}

async fn rotate(
    arm: &iotm_azure::arm::ArmClient,
    principal: &ServicePrincipal,
    dps: &DpsRef,
    named: &BTreeMap<String, String>,
    suffix: &str,
    options: &Options,
) -> Result<(), Failure> {
    let [s, g, n] = three(named, "hub")?;
    let plan = RotationPlan {
        dps: dps.clone(),
        hub: HubRef { subscription_id: s, resource_group: g, name: n },
        policy: named.get("policy").cloned().unwrap_or_else(|| "iothubowner".into()),
        renew_secondary: named.contains_key("renew-secondary"),
    };
    // Its own journal until the wizard joins the runtime's registry, so the Jobs page is not shown a plan it cannot read.
    let path = options.journal.clone().unwrap_or_else(|| app_data_dir().join("dps-rotations.db"));
    let journal = Journal::open(&path)?;
    let id = match named.get("resume") {
        Some(id) => id.clone(),
        None => journal.create(WizardId::DpsLinkedHubs, &format!("Rotate {} keys of {}", plan.policy, plan.hub.name), &serde_json::to_value(&plan)?)?,
    };
    println!("rotation {id} (resume with --resume {id})");
    let stop = StopSignal::default();
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.stop();
        }
    });
    let progress = |p: Progress<()>| {
        if let Progress::Step { title, state, .. } = p {
            match state {
                StepState::Started => println!("… {title}"),
                StepState::Done => println!("✓ {title}"),
                StepState::AlreadyDone => println!("✓ {title} (done before)"),
                other => println!("{other:?}: {title}"),
            }
        }
    };
    let ctx = RunContext::new(&journal, &id, &progress, stop);
    match (Rotation { arm, pipeline: &principal.pipeline, suffix, plan: &plan }).run(&ctx).await {
        Ok(()) => {
            println!("keys rotated; the link uses {}'s new primary key", plan.policy);
            Ok(())
        }
        Err(e) if e.code() == "migration.cancelled" => Err(Failure(3, format!("stopped; resume with --resume {id}"))),
        Err(e) => Err(refused(e)),
    }
}
