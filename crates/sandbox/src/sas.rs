//! Shared access signatures as IoT Hub and DPS check them: `SharedAccessSignature sr=…&sig=…&se=…
//! &skn=…`, signature = base64(HMAC-SHA256(key, sr + "\n" + se)) over `sr` exactly as sent (Python
//! URL-encodes it, Node does not), not expired, for this host, by a policy holding the right.

use crate::live::AccessPolicy;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::Sha256;

#[derive(Debug, PartialEq, Eq)]
pub enum SasError {
    Missing,
    Malformed,
    Expired,
    WrongResource,
    UnknownPolicy,
    BadSignature,
    MissingRight(&'static str),
}

/// A device's key in a symmetric-key enrollment group: HMAC-SHA256(group key, registration ID).
pub fn derive_device_key(group_key_b64: &str, registration_id: &str) -> Option<String> {
    let key = B64.decode(group_key_b64).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(registration_id.as_bytes());
    Some(B64.encode(mac.finalize().into_bytes()))
}

pub fn sign(key_b64: &str, resource: &str, expiry: i64) -> Option<String> {
    let key = B64.decode(key_b64).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{resource}\n{expiry}").as_bytes());
    Some(B64.encode(mac.finalize().into_bytes()))
}

/// A parsed token: `sr` and `sig` as sent (still URL-encoded), expiry, key name.
pub struct Token<'a> {
    pub sr: &'a str,
    pub sig: String,
    pub se: i64,
    pub skn: Option<&'a str>,
}

impl Token<'_> {
    /// The resource, decoded and lower-cased, for comparing with a host or path.
    pub fn resource(&self) -> String {
        percent_decode_str(self.sr).decode_utf8_lossy().to_ascii_lowercase()
    }

    pub fn signed_with(&self, key_b64: &str) -> bool {
        sign(key_b64, self.sr, self.se).as_deref() == Some(self.sig.as_str())
    }
}

pub fn parse(header: Option<&str>, now: i64) -> Result<Token<'_>, SasError> {
    let token = header.ok_or(SasError::Missing)?.strip_prefix("SharedAccessSignature ").ok_or(SasError::Malformed)?;
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in token.split('&') {
        match pair.split_once('=') {
            Some(("sr", v)) => sr = Some(v),
            Some(("sig", v)) => sig = Some(v),
            Some(("se", v)) => se = Some(v),
            Some(("skn", v)) => skn = Some(v),
            _ => {}
        }
    }
    let (sr, sig, se) = (sr.ok_or(SasError::Malformed)?, sig.ok_or(SasError::Malformed)?, se.ok_or(SasError::Malformed)?);
    let se: i64 = se.parse().map_err(|_| SasError::Malformed)?;
    if se <= now {
        return Err(SasError::Expired);
    }
    Ok(Token { sr, sig: percent_decode_str(sig).decode_utf8_lossy().into_owned(), se, skn })
}

/// Checks `header` for `host`, at sandbox time `now`, needing `right`; returns the policy.
pub fn verify<'p>(header: Option<&str>, host: &str, now: i64, policies: &'p [AccessPolicy], right: &'static str) -> Result<&'p AccessPolicy, SasError> {
    let token = parse(header, now)?;
    if !token.resource().starts_with(&host.to_ascii_lowercase()) {
        return Err(SasError::WrongResource);
    }
    let policy = policies.iter().find(|p| Some(p.key_name.as_str()) == token.skn).ok_or(SasError::UnknownPolicy)?;
    if !token.signed_with(&policy.primary_key) && !token.signed_with(&policy.secondary_key) {
        return Err(SasError::BadSignature);
    }
    if !policy.allows(right) {
        return Err(SasError::MissingRight(right));
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rights: &'static str) -> AccessPolicy {
        AccessPolicy { key_name: "owner".into(), primary_key: crate::live::new_key(), secondary_key: crate::live::new_key(), rights }
    }

    fn token(p: &AccessPolicy, sr: &str, se: i64) -> String {
        let sig = sign(&p.primary_key, sr, se).unwrap();
        let sig: String = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!("SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn=owner")
    }

    #[test]
    fn python_style_encoded_and_node_style_raw_resources_both_verify() {
        let p = [policy("RegistryRead")];
        assert!(verify(Some(&token(&p[0], "localhost%3A8443", 2000)), "localhost:8443", 1000, &p, "RegistryRead").is_ok());
        assert!(verify(Some(&token(&p[0], "localhost:8443/devices/d1", 2000)), "localhost:8443", 1000, &p, "RegistryRead").is_ok());
    }

    #[test]
    fn each_kind_of_bad_token_is_told_apart() {
        let p = [policy("RegistryRead")];
        let good = token(&p[0], "localhost%3A8443", 2000);
        assert_eq!(verify(None, "localhost:8443", 1000, &p, "RegistryRead").unwrap_err(), SasError::Missing);
        assert_eq!(verify(Some(&good), "localhost:8443", 2000, &p, "RegistryRead").unwrap_err(), SasError::Expired);
        assert_eq!(verify(Some(&good), "localhost:9999", 1000, &p, "RegistryRead").unwrap_err(), SasError::WrongResource);
        assert_eq!(verify(Some(&good), "localhost:8443", 1000, &p, "RegistryWrite").unwrap_err(), SasError::MissingRight("RegistryWrite"));
        let forged = good.replace("se=2000", "se=3000");
        assert_eq!(verify(Some(&forged), "localhost:8443", 1000, &p, "RegistryRead").unwrap_err(), SasError::BadSignature);
    }
}
