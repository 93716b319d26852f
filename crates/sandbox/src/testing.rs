//! What tests reach for. In this crate's tests: an empty cloud (its state folder lives as long as
//! the guard), a placement, and a SAS header for a policy, signed as an SDK signs it. For the tests
//! of the crates that run the sandbox (the `testing` feature), the read-outs of service state that
//! no API gives, kept next to their types: `Hub::device_count`, `Dps::linked_hub_names`,
//! `Dps::enrollment_group_bodies`, `Grants::revoke_refresh_tokens`, `LiveCentralApp::job_ids` and
//! `LiveCentralApp::device_group_ids`.

use crate::live::{AccessPolicy, Placement};
#[cfg(test)]
use {crate::cloud::Cloud, std::sync::Arc};

#[cfg(test)]
pub fn cloud() -> (tempfile::TempDir, Arc<Cloud>) {
    let dir = tempfile::tempdir().unwrap();
    let authority = crate::tls::load_or_create(dir.path()).unwrap();
    let signer = crate::tokens::TokenSigner::load_or_create(dir.path()).unwrap();
    (dir, Cloud::new(signer, authority.server_config, authority.device_config))
}

pub fn placement() -> Placement {
    Placement { subscription_id: "sub".into(), resource_group: "rg".into(), location: "westeurope".into() }
}

pub fn sas(host: &str, policy: &AccessPolicy, now: i64) -> axum::http::HeaderMap {
    let expiry = now + 3600;
    let sr: String = url::form_urlencoded::byte_serialize(host.as_bytes()).collect();
    let sig = crate::sas::sign(&policy.primary_key, &sr, expiry).unwrap();
    let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry}&skn={}", policy.key_name).parse().unwrap());
    headers
}
