//! Who may use a hub with its own keys: the shared access policies (replaced as a whole by an ARM
//! update, which is how Azure regenerates a key: the client sends the policy with a new key), the
//! `disableLocalAuth` switch, and the check DPS makes of a linked hub's connection string, both when
//! it is linked and each time a device is assigned to that hub.

use super::state::Hub;
use crate::live::AccessPolicy;
use std::sync::atomic::Ordering;

/// `AccessRights` as the IoT Hub ARM spec (2023-06-30) enumerates them.
pub const ACCESS_RIGHTS: &[&str] = &[
    "RegistryRead",
    "RegistryWrite",
    "ServiceConnect",
    "DeviceConnect",
    "RegistryRead, RegistryWrite",
    "RegistryRead, ServiceConnect",
    "RegistryRead, DeviceConnect",
    "RegistryWrite, ServiceConnect",
    "RegistryWrite, DeviceConnect",
    "ServiceConnect, DeviceConnect",
    "RegistryRead, RegistryWrite, ServiceConnect",
    "RegistryRead, RegistryWrite, DeviceConnect",
    "RegistryRead, ServiceConnect, DeviceConnect",
    "RegistryWrite, ServiceConnect, DeviceConnect",
    "RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect",
];

/// The spec's spelling of a set of rights, whatever order or spacing they were sent in.
pub fn access_rights(rights: &str) -> Option<&'static str> {
    let wanted = |s: &str| {
        let mut set: Vec<String> = s.split(',').map(|r| r.trim().to_ascii_lowercase()).filter(|r| !r.is_empty()).collect();
        set.sort();
        set
    };
    let asked = wanted(rights);
    ACCESS_RIGHTS.iter().find(|r| wanted(r) == asked).copied()
}

/// Why a hub would not take a connection string.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectionRefusal {
    LocalAuthDisabled,
    UnknownPolicy(String),
    WrongKey(String),
    MissingRight(String, &'static str),
}

impl std::fmt::Display for ConnectionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionRefusal::LocalAuthDisabled => write!(f, "the hub has local authentication disabled (disableLocalAuth), so it refuses shared access keys"),
            ConnectionRefusal::UnknownPolicy(name) => write!(f, "the hub has no shared access policy named '{name}'"),
            ConnectionRefusal::WrongKey(name) => write!(f, "the key is neither the primary nor the secondary key of policy '{name}'"),
            ConnectionRefusal::MissingRight(name, right) => write!(f, "policy '{name}' lacks the {right} permission"),
        }
    }
}

impl Hub {
    pub fn local_auth_disabled(&self) -> bool {
        self.local_auth_disabled.load(Ordering::SeqCst)
    }

    pub fn set_local_auth_disabled(&self, disabled: bool) {
        self.local_auth_disabled.store(disabled, Ordering::SeqCst);
    }

    /// ARM's update carrying `authorizationPolicies`: the new set replaces the old at once, so a
    /// key that was replaced stops working with the next request.
    pub(crate) fn replace_policies(&self, policies: Vec<AccessPolicy>) {
        *self.policies.write().unwrap() = policies;
    }

    /// Whether `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` opens this hub with `rights`.
    pub fn accepts_connection_string(&self, connection_string: &str, rights: &[&'static str]) -> Result<(), ConnectionRefusal> {
        if self.local_auth_disabled() {
            return Err(ConnectionRefusal::LocalAuthDisabled);
        }
        let field = |name: &str| connection_string.split(';').find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap_or_default();
        let (key_name, key) = (field("SharedAccessKeyName"), field("SharedAccessKey"));
        let policies = self.policies();
        let policy = policies.iter().find(|p| p.key_name == key_name).ok_or_else(|| ConnectionRefusal::UnknownPolicy(key_name.to_string()))?;
        if key.is_empty() || (policy.primary_key != key && policy.secondary_key != key) {
            return Err(ConnectionRefusal::WrongKey(key_name.to_string()));
        }
        match rights.iter().find(|r| !policy.allows(r)) {
            Some(right) => Err(ConnectionRefusal::MissingRight(key_name.to_string(), right)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn rights_are_matched_to_the_specs_spelling_whatever_their_order() {
        assert_eq!(access_rights("ServiceConnect,RegistryWrite"), Some("RegistryWrite, ServiceConnect"));
        assert_eq!(access_rights("registryread"), Some("RegistryRead"));
        assert_eq!(access_rights("RegistryWrite, Admin"), None);
        assert_eq!(access_rights(""), None);
    }

    #[test]
    fn a_connection_string_is_judged_by_the_policies_and_switch_in_force_now() {
        let hub = Hub::new(testing::placement(), "h", "S1", 1, "localhost:1".into());
        let owner = hub.policies()[0].clone();
        let cs = hub.connection_string(&owner);
        let both = ["RegistryWrite", "ServiceConnect"];
        assert_eq!(hub.accepts_connection_string(&cs, &both), Ok(()));
        let service = hub.connection_string(&hub.policies()[1].clone());
        assert_eq!(hub.accepts_connection_string(&service, &both), Err(ConnectionRefusal::MissingRight("service".into(), "RegistryWrite")));
        hub.replace_policies(vec![AccessPolicy { primary_key: crate::live::new_key(), ..owner.clone() }]);
        assert_eq!(hub.accepts_connection_string(&cs, &both), Err(ConnectionRefusal::WrongKey("iothubowner".into())));
        let secondary = format!("HostName=localhost:1;SharedAccessKeyName=iothubowner;SharedAccessKey={}", owner.secondary_key);
        assert_eq!(hub.accepts_connection_string(&secondary, &both), Ok(()));
        hub.set_local_auth_disabled(true);
        assert_eq!(hub.accepts_connection_string(&secondary, &both), Err(ConnectionRefusal::LocalAuthDisabled));
    }

    #[test]
    fn replaced_policies_and_the_local_auth_switch_survive_a_restart() {
        let hub = Hub::new(testing::placement(), "h", "S1", 1, "localhost:1".into());
        let renewed = AccessPolicy {
            key_name: "ops".into(),
            primary_key: crate::live::new_key(),
            secondary_key: crate::live::new_key(),
            rights: "RegistryWrite, ServiceConnect",
        };
        hub.replace_policies(vec![renewed.clone()]);
        hub.set_local_auth_disabled(true);
        let record: crate::hub::persist::HubRecord = serde_json::from_value(serde_json::to_value(hub.record()).unwrap()).unwrap();
        let restored = Hub::from_record(record);
        let kept: Vec<(String, String, &str)> = restored.policies().iter().map(|p| (p.key_name.clone(), p.primary_key.clone(), p.rights)).collect();
        assert_eq!(kept, vec![("ops".to_string(), renewed.primary_key, "RegistryWrite, ServiceConnect")]);
        assert!(restored.local_auth_disabled());
    }
}
