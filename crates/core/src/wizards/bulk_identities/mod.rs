//! Bulk identities: IoT Hub's import/export jobs through blob storage. Export a hub's devices to a
//! local devices.txt; import one (checked line by line before upload, uploaded in blocks that
//! resume, the job's importErrors.log put beside the input lines); and the operations built on
//! import (generate test devices, delete / enable / disable / regenerate keys by a query).

pub mod dry_run;
pub mod engine;
pub mod error;
pub mod import_errors;
mod job;
pub mod modes;
pub mod operations;
pub mod options;
pub mod plan;
pub mod progress;
pub mod report;
mod storage;
pub mod validate;
pub mod view;
pub mod wizard;

pub use engine::Clients;
pub use error::BulkError;
pub use modes::ImportMode;
pub use plan::{HubTarget, Operation, Plan, StorageTarget};
pub use wizard::BulkIdentities;
