//! Blob storage as the sandbox's services use it: a small REST client for Azurite (container SAS
//! URLs, blocks in, a blob streamed out) and the service SAS ARM mints for a storage account.

pub mod accounts;
pub mod blob;
pub mod sas;

/// The Blob service version the sandbox's own calls state (the spec in ../shared/specs).
pub const VERSION: &str = "2024-08-04";
