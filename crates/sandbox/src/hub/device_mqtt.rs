//! IoT Hub's device side over MQTT, as the official device SDKs speak it ("Communicate with an IoT
//! hub using the MQTT protocol"): CONNECT with client ID = device ID, username
//! `{hub host}/{deviceId}/?api-version=…` and a SharedAccessSignature for `{hub host}/devices/{id}`
//! signed with one of the device's keys (or a hub policy with DeviceConnect) as password — or a
//! self-signed X.509 certificate whose thumbprint the registry holds. Then telemetry on
//! `devices/{id}/messages/events/…`, twin GET and reported PATCH on `$iothub/twin/…` (answered on
//! `$iothub/twin/res/…`), and the answers to direct methods on `$iothub/methods/res/…`; the hub
//! pushes methods and desired-property patches through the connection's outbox (live_devices.rs).
//!
//! The hub is named in the username, so one endpoint serves every hub, as a transparent gateway
//! does (`device_endpoint.rs`): devices connect with `GatewayHostName=localhost`.

use super::live_devices::{Feature, Telemetry};
use super::state::Hub;
use crate::cloud::Cloud;
use crate::hub::identity::Authentication;
use crate::mqtt::{BoxFuture, ConnectInfo, ConnectRefusal, MqttHandler, MqttSession, Outbox, Outgoing};
use crate::sas;
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub struct HubMqtt {
    pub cloud: Arc<Cloud>,
}

/// The parts of a device's username: hub host, device ID, and whether it named a module.
#[derive(Debug, PartialEq, Eq)]
pub struct Username<'a> {
    pub host: &'a str,
    pub device_id: &'a str,
    pub module_id: Option<&'a str>,
    pub api_version: Option<String>,
}

/// `{host}/{deviceId}[/{moduleId}]/?api-version=…&DeviceClientType=…`; `None` when not that shape.
pub fn parse_username(username: &str) -> Option<Username<'_>> {
    let (path, query) = username.split_once("/?").unwrap_or((username.trim_end_matches('/'), ""));
    let mut parts = path.split('/');
    let (host, device_id, module_id) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() || host.is_empty() || device_id.is_empty() || module_id.is_some_and(str::is_empty) {
        return None;
    }
    let api_version = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "api-version").map(|(_, v)| v.into_owned());
    Some(Username { host, device_id, module_id, api_version })
}

/// Why a device's credentials were refused, for the debug log (the device only sees CONNACK 5).
fn authenticate(cloud: &Cloud, hub: &Hub, device_id: &str, info: &ConnectInfo) -> Result<(), String> {
    let devices = hub.devices.lock().unwrap();
    let device = devices.get(device_id).ok_or("no such device in the registry")?;
    if !device.enabled {
        return Err("the device is disabled".into());
    }
    let Some(password) = info.password_text() else {
        let leaf = info.client_certificates.first().ok_or("neither a SAS token nor a client certificate")?;
        let Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } = &device.authentication else {
            return Err(format!("a certificate was presented but the device authenticates by {}", device.authentication_type()));
        };
        let sha1 = crate::x509::sha1_thumbprint(leaf);
        let sha256: String = ring::digest::digest(&ring::digest::SHA256, leaf.as_ref()).as_ref().iter().map(|b| format!("{b:02X}")).collect();
        let matches = |t: &Option<String>| t.as_ref().is_some_and(|t| t.eq_ignore_ascii_case(&sha1) || t.eq_ignore_ascii_case(&sha256));
        return (matches(primary_thumbprint) || matches(secondary_thumbprint))
            .then_some(())
            .ok_or_else(|| "the certificate's thumbprint is not the device's".into());
    };
    let token = sas::parse(Some(password), cloud.now()).map_err(|e| format!("SAS token: {e:?}"))?;
    let expected = format!("{}/devices/{}", hub.host(), device_id).to_ascii_lowercase();
    if token.resource() != expected && token.resource() != hub.host().to_ascii_lowercase() {
        return Err(format!("the token is for {}, not {expected}", token.resource()));
    }
    if let Some(key_name) = token.skn {
        if hub.local_auth_disabled() {
            return Err("local authentication is disabled on this hub".into());
        }
        let policies = hub.policies();
        let policy = policies.iter().find(|p| p.key_name == key_name).ok_or("no such shared access policy")?;
        let signed = token.signed_with(&policy.primary_key) || token.signed_with(&policy.secondary_key);
        return (signed && policy.allows("DeviceConnect")).then_some(()).ok_or_else(|| "not signed by a policy with DeviceConnect".into());
    }
    match &device.authentication {
        Authentication::Sas { primary_key, secondary_key } if token.signed_with(primary_key) || token.signed_with(secondary_key) => Ok(()),
        Authentication::Sas { .. } => Err("not signed with either of the device's keys".into()),
        other => Err(format!("a SAS token was presented but the device authenticates by {other:?}")),
    }
}

