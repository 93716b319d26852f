//! The sandbox cloud's shared state: the scenario, the token signer, the sandbox clock and the
//! grants Entra has handed out. Every emulated service reads it through an `Arc<Cloud>`.

use crate::live::{Dps, Hub};
use crate::scenario::{AppKind, Scenario};
use crate::tokens::{random_token, TokenSigner};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub tenant_id: String,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub issued_at: i64,
}

pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub tenant_id: String,
    /// When the user signed in; SPA refresh tokens die 24 h after this, however often rotated.
    pub signed_in_at: i64,
    pub issued_at: i64,
}

pub struct Cloud {
    pub scenario: RwLock<Scenario>,
    pub signer: TokenSigner,
    /// Seconds added to the wall clock, so tests can jump past expiries.
    clock_offset: AtomicI64,
    pub codes: Mutex<HashMap<String, AuthCode>>,
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// Client secrets of confidential registrations, minted per run and never written to disk.
    pub client_secrets: RwLock<HashMap<String, String>>,
    /// `https://localhost:<port>` of the control-plane listener (Entra + ARM).
    pub base_url: RwLock<String>,
    requests: AtomicU64,
    tls: Arc<rustls::ServerConfig>,
    /// DPS listeners ask devices for a certificate (X.509 attestation).
    device_tls: Arc<rustls::ServerConfig>,
    pub hubs: RwLock<Vec<Arc<Hub>>>,
    pub provisioning_services: RwLock<Vec<Arc<Dps>>>,
    pub central_apps: RwLock<Vec<Arc<crate::central::app::LiveCentralApp>>>,
    /// Service limits enforced (Central's rate and job limits); the scenario sets it, the control API flips it.
    quotas: AtomicBool,
    /// ARM long-running operations: ID → when it completes.
    pub arm_operations: Mutex<HashMap<String, std::time::Instant>>,
    /// Requests counted and faults injected, by the control API.
    pub faults: crate::faults::Faults,
    /// Blob storage (Azurite) for import/export jobs and ARM's storage accounts, or why there is none.
    pub storage: RwLock<crate::azurite::Storage>,
}

