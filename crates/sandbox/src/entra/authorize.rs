//! `/authorize`: checks the request the way Entra does, shows the sign-in and consent page, and
//! on Accept answers the app with a one-time code bound to the PKCE challenge, in the
//! `response_mode` it asked for. Served on the HTTPS listener and on the plain-HTTP sign-in pages
//! listener (`sign_in_pages`), which is what the OpenID configuration sends browsers to.

use super::errors::AadError;
use super::grants::AuthCode;
use super::response_mode::ResponseMode;
use super::{page, scopes};
use crate::cloud::Cloud;
use crate::scenario::{AppKind, AppRegistration, Tenant};
use crate::tokens::random_token;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: Option<String>,
    pub response_type: Option<String>,
    pub redirect_uri: Option<String>,
    /// `query` (the default), `fragment` or `form_post`.
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub login_hint: Option<String>,
    /// Set by the sign-in page's form: the chosen user, and whether the user accepted.
    pub user: Option<String>,
    pub decision: Option<String>,
}

/// Entra shows an error page, not a redirect, when it cannot trust the redirect URI.
fn error_page(err: AadError) -> Response {
    (StatusCode::BAD_REQUEST, Html(page::error(&err.description_line()))).into_response()
}

fn redirect_with_error(redirect_uri: &str, mode: ResponseMode, state: Option<&str>, error: &str, err: AadError) -> Response {
    let description = err.description_line();
    let mut params = vec![("error", error), ("error_description", description.as_str())];
    params.extend(state.map(|s| ("state", s)));
    mode.deliver(redirect_uri, &params)
}

/// Loopback redirects of public clients match on any port, as Entra allows; everything else exactly.
pub fn redirect_uri_registered(app: &AppRegistration, redirect_uri: &str) -> bool {
    let Ok(asked) = Url::parse(redirect_uri) else { return false };
    app.redirect_uris.iter().any(|registered| {
        let Ok(reg) = Url::parse(registered) else { return false };
        let loopback = matches!(reg.host_str(), Some("localhost") | Some("127.0.0.1")) && reg.scheme() == "http";
        if loopback && app.kind == AppKind::Desktop {
            asked.scheme() == "http" && asked.host_str() == reg.host_str() && asked.path() == reg.path()
        } else {
            asked.as_str().trim_end_matches('/') == reg.as_str().trim_end_matches('/')
        }
    })
}

struct Checked {
    tenant: Option<Tenant>,
    app: AppRegistration,
    redirect_uri: String,
    mode: ResponseMode,
    scope: String,
    challenge: String,
}

/// Validation in Entra's order: client, redirect URI (error page), then the rest (redirected).
/// The error is the finished response (page or redirect), built at most once per request.
#[allow(clippy::result_large_err)]
fn check(cloud: &Cloud, tenant: &str, req: &AuthorizeRequest) -> Result<Checked, Response> {
    let scenario = cloud.scenario();
    let directory = match tenant {
        "common" | "organizations" | "consumers" => None,
        t => Some(scenario.tenant(t).cloned().ok_or_else(|| error_page(AadError::tenant_not_found(t)))?),
    };
    let client_id = req.client_id.as_deref().unwrap_or_default();
    let (_, app) = scenario.app_registration(client_id).ok_or_else(|| error_page(AadError::unknown_client(client_id)))?;
    let redirect_uri = req.redirect_uri.clone().unwrap_or_default();
    if app.kind == AppKind::Confidential && app.redirect_uris.is_empty() || !redirect_uri_registered(app, &redirect_uri) {
        return Err(error_page(AadError::bad_request(
            "invalid_request",
            50011,
            format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."),
        )));
    }
    let state = req.state.as_deref();
    // An unknown mode is answered in the default one, as Entra does.
    let mode =
        ResponseMode::parse(req.response_mode.as_deref()).map_err(|err| redirect_with_error(&redirect_uri, ResponseMode::Query, state, err.error, err))?;
    if req.response_type.as_deref() != Some("code") {
        let err = AadError::bad_request(
            "unsupported_response_type",
            70005,
            "The provided value for the input parameter 'response_type' is not allowed for this request. Expected value: 'code'.",
        );
        return Err(redirect_with_error(&redirect_uri, mode, state, "unsupported_response_type", err));
    }
    let challenge = req.code_challenge.clone().unwrap_or_default();
    if challenge.is_empty() {
        let err = AadError::bad_request("invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.");
        return Err(redirect_with_error(&redirect_uri, mode, state, "invalid_request", err));
    }
    if req.code_challenge_method.as_deref() != Some("S256") {
        let err = AadError::bad_request("invalid_request", 50131, "The sandbox requires PKCE with code_challenge_method=S256.");
        return Err(redirect_with_error(&redirect_uri, mode, state, "invalid_request", err));
    }
    let scope = req.scope.clone().unwrap_or_default();
    if let Err(err) = scopes::parse(&scope) {
        return Err(redirect_with_error(&redirect_uri, mode, state, err.error, err));
    }
    Ok(Checked { tenant: directory, app: app.clone(), redirect_uri, mode, scope, challenge })
}

