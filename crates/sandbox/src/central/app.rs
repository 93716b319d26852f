//! One IoT Central application as it lives in the sandbox: its templates, groups, devices and
//! enrollment groups (keys minted per run; device keys derived from the group key, as Central
//! derives them), its own DPS and hub (hidden from ARM, as Central's are), the simulated devices
//! provisioned through them, its jobs, and the API tokens that open its API.

use super::filter::Filter;
use super::jobs::CentralJob;
use super::throttle::TokenBucket;
use crate::cloud::Cloud;
use crate::dps::state::Dps;
use crate::fleet::{assign_personas, DeviceTiming, Persona, SimDevice};
use crate::hub::state::Hub;
use crate::live::{new_etag, new_key, Placement};
use crate::sas::derive_device_key;
use crate::scenario::{CentralApp, CentralTemplate};
use crate::tokens::random_token;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

/// Central's request rate per application (requests per second, and the burst it absorbs).
pub(super) const REQUESTS_PER_SECOND: f64 = 20.0;

/// The fields are Central's; its hub's direct methods and the control API reach the app's
/// simulated devices, own DPS and hub through methods.
pub struct LiveCentralApp {
    pub(super) subdomain: String,
    pub(super) subscription_id: String,
    pub(super) templates: Vec<Value>,
    /// Device groups as Central returns them; members are the devices their `filter` selects.
    pub(super) groups: Mutex<Vec<Value>>,
    pub(super) enrollment_groups: Mutex<Vec<Value>>,
    pub(super) devices: Mutex<BTreeMap<String, super::device::CentralDevice>>,
    /// Individual attestations set on devices (certificates kept), by device ID; the others use their group's.
    pub(super) attestations: Mutex<BTreeMap<String, Value>>,
    /// The devices that are simulated, by ID (devices created through the API have none).
    pub(super) fleet: RwLock<BTreeMap<String, Arc<SimDevice>>>,
    pub(super) jobs: Mutex<BTreeMap<String, Arc<CentralJob>>>,
    /// The last run of each command on each device, direct or by a job.
    pub(super) commands: super::commands::CommandHistory,
    pub(super) throttle: Mutex<TokenBucket>,
    pub(super) timing: DeviceTiming,
    /// The app's own provisioning service and hub, where its devices register and connect.
    pub(super) dps: Arc<Dps>,
    pub(super) hub: Arc<Hub>,
    /// Full API token strings (opaque to clients, as Central's are) with their expiry.
    pub(super) api_tokens: HashMap<String, i64>,
}

/// The DeviceMigration component (its DeviceMove command), named as the scenario says.
fn migration_component(name: &str) -> Value {
    let fields: Vec<Value> = ["idScope", "dpsName", "dpsId", "centralAppName", "centralAppSubdomain", "deviceTemplateId"]
        .iter()
        .map(|f| json!({"name": f, "schema": "string"}))
        .collect();
    json!({
        "@type": "Component", "name": name, "displayName": "Device migration",
        "schema": {
            "@id": "dtmi:azureiot:DeviceMigration;1", "@type": "Interface", "displayName": "Device Migration",
            "contents": [{
                "@type": "Command", "name": "DeviceMove", "displayName": "Device Move", "commandType": "synchronous",
                "request": {"@type": "CommandPayload", "name": "data", "displayName": "Migration data", "schema": {"@type": "Object", "fields": fields}},
            }],
        },
    })
}

