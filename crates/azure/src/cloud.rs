//! The clouds IoT Migrator can work in, and for each: where sign-in and ARM live, the host suffixes
//! of IoT Central, IoT Hub, DPS and Blob Storage, the token audience of each service, and the
//! **host allow-list** every request is checked against before any network I/O. Only the sandbox
//! may be reached on loopback; every real cloud is HTTPS on port 443 to its own hosts only.
//!
//! Endpoint sources (checked 2026 against public code and docs):
//! - authority hosts, ARM endpoints and ARM audiences: `azure-sdk-for-go/sdk/azcore/cloud/cloud.go`
//!   (AzurePublic, AzureGovernment, AzureChina);
//! - IoT Hub, DPS and Blob suffixes per cloud: Azure docs, "Azure Private Endpoint private DNS zone
//!   values" (`private-endpoint-dns.md`, Commercial / Government / China tables, public DNS forwarders);
//! - IoT Central: `azureiotcentral.com`, the `BaseDomain` default of the IoT Central data-plane spec
//!   2022-07-31 (in `shared/specs`); the docs list no Government or China deployment of IoT Central;
//! - service audiences: Entra app ID URIs `https://apps.azureiotcentral.com`,
//!   `https://iothubs.azure.net`, `https://azure-devices-provisioning.net` (IoT SDKs' default scopes);
//!   Government IoT Hub `https://iothubs.azure.us` (IoT SDKs' `IOT_HUB_US_GOVERNMENT_SCOPE`). Where no
//!   public source names an audience (DPS outside the public cloud, IoT Hub in China), none is set:
//!   those services are reached with SAS there.

mod custom;

use crate::error::AzureError;
use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// The Azure services the app calls; each has its own error shape, audience and rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    Entra,
    Arm,
    Central,
    Hub,
    Dps,
    Storage,
}

impl Service {
    /// The short name in logs and in the sandbox's fault rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Entra => "entra",
            Service::Arm => "arm",
            Service::Central => "central",
            Service::Hub => "hub",
            Service::Dps => "dps",
            Service::Storage => "storage",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Entra => "Entra ID",
            Service::Arm => "Azure Resource Manager",
            Service::Central => "IoT Central",
            Service::Hub => "IoT Hub",
            Service::Dps => "the Device Provisioning Service",
            Service::Storage => "Blob Storage",
        })
    }
}

/// Where one cloud's services live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Entra ID: `{authority_host}/{tenant}/oauth2/v2.0/token`.
    pub authority_host: Url,
    pub resource_manager: Url,
    /// `<subdomain>.<suffix>`; `None` where IoT Central is not offered.
    pub central_suffix: Option<String>,
    pub hub_suffix: String,
    pub dps_suffix: String,
    pub storage_suffix: String,
    pub audiences: Audiences,
}

