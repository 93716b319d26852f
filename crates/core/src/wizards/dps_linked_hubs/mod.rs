//! The DPS linked hubs wizard: link, update and unlink hubs on a DPS, each an ETag-safe
//! read-modify-write (edit.rs) with its dry run the exact JSON of `properties.iotHubs`; link only
//! through policies DPS can use (link.rs); unlink that never orphans an enrollment
//! (enrollments.rs); and key rotation with no provisioning gap, journaled step by step (rotation.rs).
//! On the shared runtime: the plan (plan.rs), its dry run, run and report (wizard.rs).

pub mod dry_run;
pub mod edit;
pub mod enrollments;
pub mod error;
pub mod link;
pub mod options;
pub mod plan;
pub mod report;
pub mod rotation;
pub mod run;
pub mod view;
pub mod wizard;

pub use dry_run::DryRun;
pub use edit::{Change, DpsRef, IotHubsDiff};
pub use error::LinkedHubsError;
pub use link::{HubRef, PolicyOffer};
pub use plan::{Action, Plan};
pub use rotation::{Rotation, RotationPlan};
pub use view::{DpsView, LinkedHubView};
pub use wizard::{create, run, Clients, DpsLinkedHubs, DpsLinkedHubsTick};
