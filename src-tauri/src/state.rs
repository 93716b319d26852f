//! What the shell keeps while it runs: the app's folders, the settings and the logging control.

use crate::sandbox_host::SandboxHost;
use iotm_core::environment::Environment;
use iotm_core::logging::LogControl;
use iotm_core::settings::{self, Loaded, Settings};
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
        Ok(AppState { config_dir, data_dir, settings: Mutex::new(settings), settings_problem, log, started, sandbox })
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().expect("settings lock").clone()
    }
}