/// The resource each service's tokens are for (scopes are `<audience>/.default` or
/// `<audience>/user_impersonation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audiences {
    pub resource_manager: String,
    pub central: Option<String>,
    pub hub: Option<String>,
    pub dps: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloud {
    AzureCloud,
    AzureUSGovernment,
    AzureChinaCloud,
    /// The sandbox cloud on this machine: every service under `https://localhost:<port>`, trusted
    /// through the sandbox's own CA (and only it).
    Sandbox {
        base_url: Url,
        ca_pem: String,
    },
    /// A cloud described in a JSON file (Azure Stack, a national cloud not built in).
    Custom(Box<CustomCloud>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomCloud {
    pub name: String,
    pub endpoints: Endpoints,
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a built-in endpoint parses")
}

fn public_audiences() -> Audiences {
    Audiences {
        resource_manager: "https://management.azure.com".into(),
        central: Some("https://apps.azureiotcentral.com".into()),
        hub: Some("https://iothubs.azure.net".into()),
        dps: Some("https://azure-devices-provisioning.net".into()),
    }
}

impl Cloud {
    /// A profile by the name `az cloud list` uses.
    pub fn by_name(name: &str) -> Option<Cloud> {
        match name.to_ascii_lowercase().as_str() {
            "azurecloud" => Some(Cloud::AzureCloud),
            "azureusgovernment" => Some(Cloud::AzureUSGovernment),
            "azurechinacloud" => Some(Cloud::AzureChinaCloud),
            _ => None,
        }
    }

    /// The sandbox at `base_url` (`https://localhost:<port>` or `https://127.0.0.1:<port>`).
    pub fn sandbox(base_url: &str, ca_pem: impl Into<String>) -> Result<Cloud, AzureError> {
        let base_url = Url::parse(base_url)
            .map_err(|e| AzureError::InvalidInput { what: format!("The sandbox address {base_url}"), problem: format!("is not a URL: {e}") })?;
        if base_url.scheme() != "https" {
            return Err(AzureError::NotHttps { url: base_url.to_string() });
        }
        if !is_loopback(base_url.host_str().unwrap_or_default()) {
            return Err(AzureError::HostNotAllowed {
                host: base_url.host_str().unwrap_or_default().to_string(),
                cloud: "the sandbox (which runs on this machine only)".into(),
            });
        }
        Ok(Cloud::Sandbox { base_url, ca_pem: ca_pem.into() })
    }

    /// A custom cloud from its JSON description; errors name the file, line and field.
    pub fn from_file(path: &std::path::Path) -> Result<Cloud, AzureError> {
        custom::load(path).map(|c| Cloud::Custom(Box::new(c)))
    }

    pub fn name(&self) -> &str {
        match self {
            Cloud::AzureCloud => "AzureCloud",
            Cloud::AzureUSGovernment => "AzureUSGovernment",
            Cloud::AzureChinaCloud => "AzureChinaCloud",
            Cloud::Sandbox { .. } => "Sandbox",
            Cloud::Custom(c) => &c.name,
        }
    }

    pub fn endpoints(&self) -> Endpoints {
        match self {
            Cloud::AzureCloud => Endpoints {
                authority_host: url("https://login.microsoftonline.com"),
                resource_manager: url("https://management.azure.com"),
                central_suffix: Some("azureiotcentral.com".into()),
                hub_suffix: "azure-devices.net".into(),
                dps_suffix: "azure-devices-provisioning.net".into(),
                storage_suffix: "blob.core.windows.net".into(),
                audiences: public_audiences(),
            },
            Cloud::AzureUSGovernment => Endpoints {
                authority_host: url("https://login.microsoftonline.us"),
                resource_manager: url("https://management.usgovcloudapi.net"),
                central_suffix: None,
                hub_suffix: "azure-devices.us".into(),
                dps_suffix: "azure-devices-provisioning.us".into(),
                storage_suffix: "blob.core.usgovcloudapi.net".into(),
                audiences: Audiences {
                    resource_manager: "https://management.core.usgovcloudapi.net".into(),
                    central: None,
                    hub: Some("https://iothubs.azure.us".into()),
                    dps: None,
                },
            },
            Cloud::AzureChinaCloud => Endpoints {
                authority_host: url("https://login.chinacloudapi.cn"),
                resource_manager: url("https://management.chinacloudapi.cn"),
                central_suffix: None,
                hub_suffix: "azure-devices.cn".into(),
                dps_suffix: "azure-devices-provisioning.cn".into(),
                storage_suffix: "blob.core.chinacloudapi.cn".into(),
                audiences: Audiences { resource_manager: "https://management.core.chinacloudapi.cn".into(), central: None, hub: None, dps: None },
            },
            // The sandbox serves Entra, ARM and Central on its base URL, and each hub and DPS on a
            // `localhost:<port>` of its own; it accepts the public cloud's audiences.
            Cloud::Sandbox { base_url, .. } => Endpoints {
                authority_host: base_url.clone(),
                resource_manager: base_url.clone(),
                central_suffix: Some("localhost".into()),
                hub_suffix: "localhost".into(),
                dps_suffix: "localhost".into(),
                storage_suffix: "localhost".into(),
                audiences: public_audiences(),
            },
            Cloud::Custom(c) => c.endpoints.clone(),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self, Cloud::Sandbox { .. })
    }

    /// The CA the pipeline trusts instead of the system's roots (the sandbox only).
    pub fn ca_pem(&self) -> Option<&str> {
        match self {
            Cloud::Sandbox { ca_pem, .. } => Some(ca_pem),
            _ => None,
        }
    }

    /// The token audience of `service` in this cloud.
    pub fn audience(&self, service: Service) -> Result<String, AzureError> {
        let audiences = self.endpoints().audiences;
        let found = match service {
            Service::Arm => Some(audiences.resource_manager),
            Service::Central => audiences.central,
            Service::Hub => audiences.hub,
            Service::Dps => audiences.dps,
            Service::Entra | Service::Storage => None,
        };
        found.ok_or_else(|| AzureError::NotInCloud { service, cloud: format!("{} with Entra ID tokens", self.name()) })
    }

    /// The scope to ask Entra ID for: `<audience>/.default` for an app signing in as itself; for a
    /// person, `<audience>/user_impersonation` where the service defines it (ARM, Central).
    pub fn scope(&self, service: Service, as_user: bool) -> Result<String, AzureError> {
        let audience = self.audience(service)?;
        let name = if as_user && matches!(service, Service::Arm | Service::Central) { "user_impersonation" } else { ".default" };
        Ok(format!("{}/{name}", audience.trim_end_matches('/')))
    }

    /// Where an IoT Central application's API lives (`…/api/...` is appended by the client).
    pub fn central_app_url(&self, subdomain: &str) -> Result<Url, AzureError> {
        let valid =
            !subdomain.is_empty() && subdomain.len() <= 63 && subdomain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !subdomain.starts_with('-');
        if !valid {
            return Err(AzureError::InvalidInput {
                what: format!("The IoT Central subdomain '{subdomain}'"),
                problem: "may hold only letters, digits and dashes".into(),
            });
        }
        let subdomain = subdomain.to_ascii_lowercase();
        match self {
            Cloud::Sandbox { base_url, .. } => base_url
                .join(&format!("/iotc/{subdomain}/"))
                .map_err(|e| AzureError::InvalidInput { what: "The sandbox's Central URL".into(), problem: e.to_string() }),
            _ => {
                let suffix =
                    self.endpoints().central_suffix.ok_or_else(|| AzureError::NotInCloud { service: Service::Central, cloud: self.name().to_string() })?;
                Url::parse(&format!("https://{subdomain}.{suffix}/"))
                    .map_err(|e| AzureError::InvalidInput { what: format!("The IoT Central address for '{subdomain}'"), problem: e.to_string() })
            }
        }
    }

    /// Where a browser may be sent to sign in (the authorize endpoint). Every real cloud: the
    /// allow-list, on the authority host itself. The sandbox: loopback, over HTTPS or plain HTTP —
    /// it serves its sign-in page on `http://localhost:<port>` so a browser opens it without a
    /// certificate warning (its CA is trusted by this app only). Plain HTTP is safe there because
    /// the browser carries only the PKCE challenge and gets back a code that is worthless without
    /// the verifier, which the app sends to the HTTPS token endpoint alone; no secret goes there.
    pub fn sign_in_page_allows(&self, url: &Url) -> Result<(), AzureError> {
        if !self.is_sandbox() {
            self.allows(url)?;
            let authority = self.endpoints().authority_host;
            let host = url.host_str().unwrap_or_default();
            return match authority.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.'))) {
                true => Ok(()),
                false => Err(AzureError::HostNotAllowed { host: host.to_string(), cloud: format!("{} (sign-in page)", self.name()) }),
            };
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !matches!(url.scheme(), "https" | "http") || !url.username().is_empty() || url.password().is_some() || !is_loopback(&host) {
            return Err(AzureError::HostNotAllowed { host, cloud: "the sandbox's sign-in page (loopback only)".into() });
        }
        Ok(())
    }

    /// The allow-list: HTTPS only, and a host of this cloud (its authority or ARM host, or under one
    /// of its service suffixes). Loopback only for the sandbox, which allows nothing else.
    pub fn allows(&self, url: &Url) -> Result<(), AzureError> {
        if url.scheme() != "https" {
            return Err(AzureError::NotHttps { url: crate::redact::url_for_log(url) });
        }
        let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        let refuse = || Err(AzureError::HostNotAllowed { host: host.clone(), cloud: self.name().to_string() });
        if host.is_empty() || !url.username().is_empty() || url.password().is_some() {
            return refuse();
        }
        if self.is_sandbox() {
            return if is_loopback(&host) { Ok(()) } else { refuse() };
        }
        if is_loopback(&host) || url.port().is_some_and(|p| p != 443) {
            return refuse();
        }
        let e = self.endpoints();
        let exact = [&e.authority_host, &e.resource_manager].iter().any(|u| u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host)));
        let suffixes = [e.central_suffix.as_deref(), Some(&e.hub_suffix), Some(&e.dps_suffix), Some(&e.storage_suffix)];
        let under = suffixes.iter().flatten().any(|s| host.ends_with(&format!(".{s}")));
        if exact || under {
            Ok(())
        } else {
            refuse()
        }
    }
}

