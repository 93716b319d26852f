//! The DPS linked hubs wizard: link, update and unlink hubs on a DPS, each an ETag-safe
//! read-modify-write (edit.rs) with its dry run the exact JSON of `properties.iotHubs`; link only
//! through policies DPS can use (link.rs); unlink that never orphans an enrollment
//! (enrollments.rs); and key rotation with no provisioning gap, journaled step by step (rotation.rs).

pub mod edit;
pub mod enrollments;
pub mod error;
pub mod link;
pub mod rotation;
pub mod view;

pub use edit::{Change, DpsRef, IotHubsDiff};
pub use error::LinkedHubsError;
pub use link::{HubRef, PolicyOffer};
pub use rotation::{Rotation, RotationPlan};
pub use view::{DpsView, LinkedHubView};
