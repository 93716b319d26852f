//! One interactive sign-in, start to end: listen on the redirect port, send the system browser to
//! Entra's sign-in page, wait for the redirect with this attempt's `state`, redeem the code with
//! the PKCE verifier, and return the account with its tokens. The caller stores the refresh token
//! (keyring or session) and keeps the access token in memory.

use super::aadsts::explain;
use super::authorize::{authorize_url, Attempt, AuthorizeRequest};
use super::redirect::{RedirectListener, SIGN_IN_TIMEOUT};
use super::{SignInError, SignInProgress};
use crate::accounts::{Account, RegistrationKind};
use crate::environment::Environment;
use iotm_azure::cloud::Service;
use iotm_azure::user::{redeem_code, UserApp};
use iotm_azure::{AzureError, Pipeline, Secret};
use tokio::sync::oneshot;

pub struct SignInOptions {
    pub environment: Environment,
    pub tenant: String,
    pub client_id: String,
    pub registration: RegistrationKind,
    pub port: u16,
}

pub struct SignedIn {
    pub account: Account,
    pub refresh_token: Secret<String>,
    /// The ARM access token the sign-in returned, and for how long it lasts.
    pub access_token: Secret<String>,
    pub expires_in: u64,
    pub app: UserApp,
}

/// A failed token exchange as the person reads it: an Entra refusal (its AADSTS number, read by the
/// pipeline from the token endpoint's answer) becomes its explanation; anything else keeps the
/// pipeline's code.
pub fn token_endpoint_error(error: AzureError, redirect_uri: &str) -> SignInError {
    match error.service_error().filter(|e| e.service == Service::Entra) {
        Some(e) => {
            let description = match e.aadsts {
                Some(n) => format!("AADSTS{n}: {}", e.message),
                None => e.message.clone(),
            };
            SignInError::Entra(explain(e.code.as_deref().unwrap_or("invalid_request"), &description, redirect_uri))
        }
        None => SignInError::Service { code: error.code().to_string(), message: error.to_string() },
    }
}

pub async fn sign_in(
    pipeline: &Pipeline,
    options: &SignInOptions,
    open_browser: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
    progress: &(dyn Fn(SignInProgress) + Send + Sync),
    cancel: oneshot::Receiver<()>,
) -> Result<SignedIn, SignInError> {
    let listener = RedirectListener::bind(options.port).await?;
    let redirect_uri = listener.redirect_uri();
    let attempt = Attempt::new();
    let arm_scope = pipeline.cloud().scope(Service::Arm, true).map_err(|e| token_endpoint_error(e, &redirect_uri))?;
    let authority_host = pipeline.cloud().endpoints().authority_host.as_str().to_string();
    let request = AuthorizeRequest {
        authority_host: &authority_host,
        tenant: &options.tenant,
        client_id: &options.client_id,
        redirect_uri: &redirect_uri,
        scopes: &[&arm_scope],
        login_hint: None,
    };
    let url = authorize_url(&request, &attempt).map_err(|e| SignInError::Service { code: "signin.bad_authority".into(), message: e.to_string() })?;
    progress(SignInProgress::WaitingForBrowser {
        authorize_url: url.to_string(),
        redirect_uri: redirect_uri.clone(),
        expires_in_seconds: SIGN_IN_TIMEOUT.as_secs() as u32,
    });
    if let Err(why) = open_browser(url.as_str()) {
        // The link is on screen too; the person can open it by hand while we keep listening.
        tracing::warn!("the browser did not open: {why}");
    }
    let code = listener.wait(&attempt.state, SIGN_IN_TIMEOUT, cancel).await?;
    progress(SignInProgress::Redeeming);
    let spa_origin = (options.registration == RegistrationKind::Spa).then(|| redirect_uri.clone());
    let app = UserApp { tenant: options.tenant.clone(), client_id: options.client_id.clone(), spa_origin };
    let grant = redeem_code(pipeline, &app, &Secret::new(code.0), &attempt.verifier, &redirect_uri, &[arm_scope], &attempt.nonce)
        .await
        .map_err(|e| token_endpoint_error(e, &redirect_uri))?;
    let claims = grant
        .id_token
        .ok_or_else(|| SignInError::Service { code: "signin.no_id_token".into(), message: "Entra returned no ID token, so the account is unknown.".into() })?;
    let refresh_token = grant.refresh_token.ok_or_else(|| SignInError::Service {
        code: "signin.no_refresh_token".into(),
        message: "Entra returned no refresh token (offline_access was not granted).".into(),
    })?;
    let username = claims.preferred_username.clone().unwrap_or_else(|| claims.oid.clone());
    let account = Account {
        id: Account::id_for(options.environment, &claims.oid, &claims.tid),
        display_name: claims.name.clone().unwrap_or_else(|| username.clone()),
        username,
        tenant_id: claims.tid.clone(),
        environment: options.environment,
        client_id: options.client_id.clone(),
        registration: options.registration,
        redirect_uri: redirect_uri.clone(),
        session_only: false,
        authority: authority_host.clone(),
    };
    // Later tokens come from the account's own tenant, not `organizations`.
    let app = UserApp { tenant: claims.tid, ..app };
    Ok(SignedIn { account, refresh_token, access_token: grant.access_token, expires_in: grant.expires_in, app })
}
