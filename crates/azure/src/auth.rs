//! Who a call is made as. The pipeline asks a `Credential` for the Authorization header of each
//! try; a credential may be an Entra ID token source (here: the client credentials grant that
//! consultants' scripts and the tests use; interactive PKCE sign-in implements the same trait in its
//! own module), a SAS signer (`sas.rs`) or an IoT Central API token.

use crate::cloud::Service;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::Request;
use crate::secret::Secret;
use reqwest::Method;
use serde::Deserialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Credential: Send + Sync {
    /// The whole Authorization header value (`Bearer …` or `SharedAccessSignature …`) for a call
    /// to a service whose tokens are for `audience` (e.g. `https://management.azure.com`; empty
    /// when the cloud names none). SAS signers and API tokens ignore it.
    fn authorization<'a>(&'a self, audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>>;

    /// Drops any cached token for `audience`, after a service refused it; true when the next
    /// `authorization` will fetch a new one (so a retry can help).
    fn forget(&self, _audience: &str) -> bool {
        false
    }
}

/// An IoT Central API token (`SharedAccessSignature sr=…`), sent as it is.
pub struct CentralApiToken(Secret<String>);

impl CentralApiToken {
    pub fn new(token: Secret<String>) -> CentralApiToken {
        CentralApiToken(token)
    }
}

impl Credential for CentralApiToken {
    fn authorization<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

/// Tokens are renewed this long before they expire, so none runs out mid-call.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

struct CachedToken {
    header: Secret<String>,
    renew_at: Instant,
}

/// A service principal signing in with its secret (OAuth client credentials grant against
/// `{authority}/{tenant}/oauth2/v2.0/token`, scope `<audience>/.default`). Tokens are cached per
/// audience until shortly before they expire.
pub struct ClientSecretCredential {
    pipeline: Pipeline,
    tenant: String,
    client_id: String,
    secret: Secret<String>,
    cache: tokio::sync::Mutex<HashMap<String, CachedToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret<String>,
    #[serde(default)]
    token_type: Option<String>,
    expires_in: u64,
}

impl ClientSecretCredential {
    pub fn new(pipeline: Pipeline, tenant: &str, client_id: &str, secret: Secret<String>) -> Result<ClientSecretCredential, AzureError> {
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !plain(tenant) {
            return Err(AzureError::InvalidInput {
                what: format!("The tenant '{tenant}'"),
                problem: "must be a tenant ID or a domain like contoso.onmicrosoft.com".into(),
            });
        }
        if !plain(client_id) {
            return Err(AzureError::InvalidInput { what: format!("The client ID '{client_id}'"), problem: "must be an application (client) ID".into() });
        }
        Ok(ClientSecretCredential { pipeline, tenant: tenant.to_string(), client_id: client_id.to_string(), secret, cache: Default::default() })
    }

    async fn token(&self, audience: &str) -> Result<Secret<String>, AzureError> {
        if audience.is_empty() {
            return Err(AzureError::InvalidInput {
                what: "This service".into(),
                problem: format!("has no Entra ID audience in {}; use its shared access keys", self.pipeline.cloud().name()),
            });
        }
        // One lock for the whole fetch, so concurrent calls share one token request.
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.get(audience).filter(|c| Instant::now() < c.renew_at) {
            return Ok(cached.header.clone());
        }
        let url = self
            .pipeline
            .cloud()
            .endpoints()
            .authority_host
            .join(&format!("{}/oauth2/v2.0/token", self.tenant))
            .map_err(|e| AzureError::InvalidInput { what: "The token endpoint".into(), problem: e.to_string() })?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.secret.expose())
            .append_pair("scope", &format!("{}/.default", audience.trim_end_matches('/')))
            .finish();
        // Asking again for a token changes nothing, so a failed try may be repeated.
        let request = Request::new(Service::Entra, "Token_ClientCredentials", Method::POST, url).form(Secret::new(form)).retry_safe(true);
        let response = self.pipeline.send(&request, None).await?;
        let token: TokenResponse = response.json("an Entra ID token response")?;
        if token.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
            return Err(AzureError::Decode {
                service: Service::Entra,
                expected: "a bearer token".into(),
                detail: format!("token_type is {}", token.token_type.unwrap_or_default()),
            });
        }
        let lifetime = token_lifetime(token.expires_in);
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE.min(lifetime / 10 * 9));
        let header = Secret::new(format!("Bearer {}", token.access_token.expose()));
        cache.insert(audience.to_string(), CachedToken { header: header.clone(), renew_at });
        Ok(header)
    }
}

/// The longest an access token is kept: Entra's last 60–90 minutes (a day at most, with continuous
/// access evaluation). `expires_in` is the token endpoint's number; one past what an `Instant`
/// holds (`u64::MAX`) made `Instant::now() + lifetime` panic, and a panic aborts the app.
const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// `expires_in` seconds as a lifetime no longer than `LONGEST_TOKEN_LIFETIME`.
pub(crate) fn token_lifetime(expires_in: u64) -> Duration {
    Duration::from_secs(expires_in).min(LONGEST_TOKEN_LIFETIME)
}

impl Credential for ClientSecretCredential {
    fn authorization<'a>(&'a self, audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>> {
        Box::pin(self.token(audience))
    }

    fn forget(&self, audience: &str) -> bool {
        self.cache.try_lock().map(|mut cache| cache.remove(audience).is_some()).unwrap_or(false)
    }
}
