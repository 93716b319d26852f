//! One interactive sign-in, start to end: listen on the redirect port, send the system browser to
//! Entra's sign-in page, wait for the redirect with this attempt's `state`, redeem the code with
//! the PKCE verifier, and return the account with its tokens. The caller stores the refresh token
//! (keyring or session) and keeps the access token in memory.

use super::aadsts::explain;
use super::authorize::{authorization_endpoint, authorize_url, Attempt, AuthorizeRequest};
use super::redirect::{RedirectListener, SIGN_IN_TIMEOUT};
use super::{BrowserLaunch, SignInError, SignInProgress};
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
    // Only the PKCE challenge goes to the sign-in page (plain HTTP on the sandbox); the verifier,
    // the one secret of this exchange, goes to the HTTPS token endpoint alone.
    let endpoint = authorization_endpoint(pipeline, &options.tenant).await.map_err(|e| token_endpoint_error(e, &redirect_uri))?;
    let request = AuthorizeRequest { endpoint: &endpoint, client_id: &options.client_id, redirect_uri: &redirect_uri, scopes: &[&arm_scope], login_hint: None };
    let url = authorize_url(&request, &attempt).map_err(|e| SignInError::Service { code: "signin.bad_authority".into(), message: e.to_string() })?;
    let waiting = |browser: BrowserLaunch| SignInProgress::WaitingForBrowser {
        authorize_url: url.to_string(),
        redirect_uri: redirect_uri.clone(),
        expires_in_seconds: SIGN_IN_TIMEOUT.as_secs() as u32,
        browser,
    };
    progress(waiting(BrowserLaunch::Opening));
    // An opener is watched for a moment (signin::browser): off the runtime's workers where it can.
    let opened = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| open_browser(url.as_str())),
        _ => open_browser(url.as_str()),
    };
    match opened {
        Ok(()) => progress(waiting(BrowserLaunch::Opened)),
        Err(reason) => {
            // The person opens the link by hand (the dialog makes copying it the way in) while we keep listening.
            tracing::warn!("the browser did not open: {reason}");
            progress(waiting(BrowserLaunch::NotOpened { reason }));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use iotm_azure::{Cloud, PipelineOptions};
    use std::sync::Mutex;

    async fn progress_with(opener: &(dyn Fn(&str) -> Result<(), String> + Send + Sync)) -> Vec<SignInProgress> {
        let pipeline = Pipeline::new(Cloud::AzureCloud, PipelineOptions::default()).unwrap();
        let options = SignInOptions {
            environment: Environment::AzurePublic,
            tenant: "organizations".into(),
            client_id: "c1".into(),
            registration: RegistrationKind::Desktop,
            port: 0,
        };
        let seen = Mutex::new(Vec::new());
        let (cancel, cancelled) = oneshot::channel();
        let cancel = Mutex::new(Some(cancel));
        // The person gives up once the dialog has said what happened to the browser.
        let progress = |p: SignInProgress| {
            let settled = matches!(&p, SignInProgress::WaitingForBrowser { browser, .. } if *browser != BrowserLaunch::Opening);
            seen.lock().unwrap().push(p);
            if settled {
                cancel.lock().unwrap().take().map(|c| c.send(()));
            }
        };
        let outcome = sign_in(&pipeline, &options, opener, &progress, cancelled).await;
        assert_eq!(outcome.err(), Some(SignInError::Cancelled));
        seen.into_inner().unwrap()
    }

    fn browser_states(progress: &[SignInProgress]) -> Vec<BrowserLaunch> {
        progress
            .iter()
            .map(|p| match p {
                SignInProgress::WaitingForBrowser { browser, authorize_url, .. } => {
                    assert!(authorize_url.starts_with("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"), "{authorize_url}");
                    browser.clone()
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_browser_that_did_not_open_is_reported_with_why_and_the_sign_in_keeps_waiting_for_the_link() {
        let failing = |_: &str| Err("xdg-open found no default web browser".to_string());
        let progress = progress_with(&failing).await;
        assert_eq!(browser_states(&progress), [BrowserLaunch::Opening, BrowserLaunch::NotOpened { reason: "xdg-open found no default web browser".into() }]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_browser_that_opened_is_reported_as_opened() {
        let progress = progress_with(&|_: &str| Ok(())).await;
        assert_eq!(browser_states(&progress), [BrowserLaunch::Opening, BrowserLaunch::Opened]);
    }
}
