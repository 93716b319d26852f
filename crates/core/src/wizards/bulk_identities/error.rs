//! What stops a bulk job, each with a code the UI branches on and a sentence that says what to do.
//! Storage's and the hub's own errors pass through with their codes (and request IDs).

use super::validate::LineProblem;
use crate::error::Coded;
use crate::journal::JournalError;
use crate::runtime::{RunError, WizardFailure};
use iotm_azure::AzureError;

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("{file} cannot be imported: {} line(s) are wrong, the first on line {}: {}. Nothing was uploaded.", problems.len(), problems[0].line, problems[0].message)]
    InvalidFile { file: String, problems: Vec<LineProblem> },
    #[error("The file {file} cannot be read or written: {detail}")]
    File { file: String, detail: String },
    #[error("The hub {hub} is running another import/export job ({job}, {kind}, {status}); a hub runs one at a time. Wait for it to end, or cancel it, then try again.")]
    HubBusy { hub: String, job: String, kind: String, status: String },
    #[error("The container SAS does not allow {needed}: Storage answered {detail}. Mint a SAS with {needed} permission, or let the wizard mint one from the storage account.")]
    SasWithoutPermission { needed: String, detail: String },
    #[error("The container SAS has expired (Storage answered {detail}). Mint a new one.")]
    SasExpired { detail: String },
    #[error("The container {container} does not exist in the storage account. Create it, or let the wizard create it from the storage account.")]
    NoSuchContainer { container: String },
    #[error("The storage account {account} does not exist in {group}, or you cannot see it.")]
    NoSuchStorageAccount { account: String, group: String },
    #[error("The {kind} job {job} failed on the hub: {reason}")]
    JobFailed { job: String, kind: String, reason: String },
    #[error("The {kind} job {job} was cancelled.")]
    JobCancelled { job: String, kind: String },
    #[error("No device of the hub matches the query ({query}); nothing to change.")]
    NothingMatches { query: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

impl From<JournalError> for BulkError {
    fn from(e: JournalError) -> Self {
        BulkError::Run(RunError::Journal(e))
    }
}

impl BulkError {
    pub const CODES: &'static [&'static str] = &[
        "bulk.invalidFile",
        "bulk.file",
        "bulk.hubBusy",
        "bulk.sasWithoutPermission",
        "bulk.sasExpired",
        "bulk.noSuchContainer",
        "bulk.noSuchStorageAccount",
        "bulk.jobFailed",
        "bulk.jobCancelled",
        "bulk.nothingMatches",
        "bulk.line.json",
        "bulk.line.missingField",
        "bulk.line.badId",
        "bulk.line.unknownMode",
        "bulk.line.badKey",
        "bulk.line.badThumbprint",
        "bulk.line.badStatus",
        "bulk.line.duplicateId",
        "bulk.line.twinTooLarge",
    ];

    pub fn code(&self) -> String {
        match self {
            BulkError::InvalidFile { .. } => "bulk.invalidFile".into(),
            BulkError::File { .. } => "bulk.file".into(),
            BulkError::HubBusy { .. } => "bulk.hubBusy".into(),
            BulkError::SasWithoutPermission { .. } => "bulk.sasWithoutPermission".into(),
            BulkError::SasExpired { .. } => "bulk.sasExpired".into(),
            BulkError::NoSuchContainer { .. } => "bulk.noSuchContainer".into(),
            BulkError::NoSuchStorageAccount { .. } => "bulk.noSuchStorageAccount".into(),
            BulkError::JobFailed { .. } => "bulk.jobFailed".into(),
            BulkError::JobCancelled { .. } => "bulk.jobCancelled".into(),
            BulkError::NothingMatches { .. } => "bulk.nothingMatches".into(),
            BulkError::Run(e) => e.code().into(),
            BulkError::Azure(e) => e.code().into(),
        }
    }

    /// Storage's refusal of a container call, in the wizard's terms (a SAS short of a permission,
    /// expired, or a container that is not there); anything else as Storage said it.
    pub fn from_storage(e: AzureError, needed: &str, container: &str) -> BulkError {
        let Some(service) = e.service_error() else { return BulkError::Azure(e) };
        let detail = format!("{} {}", service.status, service.code.clone().unwrap_or_default());
        match service.code.as_deref() {
            Some("AuthorizationPermissionMismatch") => BulkError::SasWithoutPermission { needed: needed.into(), detail },
            Some("ContainerNotFound") => BulkError::NoSuchContainer { container: container.into() },
            // Azure says AuthenticationFailed, naming the time ("Signed expiry time …", "… valid in
            // the specified time frame"); a bad signature is not an expiry and passes through.
            Some("AuthenticationFailed" | "AuthorizationFailure") if ["xpir", "time frame"].iter().any(|w| service.message.contains(w)) => {
                BulkError::SasExpired { detail: format!("{detail}: {}", service.message) }
            }
            _ => BulkError::Azure(e),
        }
    }
}

impl Coded for BulkError {
    fn code(&self) -> String {
        BulkError::code(self)
    }
    fn field(&self) -> Option<String> {
        match self {
            BulkError::Run(e) => e.field(),
            BulkError::InvalidFile { .. } | BulkError::File { .. } => Some("operation.file".into()),
            BulkError::SasWithoutPermission { .. } | BulkError::SasExpired { .. } | BulkError::NoSuchContainer { .. } => Some("storage".into()),
            BulkError::NoSuchStorageAccount { .. } => Some("storage.account".into()),
            BulkError::NothingMatches { .. } => Some("operation.query".into()),
            _ => None,
        }
    }
    fn detail(&self) -> Option<String> {
        match self {
            BulkError::InvalidFile { problems, .. } => {
                Some(problems.iter().take(20).map(|p| format!("line {}: {}", p.line, p.message)).collect::<Vec<_>>().join("\n"))
            }
            _ => None,
        }
    }
    fn request_id(&self) -> Option<String> {
        match self {
            BulkError::Azure(e) => e.service_error().and_then(|s| s.request_id.clone()),
            _ => None,
        }
    }
}

impl WizardFailure for BulkError {
    /// No answer at all leaves the job resumable, as a stop does.
    fn is_interrupted(&self) -> bool {
        match self {
            BulkError::Run(RunError::Cancelled) => true,
            BulkError::Azure(e) => e.status().is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotm_azure::{Service, ServiceError};

    fn storage(status: u16, code: &str, message: &str) -> AzureError {
        let e = Box::new(ServiceError { service: Service::Storage, status, code: Some(code.into()), aadsts: None, message: message.into(), request_id: None });
        if status == 403 {
            AzureError::Forbidden(e)
        } else {
            AzureError::Service(e)
        }
    }

    #[test]
    fn storages_refusals_are_said_in_the_wizards_terms() {
        let e = BulkError::from_storage(storage(403, "AuthorizationPermissionMismatch", "not allowed"), "write", "jobs");
        assert_eq!(e.code(), "bulk.sasWithoutPermission");
        assert!(e.to_string().contains("does not allow write"), "{e}");
        let e = BulkError::from_storage(storage(403, "AuthenticationFailed", "Signed expiry time has passed"), "read", "jobs");
        assert_eq!(e.code(), "bulk.sasExpired");
        let e = BulkError::from_storage(storage(404, "ContainerNotFound", "The specified container does not exist."), "read", "jobs");
        assert_eq!(e.code(), "bulk.noSuchContainer");
        assert!(e.to_string().contains("jobs"));
        let e = BulkError::from_storage(storage(500, "InternalError", "boom"), "read", "jobs");
        assert_eq!(e.code(), "azure.service");
    }
}
