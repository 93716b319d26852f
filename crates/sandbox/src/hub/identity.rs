//! A device identity as the hub keeps it: typed and compact (a hub holds up to a million of them),
//! rendered to the service's JSON on the way out and parsed, field by field, on the way in.

use super::module_identity::ModuleIdentity;
use super::twin::TwinState;
use crate::live::{new_etag, NEVER};
use crate::tokens::random_token;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Authentication {
    Sas { primary_key: String, secondary_key: String },
    SelfSigned { primary_thumbprint: Option<String>, secondary_thumbprint: Option<String> },
    CertificateAuthority,
    None,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub generation_id: String,
    pub etag: String,
    pub enabled: bool,
    pub status_reason: Option<String>,
    pub connected: bool,
    pub connection_state_updated: Option<DateTime<Utc>>,
    pub last_activity: Option<DateTime<Utc>>,
    pub status_updated: Option<DateTime<Utc>>,
    pub authentication: Authentication,
    pub iot_edge: bool,
    pub device_scope: Option<String>,
    pub parent_scopes: Vec<String>,
    pub cloud_to_device_message_count: u32,
    /// Tags and properties, only once something set them (most devices of a big hub never do).
    pub twin: Option<Box<TwinState>>,
    /// Module identities by module ID, only on devices that have some.
    pub modules: Option<Box<BTreeMap<String, ModuleIdentity>>>,
}

/// Keys never reach a log through Debug.
impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity").field("device_id", &self.device_id).field("connected", &self.connected).finish_non_exhaustive()
    }
}

pub fn stamp(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(crate::timestamps::rfc3339(t))).unwrap_or_else(|| json!(NEVER))
}

/// A field of the request body that is not what the service accepts.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

pub fn optional_string(body: &Value, pointer: &str, field: &'static str) -> Result<Option<String>, InvalidField> {
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

/// A device ID or module ID as the hub accepts it: 1 to 128 ASCII letters, digits and `-.%_*?!(),:=@$'+#`.
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.%_*?!(),:=@$'+#".contains(&b))
}

/// A certificate thumbprint: SHA-1 (40) or SHA-256 (64) hex digits.
fn is_thumbprint(t: &str) -> bool {
    matches!(t.len(), 40 | 64) && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `authentication` of a device or module body: SAS keys (generated when left empty), X.509
/// thumbprints (self-signed: a primary one at least), certificate authority, or none.
pub fn parse_authentication(body: &Value) -> Result<Authentication, InvalidField> {
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
        "selfsigned" => {
            let thumbprint = |pointer: &str, field: &'static str| -> Result<Option<String>, InvalidField> {
                match optional_string(body, pointer, field)? {
                    Some(t) if !is_thumbprint(&t) => Err(InvalidField { field, problem: "must be 40 (SHA-1) or 64 (SHA-256) hex digits".into() }),
                    t => Ok(t),
                }
            };
            let primary_thumbprint = thumbprint("/authentication/x509Thumbprint/primaryThumbprint", "primaryThumbprint")?;
            if primary_thumbprint.is_none() {
                return Err(InvalidField { field: "primaryThumbprint", problem: "is required for selfSigned authentication".into() });
            }
            Authentication::SelfSigned {
                primary_thumbprint,
                secondary_thumbprint: thumbprint("/authentication/x509Thumbprint/secondaryThumbprint", "secondaryThumbprint")?,
            }
        }
        "certificateauthority" => Authentication::CertificateAuthority,
        "none" => Authentication::None,
        other => {
            return Err(InvalidField { field: "authentication.type", problem: format!("'{other}' is not one of sas, selfSigned, certificateAuthority, none") })
        }
    };
    Ok(authentication)
}

/// The scope the hub gives an edge device: its ID and a number that tells re-creations apart.
fn edge_scope(device_id: &str) -> String {
    let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default() / 100;
    format!("ms-azure-iot-edge://{device_id}-{stamp}")
}

