//! The DPS enrollment group the devices move into, made from Central's: the same symmetric keys,
//! so the key each device already holds (derived from the group key and its ID) keeps working; for
//! X.509, the same signing certificate, which the person supplies since Central only shows its
//! thumbprint. Idempotent: a group already there with the same keys is reused; one with other keys
//! or another attestation is a clash, explained, never overwritten.

use super::error::WizardError;
use super::plan::Plan;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use iotm_azure::central::models::EnrollmentGroup as CentralGroup;
use iotm_azure::dps::{AttestationMechanism, DpsClient, EnrollmentGroup, GroupKeys, ReprovisionPolicy};
use iotm_azure::Secret;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

/// What the run did about the group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOutcome {
    Created,
    Reused,
}

/// The SHA-1 thumbprint (upper-case hex) of a PEM or base64-DER certificate.
pub fn thumbprint(certificate: &str) -> Option<String> {
    let body: String = certificate.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
    let der = B64.decode(body.trim()).ok().filter(|d| !d.is_empty())?;
    Some(Sha1::digest(&der).iter().map(|b| format!("{b:02X}")).collect())
}

fn central_thumbprint(group: &CentralGroup) -> Option<String> {
    group.attestation.x509.as_ref()?["signingCertificates"]["primary"]["info"]["sha1Thumbprint"].as_str().map(str::to_ascii_uppercase)
}

/// The DPS group this plan needs, from Central's group.
pub fn desired_group(plan: &Plan, central: &CentralGroup, hub_host: &str) -> Result<EnrollmentGroup, WizardError> {
    let name = &plan.enrollment.dps_group_id;
    let attestation = match central.attestation.kind.as_str() {
        "symmetricKey" => {
            let keys = central.attestation.symmetric_key.as_ref().ok_or_else(|| WizardError::EnrollmentClash {
                dps: plan.target.dps_name.clone(),
                group: name.clone(),
                difference: format!("no keys readable from Central's group {} (does your role allow reading enrollment groups?)", central.id),
            })?;
            AttestationMechanism {
                kind: "symmetricKey".into(),
                symmetric_key: Some(GroupKeys { primary_key: Some(keys.primary_key.clone()), secondary_key: Some(keys.secondary_key.clone()) }),
                x509: None,
            }
        }
        "x509" => {
            let expected = central_thumbprint(central).unwrap_or_default();
            let Some(pem) = plan.enrollment.x509_certificate_pem.as_deref().filter(|p| !p.trim().is_empty()) else {
                return Err(WizardError::X509CertificateNeeded { group: central.id.clone(), thumbprint: expected });
            };
            let given = thumbprint(pem).unwrap_or_else(|| "unreadable (not a PEM certificate)".into());
            if !given.eq_ignore_ascii_case(&expected) {
                return Err(WizardError::X509CertificateMismatch { group: central.id.clone(), given, expected });
            }
            AttestationMechanism { kind: "x509".into(), symmetric_key: None, x509: Some(json!({"signingCertificates": {"primary": {"certificate": pem}}})) }
        }
        _ => return Err(WizardError::TpmGroup(central.id.clone())),
    };
    Ok(EnrollmentGroup {
        enrollment_group_id: name.clone(),
        attestation,
        capabilities: (central.kind == "iotEdge").then(|| json!({"iotEdge": true})),
        provisioning_status: Some("enabled".into()),
        // A device that registers again lands in the target hub even if it was assigned before.
        reprovision_policy: Some(ReprovisionPolicy { update_hub_assignment: true, migrate_device_data: false }),
        allocation_policy: Some("hashed".into()),
        iot_hubs: vec![hub_host.to_ascii_lowercase()],
        ..EnrollmentGroup::default()
    })
}

fn same_secret(a: &Option<Secret<String>>, b: &Option<Secret<String>>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.expose() == b.expose())
}

/// Why an existing group cannot stand in for the desired one (`None`: it can).
fn difference(existing: &EnrollmentGroup, desired: &EnrollmentGroup) -> Option<String> {
    if existing.attestation.kind != desired.attestation.kind {
        return Some(format!("{} attestation where {} is needed", existing.attestation.kind, desired.attestation.kind));
    }
    match desired.attestation.kind.as_str() {
        "symmetricKey" => {
            let (have, want) = (existing.attestation.symmetric_key.clone().unwrap_or_default(), desired.attestation.symmetric_key.clone().unwrap_or_default());
            if !(same_secret(&have.primary_key, &want.primary_key) && same_secret(&have.secondary_key, &want.secondary_key)) {
                return Some("other symmetric keys than Central's group (devices' keys would not match)".into());
            }
        }
        _ => {
            let thumb = |g: &EnrollmentGroup| -> Option<String> {
                let x509: &Value = g.attestation.x509.as_ref()?;
                let primary = &x509["signingCertificates"]["primary"];
                primary["info"]["sha1Thumbprint"].as_str().map(str::to_ascii_uppercase).or_else(|| primary["certificate"].as_str().and_then(thumbprint))
            };
            if thumb(existing) != thumb(desired) {
                return Some("another signing certificate".into());
            }
        }
    }
    let hubs: Vec<String> = existing.iot_hubs.iter().map(|h| h.to_ascii_lowercase()).collect();
    if !hubs.is_empty() && hubs != desired.iot_hubs {
        return Some(format!("the same keys but assigning devices to {} rather than {}", hubs.join(", "), desired.iot_hubs.join(", ")));
    }
    None
}

/// Whether the DPS already has the group (and it fits: `Reused`) or not (`Created` is what the
/// run will do); a group there that does not fit is a clash. Reads only.
pub async fn existing_group(dps: &DpsClient, plan: &Plan, desired: &EnrollmentGroup) -> Result<GroupOutcome, WizardError> {
    match dps.enrollment_group(&desired.enrollment_group_id).await {
        Ok(existing) => match difference(&existing, desired) {
            None => Ok(GroupOutcome::Reused),
            Some(difference) => Err(WizardError::EnrollmentClash { dps: plan.target.dps_name.clone(), group: desired.enrollment_group_id.clone(), difference }),
        },
        Err(e) if e.is_not_found() => Ok(GroupOutcome::Created),
        Err(e) => Err(e.into()),
    }
}

/// Creates the group, or reuses it when it is already what is needed.
pub async fn ensure_group(dps: &DpsClient, plan: &Plan, desired: &EnrollmentGroup) -> Result<GroupOutcome, WizardError> {
    let outcome = existing_group(dps, plan, desired).await?;
    if outcome == GroupOutcome::Created {
        dps.create_or_update_enrollment_group(desired, None).await?;
    }
    Ok(outcome)
}

/// The key a device of a symmetric-key group should hold; compared with what Central says the
/// device holds, it finds devices with keys of their own that the new group will refuse.
pub fn expected_device_key(central: &CentralGroup, device_id: &str) -> Option<Secret<String>> {
    let keys = central.attestation.symmetric_key.as_ref()?;
    iotm_azure::sas::derive_device_key(&keys.primary_key, device_id)
}
