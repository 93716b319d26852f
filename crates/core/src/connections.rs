//! The other ways into a service, for people who have them instead of (or besides) an Entra sign-in:
//! IoT Hub and DPS connection strings and IoT Central API tokens. Each is checked when given — a
//! precise error names the part that is wrong, then one authorised call proves it works
//! (`connection_check`) — and kept in the keyring when the person asks to
//! remember it, otherwise in memory for this session. Only a description (kind, label, host) is
//! written to `connections.json`; the secret never is.

use crate::secrets::SecretStore;
use iotm_azure::ConnectionString;
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

pub const CONNECTIONS_FILE: &str = "connections.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionKind {
    IotHub,
    Dps,
    CentralApiToken,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavedConnection {
    pub id: String,
    pub kind: ConnectionKind,
    pub label: String,
    /// The hub or DPS host name, or the Central app's subdomain.
    pub target: String,
    /// The shared access policy (connection strings) — never its key.
    pub policy: Option<String>,
    /// When a Central API token stops working (RFC 3339).
    pub expires: Option<String>,
    /// Kept in the keyring; otherwise gone when the app closes.
    pub remembered: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectionError {
    #[error("{0}")]
    Invalid(String),
    #[error("The Central API token has expired ({0}). Create a new one in the app (Permissions → API tokens).")]
    Expired(String),
    #[error("Could not reach {host}: {detail}. Check the host name in what you pasted.")]
    Unreachable { host: String, detail: String },
    #[error("{host} refused {what} (401): it is wrong, or it was regenerated since you copied it. Copy it again.")]
    KeyRefused { host: String, what: String },
    #[error("{host} accepted the key, but {what}, which a migration needs. Use a policy or role that has it (for a hub, iothubowner; for a DPS, provisioningserviceowner).")]
    RightsMissing { host: String, what: String },
    #[error("The check of {host} failed: {detail}")]
    CheckFailed { host: String, detail: String },
}

impl ConnectionError {
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::Invalid(_) => "connections.invalid",
            ConnectionError::Expired(_) => "connections.expired",
            ConnectionError::Unreachable { .. } => "connections.unreachable",
            ConnectionError::KeyRefused { .. } => "connections.key_refused",
            ConnectionError::RightsMissing { .. } => "connections.rights_missing",
            ConnectionError::CheckFailed { .. } => "connections.check_failed",
        }
    }

    pub const CODES: &'static [&'static str] = &[
        "connections.invalid",
        "connections.expired",
        "connections.unknown",
        "connections.unreachable",
        "connections.key_refused",
        "connections.rights_missing",
        "connections.check_failed",
    ];
}

pub fn secret_name(id: &str) -> String {
    format!("connection/{id}")
}

/// Checks what was pasted and describes it. `target` is the Central subdomain for API tokens.
pub fn describe(kind: ConnectionKind, label: &str, secret: &str, central_subdomain: Option<&str>, now_unix: i64) -> Result<SavedConnection, ConnectionError> {
    let secret = secret.trim();
    let id = format!(
        "{}-{:x}",
        match kind {
            ConnectionKind::IotHub => "hub",
            ConnectionKind::Dps => "dps",
            ConnectionKind::CentralApiToken => "central",
        },
        rand::random::<u32>()
    );
    let (target, policy, expires) = match kind {
        ConnectionKind::IotHub | ConnectionKind::Dps => {
            let parsed = ConnectionString::parse(secret).map_err(|e| ConnectionError::Invalid(e.to_string()))?;
            if parsed.device_id.is_some() {
                return Err(ConnectionError::Invalid(
                    "This is a device's connection string (it has DeviceId); use a shared access policy's, such as iothubowner's.".into(),
                ));
            }
            let policy = parsed
                .key_name
                .clone()
                .ok_or_else(|| ConnectionError::Invalid("SharedAccessKeyName is missing: use the connection string of a shared access policy.".into()))?;
            (parsed.host_name, Some(policy), None)
        }
        ConnectionKind::CentralApiToken => {
            let subdomain = central_subdomain
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ConnectionError::Invalid("Give the application's subdomain (the part before .azureiotcentral.com).".into()))?;
            let body = secret
                .strip_prefix("SharedAccessSignature ")
                .ok_or_else(|| ConnectionError::Invalid("An IoT Central API token starts with \"SharedAccessSignature sr=\".".into()))?;
            let fields: std::collections::HashMap<&str, &str> = body.split('&').filter_map(|p| p.split_once('=')).collect();
            for part in ["sr", "sig", "skn", "se"] {
                if fields.get(part).is_none_or(|v| v.is_empty()) {
                    return Err(ConnectionError::Invalid(format!("The API token has no {part}= part; copy the whole token as Central showed it.")));
                }
            }
            // Central writes the expiry in milliseconds since 1970.
            let millis: i64 = fields["se"].parse().map_err(|_| ConnectionError::Invalid("The API token's se= part is not a number.".into()))?;
            let expiry =
                chrono::DateTime::from_timestamp(millis / 1000, 0).ok_or_else(|| ConnectionError::Invalid("The API token's se= part is not a date.".into()))?;
            let stamp = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if millis / 1000 <= now_unix {
                return Err(ConnectionError::Expired(stamp));
            }
            (subdomain.to_ascii_lowercase(), None, Some(stamp))
        }
    };
    Ok(SavedConnection {
        id,
        kind,
        label: if label.trim().is_empty() { target.clone() } else { label.trim().to_string() },
        target,
        policy,
        expires,
        remembered: false,
    })
}

