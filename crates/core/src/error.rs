//! The core's error type. Every variant has a stable `code` the UI branches on; the message is for
//! people and says what to do.

use serde::Serialize;
use std::path::PathBuf;
use ts_rs::TS;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    InvalidSetting { field: &'static str, message: String },

    #[error("The settings file {path} is not valid (line {line}, column {column}): {message}")]
    SettingsFileCorrupt { path: PathBuf, line: usize, column: usize, message: String },

    #[error("Could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("Could not write the diagnostics bundle {path}: {message}")]
    DiagnosticsBundle { path: PathBuf, message: String },

    #[error("Logging could not be set up: {0}")]
    Logging(String),

    #[error("The accounts file {path} is not valid (line {line}, column {column}): {message}")]
    AccountsFileCorrupt { path: PathBuf, line: usize, column: usize, message: String },

    #[error("The saved connections file {path} is not valid (line {line}, column {column}): {message}")]
    ConnectionsFileCorrupt { path: PathBuf, line: usize, column: usize, message: String },

    #[error("No signed-in account has the ID {0}.")]
    UnknownAccount(String),
}

impl Error {
    /// A stable, dotted code; never reworded once shipped, because the UI and scripts match on it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidSetting { .. } => "settings.invalid",
            Error::SettingsFileCorrupt { .. } => "settings.corrupt",
            Error::Io { .. } => "io.failed",
            Error::DiagnosticsBundle { .. } => "diagnostics.bundle_failed",
            Error::Logging(_) => "logging.setup_failed",
            Error::AccountsFileCorrupt { .. } => "accounts.corrupt",
            Error::UnknownAccount(_) => "accounts.unknown",
            Error::ConnectionsFileCorrupt { .. } => "connections.corrupt",
        }
    }

    /// The field a person has to fix, when there is one (the UI highlights it).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidSetting { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }

    pub fn to_payload(&self) -> ErrorPayload {
        let detail = match self {
            Error::Io { source, .. } => Some(format!("{:?}", source.kind())),
            _ => None,
        };
        ErrorPayload {
            code: self.code().to_string(),
            message: crate::redact::redact(&self.to_string()).into_owned(),
            detail,
            field: self.field().map(str::to_string),
        }
    }
}

/// What crosses the IPC boundary when a command fails: `{code, message, detail}` (and the field to
/// highlight, if any). Messages are redacted before they leave the process.
#[derive(Debug, Clone, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub field: Option<String>,
}
