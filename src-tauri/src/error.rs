//! The shell's error: what a command returns to the UI, always `{code, message, detail, field}`.

use iotm_core::ErrorPayload;
use serde::Serialize;

#[derive(Debug)]
pub struct CommandError(pub ErrorPayload);

impl From<iotm_core::Error> for CommandError {
    fn from(e: iotm_core::Error) -> Self {
        tracing::warn!(code = e.code(), "{e}");
        CommandError(e.to_payload())
    }
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let message = iotm_core::redact::redact(&message.into()).into_owned();
        tracing::warn!(code, "{message}");
        CommandError(ErrorPayload { code: code.into(), message, detail: None, field: None })
    }
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

impl From<iotm_azure::AzureError> for CommandError {
    fn from(e: iotm_azure::AzureError) -> Self {
        CommandError::new(e.code(), e.to_string())
    }
}

impl From<iotm_core::session::SessionError> for CommandError {
    fn from(e: iotm_core::session::SessionError) -> Self {
        let mut error = CommandError::new(&e.code(), e.to_string());
        // The fix goes in `detail`, which the UI shows under the message.
        error.0.detail = e.fix();
        error
    }
}