pub async fn show(Path(tenant): Path<String>, State(cloud): State<Arc<Cloud>>, Query(req): Query<AuthorizeRequest>) -> Response {
    let checked = match check(&cloud, &tenant, &req) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let scenario = cloud.scenario();
    let users: Vec<(&Tenant, &crate::scenario::User)> =
        scenario.tenants.iter().filter(|t| checked.tenant.as_ref().is_none_or(|d| d.id == t.id)).flat_map(|t| t.users.iter().map(move |u| (t, u))).collect();
    Html(page::sign_in(&tenant, &checked.app, &users, &checked.scope, &req)).into_response()
}

pub async fn submit(Path(tenant): Path<String>, State(cloud): State<Arc<Cloud>>, Form(req): Form<AuthorizeRequest>) -> Response {
    let checked = match check(&cloud, &tenant, &req) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let state = req.state.as_deref();
    if req.decision.as_deref() != Some("accept") {
        let err = AadError::bad_request("access_denied", 65004, "User declined to consent to access the app.");
        return redirect_with_error(&checked.redirect_uri, checked.mode, state, "access_denied", err);
    }
    let user_id = req.user.clone().unwrap_or_default();
    let Some((user_tenant, _)) = cloud.scenario().user(&user_id).map(|(t, u)| (t.id.clone(), u.id.clone())) else {
        return error_page(AadError::bad_request("invalid_request", 50034, "The user account does not exist in the directory."));
    };
    let code = random_token(48);
    cloud.grants().add_code(
        code.clone(),
        AuthCode {
            client_id: checked.app.client_id.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            user_id,
            tenant_id: user_tenant,
            scopes: checked.scope.split_whitespace().map(str::to_string).collect(),
            code_challenge: checked.challenge,
            nonce: req.nonce.clone(),
            issued_at: cloud.now(),
        },
    );
    let session_state = random_token(12);
    let mut params = vec![("code", code.as_str())];
    params.extend(state.map(|s| ("state", s)));
    params.push(("session_state", session_state.as_str()));
    checked.mode.deliver(&checked.redirect_uri, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(kind: AppKind, uri: &str) -> AppRegistration {
        AppRegistration { client_id: "c".into(), display_name: "d".into(), kind, redirect_uris: vec![uri.into()], service_principal_id: None }
    }

    #[test]
    fn desktop_loopback_redirects_match_on_any_port() {
        let desktop = app(AppKind::Desktop, "http://localhost");
        assert!(redirect_uri_registered(&desktop, "http://localhost:3000"));
        assert!(redirect_uri_registered(&desktop, "http://localhost:51234/"));
        assert!(!redirect_uri_registered(&desktop, "http://localhost:3000/callback"));
        assert!(!redirect_uri_registered(&desktop, "https://evil.example/"));
    }

    #[test]
    fn spa_redirects_match_exactly() {
        let spa = app(AppKind::Spa, "http://localhost:3000");
        assert!(redirect_uri_registered(&spa, "http://localhost:3000"));
        assert!(redirect_uri_registered(&spa, "http://localhost:3000/"));
        assert!(!redirect_uri_registered(&spa, "http://localhost:3001"));
    }
}