/// The loopback names the sandbox listens on (it binds 127.0.0.1 only).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(cloud: &Cloud, url: &str) -> Result<(), &'static str> {
        cloud.allows(&Url::parse(url).unwrap()).map_err(|e| e.code())
    }

    #[test]
    fn the_public_cloud_allows_its_own_hosts_only() {
        let c = Cloud::AzureCloud;
        for ok in [
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            "https://management.azure.com/subscriptions?api-version=2022-12-01",
            "https://contoso-fleet.azureiotcentral.com/api/devices",
            "https://contoso-hub.azure-devices.net/devices/d1",
            "https://contoso-dps.azure-devices-provisioning.net/enrollmentGroups/g",
            "https://acct.blob.core.windows.net/c",
        ] {
            assert_eq!(allowed(&c, ok), Ok(()), "{ok}");
        }
        assert_eq!(allowed(&c, "https://example.com/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "https://azure-devices.net.evil.example/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "https://evilazure-devices.net/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "https://management.azure.com:8443/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "https://contoso.azure-devices.us/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "https://localhost:8443/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&c, "http://localhost/"), Err("azure.not_https"));
        assert_eq!(allowed(&c, "http://management.azure.com/"), Err("azure.not_https"));
    }

    #[test]
    fn sovereign_clouds_allow_their_suffixes() {
        assert_eq!(allowed(&Cloud::AzureUSGovernment, "https://h.azure-devices.us/devices"), Ok(()));
        assert_eq!(allowed(&Cloud::AzureUSGovernment, "https://management.usgovcloudapi.net/"), Ok(()));
        assert_eq!(allowed(&Cloud::AzureUSGovernment, "https://h.azure-devices.net/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&Cloud::AzureChinaCloud, "https://d.azure-devices-provisioning.cn/"), Ok(()));
        assert_eq!(allowed(&Cloud::AzureChinaCloud, "https://login.chinacloudapi.cn/t"), Ok(()));
        assert_eq!(Cloud::AzureChinaCloud.central_app_url("app").unwrap_err().code(), "azure.not_in_cloud");
    }

    #[test]
    fn scopes_are_the_services_own() {
        let c = Cloud::AzureCloud;
        assert_eq!(c.scope(Service::Arm, true).unwrap(), "https://management.azure.com/user_impersonation");
        assert_eq!(c.scope(Service::Arm, false).unwrap(), "https://management.azure.com/.default");
        assert_eq!(c.scope(Service::Central, true).unwrap(), "https://apps.azureiotcentral.com/user_impersonation");
        assert_eq!(c.scope(Service::Hub, true).unwrap(), "https://iothubs.azure.net/.default");
        assert_eq!(c.scope(Service::Dps, false).unwrap(), "https://azure-devices-provisioning.net/.default");
        assert_eq!(Cloud::AzureUSGovernment.scope(Service::Hub, false).unwrap(), "https://iothubs.azure.us/.default");
        assert_eq!(Cloud::AzureChinaCloud.scope(Service::Dps, false).unwrap_err().code(), "azure.not_in_cloud");
    }

    #[test]
    fn the_sandbox_allows_loopback_only() {
        let s = Cloud::sandbox("https://localhost:8443", "pem").unwrap();
        assert_eq!(allowed(&s, "https://localhost:9999/devices"), Ok(()));
        assert_eq!(allowed(&s, "https://127.0.0.1:9999/"), Ok(()));
        assert_eq!(allowed(&s, "https://management.azure.com/"), Err("azure.host_not_allowed"));
        assert_eq!(allowed(&s, "http://localhost:8443/"), Err("azure.not_https"));
        assert_eq!(Cloud::sandbox("https://sandbox.example.com", "pem").unwrap_err().code(), "azure.host_not_allowed");
        assert_eq!(s.central_app_url("contoso-fleet").unwrap().as_str(), "https://localhost:8443/iotc/contoso-fleet/");
    }

    #[test]
    fn the_sign_in_page_is_the_authority_itself_in_real_clouds_and_loopback_http_only_in_the_sandbox() {
        let page = |cloud: &Cloud, url: &str| cloud.sign_in_page_allows(&Url::parse(url).unwrap()).map_err(|e| e.code());
        assert_eq!(page(&Cloud::AzureCloud, "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"), Ok(()));
        assert_eq!(page(&Cloud::AzureCloud, "http://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"), Err("azure.not_https"));
        assert_eq!(page(&Cloud::AzureCloud, "https://management.azure.com/organizations/oauth2/v2.0/authorize"), Err("azure.host_not_allowed"));
        assert_eq!(page(&Cloud::AzureCloud, "http://localhost:8080/organizations/oauth2/v2.0/authorize"), Err("azure.not_https"));
        assert_eq!(page(&Cloud::AzureUSGovernment, "https://login.microsoftonline.us/t/oauth2/v2.0/authorize"), Ok(()));
        let s = Cloud::sandbox("https://localhost:8443", "pem").unwrap();
        assert_eq!(page(&s, "http://localhost:40123/organizations/oauth2/v2.0/authorize"), Ok(()));
        assert_eq!(page(&s, "https://localhost:8443/organizations/oauth2/v2.0/authorize"), Ok(()));
        assert_eq!(page(&s, "http://sandbox.example.com/organizations/oauth2/v2.0/authorize"), Err("azure.host_not_allowed"));
        assert_eq!(page(&s, "http://user:pw@localhost:40123/"), Err("azure.host_not_allowed"));
        assert_eq!(page(&s, "file:///etc/passwd"), Err("azure.host_not_allowed"));
        // The API allow-list is unchanged: plain HTTP is for the browser's page alone.
        assert_eq!(allowed(&s, "http://localhost:40123/organizations/oauth2/v2.0/token"), Err("azure.not_https"));
    }

    #[test]
    fn a_central_subdomain_cannot_smuggle_in_another_host() {
        assert_eq!(Cloud::AzureCloud.central_app_url("app").unwrap().as_str(), "https://app.azureiotcentral.com/");
        for bad in ["evil.com#", "a/b", "", "-x", "a.b"] {
            assert_eq!(Cloud::AzureCloud.central_app_url(bad).unwrap_err().code(), "azure.invalid_input", "{bad}");
        }
    }
}
