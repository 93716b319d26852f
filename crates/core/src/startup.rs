//! The checks the app runs as it starts, streamed one event at a time so the UI can show each
//! check as it happens. This is the pattern every long job follows: a plain function that takes a
//! sink for its events; the shell connects the sink to a Tauri `Channel`.

use crate::environment::Environment;
use serde::Serialize;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CheckStatus {
    Running,
    Passed,
    Warning,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CheckId {
    Settings,
    SavedFiles,
    DataFolder,
    Journal,
    LogFolder,
    Environment,
}

impl CheckId {
    fn label(self) -> &'static str {
        match self {
            CheckId::Settings => "Settings",
            CheckId::SavedFiles => "Accounts and saved connections",
            CheckId::DataFolder => "Data folder",
            CheckId::Journal => "Journal",
            CheckId::LogFolder => "Log folder",
            CheckId::Environment => "Environment reachable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum StartupEvent {
    /// Every check that will run, so the UI can lay them out before results arrive.
    Planned {
        checks: Vec<PlannedCheck>,
    },
    Update {
        id: CheckId,
        status: CheckStatus,
        detail: Option<String>,
    },
    Finished {
        passed: u32,
        warnings: u32,
        failed: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedCheck {
    pub id: CheckId,
    pub label: String,
}

pub struct StartupContext {
    pub environment: Environment,
    pub custom_profile_path: Option<String>,
    /// For the Sandbox environment: asked when its check runs (it may wait while the sandbox starts),
    /// gives the URL of the in-app sandbox cloud, or why it is not running.
    pub sandbox_url: Option<SandboxUrl>,
    /// Set when the settings file was unreadable and defaults are in use.
    pub settings_problem: Option<String>,
    /// The accounts and saved-connections files set aside at start, each said in a sentence
    /// (`recovery::Recovered::describe`).
    pub recovered: Vec<String>,
    /// Why the journal cannot be used this run, when it cannot.
    pub journal_problem: Option<String>,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub probe_timeout: Duration,
}

type Outcome = (CheckStatus, Option<String>);

pub type SandboxUrl = Box<dyn Fn() -> Result<String, String> + Send>;

pub fn run(ctx: &StartupContext, mut emit: impl FnMut(StartupEvent)) {
    let ids = [CheckId::Settings, CheckId::SavedFiles, CheckId::DataFolder, CheckId::Journal, CheckId::LogFolder, CheckId::Environment];
    emit(StartupEvent::Planned { checks: ids.iter().map(|&id| PlannedCheck { id, label: id.label().to_string() }).collect() });
    let (mut passed, mut warnings, mut failed) = (0, 0, 0);
    for id in ids {
        emit(StartupEvent::Update { id, status: CheckStatus::Running, detail: None });
        let (status, detail) = match id {
            CheckId::Settings => check_settings(ctx),
            CheckId::SavedFiles => check_saved_files(ctx),
            CheckId::DataFolder => check_writable(&ctx.data_dir),
            CheckId::Journal => check_journal(ctx),
            CheckId::LogFolder => check_writable(&ctx.log_dir),
            CheckId::Environment => check_environment(ctx),
        };
        match status {
            CheckStatus::Passed => passed += 1,
            CheckStatus::Warning => warnings += 1,
            CheckStatus::Failed => failed += 1,
            CheckStatus::Running => {}
        }
        emit(StartupEvent::Update { id, status, detail });
    }
    emit(StartupEvent::Finished { passed, warnings, failed });
}

fn check_settings(ctx: &StartupContext) -> Outcome {
    match &ctx.settings_problem {
        None => (CheckStatus::Passed, None),
        Some(problem) => (CheckStatus::Warning, Some(format!("{problem} Defaults are in use; review Settings."))),
    }
}

/// A file set aside is a warning, not a failure: the app works without it, and the person needs
/// to know what to redo and where the old copy is.
fn check_saved_files(ctx: &StartupContext) -> Outcome {
    if ctx.recovered.is_empty() {
        return (CheckStatus::Passed, None);
    }
    (CheckStatus::Warning, Some(ctx.recovered.join(" ")))
}

/// A journal that cannot be used fails: no migration can be listed, started or resumed.
fn check_journal(ctx: &StartupContext) -> Outcome {
    match &ctx.journal_problem {
        None => (CheckStatus::Passed, Some(ctx.data_dir.join(crate::journal::JOURNAL_FILE).display().to_string())),
        Some(problem) => (CheckStatus::Failed, Some(problem.clone())),
    }
}

/// Creates and removes a probe file: the only honest test of "can we write here".
fn check_writable(dir: &Path) -> Outcome {
    let probe = dir.join(".write-probe");
    let result = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b"ok")).and_then(|_| std::fs::remove_file(&probe));
    match result {
        Ok(()) => (CheckStatus::Passed, Some(dir.display().to_string())),
        Err(e) => (CheckStatus::Failed, Some(format!("{} is not writable: {e}", dir.display()))),
    }
}

fn check_environment(ctx: &StartupContext) -> Outcome {
    match ctx.environment {
        Environment::Sandbox => match ctx.sandbox_url.as_ref().map(|url| url()) {
            Some(Ok(url)) => {
                let url = url.as_str();
                let port = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(443);
                match probe("127.0.0.1", port, ctx.probe_timeout) {
                    Ok(()) => (
                        CheckStatus::Passed,
                        Some(format!("Sandbox cloud running at {url}: Entra ID, ARM, IoT Central (with jobs and simulated devices), hub registries and DPS.")),
                    ),
                    Err(e) => (CheckStatus::Failed, Some(format!("The sandbox cloud at {url} does not answer: {e}"))),
                }
            }
            Some(Err(why)) => (CheckStatus::Failed, Some(format!("The sandbox cloud is not running: {why}. See the log folder for details."))),
            None => (CheckStatus::Failed, Some("The sandbox cloud was not started.".into())),
        },
        Environment::Custom => match ctx.custom_profile_path.as_deref() {
            None => (CheckStatus::Failed, Some("No cloud profile file is set for the custom environment.".into())),
            Some(path) => match std::fs::read_to_string(path).map(|t| serde_json::from_str::<serde_json::Value>(&t)) {
                Ok(Ok(_)) => (CheckStatus::Passed, Some(format!("Profile {path} read."))),
                Ok(Err(e)) => (CheckStatus::Failed, Some(format!("{path} line {}, column {}: {e}", e.line(), e.column()))),
                Err(e) => (CheckStatus::Failed, Some(format!("{path}: {e}"))),
            },
        },
        env => {
            let problems: Vec<String> =
                env.well_known_hosts().iter().filter_map(|host| probe(host, 443, ctx.probe_timeout).err().map(|e| format!("{host}: {e}"))).collect();
            if problems.is_empty() {
                (CheckStatus::Passed, Some(env.well_known_hosts().join(", ")))
            } else {
                (CheckStatus::Failed, Some(format!("Cannot reach {}. Check the network, proxy or firewall.", problems.join("; "))))
            }
        }
    }
}

/// Resolves `host` and opens a TCP connection within `timeout`: proves a route, sends nothing.
pub fn probe(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let addr =
        (host, port).to_socket_addrs().map_err(|e| format!("name not resolved ({e})"))?.next().ok_or_else(|| "name resolved to no address".to_string())?;
    TcpStream::connect_timeout(&addr, timeout).map(|_| ()).map_err(|e| format!("no connection ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(dir: &Path) -> StartupContext {
        StartupContext {
            environment: Environment::Sandbox,
            sandbox_url: Some(Box::new(|| Err("not started in this test".into()))),
            custom_profile_path: None,
            settings_problem: None,
            recovered: Vec::new(),
            journal_problem: None,
            data_dir: dir.join("data"),
            log_dir: dir.join("logs"),
            probe_timeout: Duration::from_millis(500),
        }
    }

    fn collect(ctx: &StartupContext) -> Vec<StartupEvent> {
        let mut events = Vec::new();
        run(ctx, |e| events.push(e));
        events
    }

    #[test]
    fn checks_stream_planned_then_running_and_result_then_totals() {
        let dir = tempfile::tempdir().unwrap();
        let events = collect(&ctx(dir.path()));
        assert!(matches!(&events[0], StartupEvent::Planned { checks } if checks.len() == 6));
        assert_eq!(events[1], StartupEvent::Update { id: CheckId::Settings, status: CheckStatus::Running, detail: None });
        assert!(matches!(&events[2], StartupEvent::Update { id: CheckId::Settings, status: CheckStatus::Passed, .. }));
        assert!(
            matches!(&events[12], StartupEvent::Update { id: CheckId::Environment, status: CheckStatus::Failed, detail: Some(d) } if d.contains("not running"))
        );
        assert_eq!(events.last(), Some(&StartupEvent::Finished { passed: 5, warnings: 0, failed: 1 }));
    }

    #[test]
    fn a_running_sandbox_passes_and_a_silent_one_fails() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://localhost:{}", listener.local_addr().unwrap().port());
        let reported = url.clone();
        let running = StartupContext { sandbox_url: Some(Box::new(move || Ok(reported.clone()))), ..ctx(dir.path()) };
        assert!(collect(&running)
            .iter()
            .any(|e| matches!(e, StartupEvent::Update { id: CheckId::Environment, status: CheckStatus::Passed, detail: Some(d) } if d.contains(&url))));
        drop(listener);
        assert!(collect(&running).iter().any(|e| matches!(e, StartupEvent::Update { id: CheckId::Environment, status: CheckStatus::Failed, .. })));
    }

    #[test]
    fn an_unwritable_folder_fails_its_check() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let c = StartupContext { data_dir: file.clone(), ..ctx(dir.path()) };
        let events = collect(&c);
        assert!(events.iter().any(
            |e| matches!(e, StartupEvent::Update { id: CheckId::DataFolder, status: CheckStatus::Failed, detail: Some(d) } if d.contains("not writable"))
        ));
    }

    #[test]
    fn a_bad_custom_profile_is_reported_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("cloud.json");
        std::fs::write(&profile, "{\n \"armEndpoint\": }").unwrap();
        let c = StartupContext { environment: Environment::Custom, custom_profile_path: Some(profile.display().to_string()), ..ctx(dir.path()) };
        let events = collect(&c);
        assert!(events
            .iter()
            .any(|e| matches!(e, StartupEvent::Update { id: CheckId::Environment, status: CheckStatus::Failed, detail: Some(d) } if d.contains("line 2"))));
    }

    #[test]
    fn probe_reaches_a_listening_port_and_reports_a_closed_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        probe("127.0.0.1", open, Duration::from_secs(2)).unwrap();
        drop(listener);
        let err = probe("127.0.0.1", open, Duration::from_secs(2)).unwrap_err();
        assert!(err.starts_with("no connection"), "{err}");
    }

    #[test]
    fn a_settings_problem_is_a_warning_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = StartupContext { settings_problem: Some("settings.json line 3 is broken.".into()), ..ctx(dir.path()) };
        let events = collect(&c);
        assert!(events
            .iter()
            .any(|e| matches!(e, StartupEvent::Update { id: CheckId::Settings, status: CheckStatus::Warning, detail: Some(d) } if d.contains("line 3"))));
    }

    #[test]
    fn a_file_set_aside_is_a_warning_saying_what_was_lost_and_where_the_copy_is() {
        let dir = tempfile::tempdir().unwrap();
        let said = "The accounts file is not valid (line 1). Sign in again. It was kept as /cfg/accounts.json.corrupt-1.";
        let c = StartupContext { recovered: vec![said.into()], ..ctx(dir.path()) };
        let events = collect(&c);
        assert!(events
            .iter()
            .any(|e| matches!(e, StartupEvent::Update { id: CheckId::SavedFiles, status: CheckStatus::Warning, detail: Some(d) } if d == said)));
        assert!(matches!(events.last(), Some(StartupEvent::Finished { warnings: 1, .. })));
    }

    #[test]
    fn a_journal_that_cannot_be_used_fails_its_check_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let c = StartupContext { journal_problem: Some("The journal was written by a newer IoT Migrator.".into()), ..ctx(dir.path()) };
        let events = collect(&c);
        assert!(events.iter().any(
            |e| matches!(e, StartupEvent::Update { id: CheckId::Journal, status: CheckStatus::Failed, detail: Some(d) } if d.contains("newer IoT Migrator"))
        ));
    }
}
