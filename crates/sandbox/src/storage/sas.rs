//! A service SAS, as ARM's `listServiceSas` mints it: HMAC-SHA256 with the account key over the
//! string-to-sign of service version 2020-12-06 and later. Azurite verifies it like Storage does.

use super::VERSION;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the caller asked to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSas {
    /// `/blob/<account>/<container>[/<blob>]`.
    pub canonicalized_resource: String,
    /// `c` (container) or `b` (blob).
    pub resource: String,
    pub permissions: String,
    pub start: Option<String>,
    pub expiry: String,
    pub protocol: String,
    pub identifier: Option<String>,
}

/// The SAS token (a query string without `?`), signed with `key` (base64).
pub fn sign(sas: &ServiceSas, key: &str) -> Result<String, String> {
    let start = sas.start.clone().unwrap_or_default();
    let identifier = sas.identifier.clone().unwrap_or_default();
    // sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot time, encryption scope, rscc, rscd, rsce, rscl, rsct
    let to_sign = [
        sas.permissions.as_str(),
        &start,
        &sas.expiry,
        &sas.canonicalized_resource,
        &identifier,
        "",
        &sas.protocol,
        VERSION,
        &sas.resource,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let key = B64.decode(key).map_err(|_| "the account key is not base64".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "the account key is empty".to_string())?;
    mac.update(to_sign.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("sv", VERSION);
    if !start.is_empty() {
        query.append_pair("st", &start);
    }
    query.append_pair("se", &sas.expiry).append_pair("sr", &sas.resource).append_pair("sp", &sas.permissions).append_pair("spr", &sas.protocol);
    if !identifier.is_empty() {
        query.append_pair("si", &identifier);
    }
    query.append_pair("sig", &signature);
    Ok(query.finish())
}

/// An RFC 3339 time as a SAS carries it: UTC, whole seconds (`2030-01-01T00:00:00Z`).
pub fn sas_time(value: &str) -> Result<String, String> {
    let t = chrono::DateTime::parse_from_rfc3339(value).map_err(|e| format!("'{value}' is not an ISO 8601 date and time ({e})"))?;
    Ok(t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_sas_signs_the_documented_fields_in_order() {
        let sas = ServiceSas {
            canonicalized_resource: "/blob/devstoreaccount1/exports".into(),
            resource: "c".into(),
            permissions: "rwl".into(),
            start: None,
            expiry: "2030-01-01T00:00:00Z".into(),
            protocol: "https".into(),
            identifier: None,
        };
        let token = sign(&sas, crate::azurite::WELL_KNOWN_KEY).unwrap();
        assert!(token.starts_with("sv=2024-08-04&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=rwl&spr=https&sig="), "{token}");
        // The same string-to-sign, computed independently.
        let to_sign = "rwl\n\n2030-01-01T00:00:00Z\n/blob/devstoreaccount1/exports\n\n\nhttps\n2024-08-04\nc\n\n\n\n\n\n\n";
        let mut mac = Hmac::<Sha256>::new_from_slice(&B64.decode(crate::azurite::WELL_KNOWN_KEY).unwrap()).unwrap();
        mac.update(to_sign.as_bytes());
        let expected: String = url::form_urlencoded::byte_serialize(B64.encode(mac.finalize().into_bytes()).as_bytes()).collect();
        assert!(token.ends_with(&format!("sig={expected}")), "{token}");
    }

    #[test]
    fn sas_times_are_utc_whole_seconds() {
        assert_eq!(sas_time("2017-05-24T11:32:48.8457197Z").unwrap(), "2017-05-24T11:32:48Z");
        assert_eq!(sas_time("2030-01-01T02:00:00+02:00").unwrap(), "2030-01-01T00:00:00Z");
        assert!(sas_time("tomorrow").is_err());
    }
}