/// The remembered connections' descriptions.
pub fn load(dir: &Path) -> crate::Result<Vec<SavedConnection>> {
    let path = dir.join(CONNECTIONS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| crate::Error::ConnectionsFileCorrupt { path, line: e.line(), column: e.column(), message: e.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(crate::Error::io("read", &path)(e)),
    }
}

pub fn save(dir: &Path, all: &[SavedConnection]) -> crate::Result<()> {
    std::fs::create_dir_all(dir).map_err(crate::Error::io("create", dir))?;
    let kept: Vec<&SavedConnection> = all.iter().filter(|c| c.remembered).collect();
    let (path, tmp) = (dir.join(CONNECTIONS_FILE), dir.join(format!("{CONNECTIONS_FILE}.tmp")));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&kept).expect("connections serialise")).map_err(crate::Error::io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(crate::Error::io("replace", &path))
}

/// Puts the secret where it belongs: the keyring when remembered (and one exists), else memory.
pub fn store(
    connection: &mut SavedConnection,
    secret: &str,
    remember: bool,
    keyring: &dyn SecretStore,
    memory: &dyn SecretStore,
) -> Result<(), crate::secrets::SecretStoreError> {
    connection.remembered = remember && keyring.persistent();
    let store = if connection.remembered { keyring } else { memory };
    store.put(&secret_name(&connection.id), secret.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const KEY: &str = "c2VjcmV0LWtleS1vZi10aGUtcG9saWN5LTMyLWJ5dGVz";

    #[test]
    fn each_bad_input_is_named_precisely() {
        let bad = |kind, text: &str, sub: Option<&str>| describe(kind, "", text, sub, NOW).unwrap_err().to_string();
        assert!(bad(ConnectionKind::IotHub, "SharedAccessKeyName=iothubowner;SharedAccessKey=x", None).contains("HostName"));
        assert!(bad(ConnectionKind::IotHub, &format!("HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey={KEY}"), None)
            .contains("device's connection string"));
        assert!(bad(ConnectionKind::CentralApiToken, "Bearer abc", Some("app")).contains("starts with"));
        assert!(bad(ConnectionKind::CentralApiToken, "SharedAccessSignature sr=a&sig=b&skn=c", Some("app")).contains("se= part"));
        assert!(bad(ConnectionKind::CentralApiToken, "SharedAccessSignature sr=a&sig=b&skn=c&se=1", None).contains("subdomain"));
        let expired = describe(ConnectionKind::CentralApiToken, "", "SharedAccessSignature sr=a&sig=b&skn=c&se=1000", Some("app"), NOW).unwrap_err();
        assert_eq!(expired.code(), "connections.expired");
    }

    #[test]
    fn an_api_token_shows_when_it_expires_in_utc_and_an_expired_one_says_when_it_did() {
        let token = |se: i64| format!("SharedAccessSignature sr=a&sig=b&skn=c&se={se}");
        let c = describe(ConnectionKind::CentralApiToken, "", &token(1_924_992_000_000), Some("app"), NOW).unwrap();
        assert_eq!(c.expires.as_deref(), Some("2031-01-01T00:00:00Z"));
        let expired = describe(ConnectionKind::CentralApiToken, "", &token(946_684_800_000), Some("app"), NOW).unwrap_err();
        assert!(matches!(&expired, ConnectionError::Expired(when) if when == "2000-01-01T00:00:00Z"), "{expired:?}");
    }

    #[test]
    fn a_good_connection_is_described_without_its_secret_and_remembered_only_with_a_keyring() {
        let text = format!("HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}");
        let mut c = describe(ConnectionKind::IotHub, "Production hub", &text, None, NOW).unwrap();
        assert_eq!((c.target.as_str(), c.policy.as_deref()), ("contoso-hub.azure-devices.net", Some("iothubowner")));
        let (keyring, memory) = (crate::secrets::SessionStore::default(), crate::secrets::SessionStore::default());
        store(&mut c, &text, true, &keyring, &memory).unwrap();
        assert!(!c.remembered, "a session store cannot remember across restarts");
        assert_eq!(memory.get(&secret_name(&c.id)).unwrap().as_deref(), Some(text.as_str()));
        let dir = tempfile::tempdir().unwrap();
        c.remembered = true;
        save(dir.path(), std::slice::from_ref(&c)).unwrap();
        let on_disk = std::fs::read_to_string(dir.path().join(CONNECTIONS_FILE)).unwrap();
        assert!(!on_disk.contains(KEY) && on_disk.contains("contoso-hub"), "{on_disk}");
        assert_eq!(load(dir.path()).unwrap(), vec![c]);
    }
}
