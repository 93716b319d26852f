//! The devices connected to a hub over MQTT (hub/device_mqtt.rs), as the hub's service side needs
//! them: who is online and able to take direct methods or desired-property patches, the method
//! calls waiting for their answer, and the telemetry each device sent (counted, the last few kept
//! for the control API). The simulated fleet is not here: it lives in `fleet`, beside these.

use crate::fleet::MethodOutcome;
use crate::mqtt::{Outbox, Outgoing};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// Telemetry messages kept per device for the control API (the count goes on past them).
const KEPT_MESSAGES: usize = 50;

/// One device's connection: its outbox, what it subscribed to, its method calls awaiting answers.
struct Link {
    /// Tells this connection from a later one of the same device (which replaces it).
    serial: u64,
    outbox: Outbox,
    methods: bool,
    desired: bool,
    pending: HashMap<String, oneshot::Sender<(u16, Value)>>,
}

/// A device-to-cloud message as the hub took it.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    pub enqueued: DateTime<Utc>,
    /// The topic's property bag: system (`$.ct`, `$.ce`, `$.mid`…) and application properties.
    pub properties: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Telemetry {
    /// The body as text when it is UTF-8 (JSON telemetry is), else base64.
    pub fn to_json(&self) -> Value {
        use base64::Engine;
        let properties: Map<String, Value> = self.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let body = match std::str::from_utf8(&self.body) {
            Ok(text) => json!({"text": text}),
            Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(&self.body)}),
        };
        json!({"enqueuedTime": crate::timestamps::rfc3339(self.enqueued), "properties": properties, "body": body})
    }
}

#[derive(Default)]
struct Received {
    count: u64,
    recent: VecDeque<Telemetry>,
}

/// What a connection subscribed to, as the hub tells its features apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Methods,
    DesiredProperties,
}

#[derive(Default)]
pub struct LiveDevices {
    links: Mutex<HashMap<String, Link>>,
    received: Mutex<HashMap<String, Received>>,
    serials: AtomicU64,
    requests: AtomicU64,
}

impl LiveDevices {
    /// A device connected: it replaces any earlier connection of the same ID, which the hub ends
    /// (its method calls time out). Returns this connection's serial.
    pub fn attach(&self, device_id: &str, outbox: Outbox) -> u64 {
        let serial = self.serials.fetch_add(1, Ordering::Relaxed) + 1;
        let link = Link { serial, outbox, methods: false, desired: false, pending: HashMap::new() };
        if let Some(earlier) = self.links.lock().unwrap().insert(device_id.to_string(), link) {
            let _ = earlier.outbox.send(Outgoing::close());
        }
        serial
    }

    /// The connection ended; true when it was the device's current one (the device is now offline).
    pub fn detach(&self, device_id: &str, serial: u64) -> bool {
        let mut links = self.links.lock().unwrap();
        if links.get(device_id).is_some_and(|l| l.serial == serial) {
            links.remove(device_id);
            return true;
        }
        false
    }

    pub fn subscribed(&self, device_id: &str, serial: u64, feature: Feature) {
        if let Some(link) = self.links.lock().unwrap().get_mut(device_id).filter(|l| l.serial == serial) {
            match feature {
                Feature::Methods => link.methods = true,
                Feature::DesiredProperties => link.desired = true,
            }
        }
    }

    /// Whether the device is connected over MQTT and takes direct methods.
    pub fn takes_methods(&self, device_id: &str) -> bool {
        self.links.lock().unwrap().get(device_id).is_some_and(|l| l.methods)
    }

    pub fn is_connected(&self, device_id: &str) -> bool {
        self.links.lock().unwrap().contains_key(device_id)
    }

    /// Sends `$iothub/methods/POST/{name}/?$rid=…` and waits up to `timeout` for the device's
    /// `$iothub/methods/res/{status}/?$rid=…`. `None` when the device is not connected and
    /// subscribed to methods, so the caller can look elsewhere (the simulated fleet).
    pub async fn invoke(&self, device_id: &str, method: &str, payload: &Value, timeout: Duration) -> Option<MethodOutcome> {
        let rid = format!("{:x}", self.requests.fetch_add(1, Ordering::Relaxed) + 1);
        let (answer, answered) = oneshot::channel();
        {
            let mut links = self.links.lock().unwrap();
            let link = links.get_mut(device_id).filter(|l| l.methods)?;
            let name: String = url::form_urlencoded::byte_serialize(method.as_bytes()).collect();
            let sent = link.outbox.send(Outgoing::new(format!("$iothub/methods/POST/{name}/?$rid={rid}"), payload.to_string()));
            if sent.is_err() {
                return None;
            }
            link.pending.insert(rid.clone(), answer);
        }
        let outcome = match tokio::time::timeout(timeout, answered).await {
            Ok(Ok((status, payload))) => MethodOutcome::Answered { status, payload },
            // Timed out, or the connection went away (its pending calls dropped with it).
            _ => MethodOutcome::TimedOut,
        };
        if let Some(link) = self.links.lock().unwrap().get_mut(device_id) {
            link.pending.remove(&rid);
        }
        Some(outcome)
    }

