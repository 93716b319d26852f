//! A pasted connection is proven before it is kept: one cheap call it must be authorised for —
//! the hub's device statistics (RegistryRead), the DPS's first page of enrollment groups
//! (EnrollmentRead), the Central app's first page of device templates — so a made-up host, a
//! wrong or regenerated key and a policy without the rights a migration needs are each said at
//! once, in words, instead of failing a migration later.

use crate::connections::{ConnectionError, ConnectionKind};
use iotm_azure::central::CentralClient;
use iotm_azure::dps::DpsClient;
use iotm_azure::hub::HubClient;
use iotm_azure::{AzureError, CentralApiToken, ConnectionString, Pipeline, Secret};
use std::sync::Arc;

/// Makes the call `kind` calls for with `secret` (already described, so well formed).
pub async fn check(pipeline: &Pipeline, kind: ConnectionKind, secret: &str, central_subdomain: Option<&str>) -> Result<(), ConnectionError> {
    let secret = secret.trim();
    match kind {
        ConnectionKind::IotHub | ConnectionKind::Dps => {
            let parsed = ConnectionString::parse(secret).map_err(|e| ConnectionError::Invalid(e.to_string()))?;
            let (host, policy) = (parsed.host_name.clone(), parsed.key_name.clone().unwrap_or_default());
            let answer = if kind == ConnectionKind::IotHub {
                HubClient::from_connection_string(pipeline.clone(), parsed).device_statistics().await.map(drop)
            } else {
                first_page(DpsClient::from_connection_string(pipeline.clone(), parsed).enrollment_groups(1)).await
            };
            let (service, right) = if kind == ConnectionKind::IotHub { ("hub", "RegistryRead") } else { ("DPS", "EnrollmentRead") };
            answer.map_err(|e| explain(e, &host, service, &format!("the policy {policy}'s key"), &format!("the policy {policy} lacks {right}")))
        }
        ConnectionKind::CentralApiToken => {
            let subdomain = central_subdomain.unwrap_or_default().trim().to_ascii_lowercase();
            let credential = Arc::new(CentralApiToken::new(Secret::new(secret.to_string())));
            let client = CentralClient::new(pipeline.clone(), credential, &subdomain).map_err(|e| ConnectionError::Invalid(e.to_string()))?;
            first_page(client.device_templates())
                .await
                .map_err(|e| explain(e, &subdomain, "Central application", "the API token", "the API token's role cannot read device templates"))
        }
    }
}

async fn first_page<T: serde::de::DeserializeOwned>(pager: Result<iotm_azure::Pager<T>, AzureError>) -> Result<(), AzureError> {
    match pager?.next_page().await {
        Some(page) => page.map(drop),
        None => Ok(()),
    }
}

/// The call's failure as what the person must fix.
fn explain(error: AzureError, host: &str, service: &str, key: &str, rights: &str) -> ConnectionError {
    match error.status() {
        None => match error {
            // Outside this cloud's hosts, or not HTTPS: the pipeline's own sentence says which.
            AzureError::HostNotAllowed { .. } | AzureError::NotHttps { .. } => ConnectionError::Unreachable { host: host.into(), detail: error.to_string() },
            _ => ConnectionError::Unreachable { host: host.into(), detail: format!("no {service} answered ({error})") },
        },
        Some(401) => ConnectionError::KeyRefused { host: host.into(), what: key.into() },
        Some(403) => ConnectionError::RightsMissing { host: host.into(), what: rights.into() },
        Some(404) => ConnectionError::Unreachable { host: host.into(), detail: format!("there is no such {service}") },
        Some(_) => ConnectionError::CheckFailed { host: host.into(), detail: error.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotm_azure::{Service, ServiceError};

    fn answered(status: u16) -> AzureError {
        let error = ServiceError { service: Service::Hub, status, code: None, aadsts: None, message: "refused".into(), request_id: None };
        match status {
            401 => AzureError::Unauthorized(Box::new(error)),
            403 => AzureError::Forbidden(Box::new(error)),
            _ => AzureError::Service(Box::new(error)),
        }
    }

    #[test]
    fn each_failed_check_says_what_to_fix() {
        let explain = |e| explain(e, "contoso-hub.azure-devices.net", "hub", "the policy iothubowner's key", "the policy iothubowner lacks RegistryRead");
        let refused = explain(answered(401));
        assert_eq!(refused.code(), "connections.key_refused");
        assert!(refused.to_string().contains("iothubowner's key") && refused.to_string().contains("contoso-hub.azure-devices.net"), "{refused}");
        let rights = explain(answered(403));
        assert_eq!(rights.code(), "connections.rights_missing");
        assert!(rights.to_string().contains("RegistryRead"), "{rights}");
        assert_eq!(explain(answered(404)).code(), "connections.unreachable");
        assert_eq!(explain(answered(500)).code(), "connections.check_failed");
        let gone = explain(AzureError::Connection { host: "contoso-hub.azure-devices.net".into(), detail: "dns error".into() });
        assert_eq!(gone.code(), "connections.unreachable");
        assert!(gone.to_string().contains("contoso-hub.azure-devices.net"), "{gone}");
    }
}
