//! The IoT resources as they live while the sandbox runs: hubs and DPS instances with their keys
//! (minted per run, never on disk), ETags, linked hubs and devices. Each hub and DPS has its own
//! HTTPS listener, because only `localhost` resolves offline: its host name is `localhost:<port>`.

use crate::hub::identity::{Authentication, DeviceIdentity};
use crate::scenario::Scenario;
use crate::tokens::random_token;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

pub struct AccessPolicy {
    pub key_name: String,
    pub primary_key: String,
    pub secondary_key: String,
    pub rights: &'static str,
}

/// Keys never reach a log through Debug.
impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessPolicy").field("key_name", &self.key_name).field("rights", &self.rights).finish_non_exhaustive()
    }
}

impl AccessPolicy {
    fn new(key_name: &str, rights: &'static str) -> AccessPolicy {
        AccessPolicy { key_name: key_name.into(), primary_key: new_key(), secondary_key: new_key(), rights }
    }

    /// Write rights include their read rights, as on the services (iothubowner lists only
    /// RegistryWrite; provisioningserviceowner's ServiceConfig covers the whole service).
    pub fn allows(&self, right: &str) -> bool {
        self.rights.split(", ").any(|r| {
            r == right
                || (right == "RegistryRead" && r == "RegistryWrite")
                || (right == "EnrollmentRead" && r == "EnrollmentWrite")
                || (right == "RegistrationStatusRead" && r == "RegistrationStatusWrite")
                || (r == "ServiceConfig" && right.starts_with(['E', 'R']))
        })
    }
}

/// A 256-bit key, base64, as Azure generates shared access keys.
pub fn new_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// The zero time the hub reports for "never".
pub const NEVER: &str = "0001-01-01T00:00:00Z";

pub fn now_iso() -> String {
    crate::timestamps::now_rfc3339()
}

pub fn new_etag() -> String {
    format!("AAAAA{}=", random_token(9))
}

/// Where a resource sits in ARM.
#[derive(Clone)]
pub struct Placement {
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
}

impl Placement {
    /// In this subscription and, when given, this resource group (ARM compares case-insensitively).
    pub fn within(&self, subscription_id: &str, resource_group: Option<&str>) -> bool {
        self.subscription_id.eq_ignore_ascii_case(subscription_id) && resource_group.is_none_or(|g| self.resource_group.eq_ignore_ascii_case(g))
    }
}

/// A resource ARM lists and finds by subscription, resource group and name.
pub trait Placed {
    fn placement(&self) -> &Placement;
    fn name(&self) -> &str;
}

/// A data-plane listener's serving task. The task holds its resource (through the router), so
/// Drop would never run: stopping is explicit, on reload and when the sandbox stops.
#[derive(Default)]
pub struct Endpoint(Mutex<Option<JoinHandle<()>>>);

impl Endpoint {
    pub fn serve(&self, listener: std::net::TcpListener, tls: Arc<rustls::ServerConfig>, router: Router) {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a nonblocking loopback listener");
        *self.0.lock().unwrap() = Some(tokio::spawn(crate::server::serve(listener, tls, router)));
    }

