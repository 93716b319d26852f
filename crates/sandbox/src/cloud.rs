//! The sandbox cloud: what every emulated service reaches through an `Arc<Cloud>` — the scenario,
//! the token signer, the sandbox clock, the quota switch — and each service's own state (Entra's
//! grants, ARM's operations, the hubs, the DPSs, the Central apps, the faults, blob storage), each
//! a type of its own whose fields only it touches.

use crate::arm::ArmOperations;
use crate::central::state::CentralApps;
use crate::dps::state::{Dps, LinkedHub, ProvisioningServices};
use crate::entra::Grants;
use crate::faults::Faults;
use crate::hub::state::{Hub, Hubs};
use crate::live::Placement;
use crate::scenario::Scenario;
use crate::tokens::TokenSigner;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

pub struct Cloud {
    scenario: RwLock<Scenario>,
    signer: TokenSigner,
    /// Seconds added to the wall clock, so tests can jump past expiries.
    clock_offset: AtomicI64,
    /// `https://localhost:<port>` of the control-plane listener (Entra + ARM).
    base_url: RwLock<String>,
    requests: AtomicU64,
    tls: Arc<rustls::ServerConfig>,
    /// DPS listeners ask devices for a certificate (X.509 attestation).
    device_tls: Arc<rustls::ServerConfig>,
    /// Service limits enforced (Central's rate and job limits); the scenario sets it, the control API flips it.
    quotas: AtomicBool,
    grants: Grants,
    arm_operations: ArmOperations,
    /// ARM deployments and what they created that no service of its own holds.
    arm_store: crate::arm::ArmStore,
    hubs: Hubs,
    provisioning_services: ProvisioningServices,
    central_apps: CentralApps,
    /// Requests counted and faults injected, by the control API.
    faults: Faults,
    /// Blob storage (Azurite) for import/export jobs and ARM's storage accounts, or why there is none.
    storage: RwLock<crate::azurite::Storage>,
}

impl Cloud {
    /// An empty cloud; `load` fills it. Must be called inside the Tokio runtime that will serve it.
    pub fn new(signer: TokenSigner, tls: Arc<rustls::ServerConfig>, device_tls: Arc<rustls::ServerConfig>) -> Arc<Cloud> {
        Arc::new(Cloud {
            scenario: RwLock::new(Scenario::empty()),
            signer,
            clock_offset: AtomicI64::new(0),
            base_url: RwLock::default(),
            requests: AtomicU64::new(0),
            tls,
            device_tls,
            quotas: AtomicBool::new(true),
            grants: Grants::default(),
            arm_operations: ArmOperations::default(),
            arm_store: crate::arm::ArmStore::default(),
            hubs: Hubs::default(),
            provisioning_services: ProvisioningServices::default(),
            central_apps: CentralApps::default(),
            faults: Faults::default(),
            storage: RwLock::new(crate::azurite::Storage::Unavailable("blob storage (Azurite) was not started".into())),
        })
    }

