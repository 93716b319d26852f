//! X.509 certificates as Central takes them (a device's client certificates, an enrollment group's
//! signing certificates): the certificate string is PEM, base64 DER or base64 PEM; Central keeps
//! it and reports only its SHA-1 thumbprint (`info.sha1Thumbprint`, upper-case hex, as DPS and the
//! portal show it). SHA-1 is written out here because no crate of the sandbox offers it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The certificate's DER bytes, or why the string is not a certificate.
pub fn der(certificate: &str) -> Result<Vec<u8>, String> {
    let text = certificate.trim();
    let pem = |t: &str| rustls_pemfile::certs(&mut t.as_bytes()).next().and_then(Result::ok).map(|c| c.to_vec());
    let der = if text.starts_with("-----BEGIN") {
        pem(text)
    } else {
        let compact: String = text.split_whitespace().collect();
        STANDARD.decode(compact).ok().and_then(|bytes| match std::str::from_utf8(&bytes) {
            Ok(inner) if inner.trim_start().starts_with("-----BEGIN") => pem(inner),
            _ => Some(bytes),
        })
    }
    .ok_or("it is neither PEM nor base64")?;
    let shape = element(&der).filter(|(tag, body, rest)| *tag == 0x30 && rest.is_empty() && fields(body) == Some(vec![0x30, 0x30, 0x03]));
    shape.map(|_| der.clone()).ok_or_else(|| "it is not an X.509 certificate (DER SEQUENCE of tbsCertificate, signatureAlgorithm, signature)".into())
}

/// One DER element: its tag, its contents and what follows it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (first as usize, rest),
        0x81..=0x84 => {
            let n = (first & 0x7f) as usize;
            let len = rest.get(..n)?.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        }
        _ => return None,
    };
    Some((tag, rest.get(..len)?, &rest[len..]))
}

/// The tags of the elements filling `bytes` exactly, if they do.
fn fields(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut tags = Vec::new();
    while !bytes.is_empty() {
        let (tag, _, rest) = element(bytes)?;
        tags.push(tag);
        bytes = rest;
    }
    Some(tags)
}

/// `{"sha1Thumbprint": …}` of a certificate string, as Central's `info`.
pub fn info(certificate: &str) -> Result<serde_json::Value, String> {
    let digest = sha1(&der(certificate)?);
    Ok(serde_json::json!({"sha1Thumbprint": digest.iter().map(|b| format!("{b:02X}")).collect::<String>()}))
}

/// SHA-1 (FIPS 180-4), for thumbprints only.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*word);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_gives_the_fips_test_vectors() {
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    }

    #[test]
    fn a_certificate_is_read_from_pem_base64_der_or_base64_pem() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["device-1".into()]).unwrap().self_signed(&key).unwrap();
        let thumbprint = sha1(cert.der()).iter().map(|b| format!("{b:02X}")).collect::<String>();
        for form in [cert.pem(), STANDARD.encode(cert.der()), STANDARD.encode(cert.pem())] {
            assert_eq!(info(&form).unwrap()["sha1Thumbprint"], thumbprint.as_str());
        }
        assert!(der("<base64-certificate>").unwrap_err().contains("neither PEM nor base64"));
        assert!(der(&STANDARD.encode(b"not a certificate")).unwrap_err().contains("not an X.509 certificate"));
        assert!(der(&STANDARD.encode(&cert.der()[..100])).is_err(), "a truncated certificate");
    }
}
