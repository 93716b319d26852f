//! The one MQTT endpoint devices reach: DPS's global device endpoint and every hub's device side.
//! Azure tells them apart by host name; offline only `localhost` resolves and a device SDK checks
//! the server certificate against the host it dials, so the sandbox serves them all on one port
//! and tells them apart by the CONNECT's username, which names the ID scope (`{scope}/registrations/…`)
//! or the hub (`{hub host}/{deviceId}/?…`) — what an IoT Edge transparent gateway does. A device
//! SDK reaches a hub with `GatewayHostName=localhost` beside the hub's own `HostName`.

use crate::cloud::Cloud;
use crate::dps::mqtt::DpsMqtt;
use crate::hub::device_mqtt::HubMqtt;
use crate::mqtt::{ConnectInfo, ConnectRefusal, MqttHandler, MqttSession, Outbox};
use std::sync::Arc;

pub struct DeviceEndpoint {
    cloud: Arc<Cloud>,
    dps: DpsMqtt,
    hub: HubMqtt,
}

impl DeviceEndpoint {
    pub fn new(cloud: Arc<Cloud>) -> DeviceEndpoint {
        DeviceEndpoint { dps: DpsMqtt { cloud: cloud.clone() }, hub: HubMqtt { cloud: cloud.clone() }, cloud }
    }
}

impl MqttHandler for DeviceEndpoint {
    fn connect(&self, info: &ConnectInfo, outbox: Outbox) -> Result<Box<dyn MqttSession>, ConnectRefusal> {
        // A hub's host (`localhost:<port>`, `iotc-….azure-devices.net`) never looks like an ID scope.
        let first = info.username.as_deref().unwrap_or_default().split('/').next().unwrap_or_default();
        if self.cloud.hub_by_host(first).is_some() {
            self.hub.connect(info, outbox)
        } else {
            self.dps.connect(info, outbox)
        }
    }
}