impl Cloud {
    /// An empty cloud; `load` fills it. Must be called inside the Tokio runtime that will serve it.
    pub fn new(signer: TokenSigner, tls: Arc<rustls::ServerConfig>, device_tls: Arc<rustls::ServerConfig>) -> Arc<Cloud> {
        Arc::new(Cloud {
            scenario: RwLock::new(Scenario::empty()),
            signer,
            clock_offset: AtomicI64::new(0),
            codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            client_secrets: RwLock::default(),
            base_url: RwLock::default(),
            requests: AtomicU64::new(0),
            tls,
            device_tls,
            hubs: RwLock::default(),
            provisioning_services: RwLock::default(),
            central_apps: RwLock::default(),
            quotas: AtomicBool::new(true),
            arm_operations: Mutex::default(),
            faults: Default::default(),
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
        let hubs = hubs
            .into_iter()
            .map(|(hub, listener)| {
                hub.endpoint.serve(listener, self.tls.clone(), crate::hub::router(self.clone(), hub.clone()));
                hub
            })
            .collect();
        let dps = dps
            .into_iter()
            .map(|(dps, listener)| {
                dps.endpoint.serve(listener, self.device_tls.clone(), crate::dps::router(self.clone(), dps.clone()));
                dps
            })
            .collect();
        let now = self.now();
        let central: Vec<_> = scenario
            .subscriptions
            .iter()
            .flat_map(|s| s.resource_groups.iter().flat_map(move |rg| rg.iot_central_apps.iter().map(move |a| (s, rg, a))))
            .map(|(s, rg, a)| {
                let placement = crate::live::Placement { subscription_id: s.id.clone(), resource_group: rg.name.clone(), location: rg.location.clone() };
                Arc::new(crate::central::app::LiveCentralApp::build(a, placement, now, scenario.device_timing.clone()))
            })
            .collect();
        *self.central_apps.write().unwrap() = central.clone();
        self.set_quotas(scenario.quotas);
        for app in &central {
            app.connect_fleet(self);
        }
        self.stop_endpoints();
        *self.hubs.write().unwrap() = hubs;
        *self.provisioning_services.write().unwrap() = dps;
        let secrets = scenario
            .tenants
            .iter()
            .flat_map(|t| &t.app_registrations)
            .filter(|a| a.kind == AppKind::Confidential)
            .map(|a| (a.client_id.to_ascii_lowercase(), random_token(30)))
            .collect();
        *self.client_secrets.write().unwrap() = secrets;
        self.codes.lock().unwrap().clear();
        self.arm_operations.lock().unwrap().clear();
        self.refresh_tokens.lock().unwrap().clear();
        *self.scenario.write().unwrap() = scenario;
        Ok(())
    }

    /// A hub created through ARM: its own listener on a fresh port, then listed.
    pub fn add_hub(self: &Arc<Self>, placement: crate::live::Placement, name: &str, sku: &str, capacity: u32) -> std::io::Result<Arc<Hub>> {
        let listener = crate::live::reserve_port()?;
        let hub = Arc::new(Hub::new(placement, name, sku, capacity, format!("localhost:{}", listener.local_addr()?.port())));
        hub.endpoint.serve(listener, self.tls.clone(), crate::hub::router(self.clone(), hub.clone()));
        self.hubs.write().unwrap().push(hub.clone());
        Ok(hub)
    }

    /// A DPS created through ARM, likewise.
    pub fn add_dps(
        self: &Arc<Self>,
        placement: crate::live::Placement,
        name: &str,
        linked: Vec<crate::live::LinkedHub>,
        allocation_policy: &str,
    ) -> std::io::Result<Arc<Dps>> {
        let listener = crate::live::reserve_port()?;
        let dps = Arc::new(Dps::new(placement, name, format!("localhost:{}", listener.local_addr()?.port()), linked, allocation_policy));
        dps.endpoint.serve(listener, self.device_tls.clone(), crate::dps::router(self.clone(), dps.clone()));
        self.provisioning_services.write().unwrap().push(dps.clone());
        Ok(dps)
    }

    /// Closes every hub's and DPS's listener.
    pub fn stop_endpoints(&self) {
        self.hubs.read().unwrap().iter().for_each(|h| h.endpoint.stop());
        self.provisioning_services.read().unwrap().iter().for_each(|d| d.endpoint.stop());
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
        let public = self.provisioning_services.read().unwrap().iter().find(|d| d.id_scope.eq_ignore_ascii_case(scope)).cloned();
        public.or_else(|| self.central_apps.read().unwrap().iter().find(|a| a.dps.id_scope.eq_ignore_ascii_case(scope)).map(|a| a.dps.clone()))
    }

    /// The hub with this host name: an ARM-visible one, or a Central app's own.
    pub fn hub_by_host(&self, host: &str) -> Option<Arc<Hub>> {
        let public = self.hubs.read().unwrap().iter().find(|h| h.host.eq_ignore_ascii_case(host)).cloned();
        public.or_else(|| self.central_apps.read().unwrap().iter().find(|a| a.hub.host.eq_ignore_ascii_case(host)).map(|a| a.hub.clone()))
    }

    /// A data-plane call with an Entra token: valid for `resource`, and its caller (user or
    /// service principal) has access to the subscription holding the resource (the sandbox's RBAC).
    pub fn bearer_allows(&self, header: &str, resource: crate::entra::Resource, subscription_id: &str) -> Result<(), String> {
        let token = header.strip_prefix("Bearer ").ok_or("not a bearer token")?;
        let claims = self.signer.verify(token, self.now(), crate::entra::resource_audiences(resource)).map_err(|e| e.to_string())?;
        let oid = claims["oid"].as_str().unwrap_or_default();
        let scenario = self.scenario.read().unwrap();
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

/// What handler tests need: an empty cloud (its state folder lives as long as the guard) and a
/// SAS header for a resource's policy, as an SDK would sign it.
#[cfg(test)]
pub mod testing {
    use super::Cloud;
    use crate::live::AccessPolicy;
    use std::sync::Arc;

    pub fn cloud() -> (tempfile::TempDir, Arc<Cloud>) {
        let dir = tempfile::tempdir().unwrap();
        let authority = crate::tls::load_or_create(dir.path()).unwrap();
        let signer = crate::tokens::TokenSigner::load_or_create(dir.path()).unwrap();
        (dir, Cloud::new(signer, authority.server_config, authority.device_config))
    }

    pub fn placement() -> crate::live::Placement {
        crate::live::Placement { subscription_id: "sub".into(), resource_group: "rg".into(), location: "westeurope".into() }
    }

    pub fn sas(host: &str, policy: &AccessPolicy, now: i64) -> axum::http::HeaderMap {
        let expiry = now + 3600;
        let sr: String = url::form_urlencoded::byte_serialize(host.as_bytes()).collect();
        let sig = crate::sas::sign(&policy.primary_key, &sr, expiry).unwrap();
        let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry}&skn={}", policy.key_name).parse().unwrap());
        headers
    }
}