    /// The device's answer to a method call of this connection; false for an unknown request ID.
    pub fn answer(&self, device_id: &str, serial: u64, rid: &str, status: u16, payload: Value) -> bool {
        let waiting = self.links.lock().unwrap().get_mut(device_id).filter(|l| l.serial == serial).and_then(|l| l.pending.remove(rid));
        waiting.is_some_and(|w| w.send((status, payload)).is_ok())
    }

    /// A desired-property change the service made, pushed on
    /// `$iothub/twin/PATCH/properties/desired/?$version=…` to a device subscribed to them.
    pub fn notify_desired(&self, device_id: &str, mut patch: Map<String, Value>, version: u64) {
        if let Some(link) = self.links.lock().unwrap().get(device_id).filter(|l| l.desired) {
            patch.insert("$version".into(), json!(version));
            let _ = link.outbox.send(Outgoing::new(format!("$iothub/twin/PATCH/properties/desired/?$version={version}"), Value::Object(patch).to_string()));
        }
    }

    /// Counts a device-to-cloud message and keeps it among the device's last few.
    pub fn record(&self, device_id: &str, message: Telemetry) {
        let mut received = self.received.lock().unwrap();
        let entry = received.entry(device_id.to_string()).or_default();
        entry.count += 1;
        if entry.recent.len() == KEPT_MESSAGES {
            entry.recent.pop_front();
        }
        entry.recent.push_back(message);
    }

    /// Messages counted for the device, and the last ones kept (oldest first).
    pub fn telemetry(&self, device_id: &str) -> (u64, Vec<Telemetry>) {
        self.received.lock().unwrap().get(device_id).map(|r| (r.count, r.recent.iter().cloned().collect())).unwrap_or_default()
    }

    /// A device deleted from the registry: its connection ends, its telemetry is forgotten.
    pub fn forget(&self, device_id: &str) {
        if let Some(link) = self.links.lock().unwrap().remove(device_id) {
            let _ = link.outbox.send(Outgoing::close());
        }
        self.received.lock().unwrap().remove(device_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn a_method_reaches_a_subscribed_device_and_its_answer_comes_back() {
        let live = LiveDevices::default();
        let (outbox, mut inbox) = mpsc::unbounded_channel();
        let serial = live.attach("d1", outbox);
        assert!(live.invoke("d1", "reboot", &json!({}), Duration::from_secs(1)).await.is_none(), "not subscribed to methods yet");
        live.subscribed("d1", serial, Feature::Methods);
        let device = async {
            let sent = inbox.recv().await.unwrap();
            assert!(sent.topic.starts_with("$iothub/methods/POST/DeviceMove/?$rid="), "{}", sent.topic);
            assert_eq!(serde_json::from_slice::<Value>(&sent.payload).unwrap(), json!({"idScope": "0ne2"}));
            let rid = sent.topic.rsplit_once("$rid=").unwrap().1.to_string();
            assert!(!live.answer("d1", serial + 1, &rid, 200, json!(null)), "another connection's answer is not this call's");
            assert!(live.answer("d1", serial, &rid, 200, json!({"result": true})));
        };
        let request = json!({"idScope": "0ne2"});
        let (outcome, ()) = tokio::join!(live.invoke("d1", "DeviceMove", &request, Duration::from_secs(5)), device);
        assert_eq!(outcome, Some(MethodOutcome::Answered { status: 200, payload: json!({"result": true}) }));
        let silent = live.invoke("d1", "reboot", &json!(null), Duration::from_millis(50)).await;
        assert_eq!(silent, Some(MethodOutcome::TimedOut));
    }

    #[test]
    fn a_later_connection_replaces_the_earlier_whose_close_then_changes_nothing() {
        let live = LiveDevices::default();
        let (outbox, mut earlier) = mpsc::unbounded_channel();
        let first = live.attach("d1", outbox);
        let (outbox, mut later) = mpsc::unbounded_channel();
        let second = live.attach("d1", outbox);
        assert!(earlier.try_recv().unwrap().is_close(), "the hub ends the earlier connection");
        assert!(!live.detach("d1", first), "the replaced connection closing leaves the device online");
        assert!(live.is_connected("d1"));
        assert!(live.detach("d1", second));
        assert!(!live.is_connected("d1"));
        assert!(later.try_recv().is_err(), "a connection that ended by itself is sent nothing");
        let (outbox, mut deleted) = mpsc::unbounded_channel();
        live.attach("d1", outbox);
        live.forget("d1");
        assert!(deleted.try_recv().unwrap().is_close(), "a deleted device's connection ends");
    }

    #[test]
    fn telemetry_is_counted_past_the_messages_kept() {
        let live = LiveDevices::default();
        for i in 0..(KEPT_MESSAGES + 5) {
            live.record("d1", Telemetry { enqueued: Utc::now(), properties: vec![], body: format!("{{\"n\":{i}}}").into_bytes() });
        }
        let (count, kept) = live.telemetry("d1");
        assert_eq!((count, kept.len()), ((KEPT_MESSAGES + 5) as u64, KEPT_MESSAGES));
        assert_eq!(kept.last().unwrap().to_json()["body"]["text"], format!("{{\"n\":{}}}", KEPT_MESSAGES + 4));
        assert_eq!(live.telemetry("d2").0, 0);
    }
}
