//! Device registration, whatever carried it (HTTPS runtime API, MQTT, or a simulated device):
//! authenticate the device by the enrollment group whose derived key signed its token, pick a
//! linked hub by the allocation policy, create the device there, and record the registration state.

use super::DpsError;
use crate::cloud::Cloud;
use crate::dps::state::{Dps, LinkedHub};
use crate::hub::identity::Authentication;
use crate::live::new_etag;
use crate::sas::{self, derive_device_key};
use crate::x509::ClientChain;
use axum::http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn unauthorized(why: &str) -> DpsError {
    DpsError::new(StatusCode::UNAUTHORIZED, 401002, format!("Unauthorized: {why}"))
}

/// How a device proves who it is: a SAS token signed with its derived key, or the certificate
/// chain it presented in the TLS handshake.
#[derive(Clone, Copy)]
pub enum DeviceProof<'a> {
    Sas(Option<&'a str>),
    Certificate(&'a ClientChain),
}

impl<'a> DeviceProof<'a> {
    /// A SAS token when one is sent, else the connection's certificate, else nothing (refused).
    pub fn from_request(authorization: Option<&'a str>, chain: Option<&'a ClientChain>) -> DeviceProof<'a> {
        match (authorization, chain) {
            (None, Some(chain)) if chain.leaf().is_some() => DeviceProof::Certificate(chain),
            (authorization, _) => DeviceProof::Sas(authorization),
        }
    }
}

/// The enrollment that vouches for a device, and the identity the hub gives it.
pub struct Voucher {
    pub enrollment: Value,
    pub authentication: Authentication,
}

fn enabled(e: &&Value) -> bool {
    e["provisioningStatus"] != "disabled"
}

/// Who vouches for the device. Its individual enrollment comes first, as on DPS: its own keys
/// signed the token, or its own certificate was presented. Otherwise a group: for SAS, the group
/// whose derived key signed the token (`SharedAccessSignature sr={scope}/registrations/{id}&sig&se
/// [&skn=registration]`); for X.509, the group whose signing certificate the device's chain leads
/// to, the leaf's common name being the registration ID.
pub fn authenticate(cloud: &Cloud, dps: &Dps, proof: DeviceProof, scope: &str, registration_id: &str) -> Result<Voucher, DpsError> {
    if !scope.eq_ignore_ascii_case(&dps.id_scope) {
        return Err(unauthorized("unknown ID scope"));
    }
    let individual = dps.enrollments.lock().unwrap().get(&registration_id.to_ascii_lowercase()).filter(enabled).cloned();
    let authorization = match proof {
        DeviceProof::Sas(authorization) => authorization,
        DeviceProof::Certificate(chain) => return authenticate_certificate(dps, chain, registration_id, individual),
    };
    let token = sas::parse(authorization, cloud.now()).map_err(|e| unauthorized(&format!("{e:?}")))?;
    if token.resource() != format!("{scope}/registrations/{registration_id}").to_ascii_lowercase() {
        return Err(unauthorized("the token is for another registration"));
    }
    let keys_of = |e: &Value, derive: bool| -> Vec<String> {
        ["primaryKey", "secondaryKey"]
            .iter()
            .filter_map(|k| e["attestation"]["symmetricKey"][k].as_str())
            .filter_map(|k| if derive { derive_device_key(k, registration_id) } else { Some(k.to_string()) })
            .collect()
    };
    let sas_identity = |keys: Vec<String>| Authentication::Sas {
        primary_key: keys.first().cloned().unwrap_or_default(),
        secondary_key: keys.get(1).cloned().unwrap_or_default(),
    };
    if let Some(enrollment) = individual.filter(|e| e["attestation"]["type"] == "symmetricKey") {
        let keys = keys_of(&enrollment, false);
        if keys.iter().any(|k| token.signed_with(k)) {
            return Ok(Voucher { enrollment, authentication: sas_identity(keys) });
        }
        return Err(unauthorized("the individual enrollment's keys did not sign this token"));
    }
    let groups = dps.enrollment_groups.lock().unwrap();
    let group = groups
        .values()
        .filter(enabled)
        .filter(|g| g["attestation"]["type"] == "symmetricKey")
        .find(|g| keys_of(g, true).iter().any(|k| token.signed_with(k)))
        .cloned()
        .ok_or_else(|| unauthorized("no enrollment group's key signed this token"))?;
    let keys = keys_of(&group, true);
    Ok(Voucher { enrollment: group, authentication: sas_identity(keys) })
}

