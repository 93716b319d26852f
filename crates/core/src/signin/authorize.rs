//! The PKCE pair, `state`, `nonce`, and the authorize URL they go into.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

fn random_urlsafe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    B64URL.encode(buf)
}

/// What one sign-in attempt needs to keep: the verifier (secret until redeemed), the `state` the
/// redirect must carry back, and the `nonce` the ID token must carry.
pub struct Attempt {
    pub verifier: String,
    pub challenge: String,
    pub state: String,
    pub nonce: String,
}

/// The verifier never reaches a log.
impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("challenge", &self.challenge).field("state", &self.state).finish_non_exhaustive()
    }
}

impl Attempt {
    pub fn new() -> Attempt {
        // 32 random bytes: a 43-character verifier, the minimum RFC 7636 allows and what MSAL uses.
        let verifier = random_urlsafe(32);
        let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
        Attempt { verifier, challenge, state: random_urlsafe(16), nonce: random_urlsafe(16) }
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Attempt::new()
    }
}

/// What the authorize request asks for.
pub struct AuthorizeRequest<'a> {
    /// `https://login.microsoftonline.com` or the sandbox's `https://localhost:<port>`.
    pub authority_host: &'a str,
    /// `organizations`, `common` or a tenant ID.
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [&'a str],
    pub login_hint: Option<&'a str>,
}

/// `{authority}/{tenant}/oauth2/v2.0/authorize?…` with the PKCE challenge, state and nonce;
/// `offline_access openid profile` are always asked so a refresh token and the account's name come back.
pub fn authorize_url(request: &AuthorizeRequest, attempt: &Attempt) -> Result<url::Url, url::ParseError> {
    let mut url = url::Url::parse(&format!("{}/{}/oauth2/v2.0/authorize", request.authority_host.trim_end_matches('/'), request.tenant))?;
    let mut scopes: Vec<&str> = request.scopes.to_vec();
    for extra in ["offline_access", "openid", "profile"] {
        if !scopes.contains(&extra) {
            scopes.push(extra);
        }
    }
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", request.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &attempt.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "select_account");
        if let Some(hint) = request.login_hint {
            query.append_pair("login_hint", hint);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier_and_every_attempt_differs() {
        let a = Attempt::new();
        assert_eq!(a.verifier.len(), 43);
        assert_eq!(a.challenge, B64URL.encode(Sha256::digest(a.verifier.as_bytes())));
        let b = Attempt::new();
        assert!(a.verifier != b.verifier && a.state != b.state && a.nonce != b.nonce);
        assert!(!format!("{a:?}").contains(&a.verifier), "the verifier must not show in Debug");
    }

    #[test]
    fn the_authorize_url_carries_pkce_state_nonce_and_the_offline_scopes() {
        let attempt = Attempt::new();
        let request = AuthorizeRequest {
            authority_host: "https://login.microsoftonline.com/",
            tenant: "organizations",
            client_id: "c1",
            redirect_uri: "http://localhost:3000",
            scopes: &["https://management.azure.com/user_impersonation"],
            login_hint: None,
        };
        let url = authorize_url(&request, &attempt).unwrap();
        assert_eq!(url.path(), "/organizations/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge"], attempt.challenge);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!((q["state"].as_str(), q["nonce"].as_str()), (attempt.state.as_str(), attempt.nonce.as_str()));
        assert_eq!(q["scope"], "https://management.azure.com/user_impersonation offline_access openid profile");
        assert_eq!(q["redirect_uri"], "http://localhost:3000");
    }
}
