//! Entra ID (v2.0 endpoints): discovery, keys, the sign-in page and the token endpoint, with the
//! AADSTS errors Entra returns. Resources other services accept tokens for are listed here. The
//! sign-in page is also served on plain `http://localhost` (`sign_in_pages`), where discovery sends
//! browsers, so a stock browser opens it without a certificate warning.

mod authorize;
mod errors;
pub mod grants;
mod page;
mod response_mode;
mod scopes;
pub mod sign_in_pages;
mod token;

use crate::cloud::Cloud;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub use grants::Grants;
pub use scopes::{resource_audiences, Resource};
pub use sign_in_pages::SignInPages;

/// Entra on the HTTPS listener; `pages` is where discovery sends browsers for the sign-in page.
/// `/authorize` stays served here too, for clients that build its URL from the authority.
pub fn router(pages: SignInPages) -> Router<Arc<Cloud>> {
    Router::new()
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_configuration))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::show).post(authorize::submit))
        .route("/{tenant}/oauth2/v2.0/token", axum::routing::post(token::token))
        .layer(Extension(pages))
}

/// Built from the Host header so clients see the port they connected to; the authorization
/// endpoint is the plain-HTTP sign-in pages' (a browser opens it without a warning), every other
/// endpoint HTTPS.
async fn openid_configuration(
    headers: HeaderMap,
    Path(tenant): Path<String>,
    State(cloud): State<Arc<Cloud>>,
    Extension(pages): Extension<SignInPages>,
) -> Result<Json<Value>, errors::AadError> {
    let issuer_tenant = match tenant.as_str() {
        "common" | "organizations" | "consumers" => "{tenantid}".to_string(),
        other => cloud.scenario().tenant(other).map(|t| t.id.clone()).ok_or_else(|| errors::AadError::tenant_not_found(other))?,
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let base = format!("https://{host}");
    Ok(Json(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": response_mode::SUPPORTED,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": pages.authorization_endpoint(&tenant),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "sandbox.localhost",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    })))
}

async fn keys(State(cloud): State<Arc<Cloud>>) -> Json<Value> {
    Json(cloud.signer().jwks())
}