fn authenticate_certificate(dps: &Dps, chain: &ClientChain, registration_id: &str, individual: Option<Value>) -> Result<Voucher, DpsError> {
    let leaf = chain.leaf().ok_or_else(|| unauthorized("no client certificate"))?;
    if crate::x509::common_name(leaf).as_deref() != Some(registration_id) {
        return Err(unauthorized("the certificate's common name is not the registration ID"));
    }
    let certificate =
        |e: &Value, field: &str, which: &str| e["attestation"]["x509"][field][which]["certificate"].as_str().and_then(crate::x509::parse_certificate);
    if let Some(enrollment) = individual.filter(|e| e["attestation"]["type"] == "x509") {
        if !["primary", "secondary"].iter().any(|w| certificate(&enrollment, "clientCertificates", w).is_some_and(|c| c == *leaf)) {
            return Err(unauthorized("the certificate is not the individual enrollment's"));
        }
        let thumbprint = crate::x509::sha1_thumbprint(leaf);
        return Ok(Voucher { enrollment, authentication: Authentication::SelfSigned { primary_thumbprint: Some(thumbprint), secondary_thumbprint: None } });
    }
    let groups = dps.enrollment_groups.lock().unwrap();
    let group = groups
        .values()
        .filter(enabled)
        .filter(|g| g["attestation"]["type"] == "x509")
        .find(|g| {
            ["primary", "secondary"].iter().any(|w| certificate(g, "signingCertificates", w).is_some_and(|anchor| crate::x509::chains_to(chain, &anchor)))
        })
        .cloned()
        .ok_or_else(|| unauthorized("no enrollment group's signing certificate issued this device certificate"))?;
    Ok(Voucher { enrollment: group, authentication: Authentication::CertificateAuthority })
}

/// Hashed allocation: the same registration ID always lands on the same hub, spread by weight.
fn pick_hashed<'a>(hubs: &'a [LinkedHub], registration_id: &str) -> Option<&'a LinkedHub> {
    let weights: Vec<u64> = hubs.iter().map(|h| h.allocation_weight.unwrap_or(1).max(0) as u64).collect();
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let digest = Sha256::digest(registration_id.as_bytes());
    let mut point = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % total;
    hubs.iter()
        .zip(weights)
        .find(|(_, w)| {
            if point < *w {
                return true;
            }
            point -= w;
            false
        })
        .map(|(h, _)| h)
}

/// The hub for this device under the group's (or else the DPS's) allocation policy. Static picks
/// the group's first listed hub; geo latency is approximated by location: the hub in the DPS's
/// own region wins, then hashed among the rest.
fn pick_hub(dps: &Dps, group: &Value, registration_id: &str) -> Option<LinkedHub> {
    let state = dps.settings.lock().unwrap();
    let allowed: Vec<String> =
        group["iotHubs"].as_array().map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_ascii_lowercase)).collect()).unwrap_or_default();
    let candidates: Vec<LinkedHub> = state
        .linked_hubs
        .iter()
        .filter(|h| h.apply_allocation_policy != Some(false) || !allowed.is_empty())
        .filter(|h| allowed.is_empty() || allowed.contains(&h.name.to_ascii_lowercase()))
        .cloned()
        .collect();
    let policy = group["allocationPolicy"].as_str().unwrap_or(&state.allocation_policy).to_ascii_lowercase();
    match policy.as_str() {
        "static" => candidates.first().cloned(),
        "geolatency" => {
            candidates.iter().find(|h| h.location.eq_ignore_ascii_case(&dps.placement.location)).or_else(|| pick_hashed(&candidates, registration_id)).cloned()
        }
        _ => pick_hashed(&candidates, registration_id).cloned(),
    }
}

/// How a registration ended.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Assigned { hub: String, device_id: String, reprovisioned: bool },
    Failed { code: u32, message: std::borrow::Cow<'static, str> },
}

