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
            devices: self.devices.lock().unwrap().values().cloned().collect(),
            configurations: self.configurations.lock().unwrap().values().cloned().collect(),
            quota_switch: self.quotas.switch(),
            jobs: self.jobs.list(),
            consumer_groups: self.consumer_groups.list(),
            routing: Some(self.routing.get()),
            local_auth_disabled: self.local_auth_disabled(),
        }
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