/// The template as Central returns it: the scenario's capability model (or a temperature
/// telemetry), with the migration component added when the scenario names one.
fn template_json(t: &CentralTemplate) -> Value {
    let mut model = t.capability_model.clone().unwrap_or_else(|| {
        json!({"@id": t.id.replace(";1", "_cm;1"), "@type": "Interface", "displayName": t.display_name,
               "contents": [{"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "displayName": "Temperature"}]})
    });
    if let (Some(component), Some(contents)) = (&t.migration_component, model["contents"].as_array_mut()) {
        contents.push(migration_component(component));
    }
    json!({"@id": t.id, "@type": ["ModelDefinition", "DeviceModel"], "displayName": t.display_name, "etag": format!("\"{}\"", random_token(6)), "capabilityModel": model})
}

/// Whether a DTDL element has this `@type` (a string, or one of an array's).
fn has_type(element: &Value, kind: &str) -> bool {
    element["@type"] == kind || element["@type"].as_array().is_some_and(|types| types.iter().any(|t| t == kind))
}

/// An interface's elements with those of the interfaces it extends (Central templates use both).
fn elements(interface: &Value) -> impl Iterator<Item = &Value> {
    let own = interface["contents"].as_array().into_iter().flatten();
    let inherited = interface["extends"].as_array().into_iter().flatten().flat_map(|base| base["contents"].as_array().into_iter().flatten());
    own.chain(inherited)
}

impl LiveCentralApp {
    pub fn build(app: &CentralApp, placement: Placement, now: i64, timing: DeviceTiming) -> LiveCentralApp {
        let hub =
            Arc::new(Hub::new(placement.clone(), &format!("iotc-{}", app.application_id), "S1", 1, format!("iotc-{}.azure-devices.net", app.application_id)));
        let dps = Dps::new(
            placement.clone(),
            &format!("iotc-dps-{}", app.subdomain),
            format!("iotc-dps-{}.azure-devices-provisioning.net", app.application_id),
            vec![hub.as_linked()],
            "Hashed",
        );
        let (group_key, group_secondary) = (new_key(), new_key());
        let enrollment_groups = vec![
            json!({"id": "sas-iot-devices", "displayName": "SAS-IoT-Devices", "enabled": true, "type": "iot", "etag": format!("\"{}\"", random_token(6)),
                   "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": group_key, "secondaryKey": group_secondary}}}),
            json!({"id": "sas-iot-edge-devices", "displayName": "SAS-IoT-Edge-Devices", "enabled": true, "type": "iotEdge", "etag": format!("\"{}\"", random_token(6)),
                   "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": new_key(), "secondaryKey": new_key()}}}),
        ];
        // Central's enrollment group is a DPS enrollment group on the app's own DPS.
        dps.put_enrollment_group(
            "sas-iot-devices".into(),
            json!({
                "enrollmentGroupId": "sas-iot-devices", "provisioningStatus": "enabled", "etag": new_etag(),
                "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": group_key, "secondaryKey": group_secondary}},
            }),
        );
        let mut devices = BTreeMap::new();
        let mut fleet = BTreeMap::new();
        let mut attestations = BTreeMap::new();
        for batch in &app.fleets {
            let template: Arc<str> = Arc::from(batch.template.as_str());
            let width = batch.count.to_string().len().max(3);
            let ids: Vec<String> = (1..=batch.count).map(|n| format!("{}{:0width$}", batch.prefix, n)).chain(batch.ids.iter().cloned()).collect();
            for (id, persona) in ids.iter().zip(assign_personas(&ids, &batch.personas)) {
                devices.insert(id.clone(), super::device::CentralDevice::provisioned(template.clone()));
                // A wrongKey device was enrolled on its own: an individual symmetric-key attestation
                // (mirrored into the app's DPS, as Central does) rather than a key derived from the
                // group's. At home it registers; a DPS given only the group's keys refuses it.
                let key = if persona == Persona::WrongKey {
                    let attestation = json!({"type": "symmetricKey", "symmetricKey": {"primaryKey": new_key(), "secondaryKey": new_key()}});
                    super::attestation::mirror(&dps, id, Some(&attestation));
                    let key = attestation["symmetricKey"]["primaryKey"].as_str().unwrap_or_default().to_string();
                    attestations.insert(id.clone(), attestation);
                    key
                } else {
                    derive_device_key(&group_key, id).unwrap_or_default()
                };
                fleet.insert(id.clone(), Arc::new(SimDevice::new(id.clone(), persona, key)));
            }
        }
        let api_tokens = HashMap::from([(
            format!("SharedAccessSignature sr={}&sig={}&skn=sandbox-admin&se={}", app.application_id, random_token(32), (now + 365 * 86400) * 1000),
            now + 365 * 86400,
        )]);
        LiveCentralApp {
            subdomain: app.subdomain.clone(),
            subscription_id: placement.subscription_id,
            templates: app.device_templates.iter().map(template_json).collect(),
            groups: Mutex::new(
                app.device_groups
                    .iter()
                    .map(|g| json!({"id": g.id, "displayName": g.display_name, "filter": format!("SELECT * FROM devices WHERE $template = \"{}\"", g.template), "etag": format!("\"{}\"", random_token(6)), "organizations": []}))
                    .collect(),
            ),
            enrollment_groups: Mutex::new(enrollment_groups),
            devices: Mutex::new(devices),
            attestations: Mutex::new(attestations),
            fleet: RwLock::new(fleet),
            jobs: Mutex::default(),
            commands: Default::default(),
            throttle: Mutex::new(TokenBucket::new(REQUESTS_PER_SECOND, REQUESTS_PER_SECOND)),
            timing,
            dps: Arc::new(dps),
            hub,
            api_tokens,
        }
    }

    /// Provisions every simulated device through the app's DPS, as the devices did when they were
    /// first switched on; offline ones then drop their connection.
    pub fn connect_fleet(&self, cloud: &Cloud) {
        for device in self.fleet.read().unwrap().values() {
            if let Err(why) = device.register(cloud, self.dps.id_scope()) {
                tracing::warn!(app = %self.subdomain, device = %device.id, "a simulated device could not provision: {why}");
            }
            if device.persona() == Persona::Offline {
                device.disconnect(cloud);
            }
        }
    }

    /// The API token minted for the app at start (the control API's `credentials` hands it out).
    pub fn api_token(&self) -> Option<String> {
        self.api_tokens.keys().next().cloned()
    }

    pub fn subdomain(&self) -> &str {
        &self.subdomain
    }

    /// The ID scope of the app's own DPS, where its devices register.
    pub fn id_scope(&self) -> &str {
        self.dps.id_scope()
    }

    /// The host of the app's own hub, where its devices connect.
    pub fn hub_host(&self) -> &str {
        self.hub.host()
    }

    /// How its simulated devices answer (delays, timeouts).
    pub fn timing(&self) -> &DeviceTiming {
        &self.timing
    }

    pub fn simulated_device(&self, id: &str) -> Option<Arc<SimDevice>> {
        self.fleet.read().unwrap().get(id).cloned()
    }

    /// Its simulated devices, in ID order.
    pub fn simulated_devices(&self) -> Vec<Arc<SimDevice>> {
        self.fleet.read().unwrap().values().cloned().collect()
    }

    /// The IDs of its jobs, in order.
    #[cfg(any(test, feature = "testing"))]
    pub fn job_ids(&self) -> Vec<String> {
        self.jobs.lock().unwrap().keys().cloned().collect()
    }

    /// The IDs of its device groups, in the order Central lists them.
    #[cfg(any(test, feature = "testing"))]
    pub fn device_group_ids(&self) -> Vec<String> {
        self.groups.lock().unwrap().iter().filter_map(|g| g["id"].as_str()).map(str::to_string).collect()
    }

    /// The keys a group-enrolled device derives from the app's SAS-IoT-Devices group (the first
    /// symmetric-key group for IoT devices, should that one be gone).
    pub fn derived_keys(&self, device_id: &str) -> Value {
        let groups = self.enrollment_groups.lock().unwrap();
        let is_sas = |g: &&Value| g["type"] == "iot" && g["attestation"]["type"] == "symmetricKey";
        let group = groups.iter().find(|g| g["id"] == "sas-iot-devices").or_else(|| groups.iter().find(is_sas));
        let keys = group.map(|g| g["attestation"]["symmetricKey"].clone()).unwrap_or_default();
        let derive = |k: &str| keys[k].as_str().and_then(|g| derive_device_key(g, device_id)).unwrap_or_default();
        json!({"primaryKey": derive("primaryKey"), "secondaryKey": derive("secondaryKey")})
    }

    /// What `GET /devices/{id}/credentials` returns: the app's scope and the device's credential
    /// (its individual attestation's, or the keys derived from its group's).
    pub fn credentials(&self, device_id: &str) -> Value {
        let mut credentials = json!({"idScope": self.dps.id_scope()});
        match self.attestations.lock().unwrap().get(device_id).map(super::attestation::public) {
            Some(attestation) => {
                let kind = attestation["type"].as_str().unwrap_or_default().to_string();
                credentials[&kind] = attestation[&kind].clone();
            }
            None => credentials["symmetricKey"] = self.derived_keys(device_id),
        }
        credentials
    }

    /// The template's command at `path` (`Command` at the root or `component.Command`), if it has one.
    pub fn command_at(&self, template_id: &str, path: &str) -> Option<CommandTarget> {
        let (component, name) = self.element_at(template_id, path, |c| has_type(c, "Command"))?;
        Some(CommandTarget { component, name })
    }

    /// Whether the template has a writable property at `path` (`property` or `component.property`).
    pub fn has_writable_property(&self, template_id: &str, path: &str) -> bool {
        self.element_at(template_id, path, |c| has_type(c, "Property") && c["writable"] == true).is_some()
    }

    /// The component (if any) and name of the template's element at `path` that passes `accept`.
    fn element_at(&self, template_id: &str, path: &str, accept: impl Fn(&Value) -> bool) -> Option<(Option<String>, String)> {
        let template = self.templates.iter().find(|t| t["@id"] == template_id)?;
        let model = &template["capabilityModel"];
        let named = |c: &&Value, name: &str| c["name"] == name;
        match path.split_once('.') {
            None => elements(model).find(|c| named(c, path) && accept(c)).map(|_| (None, path.to_string())),
            Some((component, name)) => {
                let component_element = elements(model).find(|c| named(c, component) && has_type(c, "Component"))?;
                elements(&component_element["schema"]).find(|c| named(c, name) && accept(c)).map(|_| (Some(component.to_string()), name.to_string()))
            }
        }
    }

    /// IDs of the group's devices that use `template` (Central runs a job on those only).
    pub fn group_members(&self, group_id: &str, template: &str) -> Option<Vec<String>> {
        let filter =
            self.groups.lock().unwrap().iter().find(|g| g["id"] == group_id).and_then(|g| Filter::parse(g["filter"].as_str().unwrap_or_default()).ok())?;
        let devices = self.devices.lock().unwrap();
        Some(devices.iter().filter(|(id, d)| d.uses_template(template) && filter.matches(&d.to_json(id))).map(|(id, _)| id.clone()).collect())
    }
}

