//! An IoT hub as it lives while the sandbox runs, and the hubs ARM lists. Its keys are minted per
//! run (never on disk); its host name is `localhost:<port>` because only `localhost` resolves offline.

use crate::dps::state::LinkedHub;
use crate::hub::identity::{Authentication, DeviceIdentity};
use crate::live::{new_etag, AccessPolicy, Endpoint, Placed, Placement};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

/// A hub's pricing tier and units, changed by an ARM update.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HubScale {
    pub sku: String,
    pub capacity: u32,
    pub tags: Value,
}

impl HubScale {
    pub fn tier(&self) -> &'static str {
        match self.sku.as_str() {
            "F1" => "Free",
            s if s.starts_with('B') => "Basic",
            _ => "Standard",
        }
    }
}

/// An IoT hub: its identity in ARM, its keys, its registry (devices, configurations), its
/// throttles and its import/export jobs. The fields are the hub module's; ARM, DPS, Central and
/// the control API act on a hub through its methods, as Azure's services act on one another.
pub struct Hub {
    pub(super) placement: Placement,
    pub(super) name: String,
    pub(super) scale: Mutex<HubScale>,
    pub(super) host: String,
    /// Replaced as a whole by an ARM update carrying `authorizationPolicies` (hub/access.rs).
    pub(super) policies: RwLock<Vec<AccessPolicy>>,
    /// `disableLocalAuth`: SAS tokens signed with the hub's policy keys are refused.
    pub(super) local_auth_disabled: std::sync::atomic::AtomicBool,
    pub(super) etag: Mutex<String>,
    pub(super) devices: Mutex<BTreeMap<String, DeviceIdentity>>,
    /// Automatic device management configurations by ID.
    pub(super) configurations: Mutex<BTreeMap<String, crate::hub::Configuration>>,
    pub(super) endpoint: Endpoint,
    /// Its throttles' buckets, its quota switch, today's message count.
    pub(super) quotas: crate::hub::quotas::HubQuotas,
    /// Import/export jobs, and the twin data they carry (hub/jobs).
    pub(super) jobs: crate::hub::jobs::HubJobs,
    /// Consumer groups of the built-in Event Hub-compatible endpoint (hub/consumer_groups.rs).
    pub(super) consumer_groups: crate::hub::consumer_groups::ConsumerGroups,
    /// `properties.routing` as ARM last set it (hub/routing.rs).
    pub(super) routing: crate::hub::routing::HubRouting,
    /// Devices connected over MQTT (hub/device_mqtt.rs): methods, desired patches, telemetry.
    pub(super) live: crate::hub::live_devices::LiveDevices,
}

impl Hub {
    pub fn new(placement: Placement, name: &str, sku: &str, capacity: u32, host: String) -> Hub {
        Hub {
            placement,
            name: name.into(),
            scale: Mutex::new(HubScale { sku: sku.into(), capacity, tags: serde_json::json!({}) }),
            host,
            policies: RwLock::new(vec![
                AccessPolicy::new("iothubowner", "RegistryWrite, ServiceConnect, DeviceConnect"),
                AccessPolicy::new("service", "ServiceConnect"),
                AccessPolicy::new("device", "DeviceConnect"),
                AccessPolicy::new("registryRead", "RegistryRead"),
                AccessPolicy::new("registryReadWrite", "RegistryWrite"),
            ]),
            local_auth_disabled: Default::default(),
            etag: Mutex::new(new_etag()),
            devices: Mutex::default(),
            configurations: Mutex::default(),
            endpoint: Endpoint::default(),
            quotas: Default::default(),
            jobs: Default::default(),
            consumer_groups: Default::default(),
            routing: Default::default(),
            live: Default::default(),
        }
    }

    /// What DPS does on assignment: create the device with the keys derived for it (or CA
    /// authentication for X.509), or refresh those of one already there (re-provisioning). True
    /// when it already existed.
    pub fn upsert_provisioned_device(&self, device_id: &str, keys: Authentication) -> bool {
        let mut devices = self.devices.lock().unwrap();
        if let Some(device) = devices.get_mut(device_id) {
            device.authentication = keys;
            device.etag = new_etag();
            return true;
        }
        devices.insert(device_id.to_string(), DeviceIdentity { authentication: keys, ..DeviceIdentity::new_sas(device_id, String::new(), String::new()) });
        false
    }

