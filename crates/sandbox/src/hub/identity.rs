//! A device identity as the hub keeps it: typed and compact (a hub holds up to a million of them),
//! rendered to the service's JSON on the way out and parsed, field by field, on the way in.

use crate::live::{new_etag, NEVER};
use crate::tokens::random_token;
use serde_json::{json, Value};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    Sas { primary_key: String, secondary_key: String },
    SelfSigned { primary_thumbprint: Option<String>, secondary_thumbprint: Option<String> },
    CertificateAuthority,
    None,
}

#[derive(Clone)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub generation_id: String,
    pub etag: String,
    pub enabled: bool,
    pub status_reason: Option<String>,
    pub connected: bool,
    pub connection_state_updated: Option<OffsetDateTime>,
    pub last_activity: Option<OffsetDateTime>,
    pub status_updated: Option<OffsetDateTime>,
    pub authentication: Authentication,
    pub iot_edge: bool,
    pub device_scope: Option<String>,
    pub parent_scopes: Vec<String>,
    pub cloud_to_device_message_count: u32,
}

/// Keys never reach a log through Debug.
impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity").field("device_id", &self.device_id).field("connected", &self.connected).finish_non_exhaustive()
    }
}

fn stamp(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).map(Value::String).unwrap_or_else(|| json!(NEVER))
}

/// A field of the request body that is not what the service accepts.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

fn optional_string(body: &Value, pointer: &str, field: &'static str) -> Result<Option<String>, InvalidField> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(InvalidField { field, problem: format!("must be a string, not {other}") }),
    }
}

fn is_base64_key(key: &str) -> bool {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key).is_ok_and(|k| (16..=64).contains(&k.len()))
}

impl DeviceIdentity {
    /// A new identity with generated keys, as the hub creates one when none are given.
    pub fn new_sas(device_id: &str, primary_key: String, secondary_key: String) -> DeviceIdentity {
        DeviceIdentity {
            device_id: device_id.into(),
            generation_id: random_token(12),
            etag: new_etag(),
            enabled: true,
            status_reason: None,
            connected: false,
            connection_state_updated: None,
            last_activity: None,
            status_updated: None,
            authentication: Authentication::Sas { primary_key, secondary_key },
            iot_edge: false,
            device_scope: None,
            parent_scopes: vec![],
            cloud_to_device_message_count: 0,
        }
    }

