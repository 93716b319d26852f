//! The accounts a person has signed in with: who, in which tenant and cloud, through which app
//! registration — never a token (refresh tokens are in the keyring under the account's ID, access
//! tokens only in memory). Kept in `accounts.json` beside the settings so the app can offer a silent
//! sign-in at start and a switch between accounts.
//!
//! An account is a person *in one environment*: its ID names the environment, and it records the
//! Entra authority that issued its tokens, so a refresh token is never sent anywhere else (another
//! cloud, a custom profile, the sandbox). Accounts saved before that (an ID without environment,
//! no authority) cannot tell where their token came from: `Accounts::forget_unkeyed` drops them
//! and deletes their token, and the person signs in again.

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::secrets::{SecretStore, SecretStoreError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

pub const ACCOUNTS_FILE: &str = "accounts.json";

/// How the app registration redeems codes: a single-page app (Origin header, 24-hour refresh
/// tokens) or a mobile-and-desktop public client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RegistrationKind {
    Spa,
    Desktop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `<object ID>.<tenant ID>@<environment>`: Entra's home account ID in one environment.
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub tenant_id: String,
    pub environment: Environment,
    pub client_id: String,
    pub registration: RegistrationKind,
    /// The redirect URI the account signed in with (a SPA registration's refreshes carry its origin).
    pub redirect_uri: String,
    /// Signed in for this session only (no keyring): gone when the app closes.
    pub session_only: bool,
    /// The Entra authority that issued the account's tokens (`https://login.microsoftonline.com/`,
    /// the sandbox's address): its refresh token goes to no other. Empty in accounts saved before.
    #[serde(default)]
    pub authority: String,
}

impl Account {
    /// The ID of the person `oid` of tenant `tid` in `environment`.
    pub fn id_for(environment: Environment, oid: &str, tid: &str) -> String {
        format!("{oid}.{tid}@{}", environment.key())
    }

    /// Whether the account says where its tokens came from; one saved before it did is never used.
    pub fn keyed_by_environment(&self) -> bool {
        !self.authority.is_empty() && self.id.ends_with(&format!("@{}", self.environment.key()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Accounts {
    pub accounts: Vec<Account>,
    /// The account the wizards act as.
    pub current: Option<String>,
}

/// The keyring entry holding an account's refresh token.
pub fn refresh_token_name(account_id: &str) -> String {
    format!("{account_id}/refresh-token")
}

impl Accounts {
    /// Reads `accounts.json`; none yet is no accounts. Session-only accounts are never on disk.
    pub fn load(dir: &Path) -> Result<Accounts> {
        let path = dir.join(ACCOUNTS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| Error::AccountsFileCorrupt { path, line: e.line(), column: e.column(), message: e.to_string() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Accounts::default()),
            Err(e) => Err(Error::io("read", &path)(e)),
        }
    }

    /// Writes atomically, leaving session-only accounts out.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        let kept = Accounts {
            accounts: self.accounts.iter().filter(|a| !a.session_only).cloned().collect(),
            current: self.current.clone().filter(|c| self.accounts.iter().any(|a| &a.id == c && !a.session_only)),
        };
        let (path, tmp) = (dir.join(ACCOUNTS_FILE), dir.join(format!("{ACCOUNTS_FILE}.tmp")));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&kept).expect("accounts serialise")).map_err(Error::io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io("replace", &path))
    }

    /// Adds or refreshes an account and makes it the current one.
    pub fn signed_in(&mut self, account: Account) {
        self.current = Some(account.id.clone());
        match self.accounts.iter_mut().find(|a| a.id == account.id) {
            Some(existing) => *existing = account,
            None => self.accounts.push(account),
        }
    }

    pub fn current(&self) -> Option<&Account> {
        self.current.as_ref().and_then(|id| self.accounts.iter().find(|a| &a.id == id))
    }

    pub fn switch_to(&mut self, id: &str) -> Result<()> {
        if !self.accounts.iter().any(|a| a.id == id) {
            return Err(Error::UnknownAccount(id.to_string()));
        }
        self.current = Some(id.to_string());
        Ok(())
    }

