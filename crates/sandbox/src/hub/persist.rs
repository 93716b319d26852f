//! A hub as the state snapshot keeps it (`crate::persist`): its place in ARM, scale, host, keys,
//! registry (devices with twins and modules), configurations, quota switch and import/export job
//! records. Throttle buckets start full again, as after any restart of the service.

use super::consumer_groups::{ConsumerGroup, ConsumerGroups};
use super::identity::DeviceIdentity;
use super::jobs::state::{HubJobs, Job};
use super::state::{Hub, HubScale};
use super::Configuration;
use crate::live::{policy_keys, restore_keys, restored_policies, Placement, PolicyKeys};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

#[derive(Serialize, Deserialize)]
pub struct HubRecord {
    placement: Placement,
    name: String,
    scale: HubScale,
    /// `localhost:<port>` (rewritten before this is read when that port is taken).
    host: String,
    keys: Vec<PolicyKeys>,
    etag: String,
    devices: Vec<DeviceIdentity>,
    configurations: Vec<Configuration>,
    quota_switch: Option<bool>,
    jobs: Vec<Job>,
    /// A file saved before consumer groups were kept has none: `$Default` only.
    #[serde(default)]
    consumer_groups: Vec<ConsumerGroup>,
    #[serde(default)]
    routing: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    local_auth_disabled: bool,
}

impl HubRecord {
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl Hub {
    pub(crate) fn record(&self) -> HubRecord {
        HubRecord {
            placement: self.placement.clone(),
            name: self.name.clone(),
            scale: self.scale(),
            host: self.host.clone(),
            keys: policy_keys(&self.policies()),
            etag: self.etag(),
            devices: self.devices.lock().unwrap().values().map(|d| self.saved_device(d)).collect(),
            configurations: self.configurations.lock().unwrap().values().cloned().collect(),
            quota_switch: self.quotas.switch(),
            jobs: self.jobs.list(),
            consumer_groups: self.consumer_groups.list(),
            routing: Some(self.routing.get()),
            local_auth_disabled: self.local_auth_disabled(),
        }
    }

    /// A device as saved. One connected over MQTT is saved disconnected: its connection ends with
    /// this process, and a restored hub shows it connected again only once its SDK reconnects. (The
    /// simulated fleet keeps its own links, restored with it.)
    fn saved_device(&self, device: &DeviceIdentity) -> DeviceIdentity {
        let mut saved = device.clone();
        if self.live.is_connected(&device.device_id) {
            saved.connected = false;
        }
        saved
    }

    pub(crate) fn from_record(record: HubRecord) -> Hub {
        let HubScale { sku, capacity, tags } = record.scale;
        let mut hub = Hub::new(record.placement, &record.name, &sku, capacity, record.host);
        hub.scale.get_mut().unwrap().tags = tags;
        match restored_policies(&record.keys) {
            Some(policies) if !policies.is_empty() => *hub.policies.get_mut().unwrap() = policies,
            _ => restore_keys(hub.policies.get_mut().unwrap(), record.keys),
        }
        hub.set_local_auth_disabled(record.local_auth_disabled);
        hub.etag = Mutex::new(record.etag);
        hub.devices = Mutex::new(record.devices.into_iter().map(|d| (d.device_id.clone(), d)).collect());
        hub.configurations = Mutex::new(record.configurations.into_iter().map(|c| (c.id.clone(), c)).collect());
        hub.quotas.set_switch(record.quota_switch);
        hub.jobs = HubJobs::restored(record.jobs);
        hub.consumer_groups = ConsumerGroups::restored(record.consumer_groups);
        hub.routing = super::routing::HubRouting::restored(record.routing);
        hub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_connected_over_mqtt_is_saved_disconnected_and_a_simulated_one_as_it_is() {
        let hub = Hub::new(crate::testing::placement(), "h", "S1", 1, "localhost:1".into());
        for id in ["real", "simulated"] {
            hub.devices.lock().unwrap().insert(id.into(), DeviceIdentity::new_sas(id, String::new(), String::new()));
            hub.set_connection(id, true);
        }
        hub.live_devices().attach("real", tokio::sync::mpsc::unbounded_channel().0);
        let saved: std::collections::HashMap<_, _> = hub.record().devices.into_iter().map(|d| (d.device_id.clone(), d.connected)).collect();
        assert_eq!((saved["real"], saved["simulated"]), (false, true));
        assert!(hub.devices.lock().unwrap()["real"].connected, "the running hub still shows it connected");
    }
}
