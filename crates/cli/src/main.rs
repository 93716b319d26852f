//! `iotm`: the wizards' engines from a command line, for consultants who script runs. Takes a
//! saved plan, prints progress, and writes the same journal (the app's, by default) and report as
//! the window does. Ctrl-C stops at a safe point; `resume` continues.

mod args;
mod bulk;
mod dps_links;
mod hub_state;
mod output;

use args::{Command, Options};
use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{CentralApiToken, ClientSecretCredential, Cloud, Credential, Pipeline, Secret};
use iotm_core::journal::{Journal, JOURNAL_FILE};
use iotm_core::logging;
use iotm_core::runtime::{self, Connect, MigrationPlan, Migrations, ReportFormat, RunError, RunMode};
use iotm_core::settings::LogLevel;
use iotm_core::wizards::CentralAccess;
use iotm_core::wizards::WizardId;
use iotm_core::{Coded, ErrorPayload};
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

/// A refusal of the core, with its code (a bad plan or a migration of another wizard is bad input).
fn failed(payload: ErrorPayload) -> Failure {
    let code = if ["migration.badPlan", "migration.wrongWizard", "journal.not_found", "bulk.invalidFile"].contains(&payload.code.as_str()) { 2 } else { 1 };
    // The detail says more (a file's wrong lines, one a line).
    match &payload.detail {
        Some(detail) => Failure(code, format!("{payload}\n{detail}")),
        None => Failure(code, payload.to_string()),
    }
}

fn bad_input(message: impl Into<String>) -> Failure {
    Failure(2, message.into())
}

#[tokio::main]
async fn main() -> ExitCode {
    use tracing_subscriber::util::SubscriberInitExt;
    log_to(log_filter(std::env::var("RUST_LOG").ok().as_deref()), std::io::stderr).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if dps_links::wanted(&args) {
        run_dps_links(&args).await
    } else {
        match args::parse(&args) {
            Ok((command, options)) => run(command, options).await,
            Err(message) => Err(bad_input(message)),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("{}", error_line(&message));
            ExitCode::from(code)
        }
    }
}

/// `iotm dps linked-hubs …`: the global options (cloud, sandbox, journal) are read as for the
/// other commands; the rest is the action's own (dps_links.rs).
async fn run_dps_links(args: &[String]) -> Result<(), Failure> {
    let global = ["--journal", "--cloud", "--sandbox-url", "--sandbox-ca", "--report-dir"];
    let (mut mine, mut options_args) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < args.len() {
        if global.contains(&args[i].as_str()) && i + 1 < args.len() {
            options_args.extend([args[i].clone(), args[i + 1].clone()]);
            i += 2;
        } else {
            mine.push(args[i].clone());
            i += 1;
        }
    }
    let (_, options) = args::parse(&options_args).map_err(bad_input)?;
    dps_links::run(&mine, &options).await
}

/// The stderr log's filter: warnings by default; `RUST_LOG` set to a level (`RUST_LOG=debug` shows
/// every call) puts our crates — the client crate's retries and request IDs among them — at it, as
/// the app's filter does, and keeps dependencies at warn; a full directive is taken as written.
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let rust_log = rust_log.map(str::trim).filter(|v| !v.is_empty());
    let level = match rust_log.map(str::to_ascii_lowercase).as_deref() {
        None | Some("warn") => LogLevel::Warn,
        Some("error") => LogLevel::Error,
        Some("info") => LogLevel::Info,
        Some("debug") => LogLevel::Debug,
        Some("trace") => LogLevel::Trace,
        Some(_) => return tracing_subscriber::EnvFilter::new(rust_log.unwrap_or_default()),
    };
    logging::filter_for(level).add_directive(format!("iotm={}", level.as_filter()).parse().expect("a valid directive"))
}

/// The CLI's log: `filter`ed events, one line each, redacted as the app's log is before they
/// reach `writer` (a consultant's terminal scrollback and CI logs are kept and shared).
fn log_to<W>(filter: tracing_subscriber::EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(logging::RedactingMakeWriter(writer)).with_ansi(false).finish()
}

