//! The shell's error: what a command returns to the UI, always `{code, message, detail, field,
//! requestId}` — any core error converts through its `Coded` implementation, redacted, logged once.

use iotm_core::{Coded, ErrorPayload};
use serde::Serialize;

#[derive(Debug)]
pub struct CommandError(pub ErrorPayload);

impl<E: Coded> From<E> for CommandError {
    fn from(e: E) -> Self {
        CommandError::from_payload(e.to_payload())
    }
}

impl CommandError {
    /// A failure of the shell's own (its code is in `iotm_core::error_codes::SHELL`).
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError::from_payload(ErrorPayload::new(code, message))
    }

    pub fn from_payload(payload: ErrorPayload) -> Self {
        tracing::warn!(code = %payload.code, "{}", payload.message);
        CommandError(payload)
    }
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