    /// Replaces everything the cloud holds: grants are forgotten, hubs and DPS instances restart
    /// on new ports with new keys.
    pub fn load(self: &Arc<Self>, scenario: Scenario) -> std::io::Result<()> {
        let problems = crate::scenario_check::problems(&scenario);
        if !problems.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("the scenario contradicts itself:\n  {}", problems.join("\n  "))));
        }
        let (hubs, dps) = crate::live::build(&scenario)?;
        let (hubs, dps) = self.serve(hubs, dps);
        let now = self.now();
        let central: Vec<_> = scenario
            .subscriptions
            .iter()
            .flat_map(|s| s.resource_groups.iter().flat_map(move |rg| rg.iot_central_apps.iter().map(move |a| (s, rg, a))))
            .map(|(s, rg, a)| {
                let placement = Placement { subscription_id: s.id.clone(), resource_group: rg.name.clone(), location: rg.location.clone() };
                Arc::new(crate::central::app::LiveCentralApp::build(a, placement, now, scenario.device_timing.clone()))
            })
            .collect();
        self.central_apps.replace(central.clone());
        self.set_quotas(scenario.quotas);
        for app in &central {
            app.connect_fleet(self);
        }
        self.hubs.replace(hubs);
        self.provisioning_services.replace(dps);
        self.grants.reset(&scenario);
        self.arm_operations.clear();
        self.arm_store.clear();
        self.serve_storage_accounts(&scenario);
        *self.scenario.write().unwrap() = scenario;
        Ok(())
    }

    /// Puts back a saved state (`crate::persist`): its hubs and DPSs served on the listeners
    /// reserved for them, its Central apps' jobs and moves carried on. Grants start afresh (a
    /// user signs in again; tokens are signed by the same key, kept in the state folder).
    pub(crate) fn restore(self: &Arc<Self>, saved: crate::persist::Restored) {
        let crate::persist::Restored { scenario, clock_offset, quotas, hubs, dps, central, arm } = saved;
        self.clock_offset.store(clock_offset, Ordering::Relaxed);
        let (hubs, dps) = self.serve(hubs, dps);
        self.central_apps.replace(central.clone());
        self.set_quotas(quotas);
        self.hubs.replace(hubs);
        self.provisioning_services.replace(dps);
        self.grants.reset(&scenario);
        self.arm_operations.clear();
        self.arm_store.restore(arm);
        self.serve_storage_accounts(&scenario);
        *self.scenario.write().unwrap() = scenario;
        for app in &central {
            app.carry_on(self);
        }
    }

    /// Hubs and DPS instances served on the listeners reserved for them.
    fn serve(self: &Arc<Self>, hubs: crate::live::Reserved<Hub>, dps: crate::live::Reserved<Dps>) -> (Vec<Arc<Hub>>, Vec<Arc<Dps>>) {
        let hubs = hubs
            .into_iter()
            .map(|(hub, listener)| {
                hub.serve(self, listener, self.tls.clone());
                hub
            })
            .collect();
        let dps = dps
            .into_iter()
            .map(|(dps, listener)| {
                dps.serve(self, listener, self.device_tls.clone());
                dps
            })
            .collect();
        (hubs, dps)
    }

    /// Seconds the sandbox clock runs ahead of the wall clock (saved with the state).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    /// A hub created through ARM: its own listener on a fresh port, then listed.
    pub fn add_hub(self: &Arc<Self>, placement: Placement, name: &str, sku: &str, capacity: u32) -> std::io::Result<Arc<Hub>> {
        let listener = crate::live::reserve_port()?;
        let hub = Arc::new(Hub::new(placement, name, sku, capacity, format!("localhost:{}", listener.local_addr()?.port())));
        hub.serve(self, listener, self.tls.clone());
        self.hubs.add(hub.clone());
        Ok(hub)
    }

    /// A DPS created through ARM, likewise.
    pub fn add_dps(self: &Arc<Self>, placement: Placement, name: &str, linked: Vec<LinkedHub>, allocation_policy: &str) -> std::io::Result<Arc<Dps>> {
        let listener = crate::live::reserve_port()?;
        let dps = Arc::new(Dps::new(placement, name, format!("localhost:{}", listener.local_addr()?.port()), linked, allocation_policy));
        dps.serve(self, listener, self.device_tls.clone());
        self.provisioning_services.add(dps.clone());
        Ok(dps)
    }

    /// Closes every hub's and DPS's listener.
    pub fn stop_endpoints(&self) {
        self.hubs.stop_all();
        self.provisioning_services.stop_all();
    }

    pub fn now(&self) -> i64 {
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        wall + self.clock_offset.load(Ordering::Relaxed)
    }

    pub fn advance_clock(&self, seconds: i64) {
        self.clock_offset.fetch_add(seconds, Ordering::Relaxed);
    }

    /// The DPS answering for an ID scope: an ARM-visible one, or a Central app's own.
    pub fn dps_by_scope(&self, scope: &str) -> Option<Arc<Dps>> {
        self.provisioning_services.by_scope(scope).or_else(|| self.central_apps.dps_by_scope(scope))
    }

    /// The hub with this host name: an ARM-visible one, or a Central app's own.
    pub fn hub_by_host(&self, host: &str) -> Option<Arc<Hub>> {
        self.hubs.by_host(host).or_else(|| self.central_apps.hub_by_host(host))
    }

    /// A data-plane call with an Entra token: valid for `resource`, and its caller (user or
    /// service principal) has access to the subscription holding the resource (the sandbox's RBAC).
    pub fn bearer_allows(&self, header: &str, resource: crate::entra::Resource, subscription_id: &str) -> Result<(), String> {
        let token = header.strip_prefix("Bearer ").ok_or("not a bearer token")?;
        let claims = self.signer.verify(token, self.now(), crate::entra::resource_audiences(resource)).map_err(|e| e.to_string())?;
        let oid = claims["oid"].as_str().unwrap_or_default();
        let scenario = self.scenario();
        let allowed = scenario.subscriptions.iter().any(|s| s.id.eq_ignore_ascii_case(subscription_id) && s.access.iter().any(|a| a == oid));
        allowed.then_some(()).ok_or_else(|| format!("the caller {oid} has no role on the subscription {subscription_id}"))
    }

    pub fn quotas_on(&self) -> bool {
        self.quotas.load(Ordering::Relaxed)
    }

    pub fn set_quotas(&self, on: bool) {
        self.quotas.store(on, Ordering::Relaxed);
    }

    /// The running Azurite, or why the blob-backed features cannot work.
    pub fn azurite(&self) -> Result<Arc<crate::azurite::Azurite>, String> {
        self.storage.read().unwrap().running()
    }

    pub fn base_url(&self) -> String {
        self.base_url.read().unwrap().clone()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        *self.base_url.write().unwrap() = url;
    }

    /// Azurite serves every storage account the scenario places in ARM (see storage::accounts).
    fn serve_storage_accounts(&self, scenario: &Scenario) {
        if let Ok(azurite) = self.azurite() {
            if let Err(why) = azurite.serve_accounts(&crate::storage::accounts::scenario_accounts(scenario)) {
                tracing::warn!("the scenario's storage accounts are not served: {why}");
            }
        }
    }

    pub(crate) fn set_storage(&self, storage: crate::azurite::Storage) {
        *self.storage.write().unwrap() = storage;
    }

    /// The scenario running (reloaded whole by the control API; never edited in place).
    pub fn scenario(&self) -> RwLockReadGuard<'_, Scenario> {
        self.scenario.read().unwrap()
    }

    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    pub fn arm_operations(&self) -> &ArmOperations {
        &self.arm_operations
    }

    pub fn arm_store(&self) -> &crate::arm::ArmStore {
        &self.arm_store
    }

    /// The hubs ARM lists; `hub_by_host` also finds the Central apps' own.
    pub fn hubs(&self) -> &Hubs {
        &self.hubs
    }

    /// The DPSs ARM lists; `dps_by_scope` also finds the Central apps' own.
    pub fn provisioning_services(&self) -> &ProvisioningServices {
        &self.provisioning_services
    }

    pub fn central_apps(&self) -> &CentralApps {
        &self.central_apps
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A request ID in the GUID shape Azure uses, unique per response.
    pub fn request_id(&self) -> String {
        use rand::RngCore;
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        b[8..].copy_from_slice(&self.requests.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }
}
