//! Scopes as Entra reads them: OpenID scopes, and one resource's scopes per token.

use super::errors::AadError;

const OIDC: &[&str] = &["openid", "profile", "offline_access", "email"];

/// The resources the sandbox issues tokens for, each with the audiences its service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Arm,
    IotCentral,
    IotHub,
    Dps,
}

impl Resource {
    fn from_identifier(id: &str) -> Option<Resource> {
        match id.trim_end_matches('/').to_ascii_lowercase().as_str() {
            "https://management.azure.com" | "https://management.core.windows.net" => Some(Resource::Arm),
            "https://apps.azureiotcentral.com" => Some(Resource::IotCentral),
            "https://iothubs.azure.net" => Some(Resource::IotHub),
            "https://azure-devices-provisioning.net" => Some(Resource::Dps),
            _ => None,
        }
    }

    pub fn audience(self) -> &'static str {
        resource_audiences(self)[0]
    }
}

pub fn resource_audiences(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Arm => &["https://management.azure.com/", "https://management.core.windows.net/"],
        Resource::IotCentral => &["https://apps.azureiotcentral.com"],
        Resource::IotHub => &["https://iothubs.azure.net"],
        Resource::Dps => &["https://azure-devices-provisioning.net"],
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct RequestedScopes {
    /// The resource the access token is for, when one was asked.
    pub resource: Option<Resource>,
    /// Scope names on that resource (`user_impersonation`, `.default`).
    pub names: Vec<String>,
    pub offline_access: bool,
    pub openid: bool,
}

pub fn parse(scope: &str) -> Result<RequestedScopes, AadError> {
    let mut resource = None;
    let mut names = Vec::new();
    let (mut offline_access, mut openid) = (false, false);
    for s in scope.split_whitespace() {
        if OIDC.contains(&s) {
            offline_access |= s == "offline_access";
            openid |= s == "openid";
            continue;
        }
        let Some(slash) = s.trim_end_matches('/').rfind('/').filter(|_| s.contains("://")) else {
            return Err(AadError::bad_request("invalid_scope", 70011, format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid.")));
        };
        let (id, name) = s.split_at(slash);
        let found = Resource::from_identifier(id).ok_or_else(|| {
            AadError::bad_request("invalid_resource", 500011, format!("The resource principal named {id} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."))
        })?;
        if resource.is_some_and(|r| r != found) {
            return Err(AadError::bad_request(
                "invalid_request",
                28000,
                format!("Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."),
            ));
        }
        resource = Some(found);
        names.push(name.trim_start_matches('/').to_string());
    }
    Ok(RequestedScopes { resource, names, offline_access, openid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_scope_and_the_oidc_scopes_are_told_apart() {
        let s = parse("https://management.azure.com/user_impersonation offline_access openid profile").unwrap();
        assert_eq!(s.resource, Some(Resource::Arm));
        assert_eq!(s.names, ["user_impersonation"]);
        assert!(s.offline_access && s.openid);
        assert_eq!(parse("https://management.core.windows.net//.default").unwrap().names, [".default"]);
        assert_eq!(parse("https://iothubs.azure.net/.default").unwrap().resource, Some(Resource::IotHub));
    }

    #[test]
    fn two_resources_in_one_request_is_aadsts28000() {
        let err = parse("https://management.azure.com/user_impersonation https://iothubs.azure.net/.default").unwrap_err();
        assert_eq!(err.code, 28000);
    }

    #[test]
    fn an_unknown_resource_is_aadsts500011() {
        assert_eq!(parse("https://vault.azure.net/.default").unwrap_err().code, 500011);
    }
}
