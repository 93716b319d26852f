//! `/token`: authorization code with PKCE, refresh token and client credentials, each with the
//! checks and AADSTS errors Entra applies — including the SPA rules (Origin header, 24-hour
//! refresh tokens).

use super::errors::AadError;
use super::grants::{RefreshGrant, RefreshLookup};
use super::scopes::{self, RequestedScopes};
use crate::cloud::Cloud;
use crate::scenario::AppKind;
use crate::tokens::{pkce_s256_matches, random_token};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

const CODE_SECONDS: i64 = 600;
const SPA_REFRESH_SECONDS: i64 = 24 * 3600;
const REFRESH_SECONDS: i64 = 90 * 24 * 3600;

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_info: Option<String>,
}

fn invalid_grant(code: u32, description: impl Into<String>) -> AadError {
    AadError::bad_request("invalid_grant", code, description)
}

/// The SPA rule: SPA tokens are redeemed cross-origin (with Origin), others never are.
fn check_origin(kind: AppKind, redirect_uris: &[String], headers: &HeaderMap) -> Result<(), AadError> {
    let origin = headers.get("origin").and_then(|v| v.to_str().ok());
    match (kind, origin) {
        (AppKind::Spa, None) => Err(AadError::bad_request(
            "invalid_request",
            9002327,
            "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
        )),
        (AppKind::Spa, Some(origin)) if !redirect_uris.iter().any(|u| u.trim_end_matches('/').starts_with(origin.trim_end_matches('/'))) => {
            Err(AadError::bad_request(
                "invalid_request",
                9002326,
                format!("Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'."),
            ))
        }
        (AppKind::Desktop | AppKind::Confidential, Some(origin)) => Err(AadError::bad_request(
            "invalid_request",
            9002326,
            format!("Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'."),
        )),
        _ => Ok(()),
    }
}

pub async fn token(
    Path(_tenant): Path<String>,
    State(cloud): State<Arc<Cloud>>,
    headers: HeaderMap,
    Form(req): Form<TokenRequest>,
) -> Result<Json<Value>, AadError> {
    let client_id = req.client_id.clone().unwrap_or_default();
    let (kind, redirect_uris, sp_id, app_tenant) = {
        let scenario = cloud.scenario();
        let (tenant, app) = scenario.app_registration(&client_id).ok_or_else(|| AadError::unknown_client(&client_id))?;
        (app.kind, app.redirect_uris.clone(), app.service_principal_id.clone(), tenant.id.clone())
    };
    match req.grant_type.as_deref() {
        Some("authorization_code") => {
            check_origin(kind, &redirect_uris, &headers)?;
            authorization_code(&cloud, &client_id, kind, req)
        }
        Some("refresh_token") => {
            check_origin(kind, &redirect_uris, &headers)?;
            refresh(&cloud, &client_id, kind, req)
        }
        Some("client_credentials") => client_credentials(&cloud, &client_id, kind, sp_id, &app_tenant, req),
        other => {
            Err(AadError::bad_request("unsupported_grant_type", 70003, format!("The app requested an unsupported grant type '{}'.", other.unwrap_or_default())))
        }
    }
}

