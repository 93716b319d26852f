//! A person signed in with the authorization code flow: redeeming the code (with the PKCE
//! verifier; with an `Origin` header for single-page-app registrations, which Entra otherwise
//! refuses with AADSTS9002327), refreshing — both exchanges built and read by `oauth2`, sent by
//! our pipeline (`oauth.rs`) — and a `Credential` that keeps one access token per
//! audience in memory and renews it silently from the refresh token before it expires. Rotated
//! refresh tokens are handed to `on_rotate` so the caller can put them back in the keyring — until
//! the credential is revoked (the account signed out): from then on it hands out no token, asks for
//! none, and writes nothing back, whoever still holds it.

use crate::auth::{BoxFuture, Credential};
use crate::cloud::Service;
use crate::error::AzureError;
use crate::oauth::{token_client, token_error, EntraTokenResponse, PipelineHttp};
use crate::pipeline::Pipeline;
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use oauth2::{AuthorizationCode, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app registration a person signs in through.
#[derive(Debug, Clone)]
pub struct UserApp {
    /// `organizations`, `common` or a tenant ID; after sign-in, the account's own tenant.
    pub tenant: String,
    pub client_id: String,
    /// For single-page-app registrations: the origin of the redirect URI (`http://localhost:3000`),
    /// sent as `Origin` when redeeming and refreshing.
    pub spa_origin: Option<String>,
}

/// Who signed in, from the ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub oid: String,
    pub tid: String,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub aud: Option<String>,
    /// When the ID token expires, in seconds since 1970.
    #[serde(default)]
    pub exp: Option<i64>,
}

/// What the token endpoint gave.
pub struct TokenGrant {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub expires_in: u64,
    pub id_token: Option<IdTokenClaims>,
}

/// How far past its `exp` an ID token is still taken: clocks drift, and five minutes is the skew
/// MSAL and Microsoft.IdentityModel allow by default.
const ID_TOKEN_CLOCK_SKEW: i64 = 5 * 60;

/// The claims of an ID token received straight from the token endpoint over TLS to an allow-listed
/// host: OpenID Connect lets that channel stand for the signature (Core 1.0, §3.1.3.7), while the
/// audience, tenant, expiry and nonce are still checked (§3.1.3.7 steps 3, 9, 11). Each of them
/// must be present: a check that passes when its claim is missing checks nothing.
///
/// `tenant` is the one the sign-in asked for: a tenant ID must come back as `tid`; `organizations`,
/// `common` or a domain name may come back as any tenant, but `tid` must still be a tenant ID, since
/// it becomes the path of every later token request and half of the account's ID.
fn id_claims(token: &str, client_id: &str, nonce: Option<&str>, tenant: &str, now: i64) -> Result<IdTokenClaims, AzureError> {
    let bad = |detail: &str| AzureError::Decode { service: Service::Entra, expected: "an ID token".into(), detail: detail.into() };
    let payload = token.split('.').nth(1).ok_or_else(|| bad("not a JWT"))?;
    let bytes = B64URL.decode(payload.trim_end_matches('=')).map_err(|_| bad("its payload is not base64url"))?;
    let claims: IdTokenClaims = serde_json::from_slice(&bytes).map_err(|e| bad(&format!("its claims do not parse: {e}")))?;
    match claims.aud.as_deref() {
        None => return Err(bad("it names no audience (aud)")),
        Some(aud) if !aud.eq_ignore_ascii_case(client_id) => return Err(bad("it was issued to another application")),
        Some(_) => {}
    }
    if !is_tenant_id(&claims.tid) {
        return Err(bad("its tenant (tid) is not a tenant ID"));
    }
    if is_tenant_id(tenant) && !claims.tid.eq_ignore_ascii_case(tenant) {
        return Err(bad("it was issued by another tenant than the one signed in to"));
    }
    match claims.exp {
        None => return Err(bad("it says nothing of when it expires (exp)")),
        Some(exp) if exp.saturating_add(ID_TOKEN_CLOCK_SKEW) < now => return Err(bad("it has expired")),
        Some(_) => {}
    }
    if let Some(expected) = nonce {
        if claims.nonce.as_deref() != Some(expected) {
            return Err(bad("its nonce is not the one this sign-in sent"));
        }
    }
    Ok(claims)
}

