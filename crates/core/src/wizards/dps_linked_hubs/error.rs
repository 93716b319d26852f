//! What stops a DPS linked hubs change, each with a code the UI branches on and a sentence that
//! says what to do. Azure's own errors pass through with their codes (and request IDs).

use crate::error::Coded;
use crate::journal::JournalError;
use crate::runtime::{RunError, WizardFailure};
use iotm_azure::AzureError;

#[derive(Debug, thiserror::Error)]
pub enum LinkedHubsError {
    #[error("The allocation weight {weight} is out of range: DPS takes a whole number from 1 to 1000.")]
    WeightOutOfRange { weight: i64 },
    #[error("The shared access policy {policy} of the hub {hub} lacks {missing}: DPS needs both RegistryWrite and ServiceConnect. Pick iothubowner, or a policy with both.")]
    PolicyLacksRights { hub: String, policy: String, missing: String },
    #[error("The hub {hub} has local authentication disabled, so it refuses the shared access keys DPS links with. Enable local authentication on the hub, or pick another hub.")]
    LocalAuthDisabled { hub: String },
    #[error("The connection string is for {host}, a hub in another cloud (this environment's hubs end in .{suffix}). Paste a connection string of a hub in this cloud.")]
    OtherCloud { host: String, suffix: String },
    #[error("The connection string is not usable: {problem}")]
    BadConnectionString { problem: String },
    #[error("You may only read the DPS {dps}: {detail} Ask for Contributor (or a role with Microsoft.Devices/provisioningServices/write) on it.")]
    ReadOnlyDps { dps: String, detail: String },
    #[error("The hub {hub} is already linked to the DPS {dps}. Update its link instead.")]
    AlreadyLinked { hub: String, dps: String },
    #[error("The hub {hub} is not linked to the DPS {dps}.")]
    NotLinked { hub: String, dps: String },
    #[error("Unlinking {hub} would leave {} with no hub to assign devices to: {}. Link another hub to them first, or delete them.", if enrollments.len() == 1 { "an enrollment" } else { "enrollments" }, enrollments.join(", "))]
    WouldOrphanEnrollments { hub: String, enrollments: Vec<String> },
    #[error("{} pin the hub {hub}: {}. Allow the unlink to remove the hub from them, or stop.", if enrollments.len() == 1 { "An enrollment" } else { "Enrollments" }, enrollments.join(", "))]
    PinnedEnrollments { hub: String, enrollments: Vec<String> },
    #[error("The DPS {dps} kept changing while we wrote it ({attempts} attempts, each refused because someone else wrote first). Try again in a moment.")]
    TooManyConflicts { dps: String, attempts: u32 },
    #[error("A test device could not register through the DPS {dps} to the hub {hub}: {detail}. The link was left on the key that last worked.")]
    ProofFailed { dps: String, hub: String, detail: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

impl From<JournalError> for LinkedHubsError {
    fn from(e: JournalError) -> Self {
        LinkedHubsError::Run(RunError::Journal(e))
    }
}

impl LinkedHubsError {
    pub fn code(&self) -> String {
        match self {
            LinkedHubsError::WeightOutOfRange { .. } => "dpsLinkedHubs.weight_out_of_range".into(),
            LinkedHubsError::PolicyLacksRights { .. } => "dpsLinkedHubs.policy_lacks_rights".into(),
            LinkedHubsError::LocalAuthDisabled { .. } => "dpsLinkedHubs.local_auth_disabled".into(),
            LinkedHubsError::OtherCloud { .. } => "dpsLinkedHubs.other_cloud".into(),
            LinkedHubsError::BadConnectionString { .. } => "dpsLinkedHubs.bad_connection_string".into(),
            LinkedHubsError::ReadOnlyDps { .. } => "dpsLinkedHubs.read_only_dps".into(),
            LinkedHubsError::AlreadyLinked { .. } => "dpsLinkedHubs.already_linked".into(),
            LinkedHubsError::NotLinked { .. } => "dpsLinkedHubs.not_linked".into(),
            LinkedHubsError::WouldOrphanEnrollments { .. } => "dpsLinkedHubs.would_orphan_enrollments".into(),
            LinkedHubsError::PinnedEnrollments { .. } => "dpsLinkedHubs.pinned_enrollments".into(),
            LinkedHubsError::TooManyConflicts { .. } => "dpsLinkedHubs.too_many_conflicts".into(),
            LinkedHubsError::ProofFailed { .. } => "dpsLinkedHubs.proof_failed".into(),
            LinkedHubsError::Run(e) => e.code().into(),
            LinkedHubsError::Azure(e) => e.code().into(),
        }
    }

    /// The codes of this wizard's own refusals (the runtime's and Azure's are listed with them).
    pub const CODES: &'static [&'static str] = &[
        "dpsLinkedHubs.weight_out_of_range",
        "dpsLinkedHubs.policy_lacks_rights",
        "dpsLinkedHubs.local_auth_disabled",
        "dpsLinkedHubs.other_cloud",
        "dpsLinkedHubs.bad_connection_string",
        "dpsLinkedHubs.read_only_dps",
        "dpsLinkedHubs.already_linked",
        "dpsLinkedHubs.not_linked",
        "dpsLinkedHubs.would_orphan_enrollments",
        "dpsLinkedHubs.pinned_enrollments",
        "dpsLinkedHubs.too_many_conflicts",
        "dpsLinkedHubs.proof_failed",
    ];
}

impl Coded for LinkedHubsError {
    fn code(&self) -> String {
        LinkedHubsError::code(self)
    }
    fn field(&self) -> Option<String> {
        let field = match self {
            LinkedHubsError::Run(e) => return e.field(),
            LinkedHubsError::WeightOutOfRange { .. } => "allocationWeight",
            LinkedHubsError::PolicyLacksRights { .. } => "policy",
            LinkedHubsError::OtherCloud { .. } | LinkedHubsError::BadConnectionString { .. } => "connectionString",
            LinkedHubsError::LocalAuthDisabled { .. } | LinkedHubsError::AlreadyLinked { .. } | LinkedHubsError::NotLinked { .. } => "hub",
            _ => return None,
        };
        Some(field.into())
    }
    fn request_id(&self) -> Option<String> {
        match self {
            LinkedHubsError::Azure(e) => e.service_error().and_then(|s| s.request_id.clone()),
            _ => None,
        }
    }
}

impl WizardFailure for LinkedHubsError {
    fn is_interrupted(&self) -> bool {
        match self {
            LinkedHubsError::Run(RunError::Cancelled) => true,
            LinkedHubsError::Azure(e) => e.status().is_none(),
            _ => false,
        }
    }
}