impl MqttHandler for HubMqtt {
    fn connect(&self, info: &ConnectInfo, outbox: Outbox) -> Result<Box<dyn MqttSession>, ConnectRefusal> {
        let username = info.username.as_deref().and_then(parse_username).ok_or(ConnectRefusal::BadUsernameOrPassword)?;
        if username.api_version.as_deref().is_none_or(str::is_empty) {
            return Err(ConnectRefusal::BadUsernameOrPassword);
        }
        let hub = self.cloud.hub_by_host(username.host).ok_or(ConnectRefusal::BadUsernameOrPassword)?;
        // Module identities over MQTT are not served: their client would wait on features never given.
        if username.device_id != info.client_id || username.module_id.is_some() {
            return Err(ConnectRefusal::IdentifierRejected);
        }
        let device_id = username.device_id.to_string();
        authenticate(&self.cloud, &hub, &device_id, info).map_err(|why| {
            tracing::debug!(hub = %hub.host(), device = %device_id, "IoT Hub MQTT connect refused: {why}");
            ConnectRefusal::NotAuthorized
        })?;
        let serial = hub.live_devices().attach(&device_id, outbox);
        hub.set_connection(&device_id, true);
        Ok(Box::new(DeviceSession { cloud: self.cloud.clone(), hub, device_id, serial }))
    }
}

struct DeviceSession {
    cloud: Arc<Cloud>,
    hub: Arc<Hub>,
    device_id: String,
    serial: u64,
}