/// A tenant ID as Entra writes it: a GUID (`8-4-4-4-12` hexadecimal digits).
fn is_tenant_id(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What the token endpoint gave, in our types (Entra always states `expires_in`).
fn grant(response: EntraTokenResponse, id_token: Option<IdTokenClaims>) -> Result<TokenGrant, AzureError> {
    let expires_in = response.expires_in().map(|d| d.as_secs()).ok_or_else(|| AzureError::Decode {
        service: Service::Entra,
        expected: "an Entra ID token response".into(),
        detail: "it says nothing of when the token expires".into(),
    })?;
    Ok(TokenGrant {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response.refresh_token().map(|t| Secret::new(t.secret().clone())),
        expires_in,
        id_token,
    })
}

/// Redeems the authorization code with the PKCE verifier, checking the ID token's nonce.
pub async fn redeem_code(
    pipeline: &Pipeline,
    app: &UserApp,
    code: &Secret<String>,
    verifier: &Secret<String>,
    redirect_uri: &str,
    scopes: &[String],
    nonce: &str,
) -> Result<TokenGrant, AzureError> {
    let redirect =
        RedirectUrl::new(redirect_uri.to_string()).map_err(|e| AzureError::InvalidInput { what: "The redirect URI".into(), problem: e.to_string() })?;
    let mut scope: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scope.extend(["offline_access", "openid", "profile"]);
    let client = token_client(pipeline, &app.tenant, &app.client_id)?;
    let http = PipelineHttp::code_redemption(pipeline, app.spa_origin.as_deref());
    let response = client
        .exchange_code(AuthorizationCode::new(code.expose().clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().clone()))
        .set_redirect_uri(Cow::Owned(redirect))
        // oauth2 leaves scope out of a code exchange; Entra's v2 endpoint takes it (MSAL repeats it).
        .add_extra_param("scope", scope.join(" "))
        .request_async(&http)
        .await
        .map_err(token_error)?;
    let now = chrono::Utc::now().timestamp();
    let id_token = response.extra_fields().id_token.as_ref().map(|t| id_claims(t.expose(), &app.client_id, Some(nonce), &app.tenant, now)).transpose()?;
    grant(response, id_token)
}

/// A new access token for `scope` from the refresh token (which Entra may rotate).
pub async fn refresh(pipeline: &Pipeline, app: &UserApp, refresh_token: &Secret<String>, scope: &str) -> Result<TokenGrant, AzureError> {
    let client = token_client(pipeline, &app.tenant, &app.client_id)?;
    let http = PipelineHttp::refresh(pipeline, app.spa_origin.as_deref());
    let response = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().clone()))
        .add_scopes([Scope::new(scope.to_string()), Scope::new("offline_access".into())])
        .request_async(&http)
        .await
        .map_err(token_error)?;
    grant(response, None)
}

/// The scope a person asks for to call a service with `audience`: `user_impersonation` for ARM
/// and IoT Central, `.default` for IoT Hub and DPS, as their registrations expose them.
pub fn user_scope(audience: &str) -> String {
    let audience = audience.trim_end_matches('/');
    let impersonation = audience.contains("management") || audience.contains("azureiotcentral");
    format!("{audience}/{}", if impersonation { "user_impersonation" } else { ".default" })
}

const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// Called with each new refresh token Entra hands out, to store it (the keyring).
pub type OnRotate = Arc<dyn Fn(&Secret<String>) + Send + Sync>;

/// A signed-in person as a `Credential`.
pub struct UserCredential {
    pipeline: Pipeline,
    app: UserApp,
    /// `None` once revoked. `on_rotate` is called under this lock, so once `revoke` returns no
    /// rotated token can be written back, even by a refresh that was on the wire.
    refresh_token: Mutex<Option<Secret<String>>>,
    on_rotate: OnRotate,
    cache: tokio::sync::Mutex<HashMap<String, (Secret<String>, Instant)>>,
}

impl UserCredential {
    pub fn new(pipeline: Pipeline, app: UserApp, refresh_token: Secret<String>, on_rotate: OnRotate) -> UserCredential {
        UserCredential { pipeline, app, refresh_token: Mutex::new(Some(refresh_token)), on_rotate, cache: Default::default() }
    }

    /// Ends the credential for every holder (a running migration's clients too): its tokens are
    /// dropped, no token is handed out or asked for again, and no rotated refresh token is passed
    /// to `on_rotate` — not even one a refresh under way brings back.
    pub fn revoke(&self) {
        *self.refresh_token.lock().expect("refresh token lock") = None;
        if let Ok(mut cache) = self.cache.try_lock() {
            cache.clear();
        }
    }

    pub fn is_revoked(&self) -> bool {
        self.refresh_token.lock().expect("refresh token lock").is_none()
    }

