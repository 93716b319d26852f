//! The Hub state wizard: export, import and migrate a whole IoT hub (its configurations and devices)
//! as `az iot hub state` does, in the same file format, streaming and resumable.

pub mod batch_query;
pub mod devices;
pub mod dry_run;
pub mod engine;
pub mod error;
pub mod from_hub;
pub mod hubs;
pub mod options;
pub mod plan;
pub mod report;
pub mod state_file;
pub mod to_hub;
pub mod wizard;

pub use dry_run::DryRun;
pub use engine::{Clients, HubStateTick};
pub use error::HubStateError;
pub use plan::Plan;
pub use wizard::{create, run, HubState};
