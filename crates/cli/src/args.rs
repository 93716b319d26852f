//! The command line, read by hand (a handful of subcommands and options does not need a parser
//! crate): each mistake names the argument and what was expected.

use iotm_core::wizards::WizardId;
use std::path::PathBuf;

pub const USAGE: &str = "\
IoT Migrator from a command line.

USAGE:
  iotm <wizard> dry-run <plan.json>
  iotm <wizard> run <plan.json>
  iotm <wizard> resume <migration-id>
  iotm <wizard> retry <migration-id>
  iotm <wizard> report <migration-id> [--csv <file>] [--json <file>]
  iotm migrations
  iotm hub-state export <group>/<hub> <state.json> [--variant lines] [--aspects configurations,devices] [--dry-run]
  iotm hub-state import <state.json> <group>/<hub> [--replace [--yes]] [--aspects …] [--dry-run]
  iotm hub-state migrate <group>/<hub> <group>/<hub> [--replace [--yes]] [--aspects …] [--dry-run]
  iotm dps linked-hubs list | link | update | unlink | rotate-keys …   (iotm dps linked-hubs --help)
  iotm bulk <operation> [options]   (below)

WIZARDS:
  central-to-hub        move devices from an IoT Central app to an IoT hub through DPS
  hub-state             export, import or migrate a hub's configurations and devices, in the
                        file format of `az iot hub state` (a hub is <resource-group>/<hub-name>)
  bulk-identities       IoT Hub import/export jobs through blob storage (plan files; or `iotm bulk`)
  dps-linked-hubs       link, update, unlink a DPS's hubs, rotate their keys (plan files; or
                        `iotm dps linked-hubs`)

BULK:
{BULK}

OPTIONS:
  --journal <file>      the journal (default: the app's, so the window's Jobs page sees CLI runs)
  --cloud <name>        AzureCloud (default), AzureUSGovernment, AzureChinaCloud, or sandbox
  --sandbox-url <url>   the sandbox cloud's address (with --cloud sandbox; or IOTM_SANDBOX_URL)
  --sandbox-ca <file>   the sandbox's CA certificate (or IOTM_SANDBOX_CA)
  --report-dir <dir>    where run, resume and retry write the report (default: the current folder)
  --subscription <id>   hub-state: the hubs' subscription (or AZURE_SUBSCRIPTION_ID)
  --replace             hub-state: delete from the target what the state does not hold (asks first)
  --yes                 hub-state, bulk: do not ask before changing (a Replace, a bulk operation)
  --dry-run             hub-state, bulk: show what would change, change nothing

CREDENTIALS (environment):
  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET   a service principal, for ARM (and Central)
  IOTM_CENTRAL_API_TOKEN                                  a Central API token, for Central instead

EXIT CODES: 0 done · 1 failed · 2 bad input · 3 stopped (resumable)";

/// The wizards the CLI runs (those whose engine has landed).
pub const BUILT: &[WizardId] = &[WizardId::CentralToHub, WizardId::HubState, WizardId::BulkIdentities, WizardId::DpsLinkedHubs];

#[derive(Debug, PartialEq)]
pub enum Command {
    DryRun {
        wizard: WizardId,
        plan: PathBuf,
    },
    Run {
        wizard: WizardId,
        plan: PathBuf,
    },
    Resume {
        wizard: WizardId,
        id: String,
    },
    Retry {
        wizard: WizardId,
        id: String,
    },
    Report {
        wizard: WizardId,
        id: String,
        csv: Option<PathBuf>,
        json: Option<PathBuf>,
    },
    Migrations,
    /// `iotm hub-state export | import | migrate`: a plan made from the arguments.
    HubState {
        action: String,
        first: String,
        second: String,
    },
    /// `iotm bulk <operation>`: a Bulk identities plan from options.
    Bulk {
        plan: Box<iotm_core::wizards::bulk_identities::Plan>,
        dry_run: bool,
        confirmed: bool,
    },
    Help,
}

#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub journal: Option<PathBuf>,
    pub cloud: Option<String>,
    pub sandbox_url: Option<String>,
    pub sandbox_ca: Option<PathBuf>,
    pub report_dir: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub subscription: Option<String>,
    pub variant: Option<String>,
    pub aspects: Option<String>,
    pub replace: bool,
    pub yes: bool,
    pub dry_run: bool,
}