/// A command as the device receives it: `<component>*<name>` on a component, as IoT Plug and Play names it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CommandTarget {
    pub component: Option<String>,
    pub name: String,
}

impl CommandTarget {
    /// `component.Command` or `Command`, as the command history's routes name it.
    pub fn path(&self) -> String {
        match &self.component {
            Some(c) => format!("{c}.{}", self.name),
            None => self.name.clone(),
        }
    }

    pub fn method_name(&self) -> String {
        match &self.component {
            Some(c) => format!("{c}*{}", self.name),
            None => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fleet::Persona;
    use crate::sas::derive_device_key;
    use crate::testing;
    use serde_json::json;

    /// A wrongKey device has its own attestation in Central, registers at home with it, and is
    /// refused by a DPS whose group enrollment holds the app's group keys; a healthy device is not.
    #[tokio::test]
    async fn a_wrong_key_device_is_individually_enrolled_and_refused_by_a_group_copy() {
        let (_dir, cloud) = testing::cloud();
        cloud.load(crate::scenario::Scenario::builtin()).unwrap();
        let app = cloud.central_apps().by_subdomain("contoso-fleet").unwrap();
        let fleet = app.fleet.read().unwrap().clone();
        let wrong = fleet.values().find(|d| d.persona() == Persona::WrongKey).unwrap().clone();
        let healthy = fleet.values().find(|d| d.persona() == Persona::Healthy).unwrap().clone();
        let group_key = app.enrollment_groups.lock().unwrap()[0]["attestation"]["symmetricKey"].clone();

        let own = app.attestations.lock().unwrap().get(&wrong.id).cloned().unwrap();
        assert_eq!(own["type"], "symmetricKey");
        let primary = own["symmetricKey"]["primaryKey"].as_str().unwrap();
        assert_ne!(Some(primary.to_string()), derive_device_key(group_key["primaryKey"].as_str().unwrap(), &wrong.id));
        assert_eq!(app.credentials(&wrong.id)["symmetricKey"], own["symmetricKey"]);
        assert!(app.attestations.lock().unwrap().get(&healthy.id).is_none());
        assert!(wrong.link.lock().unwrap().connected, "its home DPS knows its individual enrollment");
        assert!(app.dps.has_enrollment(&wrong.id));

        let target = cloud.provisioning_services().all()[0].clone();
        target.put_enrollment_group(
            "from-app".into(),
            json!({
                "enrollmentGroupId": "from-app", "provisioningStatus": "enabled", "attestation": {"type": "symmetricKey", "symmetricKey": group_key},
            }),
        );
        assert!(wrong.register(&cloud, target.id_scope()).unwrap_err().contains("401"));
        assert!(healthy.register(&cloud, target.id_scope()).is_ok());
        assert!(wrong.register(&cloud, app.dps.id_scope()).is_ok(), "home still takes it");
        cloud.stop_endpoints();
    }
}