    /// Seeds the cache with the access token the sign-in itself returned.
    pub async fn remember(&self, audience: &str, access_token: &Secret<String>, expires_in: u64) {
        let renew_at = Instant::now() + crate::auth::token_lifetime(expires_in).saturating_sub(RENEW_BEFORE);
        self.cache.lock().await.insert(audience.trim_end_matches('/').to_string(), (Secret::new(format!("Bearer {}", access_token.expose())), renew_at));
    }

    async fn token(&self, audience: &str) -> Result<Secret<String>, AzureError> {
        let key = audience.trim_end_matches('/').to_string();
        let mut cache = self.cache.lock().await;
        // Looked at after the cache lock: a revoke while this waited for it is seen.
        let current = self.refresh_token.lock().expect("refresh token lock").clone().ok_or(AzureError::SignedOut)?;
        if let Some((header, _)) = cache.get(&key).filter(|(_, renew_at)| Instant::now() < *renew_at) {
            return Ok(header.clone());
        }
        let grant = refresh(&self.pipeline, &self.app, &current, &user_scope(&key)).await?;
        {
            let mut kept = self.refresh_token.lock().expect("refresh token lock");
            // Revoked while the refresh was on the wire: what it brought is dropped, not stored.
            let kept = kept.as_mut().ok_or(AzureError::SignedOut)?;
            if let Some(rotated) = grant.refresh_token {
                (self.on_rotate)(&rotated);
                *kept = rotated;
            }
        }
        let header = Secret::new(format!("Bearer {}", grant.access_token.expose()));
        cache.insert(key, (header.clone(), Instant::now() + crate::auth::token_lifetime(grant.expires_in).saturating_sub(RENEW_BEFORE)));
        Ok(header)
    }
}

impl Credential for UserCredential {
    fn authorization<'a>(&'a self, audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>> {
        Box::pin(self.token(audience))
    }

    fn forget(&self, audience: &str) -> bool {
        self.cache.try_lock().map(|mut cache| cache.remove(audience.trim_end_matches('/')).is_some()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!("e30.{}.sig", B64URL.encode(claims.to_string()))
    }

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const NOW: i64 = 1_800_000_000;

    fn claims() -> serde_json::Value {
        serde_json::json!({"oid": "o", "tid": TENANT, "aud": "client", "exp": NOW + 3600, "nonce": "n1", "preferred_username": "ada@x"})
    }

    #[test]
    fn an_id_token_for_another_app_or_with_another_nonce_is_refused() {
        let good = jwt(claims());
        assert_eq!(id_claims(&good, "client", Some("n1"), TENANT, NOW).unwrap().preferred_username.as_deref(), Some("ada@x"));
        assert!(id_claims(&good, "other-client", Some("n1"), TENANT, NOW).is_err());
        assert!(id_claims(&good, "client", Some("n2"), TENANT, NOW).is_err());
        assert!(id_claims("not-a-jwt", "client", None, TENANT, NOW).is_err());
    }

    #[test]
    fn an_id_token_without_audience_tenant_or_expiry_or_expired_or_from_another_tenant_is_refused() {
        let without = |claim: &str| {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(claim);
            jwt(c)
        };
        let with = |claim: &str, value: serde_json::Value| {
            let mut c = claims();
            c[claim] = value;
            jwt(c)
        };
        let refused = |token: &str, tenant: &str| id_claims(token, "client", Some("n1"), tenant, NOW).err().map(|e| e.to_string());
        for claim in ["aud", "tid", "exp"] {
            assert!(refused(&without(claim), TENANT).is_some(), "an ID token without {claim} was taken");
        }
        let expired = refused(&with("exp", (NOW - 301).into()), TENANT).expect("an expired ID token is refused");
        assert!(expired.contains("expired"), "{expired}");
        assert!(refused(&with("exp", (NOW - 299).into()), TENANT).is_none(), "five minutes of clock skew are allowed");
        let other = refused(&jwt(claims()), "0b5e9a9e-1f3c-4d2a-9e7b-5c6d7e8f9a0b").expect("a token from another tenant is refused");
        assert!(other.contains("another tenant"), "{other}");
        assert!(refused(&jwt(claims()), "organizations").is_none(), "organizations signs in to any tenant");
        assert!(refused(&with("tid", "../../attacker".into()), "organizations").is_some(), "a tid that is no tenant ID is refused");
    }

    #[test]
    fn arm_and_central_are_asked_for_user_impersonation_hub_and_dps_for_default() {
        assert_eq!(user_scope("https://management.azure.com/"), "https://management.azure.com/user_impersonation");
        assert_eq!(user_scope("https://apps.azureiotcentral.com"), "https://apps.azureiotcentral.com/user_impersonation");
        assert_eq!(user_scope("https://iothubs.azure.net"), "https://iothubs.azure.net/.default");
    }
}
