//! What Entra has handed out and must recognise when it comes back: authorization codes (one use
//! each), refresh tokens (valid until they expire or the user's sessions are revoked: Entra hands
//! out a new one on each use but does not revoke the old, so two processes sharing a token cache,
//! or a client retrying after a lost answer, keep working) and the client secrets of confidential
//! registrations (minted per run, never written to disk). A scenario load forgets them all.

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

#[derive(Clone)]
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
    /// Refresh tokens of revoked sessions, kept to be refused with Entra's AADSTS50173.
    revoked: Mutex<HashMap<String, RefreshGrant>>,
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
        self.revoked.lock().unwrap().clear();
    }

    pub(crate) fn add_code(&self, code: String, grant: AuthCode) {
        self.codes.lock().unwrap().insert(code, grant);
    }

    /// The code's grant, which it no longer opens: a code is redeemed once, valid or not.
    pub(crate) fn redeem_code(&self, code: &str) -> Option<AuthCode> {
        self.codes.lock().unwrap().remove(code)
    }

    /// Keeps `token`, and forgets the tokens issued before `expired_before` (past their lifetime).
    pub(crate) fn add_refresh_token(&self, token: String, grant: RefreshGrant, expired_before: i64) {
        let mut tokens = self.refresh_tokens.lock().unwrap();
        tokens.retain(|_, g| g.issued_at >= expired_before);
        tokens.insert(token, grant);
        self.revoked.lock().unwrap().retain(|_, g| g.issued_at >= expired_before);
    }

    /// What a presented refresh token opens. It stays valid after use, as on Entra.
    pub(crate) fn refresh_grant(&self, token: &str) -> RefreshLookup {
        if let Some(grant) = self.refresh_tokens.lock().unwrap().get(token) {
            return RefreshLookup::Valid(grant.clone());
        }
        match self.revoked.lock().unwrap().get(token) {
            Some(grant) => RefreshLookup::Revoked { issued_at: grant.issued_at },
            None => RefreshLookup::Unknown,
        }
    }

    /// Graph's `revokeSignInSessions`: every refresh token `user_id` holds stops working. Returns
    /// how many were revoked.
    pub fn revoke_sign_in_sessions(&self, user_id: &str) -> usize {
        let mut tokens = self.refresh_tokens.lock().unwrap();
        let theirs: Vec<String> = tokens.iter().filter(|(_, g)| g.user_id.eq_ignore_ascii_case(user_id)).map(|(t, _)| t.clone()).collect();
        let mut revoked = self.revoked.lock().unwrap();
        for token in &theirs {
            if let Some(grant) = tokens.remove(token) {
                revoked.insert(token.clone(), grant);
            }
        }
        theirs.len()
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
        let all: Vec<(String, RefreshGrant)> = self.refresh_tokens.lock().unwrap().drain().collect();
        self.revoked.lock().unwrap().extend(all);
    }
}

/// What a presented refresh token is.
pub(crate) enum RefreshLookup {
    Valid(RefreshGrant),
    /// Issued, then revoked with its user's sessions.
    Revoked {
        issued_at: i64,
    },
    /// Never issued here, expired and forgotten, or from before a scenario load.
    Unknown,
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

    fn refresh(user: &str, issued_at: i64) -> RefreshGrant {
        RefreshGrant { client_id: "c".into(), user_id: user.into(), tenant_id: "t".into(), signed_in_at: issued_at, issued_at }
    }

    #[test]
    fn a_refresh_token_stays_valid_after_use_until_its_user_is_revoked_or_it_expires() {
        let grants = Grants::default();
        grants.add_refresh_token("ada-1".into(), refresh("ada", 100), 0);
        grants.add_refresh_token("bob-1".into(), refresh("bob", 100), 0);
        assert!(matches!(grants.refresh_grant("ada-1"), RefreshLookup::Valid(_)));
        assert!(matches!(grants.refresh_grant("ada-1"), RefreshLookup::Valid(_)), "a second use finds it still valid");

        assert_eq!(grants.revoke_sign_in_sessions("ADA"), 1);
        assert!(matches!(grants.refresh_grant("ada-1"), RefreshLookup::Revoked { issued_at: 100 }));
        assert!(matches!(grants.refresh_grant("bob-1"), RefreshLookup::Valid(_)), "another user's sessions are untouched");

        grants.add_refresh_token("bob-2".into(), refresh("bob", 500), 200);
        assert!(matches!(grants.refresh_grant("bob-1"), RefreshLookup::Unknown), "expired tokens are forgotten");
        assert!(matches!(grants.refresh_grant("ada-1"), RefreshLookup::Unknown));
        assert!(matches!(grants.refresh_grant("nope"), RefreshLookup::Unknown));
    }
}
