//! The PKCE pair, `state`, `nonce`, and the authorize URL they go into — made by `oauth2`, the
//! same crate that redeems the code (in iotm-azure, on the pipeline) — and where that URL points:
//! the authority's own authorize endpoint in every real cloud, the sandbox's advertised one there.

use iotm_azure::cloud::Service;
use iotm_azure::{AzureError, Pipeline, Request, Secret};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};

/// What one sign-in attempt needs to keep: the verifier (secret until redeemed), the `state` the
/// redirect must carry back, and the `nonce` the ID token must carry.
pub struct Attempt {
    pub verifier: Secret<String>,
    pub challenge: PkceCodeChallenge,
    pub state: String,
    pub nonce: String,
}

/// The verifier never reaches a log.
impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("challenge", &self.challenge.as_str()).field("state", &self.state).finish_non_exhaustive()
    }
}

impl Attempt {
    pub fn new() -> Attempt {
        // 32 random bytes: a 43-character verifier, the minimum RFC 7636 allows and what MSAL uses.
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Attempt {
            verifier: Secret::new(verifier.into_secret()),
            challenge,
            state: CsrfToken::new_random().into_secret(),
            nonce: CsrfToken::new_random().into_secret(),
        }
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Attempt::new()
    }
}

/// Where the browser signs in. Every real cloud: `{authority}/{tenant}/oauth2/v2.0/authorize`,
/// HTTPS, no I/O. The sandbox: the `authorization_endpoint` its OpenID configuration advertises
/// (read over HTTPS), its sign-in page on plain `http://localhost:<port>`, so a stock browser opens
/// it with no certificate warning. The browser never carries a secret there: the URL holds the PKCE
/// challenge, never the verifier, which goes only to the HTTPS token endpoint with the code.
pub async fn authorization_endpoint(pipeline: &Pipeline, tenant: &str) -> Result<url::Url, AzureError> {
    let cloud = pipeline.cloud();
    let authority = cloud.endpoints().authority_host;
    let bad = |problem: String| AzureError::InvalidInput { what: "The sign-in page's address".into(), problem };
    let endpoint = if cloud.is_sandbox() {
        let discovery = authority.join(&format!("{tenant}/v2.0/.well-known/openid-configuration")).map_err(|e| bad(e.to_string()))?;
        let conf: OpenIdConfiguration =
            pipeline.send(&Request::get(Service::Entra, "OpenIdConfiguration", discovery), None).await?.json("an OpenID configuration")?;
        url::Url::parse(&conf.authorization_endpoint).map_err(|e| bad(format!("advertised as {}, is not a URL: {e}", conf.authorization_endpoint)))?
    } else {
        url::Url::parse(&format!("{}/{tenant}/oauth2/v2.0/authorize", authority.as_str().trim_end_matches('/'))).map_err(|e| bad(e.to_string()))?
    };
    cloud.sign_in_page_allows(&endpoint)?;
    Ok(endpoint)
}

#[derive(serde::Deserialize)]
struct OpenIdConfiguration {
    authorization_endpoint: String,
}

/// What the authorize request asks for.
pub struct AuthorizeRequest<'a> {
    /// From `authorization_endpoint`.
    pub endpoint: &'a url::Url,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [&'a str],
    pub login_hint: Option<&'a str>,
}

/// `{endpoint}?…` with the PKCE challenge, state and nonce;
/// `offline_access openid profile` are always asked so a refresh token and the account's name come back.
pub fn authorize_url(request: &AuthorizeRequest, attempt: &Attempt) -> Result<url::Url, url::ParseError> {
    let endpoint = AuthUrl::from_url(request.endpoint.clone());
    let client = BasicClient::new(ClientId::new(request.client_id.to_string()))
        .set_auth_uri(endpoint)
        .set_redirect_uri(RedirectUrl::new(request.redirect_uri.to_string())?);
    let mut scopes: Vec<&str> = request.scopes.to_vec();
    for extra in ["offline_access", "openid", "profile"] {
        if !scopes.contains(&extra) {
            scopes.push(extra);
        }
    }
    let state = attempt.state.clone();
    let mut authorize = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(scopes.into_iter().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(attempt.challenge.clone())
        .add_extra_param("response_mode", "query")
        .add_extra_param("nonce", attempt.nonce.as_str())
        .add_extra_param("prompt", "select_account");
    if let Some(hint) = request.login_hint {
        authorize = authorize.add_extra_param("login_hint", hint);
    }
    Ok(authorize.url().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier_and_every_attempt_differs() {
        let a = Attempt::new();
        assert_eq!(a.verifier.expose().len(), 43);
        assert_eq!(a.challenge.as_str(), B64URL.encode(Sha256::digest(a.verifier.expose().as_bytes())));
        assert_eq!(a.challenge.method().as_str(), "S256");
        let b = Attempt::new();
        assert!(a.verifier != b.verifier && a.state != b.state && a.nonce != b.nonce);
        assert!(!format!("{a:?}").contains(a.verifier.expose().as_str()), "the verifier must not show in Debug");
    }

    #[test]
    fn the_authorize_url_carries_pkce_state_nonce_and_the_offline_scopes() {
        let attempt = Attempt::new();
        let endpoint = url::Url::parse("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize").unwrap();
        let request = AuthorizeRequest {
            endpoint: &endpoint,
            client_id: "c1",
            redirect_uri: "http://localhost:3000",
            scopes: &["https://management.azure.com/user_impersonation"],
            login_hint: None,
        };
        let url = authorize_url(&request, &attempt).unwrap();
        assert_eq!(url.path(), "/organizations/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge"], attempt.challenge.as_str());
        assert_eq!((q["client_id"].as_str(), q["response_type"].as_str(), q["response_mode"].as_str()), ("c1", "code", "query"));
        assert_eq!(q["prompt"], "select_account");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!((q["state"].as_str(), q["nonce"].as_str()), (attempt.state.as_str(), attempt.nonce.as_str()));
        assert_eq!(q["scope"], "https://management.azure.com/user_impersonation offline_access openid profile");
        assert_eq!(q["redirect_uri"], "http://localhost:3000");
    }

    #[tokio::test]
    async fn a_real_clouds_sign_in_page_is_its_authority_over_https_without_asking_anyone() {
        let pipeline = Pipeline::new(iotm_azure::Cloud::AzureUSGovernment, iotm_azure::PipelineOptions::default()).unwrap();
        let endpoint = authorization_endpoint(&pipeline, "organizations").await.unwrap();
        assert_eq!(endpoint.as_str(), "https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize");
    }
}