/// A device's registration state, kept compact (a DPS holds one per device it has seen).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RegistrationRecord {
    pub registration_id: String,
    pub operation_id: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub updated: chrono::DateTime<chrono::Utc>,
    pub etag: String,
    pub outcome: Outcome,
    /// The custom payload the device sent, echoed back as DPS does.
    pub payload: Option<Value>,
    /// The enrollment group it registered through (lower-cased, as DPS keys groups); `None` for
    /// an individual enrollment. What the registration-state query by group selects on.
    pub enrollment_group: Option<String>,
}

impl RegistrationRecord {
    pub fn is_assigned(&self) -> bool {
        matches!(self.outcome, Outcome::Assigned { .. })
    }

    pub fn assigned_hub(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Assigned { hub, .. } => Some(hub),
            Outcome::Failed { .. } => None,
        }
    }

    /// The `registrationState` / `DeviceRegistrationState` JSON.
    pub fn to_json(&self) -> Value {
        let stamp = |t: &chrono::DateTime<chrono::Utc>| crate::timestamps::rfc3339(*t);
        let mut state = json!({"registrationId": self.registration_id, "createdDateTimeUtc": stamp(&self.created), "lastUpdatedDateTimeUtc": stamp(&self.updated), "etag": self.etag});
        match &self.outcome {
            Outcome::Assigned { hub, device_id, reprovisioned } => {
                state["assignedHub"] = json!(hub);
                state["deviceId"] = json!(device_id);
                state["status"] = json!("assigned");
                state["substatus"] = json!(if *reprovisioned { "reprovisionedToInitialAssignment" } else { "initialAssignment" });
            }
            Outcome::Failed { code, message } => {
                state["status"] = json!("failed");
                state["errorCode"] = json!(code);
                state["errorMessage"] = json!(message);
            }
        }
        if let Some(payload) = &self.payload {
            state["payload"] = payload.clone();
        }
        state
    }
}

/// Registers the device and records its registration state; the `operation_id` of the record
/// is what the device polls. A registration that finds no hub is recorded as failed, as DPS does.
pub fn register(
    cloud: &Cloud,
    dps: &Dps,
    scope: &str,
    registration_id: &str,
    proof: DeviceProof,
    payload: Option<Value>,
) -> Result<RegistrationRecord, DpsError> {
    let voucher = authenticate(cloud, dps, proof, scope, registration_id)?;
    let stamp = chrono::Utc::now();
    let outcome = match pick_hub(dps, &voucher.enrollment, registration_id).map(|linked| (cloud.hub_by_host(&linked.name), linked)) {
        // DPS reaches the hub with the link's connection string: a stale key fails the assignment.
        Some((Some(hub), linked)) if hub.accepts_connection_string(&linked.connection_string, &["RegistryWrite"]).is_err() => {
            Outcome::Failed { code: 401002, message: crate::hub::HubError::unauthorized_body("Unauthorized").into() }
        }
        Some((Some(hub), _)) => {
            let device_id = voucher.enrollment["deviceId"].as_str().filter(|d| !d.is_empty()).unwrap_or(registration_id).to_string();
            let reprovisioned = hub.upsert_provisioned_device(&device_id, voucher.authentication);
            cloud.central_apps().mark_provisioned(scope, &device_id);
            Outcome::Assigned { hub: hub.host().to_string(), device_id, reprovisioned }
        }
        Some((None, linked)) => {
            return Err(DpsError::new(StatusCode::INTERNAL_SERVER_ERROR, 500000, format!("The linked hub {} no longer exists.", linked.name)));
        }
        None => Outcome::Failed { code: 400209, message: "No linked hub is available for this enrollment group.".into() },
    };
    let record = RegistrationRecord {
        registration_id: registration_id.into(),
        operation_id: format!("4.{}.{}", &dps.id_scope, crate::tokens::random_token(12)),
        created: stamp,
        updated: stamp,
        etag: new_etag(),
        outcome,
        payload: payload.filter(|p| !p.is_null()),
        enrollment_group: voucher.enrollment["enrollmentGroupId"].as_str().map(str::to_ascii_lowercase),
    };
    dps.registrations.lock().unwrap().insert(registration_id.to_ascii_lowercase(), record.clone());
    Ok(record)
}

/// The state recorded under `operation_id`.
pub fn operation(dps: &Dps, registration_id: &str, operation_id: &str) -> Option<RegistrationRecord> {
    dps.registrations.lock().unwrap().get(&registration_id.to_ascii_lowercase()).filter(|r| r.operation_id == operation_id).cloned()
}
