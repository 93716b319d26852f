//! The clouds a user can point the app at. Full cloud profiles (endpoints, suffixes, host
//! allow-lists) arrive with sign-in; here each environment names the hosts a start-up check probes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
pub enum Environment {
    /// The offline sandbox cloud, the default so a new user can rehearse without a subscription.
    #[default]
    Sandbox,
    AzurePublic,
    AzureUsGov,
    AzureChina,
    /// A cloud described by a JSON profile file the user chooses.
    Custom,
}

impl Environment {
    pub const ALL: [Environment; 5] = [Environment::Sandbox, Environment::AzurePublic, Environment::AzureUsGov, Environment::AzureChina, Environment::Custom];

    pub fn label(self) -> &'static str {
        match self {
            Environment::Sandbox => "Sandbox",
            Environment::AzurePublic => "Azure public",
            Environment::AzureUsGov => "Azure US Gov",
            Environment::AzureChina => "Azure China",
            Environment::Custom => "Custom",
        }
    }

    /// The environment a cloud belongs to.
    pub fn of(cloud: &iotm_azure::Cloud) -> Environment {
        match cloud {
            iotm_azure::Cloud::AzureCloud => Environment::AzurePublic,
            iotm_azure::Cloud::AzureUSGovernment => Environment::AzureUsGov,
            iotm_azure::Cloud::AzureChinaCloud => Environment::AzureChina,
            iotm_azure::Cloud::Sandbox { .. } => Environment::Sandbox,
            iotm_azure::Cloud::Custom(_) => Environment::Custom,
        }
    }

    /// A short name that never changes, for keys (an account's ID, its keyring entry).
    pub fn key(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::AzurePublic => "azure-public",
            Environment::AzureUsGov => "azure-usgov",
            Environment::AzureChina => "azure-china",
            Environment::Custom => "custom",
        }
    }

    /// Entra authority host and ARM host: the two every wizard needs first.
    pub fn well_known_hosts(self) -> &'static [&'static str] {
        match self {
            Environment::AzurePublic => &["login.microsoftonline.com", "management.azure.com"],
            Environment::AzureUsGov => &["login.microsoftonline.us", "management.usgovcloudapi.net"],
            Environment::AzureChina => &["login.chinacloudapi.cn", "management.chinacloudapi.cn"],
            Environment::Sandbox | Environment::Custom => &[],
        }
    }
}

/// One environment as the UI lists it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentOption {
    pub id: Environment,
    pub label: String,
}

pub fn options() -> Vec<EnvironmentOption> {
    Environment::ALL.iter().map(|&id| EnvironmentOption { id, label: id.label().to_string() }).collect()
}
