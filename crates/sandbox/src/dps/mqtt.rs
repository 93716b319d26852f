//! The DPS device runtime over MQTT, on the global endpoint: a device connects with username
//! `{idScope}/registrations/{registrationId}/api-version=…` and its SAS token as password, then
//! registers and polls on `$dps/registrations/…` topics. The ID scope picks the DPS, as the global
//! host does; answers carry the same bodies as the HTTPS runtime API.

use super::registration;
use crate::cloud::Cloud;
use crate::mqtt::{BoxFuture, ConnectInfo, ConnectRefusal, MqttHandler, MqttSession, Outbox, Outgoing};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub struct DpsMqtt {
    pub cloud: Arc<Cloud>,
}

struct DeviceSession {
    cloud: Arc<Cloud>,
    scope: String,
    registration_id: String,
    /// The SAS token of the CONNECT, or none for an X.509 device (then `chain` proves it).
    token: Option<String>,
    chain: crate::x509::ClientChain,
}

impl MqttHandler for DpsMqtt {
    fn connect(&self, info: &ConnectInfo, _outbox: Outbox) -> Result<Box<dyn MqttSession>, ConnectRefusal> {
        let username = info.username.as_deref().unwrap_or_default();
        let mut parts = username.splitn(4, '/');
        let (Some(scope), Some("registrations"), Some(registration_id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ConnectRefusal::BadUsernameOrPassword);
        };
        if registration_id != info.client_id {
            return Err(ConnectRefusal::IdentifierRejected);
        }
        let dps = self.cloud.dps_by_scope(scope).ok_or(ConnectRefusal::NotAuthorized)?;
        let token = info.password_text().map(str::to_string);
        let chain = crate::x509::ClientChain(std::sync::Arc::new(info.client_certificates.clone()));
        let proof = registration::DeviceProof::from_request(token.as_deref(), Some(&chain));
        registration::authenticate(&self.cloud, &dps, proof, scope, registration_id).map_err(|e| {
            tracing::debug!(%scope, %registration_id, "DPS MQTT connect refused: {}", e.message);
            ConnectRefusal::NotAuthorized
        })?;
        Ok(Box::new(DeviceSession { cloud: self.cloud.clone(), scope: scope.into(), registration_id: registration_id.into(), token, chain }))
    }
}

/// `a=1&b=2` after the `?` of a topic.
fn topic_query(topic: &str) -> HashMap<String, String> {
    topic.split_once('?').map(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

fn reply(status: u16, rid: &str, extra: &str, body: &Value) -> Outgoing {
    Outgoing::new(format!("$dps/registrations/res/{status}/?$rid={rid}{extra}"), body.to_string())
}

impl DeviceSession {
    fn answer(&self, topic: &str, payload: &[u8]) -> Option<Outgoing> {
        let query = topic_query(topic);
        let rid = query.get("$rid").cloned().unwrap_or_default();
        let dps = self.cloud.dps_by_scope(&self.scope)?;
        let error = |e: super::DpsError| reply(e.status.as_u16(), &rid, "", &json!({"errorCode": e.code, "message": e.message}));
        if topic.starts_with("$dps/registrations/PUT/iotdps-register/") {
            let body: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
            return Some(
                match registration::register(
                    &self.cloud,
                    &dps,
                    &self.scope,
                    &self.registration_id,
                    registration::DeviceProof::from_request(self.token.as_deref(), Some(&self.chain)),
                    body.get("payload").cloned(),
                ) {
                    Ok(state) => reply(202, &rid, "&retry-after=1", &json!({"operationId": state.operation_id, "status": "assigning"})),
                    Err(e) => error(e),
                },
            );
        }
        if topic.starts_with("$dps/registrations/GET/iotdps-get-operationstatus/") {
            let operation = query.get("operationId").cloned().unwrap_or_default();
            return Some(match registration::operation(&dps, &self.registration_id, &operation) {
                Some(state) => {
                    let state = state.to_json();
                    reply(200, &rid, "", &json!({"operationId": operation, "status": state["status"], "registrationState": state}))
                }
                None => error(super::DpsError::new(axum::http::StatusCode::NOT_FOUND, 404200, format!("Operation {operation} was not found."))),
            });
        }
        tracing::debug!(%topic, "DPS MQTT: a publish on a topic DPS does not serve");
        None
    }
}

impl MqttSession for DeviceSession {
    fn publish<'a>(&'a self, topic: &'a str, payload: &'a [u8]) -> BoxFuture<'a, Vec<Outgoing>> {
        Box::pin(async move { self.answer(topic, payload).into_iter().collect() })
    }
}
