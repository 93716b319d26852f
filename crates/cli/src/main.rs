//! `iotm`: the wizards' engines from a command line, for consultants who script runs. Takes a
//! saved plan, prints progress, and writes the same journal (the app's, by default) and report as
//! the window does. Ctrl-C stops at a safe point; `resume` continues.

mod args;
mod output;

use args::{Command, Options};
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{CentralApiToken, ClientSecretCredential, Cloud, Credential, Secret};
use iotm_core::journal::{Journal, JOURNAL_FILE};
use iotm_core::wizards::central_to_hub::dry_run::dry_run;
use iotm_core::wizards::central_to_hub::runner::{RunMode, Runs};
use iotm_core::wizards::central_to_hub::{create, report, Clients, Plan, Progress};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const APP_IDENTIFIER: &str = "com.iotmigrator.desktop";

/// A failure and the exit code it means.
struct Failure(u8, String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(1, e.to_string())
    }
}

fn bad_input(message: impl Into<String>) -> Failure {
    Failure(2, message.into())
}

#[tokio::main]
async fn main() -> ExitCode {
    // Diagnostics on stderr, warnings by default (RUST_LOG=debug shows every call, redacted).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args::parse(&args) {
        Ok((command, options)) => run(command, options).await,
        Err(message) => Err(bad_input(message)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// The app's data folder, where the window keeps its journal.
fn app_data_dir() -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let base = if cfg!(target_os = "macos") {
        home().join("Library/Application Support")
    } else if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from).unwrap_or_else(home)
    } else {
        std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| home().join(".local/share"))
    };
    base.join(APP_IDENTIFIER)
}

fn cloud(options: &Options) -> Result<Cloud, Failure> {
    match options.cloud.as_deref().unwrap_or("AzureCloud") {
        "AzureCloud" => Ok(Cloud::AzureCloud),
        "AzureUSGovernment" => Ok(Cloud::AzureUSGovernment),
        "AzureChinaCloud" => Ok(Cloud::AzureChinaCloud),
        "sandbox" => {
            let url = options
                .sandbox_url
                .clone()
                .or_else(|| std::env::var("IOTM_SANDBOX_URL").ok())
                .ok_or_else(|| bad_input("--cloud sandbox needs --sandbox-url (or IOTM_SANDBOX_URL)"))?;
            let ca = options
                .sandbox_ca
                .clone()
                .or_else(|| std::env::var_os("IOTM_SANDBOX_CA").map(PathBuf::from))
                .ok_or_else(|| bad_input("--cloud sandbox needs --sandbox-ca (or IOTM_SANDBOX_CA)"))?;
            let pem = std::fs::read_to_string(&ca).map_err(|e| bad_input(format!("--sandbox-ca {}: {e}", ca.display())))?;
            Ok(Cloud::sandbox(&url, pem)?)
        }
        other => Err(bad_input(format!("--cloud {other} is not AzureCloud, AzureUSGovernment, AzureChinaCloud or sandbox"))),
    }
}

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad_input(format!("{name} is not set: runs sign in as a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)")))
}

fn clients(options: &Options, plan: &Plan) -> Result<Clients, Failure> {
    let pipeline = iotm_core::session::pipeline(cloud(options)?)?;
    let principal: Arc<dyn Credential> =
        Arc::new(ClientSecretCredential::new(pipeline.clone(), &env("AZURE_TENANT_ID")?, &env("AZURE_CLIENT_ID")?, Secret::new(env("AZURE_CLIENT_SECRET")?))?);
    let central_credential: Arc<dyn Credential> = match std::env::var("IOTM_CENTRAL_API_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(token) => Arc::new(CentralApiToken::new(Secret::new(token))),
        None => principal.clone(),
    };
    let central = CentralClient::new(pipeline.clone(), central_credential, &plan.source.subdomain)?;
    Ok(Clients { arm: ArmClient::new(pipeline.clone(), principal), central, pipeline })
}

fn read_plan(path: &Path) -> Result<Plan, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    Plan::from_json(&text).map_err(|problem| bad_input(format!("{}: {problem}", path.display())))
}

fn plan_of(journal: &Journal, id: &str) -> Result<Plan, Failure> {
    serde_json::from_value(journal.plan(id)?).map_err(|e| Failure(1, format!("the journaled plan of {id}: {e}")))
}

async fn run(command: Command, options: Options) -> Result<(), Failure> {
    if command == Command::Help {
        println!("{}", args::USAGE);
        return Ok(());
    }
    let journal_path = options.journal.clone().unwrap_or_else(|| app_data_dir().join(JOURNAL_FILE));
    let journal = Journal::open(&journal_path)?;
    match command {
        Command::Help => Ok(()),
        Command::Migrations => {
            for m in journal.list()? {
                println!(
                    "{}  {:<10} {:<13} {}  ({} steps done, {} failed)",
                    m.id,
                    format!("{:?}", m.state).to_lowercase(),
                    m.wizard,
                    m.title,
                    m.steps_done,
                    m.steps_failed
                );
            }
            Ok(())
        }
        Command::DryRun { plan } => {
            let plan = read_plan(&plan)?;
            let found = dry_run(&clients(&options, &plan)?, &plan, &|checked, total| eprintln!("checked {checked} of {total} devices"))
                .await
                .map_err(|e| Failure(1, format!("{} ({})", e, e.code())))?;
            output::print_dry_run(&found);
            Ok(())
        }
        Command::Run { plan } => {
            let plan = read_plan(&plan)?;
            let clients = clients(&options, &plan)?;
            let id = create(&journal, &plan).map_err(|e| bad_input(e.to_string()))?;
            println!("migration {id}");
            execute(&journal, &id, clients, RunMode::Run, &options).await
        }
        Command::Resume { id } => {
            let plan = plan_of(&journal, &id)?;
            execute(&journal, &id, clients(&options, &plan)?, RunMode::Run, &options).await
        }
        Command::Retry { id } => {
            let plan = plan_of(&journal, &id)?;
            execute(&journal, &id, clients(&options, &plan)?, RunMode::Retry, &options).await
        }
        Command::Report { id, csv, json } => {
            let report = report::build(&journal, &id)?;
            output::print_report(&report);
            if let Some(path) = csv {
                std::fs::write(&path, report::to_csv(&report)).map_err(|e| Failure(1, format!("{}: {e}", path.display())))?;
            }
            if let Some(path) = json {
                std::fs::write(&path, report::to_json(&report)).map_err(|e| Failure(1, format!("{}: {e}", path.display())))?;
            }
            Ok(())
        }
    }
}

async fn execute(journal: &Journal, id: &str, clients: Clients, mode: RunMode, options: &Options) -> Result<(), Failure> {
    let runs = Arc::new(Runs::default());
    let (stopper, stop_id) = (runs.clone(), id.to_string());
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping at the next safe point…");
            stopper.stop(&stop_id);
        }
    });
    let printer = output::Printer::default();
    let progress = |p: Progress| printer.show(&p);
    let result = runs.run(journal, id, clients, mode, &progress).await;
    let report = report::build(journal, id)?;
    let dir = options.report_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    for (extension, text) in [("csv", report::to_csv(&report)), ("json", report::to_json(&report))] {
        let path = dir.join(format!("iot-migrator-{id}.{extension}"));
        std::fs::write(&path, text).map_err(|e| Failure(1, format!("{}: {e}", path.display())))?;
        println!("report: {}", path.display());
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == "centralToHub.cancelled" => Err(Failure(3, format!("{e} (iotm central-to-hub resume {id})"))),
        Err(e) => Err(Failure(1, format!("{e} ({})", e.code()))),
    }
}
