//! What stops a Central → Hub migration, each with a code the UI branches on and a sentence that
//! says what to do. Azure's own errors pass through with their codes (and request IDs).

use super::template::TemplateProblem;
use crate::error::Coded;
use crate::journal::JournalError;
use crate::runtime::{RunError, WizardFailure};
use iotm_azure::AzureError;

#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    #[error(transparent)]
    Template(#[from] TemplateProblem),
    #[error("Nothing to move: {what} holds no device of the template {template}. Choose other device groups, or every device of the template.")]
    EmptySelection { what: String, template: String },
    #[error("Nothing to move: all {devices} devices are already registered in the hub {hub} (moved before). To send them DeviceMove again, include devices already in the target hub in the plan.")]
    NothingToMove { hub: String, devices: u32 },
    #[error("The device group {group} holds {devices} devices already registered in the hub {hub}; a migration leaves out at most {most} per group. Pick a device group that leaves them out, or include devices already in the target hub.")]
    TooManyLeftOut { group: String, hub: String, devices: u32, most: u32 },
    #[error("The device group {0} does not exist in the Central application.")]
    NoSuchDeviceGroup(String),
    #[error("You have no access to the DPS {dps}: {detail} Ask for a role on it (IoT Hub Data Contributor or Contributor on the DPS), or pick another.")]
    DpsForbidden { dps: String, detail: String },
    #[error("The hub {hub} is not linked to the DPS {dps}, and linking it was not allowed in the plan. Link it (DPS linked hubs wizard), or allow the migration to link it.")]
    HubNotLinked { hub: String, dps: String },
    #[error(
        "The hub {hub} is not linked to the DPS {dps}, and you may not link it: {detail} Ask for Contributor on the DPS, or have someone link the hub first."
    )]
    LinkForbidden { hub: String, dps: String, detail: String },
    #[error("The DPS {dps} already has an enrollment group {group} with {difference}. Choose another group name in the plan, or delete that group if it is not in use.")]
    EnrollmentClash { dps: String, group: String, difference: String },
    #[error("Central's enrollment group {group} attests with X.509 certificates, and Central does not hand out the certificate. Give the signing certificate's PEM in the plan (enrollment → certificate); its SHA-1 thumbprint must be {thumbprint}.")]
    X509CertificateNeeded { group: String, thumbprint: String },
    #[error("The certificate given for {group} is not the one Central holds: its SHA-1 thumbprint is {given}, Central's is {expected}.")]
    X509CertificateMismatch { group: String, given: String, expected: String },
    #[error("Central's enrollment group {0} uses TPM attestation, which a DPS enrollment group cannot take; TPM devices need individual enrollments.")]
    TpmGroup(String),
    #[error("The Central job {job} failed: {detail}")]
    JobFailed {
        job: String,
        detail: String,
        /// Central's request ID when Central refused the job (what a support ticket asks for).
        request_id: Option<String>,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

impl From<JournalError> for WizardError {
    fn from(e: JournalError) -> Self {
        WizardError::Run(RunError::Journal(e))
    }
}

impl From<super::plan::PlanProblem> for WizardError {
    fn from(problem: super::plan::PlanProblem) -> Self {
        WizardError::Run(RunError::BadPlan(problem))
    }
}

impl WizardError {
    pub fn code(&self) -> String {
        match self {
            WizardError::Template(t) => t.code().into(),
            WizardError::EmptySelection { .. } => "centralToHub.empty_selection".into(),
            WizardError::NothingToMove { .. } => "centralToHub.nothing_to_move".into(),
            WizardError::TooManyLeftOut { .. } => "centralToHub.too_many_left_out".into(),
            WizardError::NoSuchDeviceGroup(_) => "centralToHub.no_such_device_group".into(),
            WizardError::DpsForbidden { .. } => "centralToHub.dps_forbidden".into(),
            WizardError::HubNotLinked { .. } => "centralToHub.hub_not_linked".into(),
            WizardError::LinkForbidden { .. } => "centralToHub.link_forbidden".into(),
            WizardError::EnrollmentClash { .. } => "centralToHub.enrollment_clash".into(),
            WizardError::X509CertificateNeeded { .. } => "centralToHub.x509_certificate_needed".into(),
            WizardError::X509CertificateMismatch { .. } => "centralToHub.x509_certificate_mismatch".into(),
            WizardError::TpmGroup(_) => "centralToHub.tpm_group".into(),
            WizardError::JobFailed { .. } => "centralToHub.job_failed".into(),
            WizardError::Run(e) => e.code().into(),
            WizardError::Azure(e) => e.code().into(),
        }
    }

    /// The codes of this wizard's own refusals (the runtime's and Azure's are listed with them).
    pub const CODES: &'static [&'static str] = &[
        "centralToHub.empty_selection",
        "centralToHub.nothing_to_move",
        "centralToHub.too_many_left_out",
        "centralToHub.no_such_device_group",
        "centralToHub.dps_forbidden",
        "centralToHub.hub_not_linked",
        "centralToHub.link_forbidden",
        "centralToHub.enrollment_clash",
        "centralToHub.x509_certificate_needed",
        "centralToHub.x509_certificate_mismatch",
        "centralToHub.tpm_group",
        "centralToHub.job_failed",
        "centralToHub.template_without_device_move",
        "centralToHub.device_move_on_wrong_interface",
        "centralToHub.device_move_ambiguous",
    ];

    /// Azure's request ID, when Azure refused: what a support ticket asks for.
    pub fn request_id(&self) -> Option<String> {
        match self {
            WizardError::Azure(e) => e.service_error().and_then(|s| s.request_id.clone()),
            WizardError::JobFailed { request_id, .. } => request_id.clone(),
            _ => None,
        }
    }
}

