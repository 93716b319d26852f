//! X.509 device authentication, as DPS does it: the TLS handshake asks devices for a certificate
//! (optional, so SAS devices connect as before) and proves they hold its key; which enrollment
//! group, if any, vouches for it is decided later, per request, against the groups' signing
//! certificates — they change at run time, so no fixed trust store can be given to rustls.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The certificate chain a device presented (leaf first), attached to each request of its connection.
#[derive(Clone, Debug, Default)]
pub struct ClientChain(pub Arc<Vec<CertificateDer<'static>>>);

impl ClientChain {
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.0.first()
    }
}

/// Accepts any client certificate whose handshake signature is valid; trust is decided later.
#[derive(Debug)]
pub struct AnyClientCertificate {
    provider: Arc<CryptoProvider>,
}

impl AnyClientCertificate {
    pub fn new(provider: Arc<CryptoProvider>) -> Arc<AnyClientCertificate> {
        Arc::new(AnyClientCertificate { provider })
    }
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A certificate as enrollment groups and attestations carry it: PEM, base64 of the DER, or
/// base64 of the PEM — and only if it parses as X.509.
pub fn parse_certificate(text: &str) -> Option<CertificateDer<'static>> {
    let pem = |t: &str| CertificateDer::pem_slice_iter(t.as_bytes()).next().and_then(Result::ok);
    let text = text.trim();
    let der = if text.starts_with("-----BEGIN") {
        pem(text)?
    } else {
        let compact: String = text.split_whitespace().collect();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact).ok()?;
        match std::str::from_utf8(&bytes) {
            Ok(inner) if inner.trim_start().starts_with("-----BEGIN") => pem(inner)?,
            _ => CertificateDer::from(bytes),
        }
    };
    x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(der)
}

/// SHA-1 thumbprint, upper-case hex, as Central, DPS and the portal show certificates.
pub fn sha1_thumbprint(der: &CertificateDer<'_>) -> String {
    hex(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref()).as_ref())
}

/// True when `chain` (leaf first) leads to `anchor` and the leaf is fit for client authentication now.
pub fn chains_to(chain: &ClientChain, anchor: &CertificateDer<'static>) -> bool {
    let Some(leaf) = chain.leaf() else { return false };
    let mut roots = RootCertStore::empty();
    if roots.add(anchor.clone()).is_err() {
        return false;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(verifier) = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build() else { return false };
    verifier.verify_client_cert(leaf, &chain.0[1..], UnixTime::now()).is_ok()
}

/// The subject's common name: DPS takes it as the registration ID of an X.509 device.
pub fn common_name(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let name = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    Some(name)
}

/// Subject and validity of a certificate, as DPS reports an enrollment group's signing certificate.
pub fn info(der: &CertificateDer<'_>) -> Option<serde_json::Value> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    // x509-parser hands out `time` dates; its Unix seconds cross into chrono here (certificates carry whole seconds).
    let stamp = |t: x509_parser::time::ASN1Time| chrono::DateTime::from_timestamp(t.timestamp(), 0).map(crate::timestamps::rfc3339).unwrap_or_default();
    Some(serde_json::json!({
        "subjectName": cert.subject().to_string(), "issuerName": cert.issuer().to_string(),
        "sha1Thumbprint": sha1_thumbprint(der), "sha256Thumbprint": sha256_thumbprint(der),
        "notBeforeUtc": stamp(cert.validity().not_before), "notAfterUtc": stamp(cert.validity().not_after),
        "serialNumber": cert.raw_serial_as_string().replace(':', "").to_uppercase(), "version": cert.version().0 as i64 + 1,
    }))
}

/// SHA-256 thumbprint, upper-case hex, as DPS shows it.
pub fn sha256_thumbprint(der: &CertificateDer<'_>) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(der.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_reads_from_pem_base64_der_and_base64_pem_and_nothing_else() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["device-1".into()]).unwrap().self_signed(&key).unwrap();
        let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
        for text in [cert.pem(), b64(cert.der()), b64(cert.pem().as_bytes())] {
            assert_eq!(parse_certificate(&text).as_deref(), Some(cert.der().as_ref()), "{text:.40}");
        }
        assert!(parse_certificate("not a certificate").is_none());
        assert!(parse_certificate(&b64(b"0\x03\x02\x01\x00")).is_none(), "DER that is not X.509");
        // FIPS 180 test vector through the same digest: SHA-1("abc").
        assert_eq!(hex(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b"abc").as_ref()), "A9993E364706816ABA3E25717850C26C9CD0D89D");
    }

    #[test]
    fn pem_is_read_with_rustls_own_types_not_the_unmaintained_rustls_pemfile() {
        // rustls-pemfile is unmaintained; rustls' own pki-types read PEM (PemObject).
        let manifest = include_str!("../Cargo.toml");
        let listed: Vec<&str> = manifest.lines().filter(|l| l.trim_start().starts_with("rustls-pemfile")).collect();
        assert!(listed.is_empty(), "{listed:?}");
    }
}
