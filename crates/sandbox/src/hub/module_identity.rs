//! A module identity on a device: its own keys or certificate, ETag and generation, and a twin of
//! its own. Kept inside its device's entry, so deleting the device deletes its modules.

use super::identity::{optional_string, parse_authentication, stamp, Authentication, InvalidField};
use super::twin::TwinState;
use crate::live::new_etag;
use crate::tokens::random_token;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Modules a device may have (the hub's limit).
pub const MAX_MODULES_PER_DEVICE: usize = 50;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct ModuleIdentity {
    pub device_id: String,
    pub module_id: String,
    pub generation_id: String,
    pub etag: String,
    pub managed_by: Option<String>,
    pub authentication: Authentication,
    pub connected: bool,
    pub connection_state_updated: Option<DateTime<Utc>>,
    pub last_activity: Option<DateTime<Utc>>,
    pub twin: Option<Box<TwinState>>,
}

/// Keys never reach a log through Debug.
impl std::fmt::Debug for ModuleIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleIdentity").field("device_id", &self.device_id).field("module_id", &self.module_id).finish_non_exhaustive()
    }
}

impl ModuleIdentity {
    /// The module a PUT body describes, on top of `existing` when it replaces one (generation and
    /// twin survive; keys left empty are generated).
    pub fn from_request(device_id: &str, module_id: &str, body: &Value, existing: Option<&ModuleIdentity>) -> Result<ModuleIdentity, InvalidField> {
        if !body.is_object() {
            return Err(InvalidField { field: "body", problem: "must be a JSON object".into() });
        }
        let authentication = parse_authentication(body)?;
        let managed_by = optional_string(body, "/managedBy", "managedBy")?;
        Ok(match existing {
            Some(old) => ModuleIdentity { etag: new_etag(), managed_by, authentication, ..old.clone() },
            None => ModuleIdentity {
                device_id: device_id.into(),
                module_id: module_id.into(),
                generation_id: random_token(12),
                etag: new_etag(),
                managed_by,
                authentication,
                connected: false,
                connection_state_updated: None,
                last_activity: None,
                twin: None,
            },
        })
    }

    fn authentication_type(&self) -> &'static str {
        match self.authentication {
            Authentication::Sas { .. } => "sas",
            Authentication::SelfSigned { .. } => "selfSigned",
            Authentication::CertificateAuthority => "certificateAuthority",
            Authentication::None => "none",
        }
    }

    fn thumbprints(&self) -> Value {
        match &self.authentication {
            Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => {
                json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint})
            }
            _ => json!({"primaryThumbprint": null, "secondaryThumbprint": null}),
        }
    }

    fn connection_state(&self) -> &'static str {
        if self.connected {
            "Connected"
        } else {
            "Disconnected"
        }
    }

    pub fn to_json(&self) -> Value {
        let keys = match &self.authentication {
            Authentication::Sas { primary_key, secondary_key } => json!({"primaryKey": primary_key, "secondaryKey": secondary_key}),
            _ => json!({"primaryKey": null, "secondaryKey": null}),
        };
        json!({
            "moduleId": self.module_id, "deviceId": self.device_id, "managedBy": self.managed_by,
            "generationId": self.generation_id, "etag": self.etag, "connectionState": self.connection_state(),
            "connectionStateUpdatedTime": stamp(self.connection_state_updated), "lastActivityTime": stamp(self.last_activity),
            "cloudToDeviceMessageCount": 0,
            "authentication": {"type": self.authentication_type(), "symmetricKey": keys, "x509Thumbprint": self.thumbprints()},
        })
    }

    /// The module twin: the module's identity fields, tags and properties.
    pub fn twin_json(&self) -> Value {
        let mut twin = json!({
            "deviceId": self.device_id, "moduleId": self.module_id, "deviceEtag": self.etag, "status": "enabled",
            "statusUpdateTime": stamp(None), "connectionState": self.connection_state(), "lastActivityTime": stamp(self.last_activity),
            "cloudToDeviceMessageCount": 0, "authenticationType": self.authentication_type(), "x509Thumbprint": self.thumbprints(),
        });
        super::twin::render_into(&mut twin, self.twin.as_deref());
        twin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_keeps_generation_and_twin_and_renews_the_etag() {
        let first = ModuleIdentity::from_request("d1", "m1", &json!({"managedBy": "IotEdge"}), None).unwrap();
        assert_eq!(first.to_json()["authentication"]["type"], "sas");
        assert!(first.to_json()["authentication"]["symmetricKey"]["primaryKey"].as_str().is_some_and(|k| !k.is_empty()));
        let mut twin = TwinState::default();
        twin.version = 5;
        let with_twin = ModuleIdentity { twin: Some(Box::new(twin)), ..first.clone() };
        let second = ModuleIdentity::from_request("d1", "m1", &json!({"authentication": {"type": "certificateAuthority"}}), Some(&with_twin)).unwrap();
        assert_eq!((second.generation_id.as_str(), second.twin.as_ref().map(|t| t.version)), (first.generation_id.as_str(), Some(5)));
        assert_ne!(second.etag, first.etag);
        assert_eq!(second.managed_by, None);
        assert_eq!(second.twin_json()["moduleId"], "m1");
        assert_eq!(second.twin_json()["etag"], super::super::twin::etag(5));
    }
}
