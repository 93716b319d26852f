//! Does the template carry `DeviceMove`, and where? The command must be on the model's root or on a
//! component whose interface is `dtmi:azureiot:DeviceMigration;1` (what the migration device
//! samples implement); anything else blocks the plan with an explanation a person can act on.
//! The answer also says how to address the command in a job (`<component>.DeviceMove`) and which
//! payload the device expects (the interface's object, or the legacy bare ID scope).

use iotm_azure::central::models::DeviceTemplate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

pub const DEVICE_MIGRATION_INTERFACE: &str = "dtmi:azureiot:DeviceMigration;1";
pub const COMMAND: &str = "DeviceMove";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PayloadShape {
    /// `{"idScope": …, "dpsName": …, …}`: the DeviceMigration interface's object.
    Object { fields: Vec<String> },
    /// The bare ID scope string older device code expects.
    IdScopeString,
}

/// Where the command is and how to send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceMoveCommand {
    pub template_id: String,
    pub component: Option<String>,
    /// The job data's `path`: `migration.DeviceMove`, or `DeviceMove` at the root.
    pub path: String,
    pub payload: PayloadShape,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("The device template {template} has no DeviceMove command, so its devices cannot be told to move. Add the DeviceMigration component ({DEVICE_MIGRATION_INTERFACE}) to the template and publish it, and update the device firmware to answer DeviceMove.")]
    NoDeviceMove { template: String },
    #[error("The device template {template} has a DeviceMove command on component '{component}', but that component's interface is {interface}, not {DEVICE_MIGRATION_INTERFACE}; devices implement the command only on the DeviceMigration interface.")]
    WrongInterface { template: String, component: String, interface: String },
    #[error("The device template {template} has DeviceMove in more than one place ({places}); keep it on one component.")]
    Ambiguous { template: String, places: String },
}

impl TemplateProblem {
    pub fn code(&self) -> &'static str {
        match self {
            TemplateProblem::NoDeviceMove { .. } => "centralToHub.template_without_device_move",
            TemplateProblem::WrongInterface { .. } => "centralToHub.device_move_on_wrong_interface",
            TemplateProblem::Ambiguous { .. } => "centralToHub.device_move_ambiguous",
        }
    }
}

/// DTDL `@type` is a string or a list of strings.
fn has_type(element: &Value, wanted: &str) -> bool {
    match &element["@type"] {
        Value::String(t) => t == wanted,
        Value::Array(types) => types.iter().any(|t| t == wanted),
        _ => false,
    }
}

/// An interface's contents, with those of the interfaces it `extends` (inline ones).
fn contents(interface: &Value) -> Vec<&Value> {
    let mut all: Vec<&Value> = interface["contents"].as_array().map(|c| c.iter().collect()).unwrap_or_default();
    let extends: Vec<&Value> = match &interface["extends"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&interface["extends"]],
        _ => vec![],
    };
    for parent in extends.into_iter().filter(|p| p.is_object()) {
        all.extend(contents(parent));
    }
    all
}

fn payload_of(command: &Value) -> PayloadShape {
    let schema = &command["request"]["schema"];
    match schema {
        Value::Object(_) if has_type(schema, "Object") => PayloadShape::Object {
            fields: schema["fields"].as_array().map(|f| f.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect()).unwrap_or_default(),
        },
        _ => PayloadShape::IdScopeString,
    }
}

