//! One simulated device. It holds the key it was provisioned with and where it is connected; it
//! answers direct methods as its persona says, and on `DeviceMove` does what the official device
//! samples do: answer 200, disconnect, register with the new ID scope using the same registration
//! ID and key, and connect to the hub DPS assigned.

use super::{DeviceTiming, Persona};
use crate::cloud::Cloud;
use crate::dps::registration;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// The ID scope the device last registered with.
    pub id_scope: String,
    /// The hub host it is connected to, if any.
    pub hub: Option<String>,
    pub connected: bool,
    /// Why its last registration failed, if it did.
    pub last_error: Option<String>,
    /// DeviceMove commands it has accepted.
    pub moves_accepted: u32,
    /// The ID scope of a DeviceMove accepted and not yet carried out (disconnected, on its way to
    /// the new DPS): a sandbox restored from a saved state finishes the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moving_to: Option<String>,
}

/// A simulated device as the state snapshot keeps it: its key (the snapshot file is the user's
/// alone), persona and where it is.
#[derive(Serialize, serde::Deserialize)]
pub struct SimDeviceRecord {
    id: String,
    persona: Persona,
    key: String,
    link: Link,
}

pub struct SimDevice {
    pub id: String,
    pub persona: Mutex<Persona>,
    /// The device's symmetric key: derived from its enrollment group's key, or (wrongKey) its own
    /// individual enrollment's. It signs every registration with it; never logged.
    key: String,
    pub link: Mutex<Link>,
}

/// What a direct method call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodOutcome {
    Answered {
        status: u16,
        payload: Value,
    },
    /// No answer within the service's timeout.
    TimedOut,
}

impl SimDevice {
    pub fn new(id: String, persona: Persona, key: String) -> SimDevice {
        SimDevice { id, persona: Mutex::new(persona), key, link: Mutex::default() }
    }

    pub fn persona(&self) -> Persona {
        *self.persona.lock().unwrap()
    }

    /// Registers with the DPS that owns `scope` over the same code path the runtime API uses (a
    /// SAS token signed with the device key), then connects to the assigned hub.
    pub fn register(&self, cloud: &Cloud, scope: &str) -> Result<String, String> {
        let outcome = (|| {
            let dps = cloud.dps_by_scope(scope).ok_or_else(|| format!("no DPS has the ID scope {scope}"))?;
            let resource = format!("{scope}/registrations/{}", self.id);
            let expiry = cloud.now() + 3600;
            let encoded: String = url::form_urlencoded::byte_serialize(resource.as_bytes()).collect();
            let sig = crate::sas::sign(&self.key, &encoded, expiry).ok_or("the device key is not base64")?;
            let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
            let header = format!("SharedAccessSignature sr={encoded}&sig={sig}&se={expiry}&skn=registration");
            let state = registration::register(cloud, &dps, scope, &self.id, registration::DeviceProof::Sas(Some(&header)), None)
                .map_err(|e| format!("DPS answered {}: {}", e.code, e.message))?;
            match state.outcome {
                registration::Outcome::Assigned { hub, .. } => Ok(hub),
                registration::Outcome::Failed { message, .. } => Err(format!("DPS did not assign a hub: {message}")),
            }
        })();
        let mut link = self.link.lock().unwrap();
        link.id_scope = scope.to_string();
        match &outcome {
            Ok(hub) => {
                if let Some(old) = link.hub.take().filter(|old| old != hub).and_then(|old| cloud.hub_by_host(&old)) {
                    old.set_connection(&self.id, false);
                }
                link.connected = false;
                if let Some(new) = cloud.hub_by_host(hub) {
                    new.set_connection(&self.id, true);
                }
                link.hub = Some(hub.clone());
                link.connected = true;
                link.last_error = None;
            }
            Err(why) => {
                if let Some(old) = link.hub.take().and_then(|old| cloud.hub_by_host(&old)) {
                    old.set_connection(&self.id, false);
                }
                tracing::debug!(device = %self.id, %scope, "registration failed: {why}");
                link.connected = false;
                link.last_error = Some(why.clone());
            }
        }
        outcome
    }

    /// After `wait`, registers with the DPS of `scope` (the move accepted), unless another move
    /// has been accepted since.
    pub fn finish_move(self: Arc<Self>, cloud: Arc<Cloud>, scope: String, wait: Duration) {
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if self.link.lock().unwrap().moving_to.as_deref() != Some(scope.as_str()) {
                return;
            }
            let _ = self.register(&cloud, &scope);
            let mut link = self.link.lock().unwrap();
            if link.moving_to.as_deref() == Some(scope.as_str()) {
                link.moving_to = None;
            }
        });
    }

    pub fn record(&self) -> SimDeviceRecord {
        SimDeviceRecord { id: self.id.clone(), persona: self.persona(), key: self.key.clone(), link: self.link.lock().unwrap().clone() }
    }

    /// A device from a saved state; a move it had accepted is carried out once the sandbox serves.
    pub fn from_record(record: SimDeviceRecord) -> SimDevice {
        SimDevice { id: record.id, persona: Mutex::new(record.persona), key: record.key, link: Mutex::new(record.link) }
    }

    /// Drops the hub connection (what the samples do right after answering DeviceMove).
    pub fn disconnect(&self, cloud: &Cloud) {
        let mut link = self.link.lock().unwrap();
        if let Some(hub) = link.hub.take().and_then(|h| cloud.hub_by_host(&h)) {
            hub.set_connection(&self.id, false);
        }
        link.connected = false;
    }

    /// A direct method call (`DeviceMove`, or `<component>*DeviceMove` on a component).
    pub async fn invoke(self: &Arc<Self>, cloud: &Arc<Cloud>, method: &str, payload: &Value, timing: &DeviceTiming) -> MethodOutcome {
        let persona = self.persona();
        let timeout = Duration::from_millis(timing.command_timeout_ms);
        let answer_after = Duration::from_millis(if persona == Persona::Slow { timing.slow_answer_ms } else { timing.answer_ms });
        if persona == Persona::Offline || !self.link.lock().unwrap().connected || answer_after > timeout {
            tokio::time::sleep(timeout).await;
            return MethodOutcome::TimedOut;
        }
        tokio::time::sleep(answer_after).await;
        let is_move = method == "DeviceMove" || method.ends_with("*DeviceMove");
        if !is_move || persona == Persona::NoDeviceMove {
            return MethodOutcome::Answered { status: 501, payload: json!({"result": false, "data": format!("Method '{method}' is not implemented.")}) };
        }
        // The DeviceMigration interface sends an object carrying idScope; older tools sent the bare scope.
        let scope = match payload {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("idScope").and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        let Some(scope) = scope.filter(|s| !s.is_empty()) else {
            return MethodOutcome::Answered { status: 400, payload: json!({"result": false, "data": "The payload carries no idScope."}) };
        };
        {
            let mut link = self.link.lock().unwrap();
            link.moves_accepted += 1;
            if persona != Persona::NeverMoves {
                link.moving_to = Some(scope.clone());
            }
        }
        if persona != Persona::NeverMoves {
            self.disconnect(cloud);
            self.clone().finish_move(cloud.clone(), scope, Duration::from_millis(timing.reconnect_ms));
        }
        MethodOutcome::Answered { status: 200, payload: json!({"result": true, "data": "Migration received. Disconnecting..."}) }
    }
}
