//! A Central device as the app keeps it: a compact record (an app may hold a hundred thousand),
//! rendered to the API's JSON on the way out. The display name is kept only when it differs from
//! the ID, and templates are shared.

use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CentralDevice {
    pub etag: String,
    display_name: Option<String>,
    pub template: Option<Arc<str>>,
    pub enabled: bool,
    pub provisioned: bool,
    pub simulated: bool,
    organizations: Option<Vec<String>>,
}

impl CentralDevice {
    pub fn provisioned(template: Arc<str>) -> CentralDevice {
        CentralDevice {
            etag: new_etag(),
            display_name: None,
            template: Some(template),
            enabled: true,
            provisioned: true,
            simulated: false,
            organizations: None,
        }
    }

    /// The record of a device JSON already checked by the API (types as the spec has them).
    pub fn from_json(id: &str, device: &Value) -> CentralDevice {
        CentralDevice {
            etag: device["etag"].as_str().map(str::to_string).unwrap_or_else(new_etag),
            display_name: device["displayName"].as_str().filter(|n| *n != id).map(str::to_string),
            template: device["template"].as_str().map(Arc::from),
            enabled: device["enabled"].as_bool().unwrap_or(true),
            provisioned: device["provisioned"].as_bool().unwrap_or(false),
            simulated: device["simulated"].as_bool().unwrap_or(false),
            organizations: device["organizations"].as_array().map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_string)).collect()),
        }
    }

    pub fn to_json(&self, id: &str) -> Value {
        let mut device = json!({
            "id": id, "etag": self.etag, "displayName": self.display_name.as_deref().unwrap_or(id),
            "enabled": self.enabled, "provisioned": self.provisioned, "simulated": self.simulated,
        });
        if let Some(template) = &self.template {
            device["template"] = json!(template.as_ref());
        }
        if let Some(organizations) = &self.organizations {
            device["organizations"] = json!(organizations);
        }
        device
    }

    pub fn uses_template(&self, template: &str) -> bool {
        self.template.as_deref() == Some(template)
    }
}

fn new_etag() -> String {
    format!("\"{}\"", crate::tokens::random_token(6))
}
