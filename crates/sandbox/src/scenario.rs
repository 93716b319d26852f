//! What the sandbox cloud holds: tenants with users and app registrations, subscriptions with
//! resource groups and IoT Central apps. Loaded from a JSON scenario file, or the built-in default
//! that the app's Sandbox environment uses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// Items per page in ARM list responses (Azure pages at its own sizes; small values prove paging).
    #[serde(default = "default_page_size")]
    pub arm_page_size: usize,
    /// How long the simulated devices take to answer and to move.
    #[serde(default)]
    pub device_timing: crate::fleet::DeviceTiming,
    /// Service limits (Central's request rate and running jobs, IoT Hub's tier throttles and
    /// quotas): on for realism, off for speed. A hub's own `quotas` overrides it.
    #[serde(default = "yes")]
    pub quotas: bool,
    /// Lifetime of the access tokens Entra issues (Azure: about an hour). Shorter lets a test move
    /// the sandbox clock past a token's expiry without also passing the expiry of the SAS tokens
    /// clients sign by their own clock (an hour for IoT Hub and DPS).
    #[serde(default = "default_access_token_seconds")]
    pub access_token_seconds: i64,
}

pub fn default_access_token_seconds() -> i64 {
    3599
}

fn yes() -> bool {
    true
}

fn default_page_size() -> usize {
    100
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub display_name: String,
    pub users: Vec<User>,
    pub app_registrations: Vec<AppRegistration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AppKind {
    /// Single-page application: code redemption needs an Origin header; refresh tokens live 24 h.
    Spa,
    /// Mobile and desktop (public client): loopback redirect on any port.
    Desktop,
    /// Confidential client with a secret (client credentials); the secret is minted per run.
    Confidential,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppRegistration {
    pub client_id: String,
    pub display_name: String,
    pub kind: AppKind,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The service principal's object ID, for role assignments of confidential clients.
    #[serde(default)]
    pub service_principal_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
    pub tenant_id: String,
    /// Object IDs (users or service principals) with access to everything in the subscription.
    pub access: Vec<String>,
    /// Object IDs with a read-only role: they may GET and list, and call the read-only POSTs
    /// (`listKeys`), but a PUT, PATCH or DELETE through ARM gets 403 AuthorizationFailed naming the
    /// action. They are not members of the subscription's Central apps and have no data-plane role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub iot_central_apps: Vec<CentralApp>,
    #[serde(default)]
    pub iot_hubs: Vec<IotHub>,
    #[serde(default)]
    pub provisioning_services: Vec<ProvisioningService>,
    /// Storage accounts (`Microsoft.Storage/storageAccounts`), each an account in Azurite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_accounts: Vec<StorageAccount>,
}

/// A storage account ARM lists, served by Azurite as an account of its own (storage::accounts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageAccount {
    /// 3 to 24 lower-case letters and digits, unique across the cloud (as in Azure).
    pub name: String,
    #[serde(default = "default_storage_sku")]
    pub sku: String,
}

fn default_storage_sku() -> String {
    "Standard_LRS".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IotHub {
    pub name: String,
    #[serde(default = "default_hub_sku")]
    pub sku: String,
    #[serde(default = "one")]
    pub capacity: u32,
    /// This hub's throttles and quotas on or off, whatever the scenario-wide `quotas` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningService {
    pub name: String,
    /// Names of hubs (in the same subscription) linked at start.
    #[serde(default)]
    pub linked_hubs: Vec<String>,
    #[serde(default = "default_allocation")]
    pub allocation_policy: String,
}

fn default_hub_sku() -> String {
    "S1".into()
}

fn one() -> u32 {
    1
}

fn default_allocation() -> String {
    "Hashed".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CentralApp {
    pub name: String,
    pub subdomain: String,
    pub display_name: String,
    pub application_id: String,
    #[serde(default = "default_sku")]
    pub sku: String,
    #[serde(default = "default_template")]
    pub template: String,
    #[serde(default)]
    pub device_templates: Vec<CentralTemplate>,
    #[serde(default)]
    pub device_groups: Vec<CentralDeviceGroup>,
    /// Devices, declared in batches: `count` devices named `prefix` + a number, and any listed by ID.
    #[serde(default)]
    pub fleets: Vec<Fleet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CentralTemplate {
    /// The model's DTMI, which Central uses as the template ID.
    pub id: String,
    pub display_name: String,
    /// The component carrying `dtmi:azureiot:DeviceMigration;1` (its DeviceMove command), if any.
    #[serde(default)]
    pub migration_component: Option<String>,
    /// The template's DTDL capability model as Central returns it; a temperature telemetry when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_model: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CentralDeviceGroup {
    pub id: String,
    pub display_name: String,
    /// Members: the devices of this template.
    pub template: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fleet {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub count: u32,
    /// Devices with these exact IDs too (IDs a prefix and a number cannot make).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    pub template: String,
    /// Share of the fleet per persona, in percent; the rest is healthy.
    #[serde(default)]
    pub personas: std::collections::BTreeMap<crate::fleet::Persona, f64>,
}

fn default_sku() -> String {
    "ST2".into()
}

fn default_template() -> String {
    "iotc-pnp-preview@1.0.0".into()
}

/// The client IDs of the sandbox's built-in app registrations (the app's Sandbox environment
/// signs in with the SPA one, like the Node migrator's users did).
pub const SANDBOX_SPA_CLIENT_ID: &str = "5a4b1c2d-0000-4000-8000-00000000a001";
pub const SANDBOX_DESKTOP_CLIENT_ID: &str = "5a4b1c2d-0000-4000-8000-00000000a002";
pub const SANDBOX_CONFIDENTIAL_CLIENT_ID: &str = "5a4b1c2d-0000-4000-8000-00000000a003";

impl Scenario {
    pub fn empty() -> Scenario {
        Scenario {
            tenants: vec![],
            subscriptions: vec![],
            arm_page_size: 100,
            device_timing: Default::default(),
            quotas: true,
            access_token_seconds: default_access_token_seconds(),
        }
    }

    pub fn from_json(text: &str) -> Result<Scenario, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A realistic small tenant: two users, the three kinds of app registration, two subscriptions
    /// (one the second user cannot see) and three Central apps.
    pub fn builtin() -> Scenario {
        let tenant = "72f9a1b0-5c1e-4d7a-9b8e-0c1d2e3f4a5b";
        let ada = "0a1b2c3d-1111-4000-8000-000000000001";
        let grace = "0a1b2c3d-1111-4000-8000-000000000002";
        let automation_sp = "0a1b2c3d-2222-4000-8000-000000000003";
        let thermostat = "dtmi:contoso:Thermostat;1";
        let legacy = "dtmi:contoso:LegacySensor;1";
        // Mostly healthy, with a few of every kind of trouble a real migration meets.
        let mix: std::collections::BTreeMap<crate::fleet::Persona, f64> = [
            (crate::fleet::Persona::Offline, 4.0),
            (crate::fleet::Persona::Slow, 3.0),
            (crate::fleet::Persona::WrongKey, 2.0),
            (crate::fleet::Persona::NeverMoves, 2.0),
            (crate::fleet::Persona::NoDeviceMove, 1.0),
        ]
        .into();
        let app = |name: &str, display: &str, id: &str| CentralApp {
            name: name.into(),
            subdomain: name.into(),
            display_name: display.into(),
            application_id: id.into(),
            sku: default_sku(),
            template: default_template(),
            device_templates: vec![
                CentralTemplate {
                    id: thermostat.into(),
                    display_name: "Thermostat".into(),
                    migration_component: Some("migration".into()),
                    capability_model: None,
                },
                CentralTemplate { id: legacy.into(), display_name: "Legacy sensor (no DeviceMove)".into(), migration_component: None, capability_model: None },
            ],
            device_groups: vec![
                CentralDeviceGroup { id: "thermostats".into(), display_name: "All thermostats".into(), template: thermostat.into() },
                CentralDeviceGroup { id: "legacy-sensors".into(), display_name: "Legacy sensors".into(), template: legacy.into() },
            ],
            fleets: vec![
                Fleet { prefix: "thermostat-".into(), count: 240, template: thermostat.into(), ids: vec![], personas: mix.clone() },
                Fleet { prefix: "legacy-".into(), count: 12, template: legacy.into(), ids: vec![], personas: Default::default() },
            ],
        };
        Scenario {
            tenants: vec![Tenant {
                id: tenant.into(),
                domain: "contoso-sandbox.onmicrosoft.com".into(),
                display_name: "Contoso (sandbox)".into(),
                users: vec![
                    User { id: ada.into(), user_principal_name: "ada@contoso-sandbox.onmicrosoft.com".into(), display_name: "Ada Lovelace".into() },
                    User { id: grace.into(), user_principal_name: "grace@contoso-sandbox.onmicrosoft.com".into(), display_name: "Grace Hopper".into() },
                ],
                app_registrations: vec![
                    AppRegistration {
                        client_id: SANDBOX_SPA_CLIENT_ID.into(),
                        display_name: "IoT Migrator (single-page app)".into(),
                        kind: AppKind::Spa,
                        redirect_uris: vec!["http://localhost:3000".into()],
                        service_principal_id: None,
                    },
                    AppRegistration {
                        client_id: SANDBOX_DESKTOP_CLIENT_ID.into(),
                        display_name: "IoT Migrator (desktop)".into(),
                        kind: AppKind::Desktop,
                        redirect_uris: vec!["http://localhost".into()],
                        service_principal_id: None,
                    },
                    AppRegistration {
                        client_id: SANDBOX_CONFIDENTIAL_CLIENT_ID.into(),
                        display_name: "Migration automation".into(),
                        kind: AppKind::Confidential,
                        redirect_uris: vec![],
                        service_principal_id: Some(automation_sp.into()),
                    },
                ],
            }],
            subscriptions: vec![
                Subscription {
                    id: "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11".into(),
                    display_name: "Contoso IoT Production (sandbox)".into(),
                    tenant_id: tenant.into(),
                    access: vec![ada.into(), automation_sp.into()],
                    readers: vec![],
                    resource_groups: vec![ResourceGroup {
                        name: "rg-iot-prod".into(),
                        location: "westeurope".into(),
                        iot_central_apps: vec![
                            app("contoso-fleet", "Contoso Fleet", "b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c01"),
                            app("contoso-cold-chain", "Contoso Cold Chain", "b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c02"),
                        ],
                        iot_hubs: vec![
                            IotHub { name: "contoso-hub-weu".into(), sku: "S1".into(), capacity: 1, quotas: None },
                            IotHub { name: "contoso-hub-neu".into(), sku: "S1".into(), capacity: 1, quotas: None },
                        ],
                        provisioning_services: vec![ProvisioningService {
                            name: "contoso-dps".into(),
                            linked_hubs: vec!["contoso-hub-weu".into()],
                            allocation_policy: default_allocation(),
                        }],
                        storage_accounts: vec![StorageAccount { name: "contosomigration".into(), sku: default_storage_sku() }],
                    }],
                },
                Subscription {
                    id: "8d2f4b63-1e7c-4a9d-b5f0-3e6a8c0d2f22".into(),
                    display_name: "Contoso IoT Lab (sandbox)".into(),
                    tenant_id: tenant.into(),
                    access: vec![ada.into(), grace.into()],
                    readers: vec![],
                    resource_groups: vec![ResourceGroup {
                        name: "rg-iot-lab".into(),
                        location: "northeurope".into(),
                        iot_central_apps: vec![app("contoso-lab", "Contoso Lab", "b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c03")],
                        iot_hubs: vec![],
                        provisioning_services: vec![],
                        storage_accounts: vec![],
                    }],
                },
            ],
            arm_page_size: default_page_size(),
            device_timing: Default::default(),
            quotas: true,
            access_token_seconds: default_access_token_seconds(),
        }
    }

    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id_or_domain) || t.domain.eq_ignore_ascii_case(id_or_domain))
    }

    /// The registration and its tenant (registrations are looked up across tenants, as
    /// multi-tenant apps are).
    pub fn app_registration(&self, client_id: &str) -> Option<(&Tenant, &AppRegistration)> {
        self.tenants.iter().find_map(|t| t.app_registrations.iter().find(|a| a.client_id.eq_ignore_ascii_case(client_id)).map(|a| (t, a)))
    }

    pub fn user(&self, id: &str) -> Option<(&Tenant, &User)> {
        self.tenants.iter().find_map(|t| t.users.iter().find(|u| u.id == id).map(|u| (t, u)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_scenario_round_trips_through_json() {
        let s = Scenario::builtin();
        let back = Scenario::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.tenants[0].app_registrations.len(), 3);
        assert_eq!(back.subscriptions.len(), 2);
    }

    #[test]
    fn an_unknown_field_is_an_error_naming_it_and_its_line() {
        let err = Scenario::from_json("{\n \"tenants\": [],\n \"tenantz\": 1\n}").unwrap_err();
        assert!(err.to_string().contains("tenantz") && err.line() == 3, "{err}");
    }
}
