//! A Device Provisioning Service as it lives while the sandbox runs, and the DPSs ARM lists. Its
//! keys are minted per run (never on disk); its host name is `localhost:<port>`.

use crate::dps::registration::RegistrationRecord;
use crate::live::{new_etag, AccessPolicy, Endpoint, Placed, Placement};
use crate::tokens::random_token;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

/// A hub a DPS assigns devices to, as DPS keeps it (by connection string).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct LinkedHub {
    pub connection_string: String,
    pub location: String,
    pub allocation_weight: Option<i64>,
    pub apply_allocation_policy: Option<bool>,
    /// The hub's host name, as DPS reports it.
    pub name: String,
}

/// What ARM reads and writes as a whole: the ETag changes with every update.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DpsSettings {
    pub etag: String,
    pub linked_hubs: Vec<LinkedHub>,
    pub allocation_policy: String,
}

/// A Device Provisioning Service: its identity in ARM, its ID scope and keys, its settings
/// (linked hubs, allocation policy), enrollments and registration records. The fields are the DPS
/// module's; ARM and Central act on a DPS through its methods, as Azure's services act on one another.
pub struct Dps {
    pub(super) placement: Placement,
    pub(super) name: String,
    pub(super) host: String,
    pub(super) id_scope: String,
    pub(super) policies: Vec<AccessPolicy>,
    pub(super) settings: Mutex<DpsSettings>,
    pub(super) enrollment_groups: Mutex<BTreeMap<String, Value>>,
    /// Individual enrollments by registration ID (lower-cased).
    pub(super) enrollments: Mutex<BTreeMap<String, Value>>,
    /// Device registration states by registration ID.
    pub(super) registrations: Mutex<BTreeMap<String, RegistrationRecord>>,
    pub(super) endpoint: Endpoint,
}

/// An ID scope in DPS's shape: `0ne` and eight upper-case hex-like characters.
pub fn new_id_scope() -> String {
    format!("0ne{}", &random_token(8).to_ascii_uppercase().replace(['-', '_'], "A")[..8])
}

impl Dps {
    pub fn new(placement: Placement, name: &str, host: String, linked_hubs: Vec<LinkedHub>, allocation_policy: &str) -> Dps {
        Dps {
            placement,
            name: name.into(),
            host,
            id_scope: new_id_scope(),
            policies: vec![AccessPolicy::new("provisioningserviceowner", "ServiceConfig, DeviceConnect, EnrollmentWrite")],
            settings: Mutex::new(DpsSettings { etag: new_etag(), linked_hubs, allocation_policy: allocation_policy.into() }),
            enrollment_groups: Mutex::default(),
            enrollments: Mutex::default(),
            registrations: Mutex::default(),
            endpoint: Endpoint::default(),
        }
    }

    /// Serves the DPS's APIs on its own listener (closed by `ProvisioningServices::replace` or `stop_all`).
    pub(crate) fn serve(self: &Arc<Self>, cloud: &Arc<crate::cloud::Cloud>, listener: std::net::TcpListener, tls: Arc<rustls::ServerConfig>) {
        self.endpoint.serve(listener, tls, crate::dps::router(cloud.clone(), self.clone()));
    }

    /// Its shared access policies (`provisioningserviceowner`).
    pub fn policies(&self) -> &[AccessPolicy] {
        &self.policies
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn settings(&self) -> DpsSettings {
        self.settings.lock().unwrap().clone()
    }

    /// ARM's update: `change` checks and edits the settings under the lock (so two updates with the
    /// same If-Match cannot both win); when it succeeds the DPS takes a new ETag.
    pub(crate) fn update_settings<E>(&self, change: impl FnOnce(&mut DpsSettings) -> Result<(), E>) -> Result<(), E> {
        let mut settings = self.settings.lock().unwrap();
        change(&mut settings)?;
        settings.etag = new_etag();
        Ok(())
    }

    /// An enrollment group set from elsewhere (Central mirroring its groups into its own DPS).
    pub(crate) fn put_enrollment_group(&self, id: String, body: Value) {
        self.enrollment_groups.lock().unwrap().insert(id, body);
    }

    pub(crate) fn remove_enrollment_group(&self, id: &str) {
        self.enrollment_groups.lock().unwrap().remove(id);
    }

    /// An individual enrollment set from elsewhere (Central mirroring a device's own attestation),
    /// keyed by the lower-cased registration ID as DPS keys them.
    pub(crate) fn put_enrollment(&self, registration_id: &str, body: Value) {
        self.enrollments.lock().unwrap().insert(registration_id.to_ascii_lowercase(), body);
    }

    pub(crate) fn remove_enrollment(&self, registration_id: &str) {
        self.enrollments.lock().unwrap().remove(&registration_id.to_ascii_lowercase());
    }

    #[cfg(test)]
    pub(crate) fn has_enrollment(&self, registration_id: &str) -> bool {
        self.enrollments.lock().unwrap().contains_key(&registration_id.to_ascii_lowercase())
    }

    pub fn id_scope(&self) -> &str {
        &self.id_scope
    }

    /// The host names of its linked hubs, in order.
    #[cfg(any(test, feature = "testing"))]
    pub fn linked_hub_names(&self) -> Vec<String> {
        self.settings.lock().unwrap().linked_hubs.iter().map(|h| h.name.clone()).collect()
    }

    /// Its enrollment groups as stored (keys and ETags included), by ID.
    #[cfg(any(test, feature = "testing"))]
    pub fn enrollment_group_bodies(&self) -> BTreeMap<String, Value> {
        self.enrollment_groups.lock().unwrap().clone()
    }

    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Devices/provisioningServices/{}",
            self.placement.subscription_id, self.placement.resource_group, self.name
        )
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

/// The DPSs ARM lists, in creation order. A Central app's own DPS is the app's, not here.
#[derive(Default)]
pub struct ProvisioningServices(RwLock<Vec<Arc<Dps>>>);

impl ProvisioningServices {
    pub fn all(&self) -> Vec<Arc<Dps>> {
        self.0.read().unwrap().clone()
    }

    /// By ARM name, compared as ARM compares names (case-insensitively).
    pub fn named(&self, name: &str) -> Option<Arc<Dps>> {
        self.0.read().unwrap().iter().find(|d| d.name.eq_ignore_ascii_case(name)).cloned()
    }

    pub fn by_scope(&self, scope: &str) -> Option<Arc<Dps>> {
        self.0.read().unwrap().iter().find(|d| d.id_scope.eq_ignore_ascii_case(scope)).cloned()
    }

    pub(crate) fn add(&self, dps: Arc<Dps>) {
        self.0.write().unwrap().push(dps);
    }

    /// A scenario's DPSs in place of the last one's, whose listeners close.
    pub(crate) fn replace(&self, all: Vec<Arc<Dps>>) {
        let old = std::mem::replace(&mut *self.0.write().unwrap(), all);
        old.iter().for_each(|d| d.endpoint.stop());
    }

    pub(crate) fn stop_all(&self) {
        self.0.read().unwrap().iter().for_each(|d| d.endpoint.stop());
    }
}
