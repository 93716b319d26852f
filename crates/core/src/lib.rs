//! The Tauri-free core of IoT Migrator.
//!
//! Everything here is plain Rust so the desktop shell, the command line and the tests share one
//! implementation. The shell (`src-tauri`) only adapts these functions to Tauri commands.

pub mod accounts;
pub mod bindings;
pub mod connection_check;
pub mod connections;
pub mod diagnostics;
pub mod environment;
pub mod error;
pub mod error_codes;
pub mod journal;
pub mod logging;
pub mod recovery;
pub mod redact;
pub mod runtime;
pub mod secrets;
pub mod session;
pub mod settings;
pub mod signin;
pub mod startup;
pub mod wizards;

pub use error::{Coded, Error, ErrorPayload, Result};

/// What the About section shows, and the paths the app uses.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub versions: diagnostics::Versions,
    pub data_dir: String,
    pub config_dir: String,
    pub log_dir: String,
}