impl Coded for WizardError {
    fn code(&self) -> String {
        WizardError::code(self)
    }
    /// The plan's field to fix, so the page can say it beside that field.
    fn field(&self) -> Option<String> {
        let field = match self {
            WizardError::Run(e) => return e.field(),
            WizardError::Template(_) => "source.templateId",
            WizardError::EmptySelection { .. } | WizardError::NoSuchDeviceGroup(_) | WizardError::TooManyLeftOut { .. } => "source.deviceGroups",
            WizardError::NothingToMove { .. } => "source.includeAlreadyInTarget",
            WizardError::DpsForbidden { .. } => "target.dpsName",
            WizardError::HubNotLinked { .. } | WizardError::LinkForbidden { .. } => "target.hubName",
            WizardError::EnrollmentClash { .. } => "enrollment.dpsGroupId",
            WizardError::X509CertificateNeeded { .. } | WizardError::X509CertificateMismatch { .. } => "enrollment.x509CertificatePem",
            WizardError::TpmGroup(_) => "enrollment.centralGroupId",
            WizardError::JobFailed { .. } | WizardError::Azure(_) => return None,
        };
        Some(field.into())
    }
    fn request_id(&self) -> Option<String> {
        WizardError::request_id(self)
    }
}

impl WizardFailure for WizardError {
    /// A connection lost for good (no answer at all) leaves the migration resumable, as a stop does.
    fn is_interrupted(&self) -> bool {
        match self {
            WizardError::Run(RunError::Cancelled) => true,
            WizardError::Azure(e) => e.status().is_none(),
            _ => false,
        }
    }
}

/// A 401/403 from ARM: the caller has no right to the resource.
pub(crate) fn is_forbidden(error: &AzureError) -> bool {
    matches!(error.status(), Some(401 | 403))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clash_names_the_field_to_change() {
        let clash = WizardError::EnrollmentClash { dps: "contoso-dps".into(), group: "g".into(), difference: "other keys".into() };
        assert_eq!(clash.to_payload().field.as_deref(), Some("enrollment.dpsGroupId"));
        let empty = WizardError::EmptySelection { what: "the device group g".into(), template: "t".into() };
        assert_eq!(empty.to_payload().field.as_deref(), Some("source.deviceGroups"));
    }
}
