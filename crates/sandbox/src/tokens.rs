//! RS256 JSON Web Tokens, as Entra ID issues them: signed with a key published in the JWKS, checked
//! by every other emulated service (signature, audience, expiry against the sandbox clock).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

const KEY_FILE: &str = "sandbox-token-signing.key";

pub struct TokenSigner {
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    public: RsaPublicKey,
    pub kid: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token is for audience '{0}'")]
    WrongAudience(String),
}

impl TokenSigner {
    /// Loads the signing key from `dir`, generating it on first start (a 2048-bit RSA key).
    pub fn load_or_create(dir: &Path) -> std::io::Result<TokenSigner> {
        let path = dir.join(KEY_FILE);
        let key = match std::fs::read_to_string(&path).ok().and_then(|pem| RsaPrivateKey::from_pkcs8_pem(&pem).ok()) {
            Some(key) => key,
            None => {
                let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(std::io::Error::other)?;
                let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(std::io::Error::other)?;
                std::fs::create_dir_all(dir)?;
                std::fs::write(&path, pem.as_bytes())?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                }
                key
            }
        };
        let public = key.to_public_key();
        let kid = B64URL.encode(&Sha256::digest(public.n().to_bytes_be())[..16]);
        Ok(TokenSigner { signing: SigningKey::new(key), verifying: VerifyingKey::new(public.clone()), public, kid })
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "x5t": self.kid,
            "n": B64URL.encode(self.public.n().to_bytes_be()),
            "e": B64URL.encode(self.public.e().to_bytes_be()),
        }]})
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid});
        let signing_input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()));
        let signature = self.signing.sign(signing_input.as_bytes()).to_bytes();
        format!("{signing_input}.{}", B64URL.encode(signature))
    }

    /// Checks signature and expiry (`now` is the sandbox clock) and that `aud` is one of `audiences`.
    pub fn verify(&self, token: &str, now: i64, audiences: &[&str]) -> Result<Value, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let signature = B64URL.decode(signature).map_err(|_| TokenError::Malformed)?;
        let signature = Signature::try_from(signature.as_slice()).map_err(|_| TokenError::Malformed)?;
        self.verifying.verify(format!("{header}.{payload}").as_bytes(), &signature).map_err(|_| TokenError::BadSignature)?;
        let claims: Value = B64URL.decode(payload).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or(TokenError::Malformed)?;
        if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
            return Err(TokenError::Expired);
        }
        let aud = claims["aud"].as_str().unwrap_or_default();
        if !audiences.iter().any(|a| a.trim_end_matches('/') == aud.trim_end_matches('/')) {
            return Err(TokenError::WrongAudience(aud.to_string()));
        }
        Ok(claims)
    }
}

/// A random URL-safe string, for codes, refresh tokens and secrets.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    B64URL.encode(buf)
}

/// PKCE S256: base64url(SHA-256(verifier)) must equal the challenge sent to /authorize.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    B64URL.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> (tempfile::TempDir, TokenSigner) {
        let dir = tempfile::tempdir().unwrap();
        let signer = TokenSigner::load_or_create(dir.path()).unwrap();
        (dir, signer)
    }

    #[test]
    fn a_signed_token_verifies_and_a_tampered_one_does_not() {
        let (_dir, s) = signer();
        let token = s.sign(&json!({"aud": "https://management.azure.com/", "exp": 2000, "oid": "u1"}));
        assert_eq!(s.verify(&token, 1000, &["https://management.azure.com"]).unwrap()["oid"], "u1");
        assert_eq!(s.verify(&token, 2000, &["https://management.azure.com/"]), Err(TokenError::Expired));
        assert!(matches!(s.verify(&token, 1000, &["https://iothubs.azure.net"]), Err(TokenError::WrongAudience(_))));
        let forged = s.sign(&json!({"aud": "https://management.azure.com/", "exp": 2000, "oid": "admin"}));
        let mixed = format!(
            "{}.{}",
            &token[..token.rfind('.').unwrap()].replace(token.split('.').nth(1).unwrap(), forged.split('.').nth(1).unwrap()),
            token.rsplit('.').next().unwrap()
        );
        assert_eq!(s.verify(&mixed, 1000, &["https://management.azure.com/"]), Err(TokenError::BadSignature));
        assert_eq!(s.verify("not-a-jwt", 1000, &[]), Err(TokenError::Malformed));
    }

    #[test]
    fn the_key_is_kept_across_starts() {
        let (dir, s) = signer();
        let again = TokenSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(s.kid, again.kid);
    }

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        assert!(pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_s256_matches("another-verifier", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }
}
