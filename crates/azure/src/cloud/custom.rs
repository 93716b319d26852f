//! A cloud described in a JSON file, for clouds not built in (Azure Stack Hub, a new national
//! cloud). Every field is checked, and a mistake is reported with the file, the line and the
//! field, since the person fixing it has the file open in an editor:
//!
//! ```json
//! {
//!   "name": "Contoso Stack Hub",
//!   "authorityHost": "https://login.contoso.example",
//!   "resourceManager": "https://management.contoso.example",
//!   "suffixes": { "iotCentral": null, "iotHub": "azure-devices.contoso.example",
//!                 "dps": "azure-devices-provisioning.contoso.example", "storage": "blob.contoso.example" },
//!   "audiences": { "resourceManager": "https://management.contoso.example", "iotCentral": null,
//!                  "iotHub": null, "dps": null }
//! }
//! ```

use super::{is_loopback, Audiences, CustomCloud, Endpoints};
use crate::error::AzureError;
use serde::Deserialize;
use std::path::Path;
use url::Url;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    name: String,
    authority_host: String,
    resource_manager: String,
    suffixes: Suffixes,
    audiences: FileAudiences,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Suffixes {
    #[serde(default)]
    iot_central: Option<String>,
    iot_hub: String,
    dps: String,
    storage: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileAudiences {
    resource_manager: String,
    #[serde(default)]
    iot_central: Option<String>,
    #[serde(default)]
    iot_hub: Option<String>,
    #[serde(default)]
    dps: Option<String>,
}

struct Checker<'a> {
    file: String,
    text: &'a str,
}

impl Checker<'_> {
    /// The line of `path`'s last key (each key searched after the previous one), 1 if not found.
    fn line_of(&self, path: &[&str]) -> usize {
        let mut at = 0;
        for key in path {
            match self.text[at..].find(&format!("\"{key}\"")) {
                Some(n) => at += n,
                None => return 1,
            }
        }
        self.text[..at].matches('\n').count() + 1
    }

    fn error(&self, path: &[&str], problem: impl Into<String>) -> AzureError {
        AzureError::CloudProfile { file: self.file.clone(), line: self.line_of(path), field: path.join("."), problem: problem.into() }
    }

    /// An endpoint: an https URL of a real host, nothing after the host.
    fn endpoint(&self, path: &[&str], value: &str) -> Result<Url, AzureError> {
        let url = Url::parse(value).map_err(|e| self.error(path, format!("is not a URL ({e}): '{value}'")))?;
        if url.scheme() != "https" {
            return Err(self.error(path, format!("must use https, not {}", url.scheme())));
        }
        if is_loopback(url.host_str().unwrap_or_default()) {
            return Err(self.error(path, "points at this machine; only the built-in Sandbox profile may"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(self.error(path, format!("must be just the scheme and host, like https://{}", url.host_str().unwrap_or("host"))));
        }
        Ok(url)
    }

    /// A host suffix like `azure-devices.example`: a domain of at least two labels, no scheme.
    fn suffix(&self, path: &[&str], value: &str) -> Result<String, AzureError> {
        let s = value.trim().trim_start_matches('.').to_ascii_lowercase();
        let labels_ok = s.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if s.contains("://") || s.contains('/') {
            return Err(self.error(path, format!("must be a host suffix like azure-devices.net, not a URL: '{value}'")));
        }
        if !labels_ok || !s.contains('.') || s.parse::<std::net::IpAddr>().is_ok() {
            return Err(self.error(path, format!("must be a domain of at least two labels, like azure-devices.net: '{value}'")));
        }
        if is_loopback(&s) {
            return Err(self.error(path, "points at this machine; only the built-in Sandbox profile may"));
        }
        Ok(s)
    }

    fn audience(&self, path: &[&str], value: Option<&str>) -> Result<Option<String>, AzureError> {
        value.map(|v| self.endpoint(path, v).map(|u| u.as_str().trim_end_matches('/').to_string())).transpose()
    }
}

pub(super) fn load(path: &Path) -> Result<CustomCloud, AzureError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| AzureError::CloudProfile {
        file: shown.clone(),
        line: 0,
        field: "file".into(),
        problem: format!("cannot be read: {e}"),
    })?;
    parse(&shown, &text)
}

