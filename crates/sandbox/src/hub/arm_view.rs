//! What ARM's IotHubs operations read from a hub, and do to it (`getStats`, `getQuotaMetrics`,
//! consumer groups, the import/export jobs): the hub's own state, through its methods, as the
//! resource provider reaches the service.

use super::consumer_groups::ConsumerGroups;
use super::jobs::state::Job;
use super::quotas::limits;
use super::state::Hub;

impl Hub {
    /// (devices, enabled devices) in the identity registry.
    pub fn registry_statistics(&self) -> (usize, usize) {
        let devices = self.devices.lock().unwrap();
        (devices.len(), devices.values().filter(|d| d.enabled).count())
    }

    /// `TotalMessages` (today's device-to-cloud messages against the daily quota) and
    /// `TotalDeviceCount` (devices against the tier's cap), at `now` (sandbox clock, Unix seconds).
    pub fn quota_metrics(&self, now: i64) -> [(&'static str, u64, u64); 2] {
        let scale = self.scale();
        let (daily, _) = limits::daily_messages(&scale.sku, scale.capacity);
        [
            ("TotalMessages", self.quotas.messages_today(now), daily),
            ("TotalDeviceCount", self.devices.lock().unwrap().len() as u64, limits::max_devices(&scale.sku) as u64),
        ]
    }

    pub fn routing(&self) -> &super::routing::HubRouting {
        &self.routing
    }

    pub fn consumer_groups(&self) -> &ConsumerGroups {
        &self.consumer_groups
    }

    /// The import/export jobs the hub remembers, oldest first (the data plane's `GET /jobs`).
    pub fn import_export_jobs(&self) -> Vec<Job> {
        self.jobs.list()
    }
}
