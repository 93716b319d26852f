//! The sandbox's certificate authority. Official clients only trust HTTPS, and only `localhost` and
//! `127.0.0.1` resolve offline, so one leaf certificate for those two names serves every listener.
//! The CA is generated on first start and kept in the state folder, so a user trusts it once
//! (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`); the leaf is re-issued each start.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const CA_CERT_FILE: &str = "sandbox-ca.pem";
const CA_KEY_FILE: &str = "sandbox-ca.key";
/// System roots plus the sandbox CA: what `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` should name.
pub const CA_BUNDLE_FILE: &str = "sandbox-ca-bundle.pem";
const SYSTEM_BUNDLES: &[&str] = &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

pub struct Authority {
    pub ca_cert_path: PathBuf,
    pub bundle_path: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
    /// The same certificate, also asking devices for theirs (DPS's X.509 attestation).
    pub device_config: Arc<rustls::ServerConfig>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.to_path_buf(), source }
}

fn new_ca() -> Result<(String, KeyPair), TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "IoT Migrator Sandbox CA");
    params.distinguished_name.push(DnType::OrganizationName, "IoT Migrator sandbox cloud (local only)");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    valid_for(&mut params, 3650);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key))
}

/// Loads the CA from `dir`, creating it on first use, and issues this run's leaf certificate.
pub fn load_or_create(dir: &Path) -> Result<Authority, TlsError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    let (ca_pem, ca_key) = match (std::fs::read_to_string(&ca_cert_path), std::fs::read_to_string(&ca_key_path)) {
        (Ok(cert), Ok(key)) => (cert, KeyPair::from_pem(&key)?),
        _ => {
            let (cert, key) = new_ca()?;
            write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&ca_cert_path, &cert).map_err(io(&ca_cert_path))?;
            (cert, key)
        }
    };
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.subject_alt_names = vec![SanType::DnsName("localhost".try_into()?), SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    valid_for(&mut params, 365);
    let leaf = params.signed_by(&leaf_key, &issuer)?;

    let bundle_path = dir.join(CA_BUNDLE_FILE);
    let mut bundle = SYSTEM_BUNDLES.iter().find_map(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    bundle.push('\n');
    bundle.push_str(&ca_pem);
    std::fs::write(&bundle_path, bundle).map_err(io(&bundle_path))?;

    let certs = vec![leaf.der().clone(), pem_to_der(&ca_pem)];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut device_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(crate::x509::AnyClientCertificate::new(provider))
        .with_single_cert(certs, key)?;
    device_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Authority { ca_cert_path, bundle_path, server_config: Arc::new(config), device_config: Arc::new(device_config) })
}

/// A certificate for `localhost` and 127.0.0.1 issued by the sandbox CA, written beside it as
/// `<name>-cert.pem` and `<name>-key.pem` — for the real emulators the sandbox runs next to itself
/// (Azurite), so clients trusting the sandbox CA trust them too.
pub fn issue_localhost_certificate(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), TlsError> {
    let ca_pem = std::fs::read_to_string(dir.join(CA_CERT_FILE)).map_err(io(dir))?;
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY_FILE)).map_err(io(dir))?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.subject_alt_names = vec![SanType::DnsName("localhost".try_into()?), SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    valid_for(&mut params, 365);
    let cert = params.signed_by(&key, &issuer)?;
    let (cert_path, key_path) = (dir.join(format!("{name}-cert.pem")), dir.join(format!("{name}-key.pem")));
    std::fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    Ok((cert_path, key_path))
}

/// Valid from yesterday (clients' clocks differ) for `days` days. rcgen takes `time` dates: this is
/// the one place they are made, from chrono's calendar date through rcgen's own constructor.
fn valid_for(params: &mut CertificateParams, days: i64) {
    use chrono::Datelike;
    let date = |t: chrono::DateTime<chrono::Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);
    let now = chrono::Utc::now();
    params.not_before = date(now - chrono::Duration::days(1));
    params.not_after = date(now + chrono::Duration::days(days));
}

fn pem_to_der(pem: &str) -> rustls::pki_types::CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("the CA file holds a certificate that parses")
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    std::fs::write(path, bytes).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let first = std::fs::read_to_string(dir.path().join(CA_CERT_FILE)).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&again.ca_cert_path).unwrap(), first);
        assert!(std::fs::read_to_string(&again.bundle_path).unwrap().ends_with(first.as_str()));
    }
}