pub(super) fn parse(file: &str, text: &str) -> Result<CustomCloud, AzureError> {
    let check = Checker { file: file.to_string(), text };
    let raw: File = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // serde names the field in backticks: "unknown field `x`", "missing field `y`".
        let field = message.split('`').nth(1).filter(|_| message.contains("field")).unwrap_or("JSON").to_string();
        let problem = message.split(" at line ").next().unwrap_or(&message).to_string();
        AzureError::CloudProfile { file: file.to_string(), line: e.line(), field, problem }
    })?;
    if raw.name.trim().is_empty() {
        return Err(check.error(&["name"], "must not be empty"));
    }
    let endpoints = Endpoints {
        authority_host: check.endpoint(&["authorityHost"], &raw.authority_host)?,
        resource_manager: check.endpoint(&["resourceManager"], &raw.resource_manager)?,
        central_suffix: raw.suffixes.iot_central.as_deref().map(|s| check.suffix(&["suffixes", "iotCentral"], s)).transpose()?,
        hub_suffix: check.suffix(&["suffixes", "iotHub"], &raw.suffixes.iot_hub)?,
        dps_suffix: check.suffix(&["suffixes", "dps"], &raw.suffixes.dps)?,
        storage_suffix: check.suffix(&["suffixes", "storage"], &raw.suffixes.storage)?,
        audiences: Audiences {
            resource_manager: check.audience(&["audiences", "resourceManager"], Some(&raw.audiences.resource_manager))?.unwrap_or_default(),
            central: check.audience(&["audiences", "iotCentral"], raw.audiences.iot_central.as_deref())?,
            hub: check.audience(&["audiences", "iotHub"], raw.audiences.iot_hub.as_deref())?,
            dps: check.audience(&["audiences", "dps"], raw.audiences.dps.as_deref())?,
        },
    };
    Ok(CustomCloud { name: raw.name.trim().to_string(), endpoints })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Cloud;

    const GOOD: &str = r#"{
  "name": "Contoso Stack Hub",
  "authorityHost": "https://login.contoso.example",
  "resourceManager": "https://management.contoso.example",
  "suffixes": {"iotHub": "azure-devices.contoso.example", "dps": "dps.contoso.example", "storage": "blob.contoso.example"},
  "audiences": {"resourceManager": "https://management.contoso.example/"}
}"#;

    fn error(text: &str) -> (usize, String, String) {
        match parse("cloud.json", text).unwrap_err() {
            AzureError::CloudProfile { line, field, problem, .. } => (line, field, problem),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_file_becomes_a_cloud_with_its_own_allow_list() {
        let cloud = Cloud::Custom(Box::new(parse("cloud.json", GOOD).unwrap()));
        assert_eq!(cloud.name(), "Contoso Stack Hub");
        assert!(cloud.allows(&Url::parse("https://h.azure-devices.contoso.example/devices").unwrap()).is_ok());
        assert!(cloud.allows(&Url::parse("https://h.azure-devices.net/devices").unwrap()).is_err());
        assert_eq!(cloud.audience(crate::cloud::Service::Arm).unwrap(), "https://management.contoso.example");
        assert_eq!(cloud.central_app_url("x").unwrap_err().code(), "azure.not_in_cloud");
    }

    #[test]
    fn each_mistake_names_its_line_and_field() {
        let (line, field, problem) = error(&GOOD.replace("https://login.contoso.example", "http://login.contoso.example"));
        assert_eq!((line, field.as_str()), (3, "authorityHost"));
        assert!(problem.contains("https"), "{problem}");
        let (line, field, _) = error(&GOOD.replace("\"dps.contoso.example\"", "\"https://dps.contoso.example\""));
        assert_eq!((line, field.as_str()), (5, "suffixes.dps"));
        let (line, field, _) =
            error(&GOOD.replace("\"resourceManager\": \"https://management.contoso.example\"", "\"resourceManager\": \"https://127.0.0.1\""));
        assert_eq!((line, field.as_str()), (4, "resourceManager"));
        let (line, field, problem) = error(&GOOD.replace("\"name\"", "\"nmae\""));
        assert_eq!((line, field.as_str()), (2, "nmae"));
        assert!(problem.contains("unknown field"), "{problem}");
        let (_, field, problem) = error(r#"{"name": "x"}"#);
        assert_eq!(field, "authorityHost");
        assert!(problem.contains("missing"), "{problem}");
        let (line, field, _) = error("{\n  \"name\": \"x\",\n  oops\n}");
        assert_eq!((line, field.as_str()), (3, "JSON"));
    }
}