fn authorization_code(cloud: &Cloud, client_id: &str, kind: AppKind, req: TokenRequest) -> Result<Json<Value>, AadError> {
    let code = req.code.unwrap_or_default();
    // One use only: removed whether or not the rest checks out, as Entra burns a presented code.
    let grant = cloud
        .grants()
        .redeem_code(&code)
        .ok_or_else(|| invalid_grant(70000, "The provided value for the 'code' parameter is not valid. The code has expired or was already redeemed."))?;
    if grant.client_id != client_id {
        return Err(invalid_grant(70000, "The provided authorization code was issued to a different client."));
    }
    if cloud.now() - grant.issued_at > CODE_SECONDS {
        return Err(invalid_grant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."));
    }
    if req.redirect_uri.as_deref().map(|u| u.trim_end_matches('/')) != Some(grant.redirect_uri.trim_end_matches('/')) {
        return Err(invalid_grant(500112, "The reply address does not match the reply address provided when requesting Authorization code."));
    }
    let verifier = req.code_verifier.unwrap_or_default();
    if verifier.is_empty() {
        return Err(AadError::bad_request("invalid_request", 900144, "The request body must contain the following parameter: 'code_verifier'."));
    }
    if !pkce_s256_matches(&verifier, &grant.code_challenge) {
        return Err(invalid_grant(50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."));
    }
    // The token is for the scope asked now if given (MSAL repeats it), else the authorized one.
    let scope = req.scope.unwrap_or_else(|| grant.scopes.join(" "));
    let requested = scopes::parse(&scope)?;
    let signed_in_at = cloud.now();
    issue_user_tokens(cloud, client_id, kind, &grant.user_id, &grant.tenant_id, &requested, grant.nonce.as_deref(), signed_in_at, req.client_info.is_some())
}

fn refresh(cloud: &Cloud, client_id: &str, kind: AppKind, req: TokenRequest) -> Result<Json<Value>, AadError> {
    let presented = req.refresh_token.unwrap_or_default();
    // Not consumed: Entra keeps a redeemed refresh token valid (until it expires or is revoked).
    let grant = match cloud.grants().refresh_grant(&presented) {
        RefreshLookup::Valid(grant) => grant,
        RefreshLookup::Revoked { issued_at } => {
            let issued = chrono::DateTime::from_timestamp(issued_at, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
            return Err(invalid_grant(
                50173,
                format!("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is later."),
            ));
        }
        RefreshLookup::Unknown => {
            return Err(invalid_grant(
                70000,
                "The provided value for the 'refresh_token' is not valid: it has expired, was never issued, or was issued before the scenario was loaded.",
            ))
        }
    };
    if grant.client_id != client_id {
        return Err(invalid_grant(70000, "The refresh token was issued to a different client."));
    }
    let now = cloud.now();
    if kind == AppKind::Spa && now - grant.signed_in_at >= SPA_REFRESH_SECONDS {
        return Err(invalid_grant(700084, "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page."));
    }
    if now - grant.issued_at >= REFRESH_SECONDS {
        return Err(invalid_grant(700082, "The refresh token has expired due to inactivity."));
    }
    let requested = scopes::parse(req.scope.as_deref().unwrap_or_default())?;
    issue_user_tokens(cloud, client_id, kind, &grant.user_id, &grant.tenant_id, &requested, None, grant.signed_in_at, req.client_info.is_some())
}

#[allow(clippy::too_many_arguments)]
fn issue_user_tokens(
    cloud: &Cloud,
    client_id: &str,
    kind: AppKind,
    user_id: &str,
    tenant_id: &str,
    requested: &RequestedScopes,
    nonce: Option<&str>,
    signed_in_at: i64,
    client_info: bool,
) -> Result<Json<Value>, AadError> {
    let (upn, name) = {
        let scenario = cloud.scenario();
        let (_, user) = scenario.user(user_id).ok_or_else(|| invalid_grant(50034, "The user account does not exist in the directory."))?;
        (user.user_principal_name.clone(), user.display_name.clone())
    };
    let now = cloud.now();
    let lifetime = access_token_seconds(cloud);
    let base = cloud.base_url();
    let issuer = format!("{base}/{tenant_id}/v2.0");
    let mut body = json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime});
    let mut granted: Vec<String> = Vec::new();
    if let Some(resource) = requested.resource {
        let scp = requested.names.iter().map(|n| if n == ".default" { "user_impersonation" } else { n.as_str() }).collect::<Vec<_>>().join(" ");
        let access = cloud.signer().sign(&json!({
            "aud": resource.audience(), "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime,
            "appid": client_id, "azp": client_id, "oid": user_id, "sub": user_id, "tid": tenant_id,
            "upn": upn, "unique_name": upn, "name": name, "scp": scp, "ver": "1.0", "idtyp": "user", "uti": random_token(16),
        }));
        body["access_token"] = json!(access);
        granted.extend(requested.names.iter().map(|n| format!("{}{}", resource.audience().trim_end_matches('/'), format_args!("/{n}"))));
    }
    if requested.openid {
        granted.push("openid".into());
        let mut claims = json!({
            "aud": client_id, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime,
            "oid": user_id, "sub": user_id, "tid": tenant_id, "preferred_username": upn, "name": name, "ver": "2.0", "uti": random_token(16),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        body["id_token"] = json!(cloud.signer().sign(&claims));
        granted.push("profile".into());
    }
    if requested.offline_access || kind == AppKind::Spa || kind == AppKind::Desktop {
        let refresh_token = random_token(64);
        cloud.grants().add_refresh_token(
            refresh_token.clone(),
            RefreshGrant { client_id: client_id.into(), user_id: user_id.into(), tenant_id: tenant_id.into(), signed_in_at, issued_at: now },
            now - REFRESH_SECONDS,
        );
        body["refresh_token"] = json!(refresh_token);
        if kind == AppKind::Spa {
            body["refresh_token_expires_in"] = json!(SPA_REFRESH_SECONDS - (now - signed_in_at));
        }
        granted.push("offline_access".into());
    }
    body["scope"] = json!(granted.join(" "));
    if client_info {
        body["client_info"] = json!(B64URL.encode(json!({"uid": user_id, "utid": tenant_id}).to_string()));
    }
    Ok(Json(body))
}

/// The scenario's access-token lifetime (Azure's is about an hour).
fn access_token_seconds(cloud: &Cloud) -> i64 {
    cloud.scenario().access_token_seconds.max(1)
}

fn client_credentials(
    cloud: &Cloud,
    client_id: &str,
    kind: AppKind,
    sp_id: Option<String>,
    tenant_id: &str,
    req: TokenRequest,
) -> Result<Json<Value>, AadError> {
    if kind != AppKind::Confidential {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let expected = cloud.grants().client_secret(client_id);
    if req.client_secret.is_none() || req.client_secret != expected {
        return Err(AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app."));
    }
    let scope = req.scope.unwrap_or_default();
    if !scope.split_whitespace().all(|s| s.ends_with("/.default")) || scope.trim().is_empty() {
        return Err(AadError::bad_request("invalid_scope", 1002012, format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")));
    }
    let requested = scopes::parse(&scope)?;
    let resource = requested.resource.expect(".default scopes name a resource");
    let oid = sp_id.unwrap_or_else(|| client_id.to_string());
    let now = cloud.now();
    let lifetime = access_token_seconds(cloud);
    let access = cloud.signer().sign(&json!({
        "aud": resource.audience(), "iss": format!("{}/{tenant_id}/v2.0", cloud.base_url()), "iat": now, "nbf": now,
        "exp": now + lifetime, "appid": client_id, "azp": client_id, "oid": oid, "sub": oid,
        "tid": tenant_id, "ver": "1.0", "idtyp": "app", "roles": [], "uti": random_token(16),
    }));
    Ok(Json(json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access})))
}
