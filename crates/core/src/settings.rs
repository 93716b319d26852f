//! User settings: what the Settings page edits, kept as JSON in the app's config folder.
//!
//! Writes are atomic (temp file + rename) so a crash never leaves half a file; a file that does not
//! parse is moved aside and reported with its line and column, never silently overwritten.

use crate::environment::Environment;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

pub const SETTINGS_FILE: &str = "settings.json";
pub const DEFAULT_REDIRECT_PORT: u16 = 3000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    /// Follow the operating system's light/dark preference.
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub environment: Environment,
    /// The JSON cloud profile used when `environment` is `custom`.
    pub custom_profile_path: Option<String>,
    /// `organizations`, `common`, a tenant ID (GUID) or a verified domain.
    pub tenant: String,
    /// The Entra app registration's client ID; empty means the environment's built-in one.
    pub client_id: String,
    /// How that registration is registered: single-page app (as the Node migrator's were) or desktop.
    pub registration: crate::accounts::RegistrationKind,
    /// Loopback port of the sign-in redirect (`http://localhost:<port>`).
    pub redirect_port: u16,
    pub log_level: LogLevel,
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            environment: Environment::Sandbox,
            custom_profile_path: None,
            tenant: "organizations".into(),
            client_id: String::new(),
            registration: crate::accounts::RegistrationKind::Spa,
            redirect_port: DEFAULT_REDIRECT_PORT,
            log_level: LogLevel::Info,
            theme: Theme::System,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidSetting { field, message: message.into() }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5 && groups.iter().zip(lens).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl Settings {
    /// Checks every field; the error names the field and says what a valid value looks like.
    pub fn validate(&self) -> Result<()> {
        let tenant = self.tenant.trim();
        if tenant.is_empty() {
            return Err(invalid("tenant", "Enter \"organizations\", \"common\", a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com."));
        }
        if !matches!(tenant, "organizations" | "common" | "consumers") && !is_guid(tenant) && !is_domain(tenant) {
            return Err(invalid(
                "tenant",
                format!("\"{tenant}\" is not a tenant: use \"organizations\", \"common\", a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com."),
            ));
        }
        let client_id = self.client_id.trim();
        if !client_id.is_empty() && !is_guid(client_id) {
            return Err(invalid(
                "clientId",
                format!("\"{client_id}\" is not a client ID: copy the Application (client) ID, a GUID, from the app registration's Overview page."),
            ));
        }
        if client_id.is_empty() && self.environment != Environment::Sandbox {
            return Err(invalid(
                "clientId",
                format!("{} needs the client ID of your Entra app registration (only the Sandbox has a built-in one).", self.environment.label()),
            ));
        }
        if self.redirect_port < 1024 {
            return Err(invalid(
                "redirectPort",
                format!(
                    "Port {} is reserved for system services; choose a port from 1024 to 65535 and add http://localhost:<port> to the app registration.",
                    self.redirect_port
                ),
            ));
        }
        if self.environment == Environment::Custom {
            match self.custom_profile_path.as_deref().map(str::trim) {
                None | Some("") => return Err(invalid("customProfilePath", "A custom environment needs the path of its JSON cloud profile.")),
                Some(p) if !Path::new(p).is_file() => return Err(invalid("customProfilePath", format!("No file at {p}."))),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Trims what a person may have pasted with spaces around it.
    pub fn normalized(mut self) -> Self {
        self.tenant = self.tenant.trim().to_string();
        self.client_id = self.client_id.trim().to_ascii_lowercase();
        self.custom_profile_path = self.custom_profile_path.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        self
    }
}

/// The outcome of reading the settings file at start-up.
#[derive(Debug)]
pub enum Loaded {
    Existing(Settings),
    /// No file yet: a first start.
    Defaults,
    /// The file did not parse; it was moved to `moved_to` and defaults are in use.
    Recovered {
        error: Error,
        moved_to: PathBuf,
    },
}

impl Loaded {
    pub fn settings(&self) -> Settings {
        match self {
            Loaded::Existing(s) => s.clone(),
            Loaded::Defaults | Loaded::Recovered { .. } => Settings::default(),
        }
    }
}

pub fn load(dir: &Path) -> Result<Loaded> {
    let path = dir.join(SETTINGS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Defaults),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    match serde_json::from_str::<Settings>(&text) {
        Ok(settings) => Ok(Loaded::Existing(settings)),
        Err(e) => {
            let moved_to = path.with_extension(format!("json.corrupt-{}", unix_seconds()));
            std::fs::rename(&path, &moved_to).map_err(Error::io("move aside", &path))?;
            let error = Error::SettingsFileCorrupt { path, line: e.line(), column: e.column(), message: e.to_string() };
            Ok(Loaded::Recovered { error, moved_to })
        }
    }
}

/// Validates, then writes atomically. Nothing is written when validation fails.
pub fn save(dir: &Path, settings: &Settings) -> Result<()> {
    settings.validate()?;
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let path = dir.join(SETTINGS_FILE);
    let tmp = dir.join(format!("{SETTINGS_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(settings).expect("settings serialise");
    std::fs::write(&tmp, json).map_err(Error::io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(Error::io("replace", &path))?;
    Ok(())
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    fn field_of(settings: Settings) -> Option<&'static str> {
        settings.validate().err().and_then(|e| e.field())
    }

    #[test]
    fn defaults_are_valid_and_point_at_the_sandbox() {
        let s = Settings::default();
        assert_eq!(s.environment, Environment::Sandbox);
        assert_eq!(s.redirect_port, 3000);
        assert_eq!(s.theme, Theme::System);
        s.validate().unwrap();
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = Settings::default();
        assert_eq!(field_of(Settings { tenant: "not a tenant!".into(), ..base.clone() }), Some("tenant"));
        assert_eq!(field_of(Settings { tenant: "  ".into(), ..base.clone() }), Some("tenant"));
        assert_eq!(field_of(Settings { client_id: "1234".into(), ..base.clone() }), Some("clientId"));
        assert_eq!(field_of(Settings { environment: Environment::AzurePublic, ..base.clone() }), Some("clientId"));
        assert_eq!(field_of(Settings { redirect_port: 80, ..base.clone() }), Some("redirectPort"));
        assert_eq!(field_of(Settings { environment: Environment::Custom, client_id: GUID.into(), ..base.clone() }), Some("customProfilePath"));
        assert_eq!(
            field_of(Settings {
                environment: Environment::Custom,
                client_id: GUID.into(),
                custom_profile_path: Some("/no/such/profile.json".into()),
                ..base.clone()
            }),
            Some("customProfilePath")
        );
    }

    #[test]
    fn real_tenants_and_client_ids_are_accepted() {
        for tenant in ["organizations", "common", "contoso.onmicrosoft.com", "72f988bf-86f1-41af-91ab-2d7cd011db47"] {
            let s = Settings {
                tenant: tenant.into(),
                environment: Environment::AzurePublic,
                client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
                ..Settings::default()
            };
            s.validate().unwrap_or_else(|e| panic!("{tenant}: {e}"));
        }
    }

    #[test]
    fn saved_settings_load_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings { theme: Theme::Dark, log_level: LogLevel::Debug, redirect_port: 3123, ..Settings::default() };
        save(dir.path(), &s).unwrap();
        match load(dir.path()).unwrap() {
            Loaded::Existing(back) => assert_eq!(back, s),
            other => panic!("expected existing settings, got {other:?}"),
        }
    }

    #[test]
    fn an_invalid_save_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = save(dir.path(), &Settings { redirect_port: 22, ..Settings::default() }).unwrap_err();
        assert_eq!(err.code(), "settings.invalid");
        assert!(!dir.path().join(SETTINGS_FILE).exists());
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SETTINGS_FILE), "{\n  \"theme\": \"dark\",\n  oops\n}").unwrap();
        match load(dir.path()).unwrap() {
            Loaded::Recovered { error: Error::SettingsFileCorrupt { line, .. }, moved_to } => {
                assert_eq!(line, 3);
                assert!(moved_to.exists());
                assert!(!dir.path().join(SETTINGS_FILE).exists());
            }
            other => panic!("expected a recovered load, got {other:?}"),
        }
    }
}
