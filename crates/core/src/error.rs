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

    pub const CODES: &'static [&'static str] = &[
        "settings.invalid",
        "settings.corrupt",
        "io.failed",
        "diagnostics.bundle_failed",
        "logging.setup_failed",
        "accounts.corrupt",
        "accounts.unknown",
        "connections.corrupt",
    ];
}

impl Coded for Error {
    fn code(&self) -> String {
        Error::code(self).into()
    }
    fn detail(&self) -> Option<String> {
        match self {
            Error::Io { source, .. } => Some(format!("{:?}", source.kind())),
            _ => None,
        }
    }
    fn field(&self) -> Option<String> {
        Error::field(self).map(str::to_string)
    }
}

/// Every error that reaches a person: a stable code the UI and scripts branch on, a message that
/// says what to do, and what else helps (the fix, the field to highlight, Azure's request ID for a
/// support ticket). One conversion, `to_payload`, turns any of them into what the shell returns
/// and the CLI prints, redacted.
pub trait Coded: std::fmt::Display {
    /// Dotted and stable (`migration.cancelled`, `azure.forbidden`): never reworded once shipped.
    fn code(&self) -> String;
    /// What to do about it, or more about what happened, shown under the message.
    fn detail(&self) -> Option<String> {
        None
    }
    /// The field a person has to fix (the UI highlights it).
    fn field(&self) -> Option<String> {
        None
    }
    /// Azure's request ID when Azure refused.
    fn request_id(&self) -> Option<String> {
        None
    }
    fn to_payload(&self) -> ErrorPayload {
        let redact = |text: String| crate::redact::redact(&text).into_owned();
        ErrorPayload {
            code: self.code(),
            message: redact(self.to_string()),
            detail: self.detail().map(redact),
            field: self.field(),
            request_id: self.request_id(),
        }
    }
}

/// What crosses the IPC boundary when a command fails: `{code, message, detail}` (and the field to
/// highlight, if any). Messages are redacted before they leave the process.
#[derive(Debug, Clone, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorPayload {
    #[ts(type = "ErrorCode")]
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub field: Option<String>,
    pub request_id: Option<String>,
}

impl ErrorPayload {
    /// A payload for a code of the shell's own (a bad argument, a folder that cannot be written).
    pub fn new(code: &str, message: impl Into<String>) -> ErrorPayload {
        ErrorPayload { code: code.into(), message: crate::redact::redact(&message.into()).into_owned(), detail: None, field: None, request_id: None }
    }
}

impl std::fmt::Display for ErrorPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl Coded for iotm_azure::AzureError {
    fn code(&self) -> String {
        iotm_azure::AzureError::code(self).into()
    }
    fn request_id(&self) -> Option<String> {
        self.service_error().and_then(|s| s.request_id.clone())
    }
}

impl Coded for crate::signin::SignInError {
    fn code(&self) -> String {
        crate::signin::SignInError::code(self).into()
    }
    fn detail(&self) -> Option<String> {
        self.fix()
    }
}

impl Coded for crate::secrets::SecretStoreError {
    fn code(&self) -> String {
        crate::secrets::SecretStoreError::code(self).into()
    }
}

impl Coded for crate::connections::ConnectionError {
    fn code(&self) -> String {
        crate::connections::ConnectionError::code(self).into()
    }
}
