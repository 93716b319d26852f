//! What stops a Hub state migration, each with a code the UI branches on. The state file's own
//! errors (line and field path) pass through with theirs; Azure's with theirs.

use super::state_file::StateFileError;
use crate::error::Coded;
use crate::journal::JournalError;
use crate::runtime::{PlanProblem, RunError, WizardFailure};
use iotm_azure::AzureError;

#[derive(Debug, thiserror::Error)]
pub enum HubStateError {
    #[error(transparent)]
    File(#[from] StateFileError),
    #[error("The hub {hub} was not found in the resource group {resource_group}. Check the name, or create the hub first.")]
    NoSuchHub { hub: String, resource_group: String },
    #[error("The hub {hub} refused its configurations ({detail}); a basic-tier hub has none. Leave out the configurations aspect.")]
    ConfigurationsUnavailable { hub: String, detail: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

impl From<JournalError> for HubStateError {
    fn from(e: JournalError) -> Self {
        HubStateError::Run(RunError::Journal(e))
    }
}

impl From<PlanProblem> for HubStateError {
    fn from(problem: PlanProblem) -> Self {
        HubStateError::Run(RunError::BadPlan(problem))
    }
}

impl HubStateError {
    pub const CODES: &'static [&'static str] = &["hubState.no_such_hub", "hubState.configurations_unavailable"];

    pub fn code(&self) -> String {
        match self {
            HubStateError::File(e) => e.code().into(),
            HubStateError::NoSuchHub { .. } => "hubState.no_such_hub".into(),
            HubStateError::ConfigurationsUnavailable { .. } => "hubState.configurations_unavailable".into(),
            HubStateError::Run(e) => e.code().into(),
            HubStateError::Azure(e) => e.code().into(),
        }
    }
}

impl Coded for HubStateError {
    fn code(&self) -> String {
        HubStateError::code(self)
    }

    fn field(&self) -> Option<String> {
        match self {
            HubStateError::File(_) => Some("file".into()),
            HubStateError::NoSuchHub { .. } => None,
            HubStateError::ConfigurationsUnavailable { .. } => Some("aspects".into()),
            HubStateError::Run(e) => e.field(),
            HubStateError::Azure(_) => None,
        }
    }

    fn request_id(&self) -> Option<String> {
        match self {
            HubStateError::Azure(e) => e.service_error().and_then(|s| s.request_id.clone()),
            _ => None,
        }
    }
}

impl WizardFailure for HubStateError {
    /// A connection lost for good (no answer at all) leaves the migration resumable, as a stop does.
    fn is_interrupted(&self) -> bool {
        match self {
            HubStateError::Run(RunError::Cancelled) => true,
            HubStateError::Azure(e) => e.status().is_none(),
            _ => false,
        }
    }
}
