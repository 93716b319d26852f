//! What the shell keeps while it runs: the app's folders, the settings and the logging control.

use crate::sandbox_host::SandboxHost;
use iotm_core::environment::Environment;
use iotm_core::logging::LogControl;
use iotm_core::recovery::{self, JournalUnavailable};
use iotm_core::secrets::{KeyringStore, SecretStore, SessionStore};
use iotm_core::settings::{self, Loaded, Settings};
use iotm_core::Coded;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use tauri::{AppHandle, Manager};

pub struct AppState {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub settings: Mutex<Settings>,
    /// Why the settings file could not be used this start, for the start-up checks to report.
    pub settings_problem: Option<String>,
    pub log: LogControl,
    pub started: Instant,
    /// The in-app sandbox cloud, running while the Sandbox environment is chosen.
    pub sandbox: SandboxHost,
    /// Signed-in accounts and their credentials.
    pub session: iotm_core::session::Session,
    /// The accounts and saved-connections files set aside this start, said for the start-up checks.
    pub recovered: Vec<String>,
    /// Every wizard's migrations: the journal (`journal.db` in the data folder) and those running;
    /// or why the journal cannot be used this run, which every migration command answers.
    migrations: Result<iotm_core::runtime::Migrations, JournalUnavailable>,
}

impl AppState {
    pub fn start(app: &AppHandle) -> Result<AppState, Box<dyn std::error::Error>> {
        let started = Instant::now();
        let paths = app.path();
        let config_dir = paths.app_config_dir()?;
        let data_dir = paths.app_data_dir()?;
        let log_dir = paths.app_log_dir()?;

        let loaded = settings::load(&config_dir)?;
        let settings = loaded.settings();
        let log = iotm_core::logging::init(&log_dir, settings.log_level)?;
        let settings_problem = match &loaded {
            Loaded::Recovered { error, moved_to } => {
                tracing::warn!(code = error.code(), moved_to = %moved_to.display(), "{error}");
                Some(format!("{error} It was kept as {}.", moved_to.display()))
            }
            _ => None,
        };
        tracing::info!(version = env!("CARGO_PKG_VERSION"), environment = ?settings.environment, "IoT Migrator starting");

        if let Some(window) = app.get_webview_window("main") {
            crate::commands::settings::apply_theme(&window, settings.theme);
        }
        let sandbox = SandboxHost::new(data_dir.join("sandbox"));
        if settings.environment == Environment::Sandbox {
            sandbox.start();
        }
        let (secrets, keyring_problem): (std::sync::Arc<dyn SecretStore>, Option<String>) = match KeyringStore::probe() {
            Ok(keyring) => (std::sync::Arc::new(keyring), None),
            Err(e) => {
                tracing::warn!(code = e.code(), reason = e.reason(), "{e}");
                (std::sync::Arc::new(SessionStore::default()), Some(e.to_string()))
            }
        };
        // Release builds abort on a panic: no saved file may stop the app here (see `recovery`).
        let (session, recovered) = recovery::open_session(&config_dir, secrets, keyring_problem);
        for r in &recovered {
            tracing::warn!(code = r.code, "{}", r.describe());
        }
        let migrations = recovery::open_migrations(&data_dir.join(iotm_core::journal::JOURNAL_FILE));
        match &migrations {
            Ok(m) => {
                let interrupted = m.journal().resumable().map(|r| r.len()).unwrap_or(0);
                if interrupted > 0 {
                    tracing::info!(interrupted, "migrations were running when the app last stopped; the Jobs page offers Resume");
                }
            }
            Err(e) => tracing::error!(code = %e.code(), "{e}"),
        }
        Ok(AppState {
            config_dir,
            data_dir,
            settings: Mutex::new(settings),
            settings_problem,
            log,
            started,
            sandbox,
            session,
            recovered: recovered.iter().map(|r| r.describe()).collect(),
            migrations,
        })
    }

    /// The pipeline to the chosen environment's cloud (the in-app sandbox when that is chosen).
    pub fn pipeline(&self) -> Result<iotm_azure::Pipeline, crate::error::CommandError> {
        let settings = self.settings();
        let sandbox = match settings.environment {
            Environment::Sandbox => Some(
                self.sandbox
                    .wait_profile(std::time::Duration::from_secs(15))
                    .map_err(|e| crate::error::CommandError::new("sandbox.not_running", format!("The sandbox cloud is not running: {e}")))?,
            ),
            _ => None,
        };
        let custom = settings.custom_profile_path.as_deref().map(std::path::Path::new);
        let cloud = iotm_core::session::cloud_for(settings.environment, sandbox.as_ref().map(|(url, ca)| (url.as_str(), ca.as_path())), custom)?;
        Ok(iotm_core::session::pipeline(cloud)?)
    }

    /// Every wizard's migrations, or the coded reason the journal cannot be used this run.
    pub fn migrations(&self) -> Result<&iotm_core::runtime::Migrations, crate::error::CommandError> {
        self.migrations.as_ref().map_err(|e| e.clone().into())
    }

    /// Why the journal cannot be used this run, for the start-up checks.
    pub fn journal_problem(&self) -> Option<String> {
        self.migrations.as_ref().err().map(|e| format!("{e} {}", e.detail().unwrap_or_default()))
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().expect("settings lock").clone()
    }
}
