//! What stops any migration, whichever wizard runs it: codes that mean the same in every wizard
//! (`migration.cancelled`, `migration.alreadyRunning`…). A wizard's own error wraps this one, so
//! the run context can stop, refuse and journal for every wizard alike.

use super::plan_file::PlanProblem;
use crate::error::Coded;
use crate::journal::JournalError;
use crate::wizards::WizardId;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("The migration was stopped before it finished; Resume continues it.")]
    Cancelled,
    #[error("The migration {0} is already running.")]
    AlreadyRunning(String),
    #[error("The migration {id} was made by the {found} wizard, not {expected}.")]
    WrongWizard { id: String, expected: WizardId, found: WizardId },
    #[error("The plan cannot run: {0}")]
    BadPlan(PlanProblem),
    #[error("The journaled plan of {id} cannot be read: {detail}")]
    BadJournaledPlan { id: String, detail: String },
    #[error("The journaled state '{key}' of {id} cannot be read: {detail}")]
    BadCheckpoint { id: String, key: String, detail: String },
    #[error("The {wizard} wizard cannot {action} a migration.")]
    Unsupported { wizard: WizardId, action: String },
    #[error("{path} could not be written: {detail}")]
    FileNotWritten { path: String, detail: String },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl RunError {
    pub const CANCELLED: &'static str = "migration.cancelled";
    pub const CODES: &'static [&'static str] = &[
        RunError::CANCELLED,
        "migration.alreadyRunning",
        "migration.wrongWizard",
        "migration.badPlan",
        "migration.badJournaledPlan",
        "migration.badCheckpoint",
        "migration.unsupported",
        "migration.fileNotWritten",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            RunError::Cancelled => RunError::CANCELLED,
            RunError::AlreadyRunning(_) => "migration.alreadyRunning",
            RunError::WrongWizard { .. } => "migration.wrongWizard",
            RunError::BadPlan(_) => "migration.badPlan",
            RunError::BadJournaledPlan { .. } => "migration.badJournaledPlan",
            RunError::BadCheckpoint { .. } => "migration.badCheckpoint",
            RunError::Unsupported { .. } => "migration.unsupported",
            RunError::FileNotWritten { .. } => "migration.fileNotWritten",
            RunError::Journal(e) => e.code(),
        }
    }
}

impl Coded for RunError {
    fn code(&self) -> String {
        RunError::code(self).into()
    }
    fn field(&self) -> Option<String> {
        match self {
            RunError::BadPlan(problem) => Some(problem.field.clone()),
            _ => None,
        }
    }
}

impl Coded for JournalError {
    fn code(&self) -> String {
        JournalError::code(self).into()
    }
}

/// What the run context needs of a wizard's error: a code to journal, and a way to carry the
/// runtime's own refusals (a stop, a journal that cannot be written).
pub trait WizardFailure: Coded + From<RunError> + Send + Sync + 'static {
    /// A stop asked for (not a failure: the step stays unfinished, to be resumed).
    fn is_cancelled(&self) -> bool {
        self.code() == RunError::CANCELLED
    }
    /// Cut off rather than refused (no answer from the service): the migration stays resumable.
    fn is_interrupted(&self) -> bool {
        self.is_cancelled()
    }
}

/// The runtime's own refusals are a wizard failure too (a run that only stops and journals).
impl WizardFailure for RunError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_a_run_error_gives_is_in_its_list() {
        let errors = [
            RunError::Cancelled,
            RunError::AlreadyRunning("m".into()),
            RunError::WrongWizard { id: "m".into(), expected: WizardId::CentralToHub, found: WizardId::HubState },
            RunError::BadPlan(PlanProblem::new("f", "p")),
            RunError::BadJournaledPlan { id: "m".into(), detail: "d".into() },
            RunError::BadCheckpoint { id: "m".into(), key: "k".into(), detail: "d".into() },
            RunError::Unsupported { wizard: WizardId::CentralToHub, action: "retry".into() },
            RunError::FileNotWritten { path: "p".into(), detail: "d".into() },
        ];
        for error in errors {
            assert!(RunError::CODES.contains(&RunError::code(&error)), "{}", RunError::code(&error));
        }
    }
}