pub fn parse(args: &[String]) -> Result<(Command, Options), String> {
    let mut options = Options::default();
    let mut words = Vec::new();
    let mut bulk = std::collections::BTreeMap::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if let Some(name) = arg.strip_prefix("--") {
            if name == "help" {
                return Ok((Command::Help, options));
            }
            let flag = match name {
                "replace" => Some(&mut options.replace),
                "yes" => Some(&mut options.yes),
                "dry-run" => Some(&mut options.dry_run),
                _ => None,
            };
            if let Some(flag) = flag {
                *flag = true;
                i += 1;
                continue;
            }
            let value = args.get(i + 1).filter(|v| !v.starts_with("--")).ok_or_else(|| format!("--{name} needs a value"))?.clone();
            match name {
                "journal" => options.journal = Some(value.into()),
                "cloud" => options.cloud = Some(value),
                "sandbox-url" => options.sandbox_url = Some(value),
                "sandbox-ca" => options.sandbox_ca = Some(value.into()),
                "report-dir" => options.report_dir = Some(value.into()),
                "csv" => options.csv = Some(value.into()),
                "json" => options.json = Some(value.into()),
                "subscription" => options.subscription = Some(value),
                "variant" => options.variant = Some(value),
                "aspects" => options.aspects = Some(value),
                other if words.first() == Some(&"bulk") && crate::bulk::OPTIONS.contains(&other) => {
                    bulk.insert(other.to_string(), value);
                }
                other => return Err(format!("--{other} is not an option (see iotm --help)")),
            }
            i += 2;
        } else {
            words.push(arg.as_str());
            i += 1;
        }
    }
    let command = match words.as_slice() {
        [] | ["help"] => Command::Help,
        ["migrations"] => Command::Migrations,
        ["bulk", operation] => Command::Bulk { plan: Box::new(crate::bulk::plan(operation, &bulk)?), dry_run: options.dry_run, confirmed: options.yes },
        ["bulk", ..] => return Err("bulk needs one operation: export, import, generate, delete, enable, disable or regenerate-keys (see iotm --help)".into()),
        [name, rest @ ..] => {
            let wizard = WizardId::from_command_name(name).ok_or_else(|| format!("'{name}' is not a command (see iotm --help)"))?;
            if !BUILT.contains(&wizard) {
                return Err(format!("the {name} wizard is not built yet"));
            }
            match rest {
                [action @ ("export" | "import" | "migrate"), first, second] if wizard == WizardId::HubState => {
                    Command::HubState { action: action.to_string(), first: first.to_string(), second: second.to_string() }
                }
                ["dry-run", plan] => Command::DryRun { wizard, plan: plan.into() },
                ["run", plan] => Command::Run { wizard, plan: plan.into() },
                ["resume", id] => Command::Resume { wizard, id: id.to_string() },
                ["retry", id] => Command::Retry { wizard, id: id.to_string() },
                ["report", id] => Command::Report { wizard, id: id.to_string(), csv: options.csv.take(), json: options.json.take() },
                [action, ..] => return Err(format!("'{action}' is not a {name} action, or its argument is missing (see iotm --help)")),
                [] => return Err(format!("{name} needs an action: dry-run, run, resume, retry or report (see iotm --help)")),
            }
        }
    };
    Ok((command, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn commands_and_options_are_read_in_any_order() {
        let (command, options) = parse(&args("--cloud sandbox central-to-hub run plan.json --journal j.db")).unwrap();
        assert_eq!(command, Command::Run { wizard: WizardId::CentralToHub, plan: "plan.json".into() });
        assert_eq!((options.cloud.as_deref(), options.journal), (Some("sandbox"), Some(PathBuf::from("j.db"))));
    }

    #[test]
    fn hub_state_takes_its_hubs_and_file_as_words_and_its_switches_anywhere() {
        let (command, options) = parse(&args("hub-state --replace import state.json rg/neu --yes --subscription s")).unwrap();
        assert_eq!(command, Command::HubState { action: "import".into(), first: "state.json".into(), second: "rg/neu".into() });
        assert!(options.replace && options.yes && !options.dry_run);
        assert_eq!(options.subscription.as_deref(), Some("s"));
        assert_eq!(parse(&args("hub-state export rg/weu")).unwrap_err(), "'export' is not a hub-state action, or its argument is missing (see iotm --help)");
    }

    #[test]
    fn mistakes_name_the_argument() {
        assert_eq!(parse(&args("central-to-hub run")).unwrap_err(), "'run' is not a central-to-hub action, or its argument is missing (see iotm --help)");
        assert_eq!(parse(&args("central-to-hub")).unwrap_err(), "central-to-hub needs an action: dry-run, run, resume, retry or report (see iotm --help)");
        assert_eq!(parse(&args("iot-operations-clone run p.json")).unwrap_err(), "the iot-operations-clone wizard is not built yet");
        assert_eq!(parse(&args("teleport run p.json")).unwrap_err(), "'teleport' is not a command (see iotm --help)");
        assert_eq!(parse(&args("migrations --journal")).unwrap_err(), "--journal needs a value");
        assert_eq!(parse(&args("migrations --jornal x")).unwrap_err(), "--jornal is not an option (see iotm --help)");
    }
}
