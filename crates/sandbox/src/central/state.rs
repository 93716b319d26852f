//! The IoT Central applications the sandbox runs, found by subdomain (Central's API) or by the ID
//! scope and host of their own DPS and hub (devices registering and connecting there).

use super::app::LiveCentralApp;
use crate::dps::state::Dps;
use crate::hub::state::Hub;
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct CentralApps(RwLock<Vec<Arc<LiveCentralApp>>>);

impl CentralApps {
    pub fn all(&self) -> Vec<Arc<LiveCentralApp>> {
        self.0.read().unwrap().clone()
    }

    /// By subdomain, as Central's URLs name an app (case-insensitively, as DNS does).
    pub fn by_subdomain(&self, subdomain: &str) -> Option<Arc<LiveCentralApp>> {
        self.0.read().unwrap().iter().find(|a| a.subdomain.eq_ignore_ascii_case(subdomain)).cloned()
    }

    /// The app's own DPS answering for this ID scope.
    pub fn dps_by_scope(&self, scope: &str) -> Option<Arc<Dps>> {
        self.0.read().unwrap().iter().find(|a| a.dps.id_scope().eq_ignore_ascii_case(scope)).map(|a| a.dps.clone())
    }

    /// A device registered through an app's own DPS: Central shows it provisioned from then on.
    pub fn mark_provisioned(&self, scope: &str, device_id: &str) {
        let apps = self.0.read().unwrap();
        if let Some(app) = apps.iter().find(|a| a.dps.id_scope().eq_ignore_ascii_case(scope)) {
            if let Some(device) = app.devices.lock().unwrap().get_mut(device_id) {
                device.provisioned = true;
            }
        }
    }

    /// The app's own hub with this host name.
    pub fn hub_by_host(&self, host: &str) -> Option<Arc<Hub>> {
        self.0.read().unwrap().iter().find(|a| a.hub.host().eq_ignore_ascii_case(host)).map(|a| a.hub.clone())
    }

    pub(crate) fn replace(&self, apps: Vec<Arc<LiveCentralApp>>) {
        *self.0.write().unwrap() = apps;
    }
}
