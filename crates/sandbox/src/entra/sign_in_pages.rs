//! Entra's browser-facing pages (authorize: the sign-in and consent page, and its form) on a plain
//! `http://localhost:<port>` listener of their own. Browsers treat `http://localhost` as a secure
//! context and never warn about it, while the sandbox's HTTPS certificate comes from a per-install
//! CA no browser trusts: a person's first sign-in would otherwise open on "Your connection is not
//! private". Nothing secret travels here — the page carries the PKCE challenge, never the verifier,
//! and the code it hands back is worthless without that verifier at the HTTPS token endpoint. So
//! this listener serves the pages and nothing else: the token endpoint, discovery, keys, ARM,
//! Central and the control API stay HTTPS-only, and every other path here is a 404.

use super::authorize;
use crate::cloud::Cloud;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Where the pages are served, as the OpenID configuration advertises it.
#[derive(Debug, Clone)]
pub struct SignInPages {
    /// `http://localhost:<port>`.
    pub origin: String,
}

impl SignInPages {
    pub fn on_port(port: u16) -> SignInPages {
        SignInPages { origin: format!("http://localhost:{port}") }
    }

    /// `{origin}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorization_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/authorize", self.origin)
    }
}

/// The pages only; anything else is not found here.
pub fn router() -> Router<Arc<Cloud>> {
    Router::new().route("/{tenant}/oauth2/v2.0/authorize", get(authorize::show).post(authorize::submit)).fallback(not_here)
}

async fn not_here() -> Response {
    let body = super::page::error("This address serves only the sandbox's sign-in page. Tokens and every API are served over HTTPS.");
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

/// Serves the pages over plain HTTP on `listener` (bound to 127.0.0.1) until the task is dropped.
pub async fn serve(listener: TcpListener, cloud: Arc<Cloud>) {
    let app = router().layer(axum::middleware::from_fn_with_state(Some("entra"), crate::rejections::reshape)).with_state(cloud);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!("the sign-in pages' listener stopped: {e}");
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Scenario, SANDBOX_DESKTOP_CLIENT_ID};
    use crate::{Sandbox, SandboxConfig};
    use reqwest::StatusCode;

    fn client(state: &std::path::Path) -> reqwest::Client {
        let tls = crate::azurite::client_tls(state).unwrap();
        reqwest::Client::builder().tls_backend_preconfigured(tls).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    fn encoded(pairs: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    fn post(http: &reqwest::Client, url: &str, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
        http.post(url).header("content-type", "application/x-www-form-urlencoded").body(encoded(pairs))
    }

    fn hidden(page: &str, name: &str) -> Option<String> {
        let start = page.find(&format!(r#"name="{name}" value=""#))? + name.len() + 15;
        Some(page[start..].split('"').next()?.to_string())
    }

    #[tokio::test]
    async fn discovery_sends_browsers_to_plain_http_which_serves_the_sign_in_page_and_nothing_else() {
        let state = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin()).with_control_api()).await.unwrap();
        let tenant = Scenario::builtin().tenants[0].id.clone();
        let http = client(state.path());
        let conf = http.get(format!("{}/{tenant}/v2.0/.well-known/openid-configuration", sandbox.base_url)).send().await.unwrap().text().await.unwrap();
        let conf: serde_json::Value = serde_json::from_str(&conf).unwrap();
        let authorize = format!("{}/{tenant}/oauth2/v2.0/authorize", sandbox.sign_in_url);
        assert!(sandbox.sign_in_url.starts_with("http://localhost:"), "{}", sandbox.sign_in_url);
        assert_eq!(conf["authorization_endpoint"], authorize.as_str());
        assert!(conf["token_endpoint"].as_str().unwrap().starts_with("https://"));
        assert_eq!(conf["response_modes_supported"], serde_json::json!(["query", "fragment", "form_post"]));

        // The page, and its form, over plain HTTP; the answer in the mode asked for.
        let query = [
            ("client_id", SANDBOX_DESKTOP_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:3000"),
            ("response_mode", "form_post"),
            ("scope", "https://management.azure.com/user_impersonation offline_access"),
            ("state", "s1"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ];
        let page = http.get(format!("{authorize}?{}", encoded(&query))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert_eq!(hidden(&page, "response_mode").as_deref(), Some("form_post"), "the form carries the mode on");
        let user = Scenario::builtin().tenants[0].users[0].id.clone();
        let mut form: Vec<(&str, &str)> = query.to_vec();
        form.extend([("user", user.as_str()), ("decision", "accept")]);
        let answer = post(&http, &authorize, &form).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "form_post answers a page, not a redirect");
        let answer = answer.text().await.unwrap();
        assert!(answer.contains(r#"action="http://localhost:3000/""#) && hidden(&answer, "code").is_some_and(|c| !c.is_empty()), "{answer}");
        assert_eq!(hidden(&answer, "state").as_deref(), Some("s1"));

        // Tokens, discovery, keys, ARM and the control API are HTTPS only.
        let token = sandbox.control_token.clone().unwrap();
        for path in [
            format!("/{tenant}/oauth2/v2.0/token"),
            format!("/{tenant}/v2.0/.well-known/openid-configuration"),
            format!("/{tenant}/discovery/v2.0/keys"),
            "/subscriptions?api-version=2022-12-01".to_string(),
            "/_sandbox/info".to_string(),
            "/_sandbox/credentials".to_string(),
            "/iotc/contoso-fleet/api/devices?api-version=2022-07-31".to_string(),
        ] {
            let url = format!("{}{path}", sandbox.sign_in_url);
            let get = http.get(&url).bearer_auth(&token).send().await.unwrap().status();
            let post = post(&http, &url, &[("grant_type", "client_credentials")]).bearer_auth(&token).send().await.unwrap().status();
            assert_eq!((get, post), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND), "{path} over plain HTTP");
        }
        sandbox.stop();
    }
}