/// `a=1&b=2` after the `?` of a topic, in order.
fn topic_query(topic: &str) -> Vec<(String, String)> {
    topic.split_once('?').map(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

fn rid(topic: &str) -> String {
    topic_query(topic).into_iter().find(|(k, _)| k == "$rid").map(|(_, v)| v).unwrap_or_default()
}

fn twin_reply(status: u16, rid: &str, extra: &str, body: &Value) -> Outgoing {
    let payload = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    Outgoing::new(format!("$iothub/twin/res/{status}/?$rid={rid}{extra}"), payload)
}

/// A twin section with its `$version`, as the device reads it (no `$metadata` over MQTT).
fn section(mut map: Map<String, Value>, version: u64) -> Value {
    map.insert("$version".into(), json!(version));
    Value::Object(map)
}

impl DeviceSession {
    fn answer(&self, topic: &str, payload: &[u8]) -> Option<Outgoing> {
        let events = format!("devices/{}/messages/events", self.device_id);
        if let Some(rest) = topic.strip_prefix(&events).filter(|rest| rest.is_empty() || rest.starts_with('/')) {
            return self.telemetry(rest.trim_start_matches('/'), payload);
        }
        if topic.starts_with("$iothub/twin/GET/") {
            let twin = self.hub.devices.lock().unwrap().get(&self.device_id).map(|d| d.twin.as_deref().cloned().unwrap_or_default());
            return Some(match twin {
                Some(t) => twin_reply(
                    200,
                    &rid(topic),
                    "",
                    &json!({"desired": section(t.desired(), t.desired_version), "reported": section(t.reported(), t.reported_version)}),
                ),
                None => twin_reply(404, &rid(topic), "", &json!({"message": format!("Device {} not registered", self.device_id)})),
            });
        }
        if topic.starts_with("$iothub/twin/PATCH/properties/reported/") {
            let rid = rid(topic);
            let patch = serde_json::from_slice::<Value>(payload).map_err(|e| format!("The reported properties are not JSON: {e}"));
            let patch = patch.and_then(|p| super::twin::parse_reported(&p));
            return Some(match patch {
                Err(why) => twin_reply(400, &rid, "", &json!({"errorCode": 400004, "message": why})),
                Ok(patch) => match self.hub.report_properties_versioned(&self.device_id, patch) {
                    Some(version) => twin_reply(204, &rid, &format!("&$version={version}"), &Value::Null),
                    None => twin_reply(404, &rid, "", &json!({"message": format!("Device {} not registered", self.device_id)})),
                },
            });
        }
        if let Some(rest) = topic.strip_prefix("$iothub/methods/res/") {
            let status = rest.split('/').next().and_then(|s| s.parse::<u16>().ok());
            let body =
                if payload.is_empty() { Value::Null } else { serde_json::from_slice(payload).unwrap_or_else(|_| json!(String::from_utf8_lossy(payload))) };
            match status {
                Some(status) if self.hub.live_devices().answer(&self.device_id, self.serial, &rid(topic), status, body) => {}
                _ => tracing::debug!(%topic, "IoT Hub MQTT: a method response no call is waiting for"),
            }
            return None;
        }
        tracing::debug!(%topic, device = %self.device_id, "IoT Hub MQTT: a publish on a topic the hub does not serve");
        None
    }

    /// Counted, kept for the control API, and the device's last activity; the daily message quota
    /// counts it in steps of the tier's message size, as for messages sent over HTTPS. Past the
    /// quota (while quotas are on) the hub takes no more and ends the device's connection.
    fn telemetry(&self, property_bag: &str, payload: &[u8]) -> Option<Outgoing> {
        let scale = self.hub.scale();
        let (daily, meter) = super::quotas::limits::daily_messages(&scale.sku, scale.capacity);
        let now = self.cloud.now();
        if self.hub.quotas().enabled(&self.cloud) && self.hub.quotas().messages_today(now) >= daily {
            tracing::debug!(hub = %self.hub.host(), device = %self.device_id, "IoT Hub MQTT: the daily message quota ({daily}) is spent");
            return Some(Outgoing::close());
        }
        let properties = url::form_urlencoded::parse(property_bag.as_bytes()).into_owned().collect();
        self.hub.live_devices().record(&self.device_id, Telemetry { enqueued: chrono::Utc::now(), properties, body: payload.to_vec() });
        self.hub.touch(&self.device_id);
        self.hub.quotas().count_messages(now, payload.len().div_ceil(meter).max(1) as u64);
        None
    }
}

impl MqttSession for DeviceSession {
    fn publish<'a>(&'a self, topic: &'a str, payload: &'a [u8]) -> BoxFuture<'a, Vec<Outgoing>> {
        Box::pin(async move { self.answer(topic, payload).into_iter().collect() })
    }

    fn subscribed(&self, filters: &[String]) {
        for filter in filters {
            let feature = match filter.as_str() {
                "$iothub/methods/POST/#" => Feature::Methods,
                "$iothub/twin/PATCH/properties/desired/#" => Feature::DesiredProperties,
                _ => continue,
            };
            self.hub.live_devices().subscribed(&self.device_id, self.serial, feature);
        }
    }

    fn closed(&self) {
        if self.hub.live_devices().detach(&self.device_id, self.serial) {
            self.hub.set_connection(&self.device_id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::MethodOutcome;
    use crate::hub::identity::DeviceIdentity;
    use crate::testing;
    use std::time::Duration;
    use tokio::sync::mpsc;

    const HOST: &str = "localhost:4431";

    /// A cloud with one hub holding device `d1` (SAS keys `primary`, `secondary`).
    fn world() -> (tempfile::TempDir, Arc<Cloud>, Arc<Hub>, String, String) {
        let (dir, cloud) = testing::cloud();
        let hub = Arc::new(Hub::new(testing::placement(), "h", "S1", 1, HOST.into()));
        let (primary, secondary) = (crate::live::new_key(), crate::live::new_key());
        hub.devices.lock().unwrap().insert("d1".into(), DeviceIdentity::new_sas("d1", primary.clone(), secondary.clone()));
        cloud.hubs().add(hub.clone());
        (dir, cloud, hub, primary, secondary)
    }

    /// A device token as the Python SDK signs it: `sr` URL-encoded, no key name.
    fn token(key: &str, resource: &str, expiry: i64) -> Vec<u8> {
        let sr: String = url::form_urlencoded::byte_serialize(resource.as_bytes()).collect();
        let sig: String = url::form_urlencoded::byte_serialize(sas::sign(key, &sr, expiry).unwrap().as_bytes()).collect();
        format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry}").into_bytes()
    }

    fn info(client_id: &str, username: &str, password: Vec<u8>) -> ConnectInfo {
        ConnectInfo {
            client_id: client_id.into(),
            username: Some(username.into()),
            password: Some(password),
            keep_alive: 60,
            clean_session: true,
            peer: "127.0.0.1:1".parse().unwrap(),
            client_certificates: vec![],
        }
    }

    fn refusal(cloud: &Arc<Cloud>, info: &ConnectInfo) -> Option<ConnectRefusal> {
        HubMqtt { cloud: cloud.clone() }.connect(info, mpsc::unbounded_channel().0).err()
    }

    #[test]
    fn only_the_devices_own_keys_for_its_own_resource_connect_it() {
        let (_dir, cloud, hub, primary, secondary) = world();
        let (user, now) = (format!("{HOST}/d1/?api-version=2019-10-01"), cloud.now());
        let resource = format!("{HOST}/devices/d1");
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&primary, &resource, now + 60))), None);
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&secondary, &resource, now + 60))), None);
        assert!(hub.devices.lock().unwrap()["d1"].connected);
        let wrong = crate::live::new_key();
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&wrong, &resource, now + 60))), Some(ConnectRefusal::NotAuthorized));
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&primary, &resource, now - 1))), Some(ConnectRefusal::NotAuthorized), "expired");
        let elsewhere = format!("{HOST}/devices/d2");
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&primary, &elsewhere, now + 60))), Some(ConnectRefusal::NotAuthorized));
        assert_eq!(refusal(&cloud, &info("d2", &user, token(&primary, &resource, now + 60))), Some(ConnectRefusal::IdentifierRejected));
        let no_version = format!("{HOST}/d1/");
        assert_eq!(refusal(&cloud, &info("d1", &no_version, token(&primary, &resource, now + 60))), Some(ConnectRefusal::BadUsernameOrPassword));
        let other_hub = "localhost:9/d1/?api-version=2019-10-01";
        assert_eq!(refusal(&cloud, &info("d1", other_hub, token(&primary, &resource, now + 60))), Some(ConnectRefusal::BadUsernameOrPassword));
        hub.devices.lock().unwrap().get_mut("d1").unwrap().enabled = false;
        assert_eq!(refusal(&cloud, &info("d1", &user, token(&primary, &resource, now + 60))), Some(ConnectRefusal::NotAuthorized), "disabled");
    }

    #[tokio::test]
    async fn a_session_sends_telemetry_reads_and_reports_its_twin_answers_methods_and_goes_offline() {
        let (_dir, cloud, hub, primary, _) = world();
        let (outbox, mut inbox) = mpsc::unbounded_channel();
        let connect = info("d1", &format!("{HOST}/d1/?api-version=2019-10-01"), token(&primary, &format!("{HOST}/devices/d1"), cloud.now() + 60));
        let session = HubMqtt { cloud: cloud.clone() }.connect(&connect, outbox).unwrap();

        assert!(session.publish("devices/d1/messages/events/%24.ct=application%2Fjson&site=lyon", b"{\"t\":21}").await.is_empty());
        let (count, kept) = hub.live_devices().telemetry("d1");
        assert_eq!(
            (count, kept[0].properties.clone()),
            (1, vec![("$.ct".to_string(), "application/json".to_string()), ("site".to_string(), "lyon".to_string())])
        );
        assert!(session.publish("devices/d2/messages/events/", b"{}").await.is_empty());
        assert_eq!(hub.live_devices().telemetry("d2").0, 0, "a device sends only as itself");

        let reported = session.publish("$iothub/twin/PATCH/properties/reported/?$rid=7", b"{\"fw\":\"1.0\"}").await;
        assert_eq!(reported[0].topic, "$iothub/twin/res/204/?$rid=7&$version=2");
        let refused = session.publish("$iothub/twin/PATCH/properties/reported/?$rid=8", b"{\"a.b\":1}").await;
        assert!(refused[0].topic.starts_with("$iothub/twin/res/400/?$rid=8"));
        let twin = session.publish("$iothub/twin/GET/?$rid=9", b"").await;
        assert_eq!(twin[0].topic, "$iothub/twin/res/200/?$rid=9");
        let body: Value = serde_json::from_slice(&twin[0].payload).unwrap();
        assert_eq!(body, json!({"desired": {"$version": 1}, "reported": {"fw": "1.0", "$version": 2}}));

        session.subscribed(&["$iothub/methods/POST/#".to_string()]);
        let request = json!({"delay": 1});
        let call = hub.live_devices().invoke("d1", "reboot", &request, Duration::from_secs(5));
        let device = async {
            let sent = inbox.recv().await.unwrap();
            let rid = sent.topic.rsplit_once("$rid=").unwrap().1.to_string();
            assert!(session.publish(&format!("$iothub/methods/res/201/?$rid={rid}"), b"{\"ok\":true}").await.is_empty());
        };
        let (outcome, ()) = tokio::join!(call, device);
        assert_eq!(outcome, Some(MethodOutcome::Answered { status: 201, payload: json!({"ok": true}) }));

        // Past the daily quota the hub takes no more messages and ends the connection.
        let (daily, _) = crate::hub::quotas::limits::daily_messages("S1", 1);
        hub.quotas().count_messages(cloud.now(), daily);
        let refused = session.publish("devices/d1/messages/events/", b"{}").await;
        assert!(refused.len() == 1 && refused[0].is_close());
        assert_eq!(hub.live_devices().telemetry("d1").0, 1, "the refused message is not counted");

        session.closed();
        assert!(!hub.devices.lock().unwrap()["d1"].connected);
        assert!(!hub.live_devices().is_connected("d1"));
    }

    #[test]
    fn usernames_name_the_hub_the_device_and_the_api_version() {
        let u = parse_username("localhost:4431/therm-1/?api-version=2019-10-01&DeviceClientType=azure-iot-device%2F2.14.0").unwrap();
        assert_eq!((u.host, u.device_id, u.module_id, u.api_version.as_deref()), ("localhost:4431", "therm-1", None, Some("2019-10-01")));
        let m = parse_username("iotc-1.azure-devices.net/d/m/?api-version=2021-04-12").unwrap();
        assert_eq!((m.device_id, m.module_id), ("d", Some("m")));
        assert_eq!(parse_username("localhost:4431/d").unwrap().api_version, None);
        for bad in ["", "localhost:4431", "/d/?api-version=1", "h//?api-version=1", "h/d/m/x/?api-version=1"] {
            assert!(parse_username(bad).is_none(), "{bad}");
        }
    }
}
