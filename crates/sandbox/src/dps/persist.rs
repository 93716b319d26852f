//! A DPS as the state snapshot keeps it (`crate::persist`): its place in ARM, host, ID scope,
//! keys, settings (linked hubs, allocation policy), enrollments and registration records.

use super::registration::RegistrationRecord;
use super::state::{Dps, DpsSettings};
use crate::live::{policy_keys, restore_keys, Placement, PolicyKeys};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Serialize, Deserialize)]
pub struct DpsRecord {
    placement: Placement,
    name: String,
    host: String,
    id_scope: String,
    keys: Vec<PolicyKeys>,
    settings: DpsSettings,
    enrollment_groups: BTreeMap<String, Value>,
    enrollments: BTreeMap<String, Value>,
    registrations: BTreeMap<String, RegistrationRecord>,
}

impl DpsRecord {
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl Dps {
    pub(crate) fn record(&self) -> DpsRecord {
        DpsRecord {
            placement: self.placement.clone(),
            name: self.name.clone(),
            host: self.host.clone(),
            id_scope: self.id_scope.clone(),
            keys: policy_keys(&self.policies),
            settings: self.settings(),
            enrollment_groups: self.enrollment_groups.lock().unwrap().clone(),
            enrollments: self.enrollments.lock().unwrap().clone(),
            registrations: self.registrations.lock().unwrap().clone(),
        }
    }

    pub(crate) fn from_record(record: DpsRecord) -> Dps {
        let DpsSettings { linked_hubs, allocation_policy, etag } = record.settings;
        let mut dps = Dps::new(record.placement, &record.name, record.host, linked_hubs, &allocation_policy);
        dps.settings.get_mut().unwrap().etag = etag;
        dps.id_scope = record.id_scope;
        restore_keys(&mut dps.policies, record.keys);
        dps.enrollment_groups = Mutex::new(record.enrollment_groups);
        dps.enrollments = Mutex::new(record.enrollments);
        dps.registrations = Mutex::new(record.registrations);
        dps
    }
}
