//! What Entra has handed out and must recognise when it comes back: authorization codes (one use
//! each), refresh tokens (rotated on use) and the client secrets of confidential registrations
//! (minted per run, never written to disk). A scenario load forgets them all.

use crate::scenario::{AppKind, Scenario};
use crate::tokens::random_token;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub tenant_id: String,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub issued_at: i64,
}

pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub tenant_id: String,
    /// When the user signed in; SPA refresh tokens die 24 h after this, however often rotated.
    pub signed_in_at: i64,
    pub issued_at: i64,
}

#[derive(Default)]
pub struct Grants {
    codes: Mutex<HashMap<String, AuthCode>>,
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// By client ID, lower-cased.
    client_secrets: RwLock<HashMap<String, String>>,
}

impl Grants {
    /// Nothing handed out yet, and a fresh secret for each confidential registration of `scenario`.
    pub(crate) fn reset(&self, scenario: &Scenario) {
        let secrets = scenario
            .tenants
            .iter()
            .flat_map(|t| &t.app_registrations)
            .filter(|a| a.kind == AppKind::Confidential)
            .map(|a| (a.client_id.to_ascii_lowercase(), random_token(30)))
            .collect();
        *self.client_secrets.write().unwrap() = secrets;
        self.codes.lock().unwrap().clear();
        self.refresh_tokens.lock().unwrap().clear();
    }

    pub(crate) fn add_code(&self, code: String, grant: AuthCode) {
        self.codes.lock().unwrap().insert(code, grant);
    }

    /// The code's grant, which it no longer opens: a code is redeemed once, valid or not.
    pub(crate) fn redeem_code(&self, code: &str) -> Option<AuthCode> {
        self.codes.lock().unwrap().remove(code)
    }

    pub(crate) fn add_refresh_token(&self, token: String, grant: RefreshGrant) {
        self.refresh_tokens.lock().unwrap().insert(token, grant);
    }

    /// The token's grant, which it no longer opens: refresh tokens rotate on every use.
    pub(crate) fn redeem_refresh_token(&self, token: &str) -> Option<RefreshGrant> {
        self.refresh_tokens.lock().unwrap().remove(token)
    }

    pub fn client_secret(&self, client_id: &str) -> Option<String> {
        self.client_secrets.read().unwrap().get(&client_id.to_ascii_lowercase()).cloned()
    }

    /// Every confidential client's secret by client ID, as the control API hands them to tests.
    pub fn client_secrets(&self) -> HashMap<String, String> {
        self.client_secrets.read().unwrap().clone()
    }

    /// Every refresh token revoked, as when an admin revokes a user's sessions.
    #[cfg(any(test, feature = "testing"))]
    pub fn revoke_refresh_tokens(&self) {
        self.refresh_tokens.lock().unwrap().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> AuthCode {
        AuthCode {
            client_id: "c".into(),
            redirect_uri: "http://localhost".into(),
            user_id: "u".into(),
            tenant_id: "t".into(),
            scopes: vec![],
            code_challenge: "x".into(),
            nonce: None,
            issued_at: 0,
        }
    }

    #[test]
    fn a_code_is_redeemed_once_and_a_load_forgets_codes_and_mints_new_secrets() {
        let grants = Grants::default();
        grants.add_code("one".into(), code());
        assert!(grants.redeem_code("one").is_some());
        assert!(grants.redeem_code("one").is_none(), "a second redemption finds nothing");

        let scenario = Scenario::builtin();
        grants.reset(&scenario);
        let confidential = crate::scenario::SANDBOX_CONFIDENTIAL_CLIENT_ID;
        let first = grants.client_secret(&confidential.to_ascii_uppercase()).expect("found whatever the client ID's case");
        grants.add_code("two".into(), code());
        grants.reset(&scenario);
        assert!(grants.redeem_code("two").is_none());
        assert_ne!(grants.client_secret(confidential), Some(first));
    }
}