/// A leaf device's `deviceScope`, and every parent scope, must be that of an edge device in the
/// registry (other than the device itself).
pub fn check_scope(devices: &BTreeMap<String, DeviceIdentity>, device: &DeviceIdentity) -> Result<(), InvalidField> {
    let is_edge_scope = |scope: &String| devices.values().any(|d| d.iot_edge && d.device_id != device.device_id && d.device_scope.as_ref() == Some(scope));
    let leaf_scope = device.device_scope.as_ref().filter(|_| !device.iot_edge);
    match leaf_scope.into_iter().chain(&device.parent_scopes).find(|s| !is_edge_scope(s)) {
        Some(scope) => Err(InvalidField { field: "deviceScope", problem: format!("'{scope}' is not the scope of an edge device of this hub") }),
        None => Ok(()),
    }
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
            twin: None,
            modules: None,
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
        let authentication = parse_authentication(body)?;
        let parent_scopes = match body.get("parentScopes") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(InvalidField { field: "parentScopes", problem: "must be an array of strings".into() })?,
            Some(_) => return Err(InvalidField { field: "parentScopes", problem: "must be an array of strings".into() }),
        };
        let status_reason = optional_string(body, "/statusReason", "statusReason")?;
        if status_reason.as_ref().is_some_and(|r| r.chars().count() > 128) {
            return Err(InvalidField { field: "statusReason", problem: "must be at most 128 characters".into() });
        }
        let iot_edge = body.pointer("/capabilities/iotEdge").and_then(Value::as_bool).unwrap_or(false);
        let given_scope = optional_string(body, "/deviceScope", "deviceScope")?;
        // An edge device is a scope of its own, named by the hub and kept (immutable): a scope it
        // is given names its parent edge device. A leaf device's scope is its parent's.
        let (device_scope, parent) = if iot_edge {
            let own = existing.and_then(|e| e.device_scope.clone().filter(|_| e.iot_edge)).unwrap_or_else(|| edge_scope(device_id));
            let parent = given_scope.filter(|s| *s != own);
            (Some(own), parent)
        } else {
            (given_scope.clone(), given_scope)
        };
        let parent_scopes = match parent {
            Some(scope) if parent_scopes.is_empty() => vec![scope],
            _ => parent_scopes,
        };
        let base = existing.cloned().unwrap_or_else(|| DeviceIdentity::new_sas(device_id, String::new(), String::new()));
        Ok(DeviceIdentity {
            etag: new_etag(),
            status_updated: if existing.is_some_and(|e| e.enabled != enabled) { Some(Utc::now()) } else { base.status_updated },
            enabled,
            status_reason,
            authentication,
            iot_edge,
            device_scope,
            parent_scopes,
            ..base
        })
    }

    pub fn set_connected(&mut self, connected: bool) {
        let now = Utc::now();
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
            Authentication::Sas { primary_key, secondary_key } => {
                (json!({"primaryKey": primary_key, "secondaryKey": secondary_key}), json!({"primaryThumbprint": null, "secondaryThumbprint": null}))
            }
            Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => (
                json!({"primaryKey": null, "secondaryKey": null}),
                json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint}),
            ),
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

    /// The device's twin: identity fields, and tags and properties with their versions (the empty
    /// twin at version 1 until something is set).
    pub fn twin_json(&self) -> Value {
        let thumbprints = match &self.authentication {
            Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => {
                json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint})
            }
            _ => json!({"primaryThumbprint": null, "secondaryThumbprint": null}),
        };
        let mut twin = json!({
            "deviceId": self.device_id, "deviceEtag": self.etag, "status": if self.enabled { "enabled" } else { "disabled" },
            "statusReason": self.status_reason, "statusUpdateTime": stamp(self.status_updated),
            "connectionState": if self.connected { "Connected" } else { "Disconnected" },
            "lastActivityTime": stamp(self.last_activity), "cloudToDeviceMessageCount": self.cloud_to_device_message_count,
            "authenticationType": self.authentication_type(), "x509Thumbprint": thumbprints,
            "capabilities": {"iotEdge": self.iot_edge}, "deviceScope": self.device_scope, "parentScopes": self.parent_scopes,
        });
        super::twin::render_into(&mut twin, self.twin.as_deref());
        twin
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
        assert_eq!(bad(json!({"authentication": {"type": "selfSigned", "x509Thumbprint": {"primaryThumbprint": "abc"}}})), "primaryThumbprint");
        assert_eq!(bad(json!({"authentication": {"type": "selfSigned"}})), "primaryThumbprint");
        assert_eq!(bad(json!({"statusReason": "x".repeat(129)})), "statusReason");
        assert!(valid_id("dev-1:a.b@c") && !valid_id("a b") && !valid_id("") && !valid_id(&"a".repeat(129)));
    }

    #[test]
    fn edge_devices_get_a_scope_that_leaves_and_child_edges_point_at() {
        let edge = DeviceIdentity::from_request("edge", &json!({"capabilities": {"iotEdge": true}, "deviceScope": null}), None).unwrap();
        let scope = edge.device_scope.clone().unwrap();
        assert!(scope.starts_with("ms-azure-iot-edge://edge-") && edge.parent_scopes.is_empty());
        let again =
            DeviceIdentity::from_request("edge", &json!({"capabilities": {"iotEdge": true}, "deviceScope": "ms-azure-iot-edge://other-1"}), Some(&edge))
                .unwrap();
        assert_eq!(
            (again.device_scope.as_ref(), again.parent_scopes.clone()),
            (Some(&scope), vec!["ms-azure-iot-edge://other-1".to_string()]),
            "an edge device keeps its scope"
        );
        let devices = BTreeMap::from([("edge".to_string(), edge)]);
        let leaf = DeviceIdentity::from_request("leaf", &json!({"deviceScope": scope}), None).unwrap();
        assert_eq!(leaf.parent_scopes, vec![scope.clone()]);
        assert!(check_scope(&devices, &leaf).is_ok());
        let stray = DeviceIdentity::from_request("stray", &json!({"deviceScope": "ms-azure-iot-edge://nobody-1"}), None).unwrap();
        assert_eq!(check_scope(&devices, &stray).unwrap_err().field, "deviceScope");
        assert!(check_scope(&devices, &again).is_err(), "its parent is not in the registry");
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
