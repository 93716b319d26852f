//! The hub state file: what `az iot hub state export` writes and `import` reads, field by field
//! (`model`), read and written a device at a time (`reader`, `writer`) in the CLI's JSON or this
//! app's JSON Lines variant. A file written here imports with the CLI, and the CLI's files import here.

pub mod model;
pub mod reader;
pub mod writer;

#[cfg(test)]
mod tests;

pub use model::{
    AuthKind, AuthenticationState, Capabilities, ConfigurationContent, ConfigurationState, ConfigurationsState, DesiredProperties, DeviceIdentityState,
    DeviceState, DeviceStatus, ModuleIdentityState, ModuleState, SymmetricKeys, Thumbprints, TwinState, FORMAT_VERSION, VERSION_KEY,
};
pub use reader::{detect, read, Flow, ReadMark, ReadSummary, StateItem, Variant};
pub use writer::{partial_path, StateWriter, WriteMark};

use std::path::Path;

/// Why a state file cannot be read or written: the file, the line and the field's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateFileError {
    #[error("{path}: {problem}")]
    Io { path: String, problem: String },
    #[error("{file}: line {line}, {field}: {problem}")]
    Invalid { file: String, line: u64, field: String, problem: String },
    #[error("{file} ends before the state does (cut off at line {line}): it was not written to its end. Export it again.")]
    Truncated { file: String, line: u64 },
    #[error(
        "{file} was written by a newer version of IoT Migrator (state format {found}; this version reads up to {supported}). Update the app to import it."
    )]
    NewerVersion { file: String, found: u64, supported: u64 },
}

impl StateFileError {
    pub const CODES: &'static [&'static str] = &["hubState.file_unreadable", "hubState.file_invalid", "hubState.file_truncated", "hubState.file_newer_version"];

    pub fn code(&self) -> &'static str {
        match self {
            StateFileError::Io { .. } => "hubState.file_unreadable",
            StateFileError::Invalid { .. } => "hubState.file_invalid",
            StateFileError::Truncated { .. } => "hubState.file_truncated",
            StateFileError::NewerVersion { .. } => "hubState.file_newer_version",
        }
    }

    pub(crate) fn io(path: &Path, e: std::io::Error) -> StateFileError {
        StateFileError::Io { path: path.display().to_string(), problem: e.to_string() }
    }
}