    /// Drops the accounts saved before an account was keyed by environment, and deletes their
    /// refresh tokens: such a token may have been issued by another cloud than the account now
    /// names (one sign-in overwrote the other's entry), so nothing may be sent with it. The person
    /// signs in again. Returns the usernames dropped.
    pub fn forget_unkeyed(&mut self, secrets: &dyn SecretStore) -> Vec<String> {
        let (keep, drop): (Vec<Account>, Vec<Account>) = self.accounts.drain(..).partition(Account::keyed_by_environment);
        self.accounts = keep;
        for account in &drop {
            // Even if the keyring refuses, nothing reads the entry again: no account names it.
            if let Err(e) = secrets.delete(&refresh_token_name(&account.id)) {
                tracing::warn!(code = e.code(), "the refresh token of an account saved before environments were kept apart could not be deleted: {e}");
            }
        }
        if self.current.as_ref().is_some_and(|c| !self.accounts.iter().any(|a| &a.id == c)) {
            self.current = self.accounts.first().map(|a| a.id.clone());
        }
        drop.into_iter().map(|a| a.username).collect()
    }

    /// Forgets the account and everything stored for it; another account becomes current.
    pub fn sign_out(&mut self, id: &str, secrets: &dyn SecretStore) -> std::result::Result<(), SecretStoreError> {
        secrets.delete(&refresh_token_name(id))?;
        self.accounts.retain(|a| a.id != id);
        if self.current.as_deref() == Some(id) {
            self.current = self.accounts.first().map(|a| a.id.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SessionStore;

    fn account(id: &str, session_only: bool) -> Account {
        Account {
            id: id.into(),
            username: format!("{id}@contoso.example"),
            display_name: id.into(),
            tenant_id: "72f9a1b0-5c1e-4d7a-9b8e-0c1d2e3f4a5b".into(),
            environment: Environment::Sandbox,
            client_id: "5a4b1c2d-0000-4000-8000-00000000a001".into(),
            registration: RegistrationKind::Spa,
            redirect_uri: "http://localhost:3000".into(),
            session_only,
            authority: "https://localhost:8443/".into(),
        }
    }

    #[test]
    fn accounts_survive_a_restart_but_session_only_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = Accounts::default();
        accounts.signed_in(account("ada", false));
        accounts.signed_in(account("grace", true));
        accounts.save(dir.path()).unwrap();
        let back = Accounts::load(dir.path()).unwrap();
        assert_eq!(back.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["ada"]);
        assert_eq!(back.current, None, "the current account was session-only, so no account is current after a restart");
        let text = std::fs::read_to_string(dir.path().join(ACCOUNTS_FILE)).unwrap();
        assert!(!text.to_lowercase().contains("token"), "no token in the accounts file: {text}");
    }

    #[test]
    fn signing_out_removes_the_refresh_token_and_switches_to_another_account() {
        let secrets = SessionStore::default();
        let mut accounts = Accounts::default();
        accounts.signed_in(account("ada", false));
        accounts.signed_in(account("grace", false));
        secrets.put(&refresh_token_name("grace"), "rt").unwrap();
        accounts.sign_out("grace", &secrets).unwrap();
        assert_eq!(secrets.get(&refresh_token_name("grace")).unwrap(), None);
        assert_eq!(accounts.current().map(|a| a.id.as_str()), Some("ada"));
        assert!(matches!(accounts.switch_to("grace"), Err(Error::UnknownAccount(_))));
    }

    #[test]
    fn an_account_saved_before_environments_were_kept_apart_is_dropped_with_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"accounts": [{"id": "o1.t1", "username": "ada@contoso.example", "displayName": "Ada", "tenantId": "t1",
            "environment": "custom", "clientId": "c", "registration": "spa", "redirectUri": "http://localhost:3000", "sessionOnly": false}],
            "current": "o1.t1"}"#;
        std::fs::write(dir.path().join(ACCOUNTS_FILE), old).unwrap();
        let secrets = SessionStore::default();
        secrets.put(&refresh_token_name("o1.t1"), "an Azure refresh token").unwrap();
        secrets.put(&refresh_token_name("grace@sandbox"), "rt").unwrap();
        let mut accounts = Accounts::load(dir.path()).unwrap();
        accounts.signed_in(account("grace@sandbox", false));
        accounts.current = Some("o1.t1".into());
        assert_eq!(accounts.forget_unkeyed(&secrets), ["ada@contoso.example"]);
        assert_eq!(accounts.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["grace@sandbox"]);
        assert_eq!(accounts.current.as_deref(), Some("grace@sandbox"));
        assert_eq!(secrets.get(&refresh_token_name("o1.t1")).unwrap(), None, "the old entry is deleted, never sent");
        assert_eq!(secrets.get(&refresh_token_name("grace@sandbox")).unwrap().as_deref(), Some("rt"));
    }

    #[test]
    fn a_corrupt_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ACCOUNTS_FILE), "{\n  \"accounts\": [1]\n}").unwrap();
        match Accounts::load(dir.path()) {
            Err(Error::AccountsFileCorrupt { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a corrupt-file error, got {other:?}"),
        }
    }
}
