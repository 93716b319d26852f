//! The Central → Hub wizard: move devices from an IoT Central application to an IoT hub through
//! DPS with the `DeviceMove` command. Plan → dry run → run → verify → report, on the runtime.

pub mod actions;
pub mod arrivals;
pub mod dry_run;
pub mod engine;
pub mod enrollment;
pub mod error;
pub mod left_out;
pub mod monitor;
pub mod options;
pub mod plan;
pub mod progress;
pub mod readiness;
pub mod reasons;
pub mod report;
pub mod target;
pub mod template;
pub mod wizard;

pub use engine::{Clients, Engine};
pub use error::WizardError;
pub use plan::Plan;
pub use progress::{CentralToHubProgress, CentralToHubTick, DeviceState, DEVICE};
pub use wizard::{create, retry, run, CentralToHub};