    /// Serves the hub's API on its own listener (closed by `Hubs::replace` or `stop_all`).
    pub(crate) fn serve(self: &Arc<Self>, cloud: &Arc<crate::cloud::Cloud>, listener: std::net::TcpListener, tls: Arc<rustls::ServerConfig>) {
        self.endpoint.serve(listener, tls, crate::hub::router(cloud.clone(), self.clone()));
    }

    /// A device deleted elsewhere (Central deleting one of its own hub's devices).
    pub(crate) fn remove_device(&self, device_id: &str) {
        self.devices.lock().unwrap().remove(device_id);
        self.live.forget(device_id);
    }

    /// The devices connected to it over MQTT.
    pub fn live_devices(&self) -> &crate::hub::live_devices::LiveDevices {
        &self.live
    }

    /// The device sent something: its last activity is now.
    pub fn touch(&self, device_id: &str) {
        if let Some(device) = self.devices.lock().unwrap().get_mut(device_id) {
            device.last_activity = Some(chrono::Utc::now());
        }
    }

    /// A device connected or disconnected (the hub records when, and its last activity).
    pub fn set_connection(&self, device_id: &str, connected: bool) {
        if let Some(device) = self.devices.lock().unwrap().get_mut(device_id) {
            device.set_connected(connected);
        }
    }

    /// A device (or its module) reporting properties: merged into the twin's reported ones.
    /// False when there is no such device or module.
    pub fn report_properties(&self, device_id: &str, module_id: Option<&str>, patch: serde_json::Map<String, Value>) -> bool {
        let mut devices = self.devices.lock().unwrap();
        let Some(device) = devices.get_mut(device_id) else { return false };
        let slot = match module_id {
            None => &mut device.twin,
            Some(mid) => match device.modules.as_mut().and_then(|m| m.get_mut(mid)) {
                Some(module) => &mut module.twin,
                None => return false,
            },
        };
        slot.get_or_insert_with(Box::default).report(patch);
        true
    }

    /// A device reporting over MQTT: the reported properties' new version, or `None` when the
    /// device is not in the registry.
    pub fn report_properties_versioned(&self, device_id: &str, patch: serde_json::Map<String, Value>) -> Option<u64> {
        let mut devices = self.devices.lock().unwrap();
        let twin = devices.get_mut(device_id)?.twin.get_or_insert_with(Box::default);
        twin.report(patch);
        Some(twin.reported_version)
    }

    /// `localhost:<port>` (a Central app's hub: `iotc-<id>.azure-devices.net`, reached through Central only).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The hub a linked-hub entry of a DPS points at (through `iothubowner`, else its first policy).
    pub fn as_linked(&self) -> LinkedHub {
        let policies = self.policies();
        let owner = policies.iter().find(|p| p.key_name == "iothubowner").unwrap_or(&policies[0]);
        LinkedHub {
            connection_string: self.connection_string(owner),
            location: self.placement.location.clone(),
            allocation_weight: None,
            apply_allocation_policy: Some(true),
            name: self.host.clone(),
        }
    }

    pub fn connection_string(&self, policy: &AccessPolicy) -> String {
        format!("HostName={};SharedAccessKeyName={};SharedAccessKey={}", self.host, policy.key_name, policy.primary_key)
    }

