//! Where secrets live between runs: refresh tokens, saved connection strings and API tokens go to
//! the OS keyring (Keychain, Credential Manager, Secret Service), never to a file. Where no keyring
//! answers (a Linux box without Secret Service), the store says so and the app offers a
//! session-only sign-in, kept in memory and gone when the app closes.

use std::collections::HashMap;
use std::sync::Mutex;

/// The keyring service name every entry of the app is filed under.
pub const KEYRING_SERVICE: &str = "com.iotmigrator.desktop";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretStoreError {
    /// The system's own words (a D-Bus error…) stay out of the sentence a person reads: they go to
    /// the log through `reason`.
    /// Lower-case: the app says it after "This sign-in lasts until the app closes:".
    #[error("this computer has no keyring the app can use. To keep sign-ins across restarts, install and unlock a keyring such as GNOME Keyring.")]
    Unavailable(String),
    #[error("The keyring refused to store or read a secret: {0}")]
    Failed(String),
}

impl SecretStoreError {
    pub fn code(&self) -> &'static str {
        match self {
            SecretStoreError::Unavailable(_) => "secrets.keyring_unavailable",
            SecretStoreError::Failed(_) => "secrets.keyring_failed",
        }
    }

    pub const CODES: &'static [&'static str] = &["secrets.keyring_unavailable", "secrets.keyring_failed"];

    /// What the keyring itself answered, for the log.
    pub fn reason(&self) -> &str {
        match self {
            SecretStoreError::Unavailable(reason) | SecretStoreError::Failed(reason) => reason,
        }
    }
}

/// A place for secrets, by name (`<account>/refresh-token`, `connection/<id>`…).
pub trait SecretStore: Send + Sync {
    fn put(&self, name: &str, secret: &str) -> Result<(), SecretStoreError>;
    fn get(&self, name: &str) -> Result<Option<String>, SecretStoreError>;
    fn delete(&self, name: &str) -> Result<(), SecretStoreError>;
    /// True when secrets outlive the app (a keyring); false for the session-only store.
    fn persistent(&self) -> bool;
}

/// Secrets for this session only.
#[derive(Default)]
pub struct SessionStore(Mutex<HashMap<String, String>>);

impl SecretStore for SessionStore {
    fn put(&self, name: &str, secret: &str) -> Result<(), SecretStoreError> {
        self.0.lock().expect("session store").insert(name.into(), secret.into());
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<String>, SecretStoreError> {
        Ok(self.0.lock().expect("session store").get(name).cloned())
    }
    fn delete(&self, name: &str) -> Result<(), SecretStoreError> {
        self.0.lock().expect("session store").remove(name);
        Ok(())
    }
    fn persistent(&self) -> bool {
        false
    }
}

/// The OS keyring.
pub struct KeyringStore;

fn keyring_error(e: keyring::Error) -> SecretStoreError {
    match e {
        keyring::Error::NoStorageAccess(inner) => SecretStoreError::Unavailable(inner.to_string()),
        keyring::Error::PlatformFailure(inner) => SecretStoreError::Unavailable(inner.to_string()),
        other => SecretStoreError::Failed(other.to_string()),
    }
}

impl KeyringStore {
    /// The keyring if one answers a write, read and delete of a probe entry; otherwise why not.
    pub fn probe() -> Result<KeyringStore, SecretStoreError> {
        let store = KeyringStore;
        let probe = "probe/availability";
        store.put(probe, "ok")?;
        let read = store.get(probe)?;
        store.delete(probe)?;
        if read.as_deref() != Some("ok") {
            return Err(SecretStoreError::Unavailable("the keyring did not give back what was stored".into()));
        }
        Ok(store)
    }

    fn entry(name: &str) -> Result<keyring::Entry, SecretStoreError> {
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(keyring_error)
    }
}

impl SecretStore for KeyringStore {
    fn put(&self, name: &str, secret: &str) -> Result<(), SecretStoreError> {
        KeyringStore::entry(name)?.set_password(secret).map_err(keyring_error)
    }
    fn get(&self, name: &str) -> Result<Option<String>, SecretStoreError> {
        match KeyringStore::entry(name)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }
    fn delete(&self, name: &str) -> Result<(), SecretStoreError> {
        match KeyringStore::entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
    fn persistent(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_store_keeps_secrets_until_deleted_and_says_it_is_not_persistent() {
        let store = SessionStore::default();
        store.put("acct-1/refresh-token", "rt").unwrap();
        assert_eq!(store.get("acct-1/refresh-token").unwrap().as_deref(), Some("rt"));
        store.delete("acct-1/refresh-token").unwrap();
        assert_eq!(store.get("acct-1/refresh-token").unwrap(), None);
        assert!(!store.persistent());
    }

    #[test]
    fn no_keyring_is_said_in_plain_words_and_the_system_error_goes_to_the_log() {
        let dbus = "Platform secure storage failure: DBus error: org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided";
        let e = SecretStoreError::Unavailable(dbus.into());
        let said = e.to_string();
        assert!(!said.contains("DBus") && !said.contains("freedesktop") && !said.contains("Platform"), "{said}");
        assert!(said.contains("no keyring") && said.contains("across restarts"), "{said}");
        assert_eq!(e.reason(), dbus);
    }

    #[test]
    fn the_keyring_round_trips_through_one_entry_with_the_mock_store() {
        // keyring's mock keeps a secret per Entry value, so the round trip stays on one Entry.
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let entry = keyring::Entry::new(KEYRING_SERVICE, "acct-2/refresh-token").unwrap();
        entry.set_password("rt-2").unwrap();
        assert_eq!(entry.get_password().unwrap(), "rt-2");
        entry.delete_credential().unwrap();
        assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)));
    }
}