/// Finds DeviceMove on the template, or says why the template cannot be migrated by command.
pub fn find_device_move(template: &DeviceTemplate) -> Result<DeviceMoveCommand, TemplateProblem> {
    let model = &template.capability_model;
    let is_move = |c: &&Value| has_type(c, "Command") && c["name"] == COMMAND;
    let mut found: Vec<DeviceMoveCommand> = Vec::new();
    let mut wrong: Option<TemplateProblem> = None;
    for element in contents(model) {
        if is_move(&element) {
            found.push(DeviceMoveCommand { template_id: template.id.clone(), component: None, path: COMMAND.into(), payload: payload_of(element) });
        }
        if has_type(element, "Component") {
            let name = element["name"].as_str().unwrap_or_default().to_string();
            let schema = &element["schema"];
            let interface = schema["@id"].as_str().or(schema.as_str()).unwrap_or_default().to_string();
            if let Some(command) = contents(schema).into_iter().find(is_move) {
                if interface == DEVICE_MIGRATION_INTERFACE {
                    found.push(DeviceMoveCommand {
                        template_id: template.id.clone(),
                        path: format!("{name}.{COMMAND}"),
                        component: Some(name),
                        payload: payload_of(command),
                    });
                } else {
                    wrong = Some(TemplateProblem::WrongInterface { template: template.id.clone(), component: name, interface });
                }
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(wrong.unwrap_or_else(|| TemplateProblem::NoDeviceMove { template: template.id.clone() })),
        _ => Err(TemplateProblem::Ambiguous { template: template.id.clone(), places: found.iter().map(|f| f.path.clone()).collect::<Vec<_>>().join(", ") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(model: Value) -> DeviceTemplate {
        serde_json::from_value(json!({"@id": "dtmi:contoso:Thermostat;1", "@type": ["ModelDefinition", "DeviceModel"], "capabilityModel": model})).unwrap()
    }

    fn migration_component(name: &str, interface: &str, schema: Value) -> Value {
        json!({"@type": "Component", "name": name, "schema": {"@id": interface, "@type": "Interface",
            "contents": [{"@type": "Command", "name": "DeviceMove", "request": {"name": "data", "schema": schema}}]}})
    }

    #[test]
    fn the_command_on_the_device_migration_component_is_addressed_through_it_with_its_object_payload() {
        let object = json!({"@type": "Object", "fields": [{"name": "idScope", "schema": "string"}, {"name": "dpsName", "schema": "string"}]});
        let t = template(
            json!({"@id": "dtmi:contoso:Thermostat_cm;1", "contents": [{"@type": ["Telemetry", "Temperature"], "name": "temperature"}, migration_component("migration", DEVICE_MIGRATION_INTERFACE, object)]}),
        );
        let found = find_device_move(&t).unwrap();
        assert_eq!((found.component.as_deref(), found.path.as_str()), (Some("migration"), "migration.DeviceMove"));
        assert_eq!(found.payload, PayloadShape::Object { fields: vec!["idScope".into(), "dpsName".into()] });
    }

    #[test]
    fn a_root_command_with_a_string_payload_is_the_legacy_shape() {
        let t = template(json!({"contents": [{"@type": "Command", "name": "DeviceMove", "request": {"name": "idScope", "schema": "string"}}]}));
        let found = find_device_move(&t).unwrap();
        assert_eq!((found.path.as_str(), found.payload), ("DeviceMove", PayloadShape::IdScopeString));
    }

    #[test]
    fn each_template_that_cannot_move_says_why() {
        let none = find_device_move(&template(json!({"contents": [{"@type": "Telemetry", "name": "t"}]}))).unwrap_err();
        assert_eq!(none.code(), "centralToHub.template_without_device_move");
        let wrong = find_device_move(&template(json!({"contents": [migration_component("ops", "dtmi:contoso:Ops;1", json!("string"))]}))).unwrap_err();
        assert_eq!(wrong.code(), "centralToHub.device_move_on_wrong_interface");
        assert!(wrong.to_string().contains("component 'ops'"));
        let twice = find_device_move(&template(json!({"contents": [
            {"@type": "Command", "name": "DeviceMove"},
            migration_component("migration", DEVICE_MIGRATION_INTERFACE, json!("string"))]})))
        .unwrap_err();
        assert_eq!(twice.code(), "centralToHub.device_move_ambiguous");
    }

    #[test]
    fn a_command_inherited_through_extends_counts() {
        let t = template(json!({"contents": [], "extends": [{"@type": "Interface", "contents": [{"@type": "Command", "name": "DeviceMove"}]}]}));
        assert_eq!(find_device_move(&t).unwrap().path, "DeviceMove");
    }
}