    /// The identity a PUT body describes, on top of `existing` when it replaces one (generation,
    /// connection state and counters survive; keys left empty are generated).
    pub fn from_request(device_id: &str, body: &Value, existing: Option<&DeviceIdentity>) -> Result<DeviceIdentity, InvalidField> {
        if !body.is_object() {
            return Err(InvalidField { field: "body", problem: "must be a JSON object".into() });
        }
        let enabled = match body.get("status").and_then(Value::as_str) {
            None => true,
            Some(s) if s.eq_ignore_ascii_case("enabled") => true,
            Some(s) if s.eq_ignore_ascii_case("disabled") => false,
            Some(other) => return Err(InvalidField { field: "status", problem: format!("'{other}' is neither enabled nor disabled") }),
        };
        let kind = body.pointer("/authentication/type").and_then(Value::as_str).unwrap_or("sas");
        let authentication = match kind.to_ascii_lowercase().as_str() {
            "sas" => {
                let key = |k: &'static str| -> Result<String, InvalidField> {
                    match optional_string(body, &format!("/authentication/symmetricKey/{k}"), k)? {
                        None => Ok(crate::live::new_key()),
                        Some(key) if is_base64_key(&key) => Ok(key),
                        Some(_) => Err(InvalidField { field: k, problem: "must be a base64 key of 16 to 64 bytes".into() }),
                    }
                };
                Authentication::Sas { primary_key: key("primaryKey")?, secondary_key: key("secondaryKey")? }
            }
            "selfsigned" => Authentication::SelfSigned {
                primary_thumbprint: optional_string(body, "/authentication/x509Thumbprint/primaryThumbprint", "primaryThumbprint")?,
                secondary_thumbprint: optional_string(body, "/authentication/x509Thumbprint/secondaryThumbprint", "secondaryThumbprint")?,
            },
            "certificateauthority" => Authentication::CertificateAuthority,
            "none" => Authentication::None,
            other => return Err(InvalidField { field: "authentication.type", problem: format!("'{other}' is not one of sas, selfSigned, certificateAuthority, none") }),
        };
        let parent_scopes = match body.get("parentScopes") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or(InvalidField { field: "parentScopes", problem: "must be an array of strings".into() })?,
            Some(_) => return Err(InvalidField { field: "parentScopes", problem: "must be an array of strings".into() }),
        };
        let base = existing.cloned().unwrap_or_else(|| DeviceIdentity::new_sas(device_id, String::new(), String::new()));
        Ok(DeviceIdentity {
            etag: new_etag(),
            status_updated: if existing.is_some_and(|e| e.enabled != enabled) { Some(OffsetDateTime::now_utc()) } else { base.status_updated },
            enabled,
            status_reason: optional_string(body, "/statusReason", "statusReason")?,
            authentication,
            iot_edge: body.pointer("/capabilities/iotEdge").and_then(Value::as_bool).unwrap_or(false),
            device_scope: optional_string(body, "/deviceScope", "deviceScope")?,
            parent_scopes,
            ..base
        })
    }

    pub fn set_connected(&mut self, connected: bool) {
        let now = OffsetDateTime::now_utc();
        self.connected = connected;
        self.connection_state_updated = Some(now);
        self.last_activity = Some(now);
    }

    pub fn authentication_type(&self) -> &'static str {
        match self.authentication {
            Authentication::Sas { .. } => "sas",
            Authentication::SelfSigned { .. } => "selfSigned",
            Authentication::CertificateAuthority => "certificateAuthority",
            Authentication::None => "none",
        }
    }

    pub fn to_json(&self) -> Value {
        let (keys, thumbprints) = match &self.authentication {
            Authentication::Sas { primary_key, secondary_key } => (json!({"primaryKey": primary_key, "secondaryKey": secondary_key}), json!({"primaryThumbprint": null, "secondaryThumbprint": null})),
            Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => (json!({"primaryKey": null, "secondaryKey": null}), json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint})),
            _ => (json!({"primaryKey": null, "secondaryKey": null}), json!({"primaryThumbprint": null, "secondaryThumbprint": null})),
        };
        json!({
            "deviceId": self.device_id, "generationId": self.generation_id, "etag": self.etag,
            "connectionState": if self.connected { "Connected" } else { "Disconnected" },
            "status": if self.enabled { "enabled" } else { "disabled" }, "statusReason": self.status_reason,
            "connectionStateUpdatedTime": stamp(self.connection_state_updated), "statusUpdatedTime": stamp(self.status_updated),
            "lastActivityTime": stamp(self.last_activity), "cloudToDeviceMessageCount": self.cloud_to_device_message_count,
            "authentication": {"type": self.authentication_type(), "symmetricKey": keys, "x509Thumbprint": thumbprints},
            "capabilities": {"iotEdge": self.iot_edge}, "deviceScope": self.device_scope, "parentScopes": self.parent_scopes,
        })
    }

    /// The twin as `GET /twins/{id}` shows it until twins are stored (tags and properties empty).
    pub fn twin_json(&self) -> Value {
        let thumbprints = match &self.authentication {
            Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint}),
            _ => json!({"primaryThumbprint": null, "secondaryThumbprint": null}),
        };
        json!({
            "deviceId": self.device_id, "etag": "AAAAAAAAAAE=", "deviceEtag": self.etag, "status": if self.enabled { "enabled" } else { "disabled" },
            "statusUpdateTime": stamp(self.status_updated), "connectionState": if self.connected { "Connected" } else { "Disconnected" },
            "lastActivityTime": stamp(self.last_activity), "cloudToDeviceMessageCount": self.cloud_to_device_message_count,
            "authenticationType": self.authentication_type(), "x509Thumbprint": thumbprints, "version": 1, "tags": {},
            "capabilities": {"iotEdge": self.iot_edge},
            "properties": {"desired": {"$metadata": {"$lastUpdated": NEVER}, "$version": 1}, "reported": {"$metadata": {"$lastUpdated": NEVER}, "$version": 1}},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_with_a_bad_field_names_it() {
        let bad = |body: Value| DeviceIdentity::from_request("d1", &body, None).unwrap_err().field;
        assert_eq!(bad(json!({"status": "paused"})), "status");
        assert_eq!(bad(json!({"authentication": {"type": "tpm"}})), "authentication.type");
        assert_eq!(bad(json!({"authentication": {"type": "sas", "symmetricKey": {"primaryKey": "not base64!"}}})), "primaryKey");
        assert_eq!(bad(json!({"parentScopes": "x"})), "parentScopes");
        assert_eq!(bad(json!([])), "body");
    }

    #[test]
    fn a_replacement_keeps_generation_and_connection_and_fills_missing_keys() {
        let mut first = DeviceIdentity::from_request("d1", &json!({}), None).unwrap();
        first.set_connected(true);
        let second = DeviceIdentity::from_request("d1", &json!({"status": "disabled"}), Some(&first)).unwrap();
        assert_eq!(second.generation_id, first.generation_id);
        assert!(second.connected && !second.enabled && second.etag != first.etag);
        let json = second.to_json();
        assert_eq!(json["authentication"]["type"], "sas");
        assert!(is_base64_key(json["authentication"]["symmetricKey"]["primaryKey"].as_str().unwrap()));
        assert_eq!(json["connectionState"], "Connected");
    }
}
