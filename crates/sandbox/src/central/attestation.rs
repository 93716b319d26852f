//! Attestations: a device's own (`/devices/{id}/attestation`: symmetric key, TPM or X.509 client
//! certificates) and the checks an enrollment group's share. The migration reads them to enrol each
//! device in the target DPS the way it attests today. Keys are checked as DPS checks them (base64,
//! 16 to 64 bytes) and generated when absent; certificates are kept and reported by thumbprint.

use super::{bad_request, open, parse_body, CentralError, Q};
use crate::cloud::Cloud;
use crate::live::new_key;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

/// `{primaryKey, secondaryKey}` from what was sent: each checked, or generated when absent.
pub fn keys(given: &Value, at: &str) -> Result<Value, CentralError> {
    let mut keys = json!({});
    for name in ["primaryKey", "secondaryKey"] {
        keys[name] = match given[name].as_str().filter(|k| !k.is_empty()) {
            None => json!(new_key()),
            Some(key) => match STANDARD.decode(key) {
                Ok(bytes) if (16..=64).contains(&bytes.len()) => json!(key),
                _ => return Err(bad_request(format!("{at}.{name} must be base64 of 16 to 64 bytes."))),
            },
        };
    }
    Ok(keys)
}

/// The `primary` (required) and `secondary` certificates under `field`, each kept with its `info`;
/// an enrollment group's signing certificates also carry `verified` and an etag.
pub fn certificates(x509: &Value, field: &str, signing: bool) -> Result<Value, CentralError> {
    let at = format!("attestation.x509.{field}");
    let mut out = json!({});
    for entry in ["primary", "secondary"] {
        let given = &x509[field][entry];
        if given.is_null() && entry == "secondary" {
            continue;
        }
        let certificate = given["certificate"].as_str().ok_or_else(|| bad_request(format!("{at}.{entry}.certificate is required.")))?;
        let der = crate::x509::parse_certificate(certificate)
            .ok_or_else(|| bad_request(format!("{at}.{entry}.certificate is not usable: it is not an X.509 certificate in PEM, base64 DER or base64 PEM.")))?;
        let info = serde_json::json!({"sha1Thumbprint": crate::x509::sha1_thumbprint(&der)});
        out[entry] = json!({"certificate": certificate, "info": info});
        if signing {
            out[entry]["verified"] = json!(given["verified"].as_bool().unwrap_or(false));
            out[entry]["etag"] = json!(format!("\"{}\"", crate::tokens::random_token(6)));
        }
    }
    Ok(json!({field: out}))
}

/// A device attestation as stored, from a request body.
fn device_attestation(body: &Value) -> Result<Value, CentralError> {
    match body["type"].as_str() {
        Some("symmetricKey") => Ok(json!({"type": "symmetricKey", "symmetricKey": keys(&body["symmetricKey"], "attestation.symmetricKey")?})),
        Some("tpm") => match body["tpm"]["endorsementKey"].as_str() {
            Some(key) if STANDARD.decode(key).is_ok_and(|b| !b.is_empty()) => Ok(json!({"type": "tpm", "tpm": {"endorsementKey": key}})),
            _ => Err(bad_request("attestation.tpm.endorsementKey must be the TPM's endorsement key, in base64.")),
        },
        Some("x509") => Ok(json!({"type": "x509", "x509": certificates(&body["x509"], "clientCertificates", false)?})),
        other => Err(bad_request(format!("attestation.type '{}' is not one of symmetricKey, tpm, x509.", other.unwrap_or_default()))),
    }
}

/// What Central shows of a stored attestation: certificates by their info only.
pub fn public(stored: &Value) -> Value {
    let mut shown = stored.clone();
    let entries = shown.get_mut("x509").and_then(Value::as_object_mut).into_iter().flat_map(|x509| x509.values_mut()).filter_map(Value::as_object_mut);
    for entry in entries.flat_map(|certificates| certificates.values_mut()).filter_map(Value::as_object_mut) {
        entry.remove("certificate");
    }
    shown
}

/// JSON merge: objects merged key by key, anything else replaced.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base.as_object_mut(), patch.as_object()) {
        (Some(base), Some(patch)) => patch.iter().for_each(|(k, v)| merge(base.entry(k.clone()).or_insert(Value::Null), v)),
        _ => *base = patch.clone(),
    }
}

/// Mirrors a device's own attestation into the app's DPS as an individual enrollment, as Central
/// does, so the device registers at home with its own key or certificate; `None` (or a TPM, which
/// the sandbox's DPS does not attest) drops it and the device falls back to its group.
pub fn mirror(dps: &crate::dps::state::Dps, device_id: &str, stored: Option<&Value>) {
    match stored.filter(|a| a["type"] == "symmetricKey" || a["type"] == "x509") {
        Some(attestation) => {
            let stamp = crate::live::now_iso();
            let enrollment = json!({"registrationId": device_id, "deviceId": device_id, "provisioningStatus": "enabled", "etag": crate::live::new_etag(),
                                    "attestation": attestation, "createdDateTimeUtc": stamp, "lastUpdatedDateTimeUtc": stamp});
            dps.put_enrollment(device_id, enrollment);
        }
        None => dps.remove_enrollment(device_id),
    }
}

fn device_exists(app: &super::app::LiveCentralApp, id: &str) -> Result<(), CentralError> {
    app.devices.lock().unwrap().contains_key(id).then_some(()).ok_or_else(|| CentralError::not_found("Device", id))
}

/// The device's own attestation, or the symmetric keys its group derives for it.
pub async fn get(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    device_exists(&app, &id)?;
    let own = app.attestations.lock().unwrap().get(&id).map(public);
    Ok(Json(own.unwrap_or_else(|| json!({"type": "symmetricKey", "symmetricKey": app.derived_keys(&id)}))))
}

pub async fn put(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    device_exists(&app, &id)?;
    let stored = device_attestation(&body)?;
    mirror(&app.dps, &id, Some(&stored));
    app.attestations.lock().unwrap().insert(id, stored.clone());
    Ok(Json(public(&stored)))
}

/// Changes part of the device's own attestation (a secondary certificate, say); another type replaces it.
pub async fn patch(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    let body = parse_body(&body)?;
    device_exists(&app, &id)?;
    let mut attestations = app.attestations.lock().unwrap();
    let mut merged = attestations.get(&id).filter(|a| body.get("type").is_none_or(|t| *t == a["type"])).cloned().unwrap_or(json!({}));
    merge(&mut merged, &body);
    let stored = device_attestation(&merged)?;
    mirror(&app.dps, &id, Some(&stored));
    attestations.insert(id, stored.clone());
    Ok(Json(public(&stored)))
}

/// Back to the group's attestation: the device's own is dropped (a no-op when it has none).
pub async fn remove(
    State(cloud): State<Arc<Cloud>>,
    Path((sub, id)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Result<StatusCode, CentralError> {
    let app = open(&cloud, &sub, &headers, &q)?;
    device_exists(&app, &id)?;
    app.attestations.lock().unwrap().remove(&id);
    mirror(&app.dps, &id, None);
    Ok(StatusCode::NO_CONTENT)
}