    /// Its shared access policies as they are now (`iothubowner` first until an ARM update reorders them).
    pub fn policies(&self) -> std::sync::RwLockReadGuard<'_, Vec<AccessPolicy>> {
        self.policies.read().unwrap()
    }

    /// Its throttles and quota switch (the control API flips the switch).
    pub(crate) fn quotas(&self) -> &crate::hub::quotas::HubQuotas {
        &self.quotas
    }

    pub fn scale(&self) -> HubScale {
        self.scale.lock().unwrap().clone()
    }

    pub fn etag(&self) -> String {
        self.etag.lock().unwrap().clone()
    }

    /// ARM's update: `change` is given the current scale and ETag and answers the new scale (or
    /// ARM's refusal); the hub then takes a new ETag. Both stay locked meanwhile, so two updates
    /// with the same If-Match cannot both win.
    pub(crate) fn update_scale<E>(&self, change: impl FnOnce(&HubScale, &str) -> Result<HubScale, E>) -> Result<(), E> {
        let mut etag = self.etag.lock().unwrap();
        let mut scale = self.scale.lock().unwrap();
        *scale = change(&scale, &etag)?;
        *etag = new_etag();
        Ok(())
    }

    /// Devices in its registry (tests compare it before and after a refused run).
    #[cfg(any(test, feature = "testing"))]
    pub fn device_count(&self) -> usize {
        self.devices.lock().unwrap().len()
    }

    #[cfg(test)]
    pub fn name_for_test(&self) -> &str {
        &self.name
    }

    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Devices/IotHubs/{}",
            self.placement.subscription_id, self.placement.resource_group, self.name
        )
    }
}

impl Placed for Hub {
    fn placement(&self) -> &Placement {
        &self.placement
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The hubs ARM lists, in creation order. A Central app's own hub is the app's, not here.
#[derive(Default)]
pub struct Hubs(RwLock<Vec<Arc<Hub>>>);

impl Hubs {
    pub fn all(&self) -> Vec<Arc<Hub>> {
        self.0.read().unwrap().clone()
    }

    /// By ARM name, compared as ARM compares names (case-insensitively).
    pub fn named(&self, name: &str) -> Option<Arc<Hub>> {
        self.0.read().unwrap().iter().find(|h| h.name.eq_ignore_ascii_case(name)).cloned()
    }

    pub fn by_host(&self, host: &str) -> Option<Arc<Hub>> {
        self.0.read().unwrap().iter().find(|h| h.host.eq_ignore_ascii_case(host)).cloned()
    }

    pub(crate) fn add(&self, hub: Arc<Hub>) {
        self.0.write().unwrap().push(hub);
    }

    /// A scenario's hubs in place of the last one's, whose listeners close.
    pub(crate) fn replace(&self, hubs: Vec<Arc<Hub>>) {
        let old = std::mem::replace(&mut *self.0.write().unwrap(), hubs);
        old.iter().for_each(|h| h.endpoint.stop());
    }

    pub(crate) fn stop_all(&self) {
        self.0.read().unwrap().iter().for_each(|h| h.endpoint.stop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn a_refused_arm_update_leaves_the_scale_and_etag_and_an_accepted_one_takes_a_new_etag() {
        let hub = Hub::new(testing::placement(), "scale-hub", "S1", 1, "localhost:1".into());
        let before = hub.etag();
        let refused = hub.update_scale(|_, _| Err::<HubScale, _>("no"));
        assert_eq!((refused, hub.scale().capacity, hub.etag()), (Err("no"), 1, before.clone()));
        hub.update_scale(|current, etag| {
            assert_eq!(etag, before, "the change sees the ETag it must match");
            Ok::<_, ()>(HubScale { capacity: current.capacity + 1, ..current.clone() })
        })
        .unwrap();
        assert_eq!(hub.scale().capacity, 2);
        assert_ne!(hub.etag(), before);
    }

    #[test]
    fn hubs_are_found_by_name_and_host_whatever_their_case() {
        let hubs = Hubs::default();
        hubs.add(Arc::new(Hub::new(testing::placement(), "Contoso-Hub", "S1", 1, "localhost:4431".into())));
        assert_eq!(hubs.named("contoso-hub").map(|h| h.host().to_string()).as_deref(), Some("localhost:4431"));
        assert_eq!(hubs.by_host("LOCALHOST:4431").map(|h| h.name().to_string()).as_deref(), Some("Contoso-Hub"));
        assert!(hubs.named("other").is_none());
    }
}