    pub fn stop(&self) {
        if let Some(task) = self.0.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// A hub's pricing tier and units, changed by an ARM update.
#[derive(Debug, Clone)]
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

pub struct Hub {
    pub placement: Placement,
    pub name: String,
    pub scale: Mutex<HubScale>,
    pub host: String,
    pub policies: Vec<AccessPolicy>,
    pub etag: Mutex<String>,
    pub devices: Mutex<BTreeMap<String, DeviceIdentity>>,
    /// Automatic device management configurations by ID.
    pub configurations: Mutex<BTreeMap<String, crate::hub::Configuration>>,
    pub endpoint: Endpoint,
    /// Its throttles' buckets, its quota switch, today's message count.
    pub quotas: crate::hub::quotas::HubQuotas,
    /// Import/export jobs, and the twin data they carry (hub/jobs).
    pub jobs: crate::hub::jobs::HubJobs,
}

#[derive(Clone)]
pub struct LinkedHub {
    pub connection_string: String,
    pub location: String,
    pub allocation_weight: Option<i64>,
    pub apply_allocation_policy: Option<bool>,
    /// The hub's host name, as DPS reports it.
    pub name: String,
}

pub struct DpsState {
    pub etag: String,
    pub linked_hubs: Vec<LinkedHub>,
    pub allocation_policy: String,
}

pub struct Dps {
    pub placement: Placement,
    pub name: String,
    pub host: String,
    pub id_scope: String,
    pub policies: Vec<AccessPolicy>,
    pub state: Mutex<DpsState>,
    pub enrollment_groups: Mutex<BTreeMap<String, Value>>,
    /// Individual enrollments by registration ID (lower-cased).
    pub enrollments: Mutex<BTreeMap<String, Value>>,
    /// Device registration states by registration ID.
    pub registrations: Mutex<BTreeMap<String, crate::dps::registration::RegistrationRecord>>,
    pub endpoint: Endpoint,
}

/// An ID scope in DPS's shape: `0ne` and eight upper-case hex-like characters.
pub fn new_id_scope() -> String {
    format!("0ne{}", &random_token(8).to_ascii_uppercase().replace(['-', '_'], "A")[..8])
}

impl Hub {
    pub fn new(placement: Placement, name: &str, sku: &str, capacity: u32, host: String) -> Hub {
        Hub {
            placement,
            name: name.into(),
            scale: Mutex::new(HubScale { sku: sku.into(), capacity, tags: serde_json::json!({}) }),
            host,
            policies: vec![
                AccessPolicy::new("iothubowner", "RegistryWrite, ServiceConnect, DeviceConnect"),
                AccessPolicy::new("service", "ServiceConnect"),
                AccessPolicy::new("device", "DeviceConnect"),
                AccessPolicy::new("registryRead", "RegistryRead"),
                AccessPolicy::new("registryReadWrite", "RegistryWrite"),
            ],
            etag: Mutex::new(new_etag()),
            devices: Mutex::default(),
            configurations: Mutex::default(),
            endpoint: Endpoint::default(),
            quotas: Default::default(),
            jobs: Default::default(),
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

    /// The hub a linked-hub entry of a DPS points at.
    pub fn as_linked(&self) -> LinkedHub {
        LinkedHub {
            connection_string: self.connection_string(&self.policies[0]),
            location: self.placement.location.clone(),
            allocation_weight: None,
            apply_allocation_policy: Some(true),
            name: self.host.clone(),
        }
    }

    pub fn connection_string(&self, policy: &AccessPolicy) -> String {
        format!("HostName={};SharedAccessKeyName={};SharedAccessKey={}", self.host, policy.key_name, policy.primary_key)
    }

    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Devices/IotHubs/{}",
            self.placement.subscription_id, self.placement.resource_group, self.name
        )
    }
}

impl Dps {
    pub fn new(placement: Placement, name: &str, host: String, linked_hubs: Vec<LinkedHub>, allocation_policy: &str) -> Dps {
        Dps {
            placement,
            name: name.into(),
            host,
            id_scope: new_id_scope(),
            policies: vec![AccessPolicy::new("provisioningserviceowner", "ServiceConfig, DeviceConnect, EnrollmentWrite")],
            state: Mutex::new(DpsState { etag: new_etag(), linked_hubs, allocation_policy: allocation_policy.into() }),
            enrollment_groups: Mutex::default(),
            enrollments: Mutex::default(),
            registrations: Mutex::default(),
            endpoint: Endpoint::default(),
        }
    }

    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Devices/provisioningServices/{}",
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

impl Placed for Dps {
    fn placement(&self) -> &Placement {
        &self.placement
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// Binds a loopback port for a data-plane endpoint; the router is attached by `serve_on`.
pub fn reserve_port() -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The hubs and DPS instances a scenario declares, each on a fresh port (routers attached later).
/// Resources with the listeners reserved for them, to be served once the cloud holds them.
pub type Reserved<T> = Vec<(Arc<T>, std::net::TcpListener)>;

pub fn build(scenario: &Scenario) -> std::io::Result<(Reserved<Hub>, Reserved<Dps>)> {
    let mut hubs = Vec::new();
    let mut dps_list = Vec::new();
    for sub in &scenario.subscriptions {
        for rg in &sub.resource_groups {
            let placement = Placement { subscription_id: sub.id.clone(), resource_group: rg.name.clone(), location: rg.location.clone() };
            for h in &rg.iot_hubs {
                let listener = reserve_port()?;
                let host = format!("localhost:{}", listener.local_addr()?.port());
                let hub = Hub::new(placement.clone(), &h.name, &h.sku, h.capacity, host);
                hub.quotas.set_switch(h.quotas);
                hubs.push((Arc::new(hub), listener));
            }
        }
    }
    for sub in &scenario.subscriptions {
        for rg in &sub.resource_groups {
            let placement = Placement { subscription_id: sub.id.clone(), resource_group: rg.name.clone(), location: rg.location.clone() };
            for d in &rg.provisioning_services {
                let linked_hubs = d
                    .linked_hubs
                    .iter()
                    .filter_map(|name| hubs.iter().find(|(h, _)| &h.name == name && h.placement.subscription_id == sub.id))
                    .map(|(h, _)| h.as_linked())
                    .collect();
                let listener = reserve_port()?;
                let host = format!("localhost:{}", listener.local_addr()?.port());
                let dps = Dps::new(placement.clone(), &d.name, host, linked_hubs, &d.allocation_policy);
                dps_list.push((Arc::new(dps), listener));
            }
        }
    }
    Ok((hubs, dps_list))
}
