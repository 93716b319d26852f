//! One IoT Central application as it lives in the sandbox: its templates, groups, devices and
//! enrollment groups (keys minted per run; device keys derived from the group key, as Central
//! derives them), and the API tokens that open its API.

use crate::live::new_key;
use crate::sas::derive_device_key;
use crate::scenario::{CentralApp, CentralTemplate};
use crate::tokens::random_token;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

pub struct LiveCentralApp {
    pub subdomain: String,
    pub application_id: String,
    pub subscription_id: String,
    pub id_scope: String,
    pub templates: Vec<Value>,
    pub groups: Vec<(Value, String)>,
    pub enrollment_groups: Vec<Value>,
    pub devices: Mutex<BTreeMap<String, Value>>,
    /// Full API token strings (opaque to clients, as Central's are) with their expiry.
    pub api_tokens: HashMap<String, i64>,
}

fn template_json(t: &CentralTemplate) -> Value {
    let mut contents = vec![json!({"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "displayName": "Temperature"})];
    if let Some(component) = &t.migration_component {
        let fields: Vec<Value> = ["idScope", "dpsName", "dpsId", "centralAppName", "centralAppSubdomain", "deviceTemplateId"]
            .iter()
            .map(|f| json!({"name": f, "schema": "string"}))
            .collect();
        contents.push(json!({
            "@type": "Component", "name": component, "displayName": "Device migration",
            "schema": {
                "@id": "dtmi:azureiot:DeviceMigration;1", "@type": "Interface", "displayName": "Device Migration",
                "contents": [{
                    "@type": "Command", "name": "DeviceMove", "displayName": "Device Move", "commandType": "synchronous",
                    "request": {"@type": "CommandPayload", "name": "data", "displayName": "Migration data", "schema": {"@type": "Object", "fields": fields}},
                }],
            },
        }));
    }
    json!({
        "@id": t.id, "@type": ["ModelDefinition", "DeviceModel"], "displayName": t.display_name, "etag": format!("\"{}\"", random_token(6)),
        "capabilityModel": {"@id": t.id.replace(";1", "_cm;1"), "@type": "Interface", "displayName": t.display_name, "contents": contents},
    })
}

impl LiveCentralApp {
    pub fn build(app: &CentralApp, subscription_id: &str, now: i64) -> LiveCentralApp {
        let id_scope = format!("0ne{}", &random_token(8).to_ascii_uppercase().replace(['-', '_'], "B")[..8]);
        let group_key = new_key();
        let enrollment_groups = vec![
            json!({"id": "sas-iot-devices", "displayName": "SAS-IoT-Devices", "enabled": true, "type": "iot", "etag": format!("\"{}\"", random_token(6)),
                   "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": group_key, "secondaryKey": new_key()}}}),
            json!({"id": "sas-iot-edge-devices", "displayName": "SAS-IoT-Edge-Devices", "enabled": true, "type": "iotEdge", "etag": format!("\"{}\"", random_token(6)),
                   "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": new_key(), "secondaryKey": new_key()}}}),
        ];
        let mut devices = BTreeMap::new();
        for fleet in &app.fleets {
            let width = fleet.count.to_string().len().max(3);
            for n in 1..=fleet.count {
                let id = format!("{}{:0width$}", fleet.prefix, n);
                devices.insert(id.clone(), json!({
                    "id": id, "etag": format!("\"{}\"", random_token(6)), "displayName": id, "template": fleet.template,
                    "enabled": true, "provisioned": true, "simulated": false,
                }));
            }
        }
        let api_tokens = HashMap::from([(
            format!("SharedAccessSignature sr={}&sig={}&skn=sandbox-admin&se={}", app.application_id, random_token(32), (now + 365 * 86400) * 1000),
            now + 365 * 86400,
        )]);
        LiveCentralApp {
            subdomain: app.subdomain.clone(),
            application_id: app.application_id.clone(),
            subscription_id: subscription_id.into(),
            id_scope,
            templates: app.device_templates.iter().map(template_json).collect(),
            groups: app
                .device_groups
                .iter()
                .map(|g| (json!({"id": g.id, "displayName": g.display_name, "filter": format!("SELECT * FROM devices WHERE $template = \"{}\"", g.template), "etag": format!("\"{}\"", random_token(6)), "organizations": []}), g.template.clone()))
                .collect(),
            enrollment_groups,
            devices: Mutex::new(devices),
            api_tokens,
        }
    }

    /// What `GET /devices/{id}/credentials` returns: the app's scope and the derived keys.
    pub fn credentials(&self, device_id: &str) -> Value {
        let keys = &self.enrollment_groups[0]["attestation"]["symmetricKey"];
        let derive = |k: &str| keys[k].as_str().and_then(|g| derive_device_key(g, device_id)).unwrap_or_default();
        json!({"idScope": self.id_scope, "symmetricKey": {"primaryKey": derive("primaryKey"), "secondaryKey": derive("secondaryKey")}})
    }
}