/// What `iotm` prints on stderr when it stops with `message`, redacted: messages quote plans,
/// services and paths, any of which may hold a key.
fn error_line(message: &str) -> String {
    format!("error: {}", iotm_core::redact::redact(message))
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

/// The CLI's clients: ARM as the service principal; Central by the same principal, or by the API
/// token in IOTM_CENTRAL_API_TOKEN (which a plan's saved-connection access means here).
struct ServicePrincipal {
    pipeline: Pipeline,
    principal: Arc<dyn Credential>,
    central: Arc<dyn Credential>,
}

impl ServicePrincipal {
    fn from_env(options: &Options) -> Result<ServicePrincipal, Failure> {
        let pipeline = iotm_core::session::pipeline(cloud(options)?)?;
        let principal: Arc<dyn Credential> = Arc::new(ClientSecretCredential::new(
            pipeline.clone(),
            &env("AZURE_TENANT_ID")?,
            &env("AZURE_CLIENT_ID")?,
            Secret::new(env("AZURE_CLIENT_SECRET")?),
        )?);
        let central: Arc<dyn Credential> = match std::env::var("IOTM_CENTRAL_API_TOKEN").ok().filter(|t| !t.is_empty()) {
            Some(token) => Arc::new(CentralApiToken::new(Secret::new(token))),
            None => principal.clone(),
        };
        Ok(ServicePrincipal { pipeline, principal, central })
    }
}

impl Connect for ServicePrincipal {
    fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn arm(&self) -> Result<ArmClient, ErrorPayload> {
        Ok(ArmClient::new(self.pipeline.clone(), self.principal.clone()))
    }

    fn central(&self, subdomain: &str, _access: &CentralAccess) -> Result<CentralClient, ErrorPayload> {
        CentralClient::new(self.pipeline.clone(), self.central.clone(), subdomain).map_err(|e| e.to_payload())
    }
}

fn read_plan(wizard: WizardId, path: &Path) -> Result<MigrationPlan, Failure> {
    let text = runtime::plan_file::read(path).map_err(|e| bad_input(e.to_string()))?;
    MigrationPlan::from_json(wizard, &text).map_err(|problem| bad_input(format!("{}: {problem}", path.display())))
}

/// The migration `id`, which must be one of `wizard`'s.
fn check_wizard(journal: &Journal, wizard: WizardId, id: &str) -> Result<(), Failure> {
    let found = journal.wizard_of(id).map_err(|e| failed(e.to_payload()))?;
    if found != wizard {
        return Err(failed(RunError::WrongWizard { id: id.into(), expected: wizard, found }.to_payload()));
    }
    Ok(())
}

async fn run(command: Command, options: Options) -> Result<(), Failure> {
    if command == Command::Help {
        println!("{}", args::USAGE.replace("{BULK}", bulk::USAGE));
        return Ok(());
    }
    let journal_path = options.journal.clone().unwrap_or_else(|| app_data_dir().join(JOURNAL_FILE));
    let migrations = Arc::new(Migrations::new(Arc::new(Journal::open(&journal_path)?)));
    match command {
        Command::Help => Ok(()),
        Command::Migrations => {
            for m in migrations.journal().list()? {
                let state = format!("{:?}", m.state).to_lowercase();
                println!("{}  {:<10} {:<15} {}  ({} steps done, {} failed)", m.id, state, m.wizard.command_name(), m.title, m.steps_done, m.steps_failed);
            }
            Ok(())
        }
        Command::DryRun { wizard, plan } => {
            let plan = read_plan(wizard, &plan)?;
            let connect = ServicePrincipal::from_env(&options)?;
            let progress = |checked, total| eprintln!("checked {checked} of {total} devices");
            for line in runtime::migrations::dry_run_lines(&plan, &connect, &progress).await.map_err(failed)? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Bulk { plan, dry_run, confirmed } => {
            let plan = MigrationPlan::BulkIdentities(*plan);
            let connect = ServicePrincipal::from_env(&options)?;
            // What will change, always first; then the person says yes (or --yes said it).
            let progress = |_, _| {};
            for line in runtime::migrations::dry_run_lines(&plan, &connect, &progress).await.map_err(failed)? {
                println!("{line}");
            }
            if dry_run {
                return Ok(());
            }
            if !confirmed && !bulk_confirmed()? {
                return Err(Failure(3, "not run: the change was not confirmed".into()));
            }
            let id = migrations.create(&plan).map_err(|e| bad_input(e.to_string()))?;
            println!("migration {id}");
            let result = execute(&migrations, WizardId::BulkIdentities, &id, &connect, RunMode::Run, &options).await;
            // The job, the outcome and each import error beside its line.
            for line in migrations.report_lines(&id).map_err(failed)? {
                println!("{line}");
            }
            result
        }
        Command::Run { wizard, plan } => {
            let plan = read_plan(wizard, &plan)?;
            let connect = ServicePrincipal::from_env(&options)?;
            let id = migrations.create(&plan).map_err(|e| bad_input(e.to_string()))?;
            println!("migration {id}");
            execute(&migrations, wizard, &id, &connect, RunMode::Run, &options).await
        }
        Command::HubState { action, first, second } => {
            let plan = hub_state::plan(&action, &first, &second, &options)?;
            let connect = ServicePrincipal::from_env(&options)?;
            let Some(plan) = hub_state::command(plan, &connect, &options).await? else { return Ok(()) };
            let id = migrations.create(&plan).map_err(|e| bad_input(e.to_string()))?;
            println!("migration {id}");
            execute(&migrations, WizardId::HubState, &id, &connect, RunMode::Run, &options).await
        }
        Command::Resume { wizard, id } => {
            check_wizard(migrations.journal(), wizard, &id)?;
            execute(&migrations, wizard, &id, &ServicePrincipal::from_env(&options)?, RunMode::Run, &options).await
        }
        Command::Retry { wizard, id } => {
            check_wizard(migrations.journal(), wizard, &id)?;
            execute(&migrations, wizard, &id, &ServicePrincipal::from_env(&options)?, RunMode::Retry { include_unlikely: false }, &options).await
        }
        Command::Report { wizard, id, csv, json } => {
            check_wizard(migrations.journal(), wizard, &id)?;
            for line in migrations.report_lines(&id).map_err(failed)? {
                println!("{line}");
            }
            for (path, format) in [(csv, ReportFormat::Csv), (json, ReportFormat::Json)] {
                if let Some(path) = path {
                    let text = migrations.report_text(&id, format).map_err(failed)?;
                    std::fs::write(&path, text).map_err(|e| Failure(1, format!("{}: {e}", path.display())))?;
                }
            }
            Ok(())
        }
    }
}

/// Asks on the terminal whether to go ahead with the change the dry run listed.
fn bulk_confirmed() -> Result<bool, Failure> {
    use std::io::Write;
    print!("Go ahead? [y/N] ");
    std::io::stdout().flush().map_err(|e| Failure(1, e.to_string()))?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| Failure(1, e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn execute(migrations: &Arc<Migrations>, wizard: WizardId, id: &str, connect: &dyn Connect, mode: RunMode, options: &Options) -> Result<(), Failure> {
    let (stopper, stop_id) = (migrations.clone(), id.to_string());
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping at the next safe point…");
            stopper.stop(&stop_id);
        }
    });
    let printer = output::Printer::default();
    let sink = |event: runtime::Event| printer.show(&event);
    let result = migrations.run(id, mode, connect, &sink).await;
    let dir = options.report_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    for format in ReportFormat::ALL {
        let path = migrations.export(id, format, &dir).map_err(failed)?;
        println!("report: {}", path.display());
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code == RunError::CANCELLED => Err(Failure(3, format!("{} (iotm {} resume {id})", e.message, wizard.command_name()))),
        Err(e) => Err(Failure(1, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(rust_log: Option<&str>, log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        tracing::subscriber::with_default(log_to(log_filter(rust_log), move || sink.clone()), log);
        let out = captured.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn secrets_in_the_stderr_log_are_redacted() {
        let out = logged(None, || {
            tracing::warn!(target: "iotm_azure::pipeline", "failed: SharedAccessSignature sr=h&sig=SIGSECRET&se=1&skn=owner refused");
            tracing::warn!("plan: HostName=h;SharedAccessKeyName=owner;SharedAccessKey=KEYSECRET=");
        });
        assert!(out.contains("refused") && out.contains("SharedAccessKeyName=owner"), "the lines are logged: {out}");
        assert!(!out.contains("SIGSECRET") && !out.contains("KEYSECRET"), "a secret reached stderr: {out}");
    }

    #[test]
    fn a_level_in_rust_log_shows_the_client_crates_retries_and_their_request_ids() {
        let out = logged(Some("info"), || {
            tracing::info!(target: "iotm_azure::pipeline", request_id = "req-7f3a", "retrying after 503 Service Unavailable");
            tracing::info!(target: "hyper_util::client", "a dependency's chatter");
        });
        assert!(out.contains("retrying after 503") && out.contains("req-7f3a"), "the retry line is logged: {out}");
        assert!(!out.contains("chatter"), "dependencies stay at warn: {out}");
    }

    #[test]
    fn by_default_only_warnings_are_logged() {
        let out = logged(None, || {
            tracing::warn!(target: "iotm_azure::pipeline", "failed: 503 after 4 attempts");
            tracing::info!(target: "iotm_azure::pipeline", "retrying after 503");
        });
        assert!(out.contains("after 4 attempts") && !out.contains("retrying"), "{out}");
    }

    #[test]
    fn the_error_line_is_redacted() {
        let line = error_line("HostName=h;SharedAccessKeyName=owner;SharedAccessKey=KEYSECRET= was refused");
        assert!(line.starts_with("error: ") && line.contains("was refused"), "{line}");
        assert!(!line.contains("KEYSECRET"), "{line}");
    }
}
