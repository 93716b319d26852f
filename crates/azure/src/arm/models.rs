//! ARM resources as the specs describe them (Subscriptions 2022-12-01, Resources 2024-07-01,
//! IoTCentral 2021-06-01, IotHubs 2023-06-30, provisioningServices 2022-12-12): the fields the
//! wizards read, typed; everything else kept in `other`, so a read-modify-write PUT sends back
//! what it did not touch. Keys are `Secret`s; a linked hub's connection string goes out in clear
//! only in the PUT body that links it.

use crate::secret::{on_the_wire, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Fields a model does not type, kept as they came.
pub type Other = Map<String, Value>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub subscription_id: String,
    pub display_name: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `Enabled`, `Disabled`, `Warned`, `PastDue`, `Deleted`.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A location of a subscription (`Subscriptions_ListLocations`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub regional_display_name: Option<String>,
    #[serde(default)]
    pub metadata: Option<LocationMetadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationMetadata {
    /// `Physical` (a region resources are placed in) or `Logical` (a geography, such as `europe`).
    #[serde(default)]
    pub region_type: Option<String>,
}

impl Location {
    /// Whether resources can be placed there (a physical region, not a geography name).
    pub fn is_physical(&self) -> bool {
        self.metadata.as_ref().and_then(|m| m.region_type.as_deref()).is_none_or(|t| t.eq_ignore_ascii_case("Physical"))
    }
}

/// An IoT Central application (`Microsoft.IoTCentral/iotApps`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CentralApplication {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub sku: Option<NamedSku>,
    pub properties: CentralApplicationProperties,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CentralApplicationProperties {
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `<subdomain>.azureiotcentral.com` is the app's address.
    pub subdomain: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamedSku {
    pub name: String,
}

/// An IoT hub (`Microsoft.Devices/IotHubs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IotHub {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Read-only, like `system_data`: kept out of the PUT body.
    #[serde(default, rename = "type", skip_serializing)]
    pub kind: Option<String>,
    #[serde(default, rename = "systemData", skip_serializing)]
    pub system_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub sku: HubSku,
    #[serde(default)]
    pub properties: IotHubProperties,
    #[serde(flatten)]
    pub other: Other,
}

impl IotHub {
    /// A hub to create: where, which tier (`S1`, `B1`, `F1`…) and how many units.
    pub fn new(location: &str, sku: &str, units: u32) -> IotHub {
        IotHub {
            id: None,
            kind: None,
            system_data: None,
            name: None,
            location: location.to_string(),
            tags: BTreeMap::new(),
            etag: None,
            sku: HubSku { name: sku.to_string(), tier: None, capacity: Some(units) },
            properties: IotHubProperties::default(),
            other: Other::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubSku {
    pub name: String,
    /// Read-only: derived from the name.
    #[serde(default, skip_serializing)]
    pub tier: Option<String>,
    /// Units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IotHubProperties {
    /// Read-only: `<name>.azure-devices.net`, where the hub's service API answers.
    #[serde(default, skip_serializing)]
    pub host_name: Option<String>,
    #[serde(default, skip_serializing)]
    pub state: Option<String>,
    #[serde(default, skip_serializing)]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub other: Other,
}

/// A shared access policy of a hub or DPS, with its keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedAccessPolicy {
    pub key_name: String,
    #[serde(default)]
    pub primary_key: Option<Secret<String>>,
    #[serde(default)]
    pub secondary_key: Option<Secret<String>>,
    /// e.g. `RegistryWrite, ServiceConnect, DeviceConnect`.
    pub rights: String,
}

/// A Device Provisioning Service instance (`Microsoft.Devices/provisioningServices`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningService {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Read-only, like `system_data`: kept out of the PUT body.
    #[serde(default, rename = "type", skip_serializing)]
    pub kind: Option<String>,
    #[serde(default, rename = "systemData", skip_serializing)]
    pub system_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Sent back on update: the service refuses a PUT made from a stale read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub sku: DpsSku,
    pub properties: ProvisioningServiceProperties,
    #[serde(flatten)]
    pub other: Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DpsSku {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing)]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningServiceProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub iot_hubs: Vec<LinkedHub>,
    /// `Hashed`, `GeoLatency` or `Static`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_policy: Option<String>,
    /// Read-only: where the DPS service API answers (enrollment groups, registrations).
    #[serde(default, skip_serializing)]
    pub service_operations_host_name: Option<String>,
    #[serde(default, skip_serializing)]
    pub device_provisioning_host_name: Option<String>,
    #[serde(default, skip_serializing)]
    pub id_scope: Option<String>,
    #[serde(flatten)]
    pub other: Other,
}

/// A hub linked to a DPS. DPS shows the connection string with its key masked (`****`); sent back
/// masked, the service keeps the key it has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedHub {
    #[serde(serialize_with = "on_the_wire")]
    pub connection_string: Secret<String>,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_allocation_policy: Option<bool>,
    /// Read-only: the hub's host name.
    #[serde(default, skip_serializing)]
    pub name: Option<String>,
}

/// The parts of an ARM resource ID the wizards need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl ResourceId {
    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`.
    pub fn parse(id: &str) -> Option<ResourceId> {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        let at = |key: &str| parts.iter().position(|p| p.eq_ignore_ascii_case(key)).and_then(|i| parts.get(i + 1)).map(|s| s.to_string());
        Some(ResourceId {
            subscription_id: at("subscriptions")?,
            resource_group: at("resourceGroups")?,
            name: parts.last().filter(|_| parts.len() >= 8)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dps_read_then_written_keeps_what_the_model_does_not_know() {
        let read = r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/d","name":"d","location":"westeurope",
            "type":"Microsoft.Devices/provisioningServices","systemData":{"createdBy":"x"},"etag":"AAAA","sku":{"name":"S1","tier":"Standard","capacity":1},"futureField":{"x":1},
            "properties":{"state":"Active","idScope":"0ne1","ipFilterRules":[{"filterName":"f"}],
              "iotHubs":[{"connectionString":"HostName=h;SharedAccessKeyName=o;SharedAccessKey=****","location":"westeurope","name":"h","applyAllocationPolicy":true}]}}"#;
        let dps: ProvisioningService = serde_json::from_str(read).unwrap();
        assert_eq!(dps.properties.iot_hubs[0].name.as_deref(), Some("h"));
        let written = serde_json::to_value(&dps).unwrap();
        assert_eq!(written["properties"]["ipFilterRules"][0]["filterName"], "f");
        assert_eq!(written["futureField"]["x"], 1);
        assert_eq!(written["etag"], "AAAA");
        assert_eq!(written["properties"]["iotHubs"][0]["connectionString"], "HostName=h;SharedAccessKeyName=o;SharedAccessKey=****");
        assert!(written["properties"].get("idScope").is_none() && written["sku"].get("tier").is_none());
        assert_eq!(dps.kind.as_deref(), Some("Microsoft.Devices/provisioningServices"));
        assert!(written.get("type").is_none() && written.get("systemData").is_none());
    }

    #[test]
    fn keys_read_from_arm_never_print() {
        let policy: SharedAccessPolicy = serde_json::from_str(r#"{"keyName":"iothubowner","primaryKey":"cHJpbWFyeQ==","rights":"RegistryWrite"}"#).unwrap();
        assert!(!format!("{policy:?}").contains("cHJpbWFyeQ"));
        assert!(!serde_json::to_string(&policy).unwrap().contains("cHJpbWFyeQ"));
    }

    #[test]
    fn a_resource_id_gives_its_group_and_name() {
        let id = ResourceId::parse("/subscriptions/s1/resourceGroups/rg-iot/providers/Microsoft.Devices/IotHubs/hub-1").unwrap();
        assert_eq!((id.subscription_id.as_str(), id.resource_group.as_str(), id.name.as_str()), ("s1", "rg-iot", "hub-1"));
        assert!(ResourceId::parse("/subscriptions/s1").is_none());
    }
}
