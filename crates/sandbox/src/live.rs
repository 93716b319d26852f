//! What every live IoT resource of the sandbox shares: shared access policies and keys (minted
//! per run, never on disk), ETags, where a resource sits in ARM, and its own HTTPS listener (only
//! `localhost` resolves offline, so each hub and DPS is `localhost:<port>`). The resources
//! themselves live with their services: `hub::state`, `dps::state`, `central::app`.

use crate::dps::state::Dps;
use crate::hub::state::Hub;
use crate::scenario::Scenario;
use crate::tokens::random_token;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// A shared access policy of a hub or DPS: a key name, two keys and the rights they grant.
#[derive(Clone)]
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
    pub(crate) fn new(key_name: &str, rights: &'static str) -> AccessPolicy {
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

/// A policy's keys as the state snapshot keeps them, with its rights (a hub's policies can be
/// replaced through ARM; older snapshots lack them and keep the resource kind's defaults).
/// No Debug: they are keys.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PolicyKeys {
    pub key_name: String,
    pub primary_key: String,
    pub secondary_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
}

/// The keys of each policy, to be saved.
pub fn policy_keys(policies: &[AccessPolicy]) -> Vec<PolicyKeys> {
    policies
        .iter()
        .map(|p| PolicyKeys {
            key_name: p.key_name.clone(),
            primary_key: p.primary_key.clone(),
            secondary_key: p.secondary_key.clone(),
            rights: Some(p.rights.to_string()),
        })
        .collect()
}

/// The saved policies exactly as they were (names, keys, rights), when every one carries rights
/// the hub knows; `None` for an older snapshot, which `restore_keys` handles.
pub fn restored_policies(saved: &[PolicyKeys]) -> Option<Vec<AccessPolicy>> {
    saved
        .iter()
        .map(|k| {
            Some(AccessPolicy {
                key_name: k.key_name.clone(),
                primary_key: k.primary_key.clone(),
                secondary_key: k.secondary_key.clone(),
                rights: crate::hub::access_rights(k.rights.as_deref()?)?,
            })
        })
        .collect()
}

/// Saved keys put back on the policies of the same name (a policy the snapshot lacks keeps its new keys).
pub fn restore_keys(policies: &mut [AccessPolicy], saved: Vec<PolicyKeys>) {
    for keys in saved {
        if let Some(policy) = policies.iter_mut().find(|p| p.key_name == keys.key_name) {
            policy.primary_key = keys.primary_key;
            policy.secondary_key = keys.secondary_key;
        }
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
#[derive(Clone, serde::Serialize, serde::Deserialize)]
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
                hub.quotas().set_switch(h.quotas);
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
                    .filter_map(|name| hubs.iter().find(|(h, _)| h.name() == name && h.placement().subscription_id == sub.id))
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
