//! The migration runtime every wizard stands on: the run context (journaled steps and checks,
//! identifiers minted once, checkpoints, a sleep a stop wakes), progress events, the registry of
//! running migrations, wizard-neutral run errors, report writers, plan files, and the one entry
//! point (`Migrations`) the window and the CLI use for every wizard.

pub mod attempts;
pub mod context;
pub mod contract;
pub mod error;
pub mod migrations;
pub mod plan_file;
pub mod progress;
pub mod registry;
pub mod report;

pub use context::RunContext;
pub use contract::{Connect, WizardEngine};
pub use error::{RunError, WizardFailure};
pub use migrations::{create, plan_of, run_as, ActionDone, Event, ItemPage, MigrationEntry, MigrationPlan, MigrationReport, Migrations, RunMode, RunOutcome};
pub use plan_file::PlanProblem;
pub use progress::{Checked, ItemRow, Progress, StepState, StopSignal};
pub use registry::Runs;
pub use report::ReportFormat;

#[cfg(test)]
mod tests;
