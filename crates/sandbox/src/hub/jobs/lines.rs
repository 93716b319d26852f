//! The lines of devices.txt (one `ExportImportDevice` JSON object per line, service.json) and of
//! importErrors.log (one `{"deviceId","errorCode","errorStatus"}` object per failed line).

use super::twin_docs::{properties_text, TwinDocs};
use crate::hub::identity::{Authentication, DeviceIdentity};
use serde_json::{json, Map, Value};

/// One exported device, keys as null when `exclude_keys` (as the service writes them), fields in
/// the service's order so a person reading devices.txt finds the ID first.
pub fn export_line(device: &DeviceIdentity, twins: &TwinDocs, exclude_keys: bool) -> String {
    let twin = twins.get(&device.device_id, &device.generation_id);
    let (keys, thumbprints) = match &device.authentication {
        Authentication::Sas { primary_key, secondary_key } if !exclude_keys => (json!({"primaryKey": primary_key, "secondaryKey": secondary_key}), json!({"primaryThumbprint": null, "secondaryThumbprint": null})),
        Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => (json!({"primaryKey": null, "secondaryKey": null}), json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint})),
        _ => (json!({"primaryKey": null, "secondaryKey": null}), json!({"primaryThumbprint": null, "secondaryThumbprint": null})),
    };
    // (name, JSON text): twin parts are kept as text and spliced in as they are.
    let mut fields: Vec<(&str, String)> = vec![
        ("id", json!(device.device_id).to_string()),
        ("eTag", json!(device.etag).to_string()),
        ("status", json!(if device.enabled { "enabled" } else { "disabled" }).to_string()),
    ];
    if let Some(reason) = &device.status_reason {
        fields.push(("statusReason", json!(reason).to_string()));
    }
    fields.extend([
        ("authentication", json!({"symmetricKey": keys, "x509Thumbprint": thumbprints, "type": device.authentication_type()}).to_string()),
        ("twinETag", json!(twins.etag(&device.device_id, &device.generation_id)).to_string()),
        ("tags", twin.map_or("{}", |t| t.tags_text()).to_string()),
        ("properties", properties_text(twin)),
        ("capabilities", json!({"iotEdge": device.iot_edge}).to_string()),
    ]);
    if let Some(scope) = &device.device_scope {
        fields.push(("deviceScope", json!(scope).to_string()));
    }
    if !device.parent_scopes.is_empty() {
        fields.push(("parentScopes", json!(device.parent_scopes).to_string()));
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}\n", body.join(","))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    Create,
    Update,
    UpdateIfMatchETag,
    CreateOrUpdate,
    CreateOrUpdateIfMatchETag,
    Delete,
    DeleteIfMatchETag,
    UpdateTwin,
    UpdateTwinIfMatchETag,
}

impl ImportMode {
    /// The service reads the mode case-insensitively; absent means `create` (the enum's default).
    fn parse(value: Option<&Value>) -> Result<ImportMode, String> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(ImportMode::Create) };
        let name = value.as_str().ok_or_else(|| format!("importMode must be a string, not {value}"))?;
        Ok(match name.to_ascii_lowercase().as_str() {
            "create" => ImportMode::Create,
            "update" => ImportMode::Update,
            "updateifmatchetag" => ImportMode::UpdateIfMatchETag,
            "createorupdate" => ImportMode::CreateOrUpdate,
            "createorupdateifmatchetag" => ImportMode::CreateOrUpdateIfMatchETag,
            "delete" => ImportMode::Delete,
            "deleteifmatchetag" => ImportMode::DeleteIfMatchETag,
            "updatetwin" => ImportMode::UpdateTwin,
            "updatetwinifmatchetag" => ImportMode::UpdateTwinIfMatchETag,
            _ => return Err(format!("Error converting value \"{name}\" to type 'ImportMode'. Path 'importMode'.")),
        })
    }
}

/// One line of an import, read but not yet applied.
#[derive(Debug, Clone)]
pub struct ImportLine {
    pub id: String,
    pub mode: ImportMode,
    pub etag: Option<String>,
    pub twin_etag: Option<String>,
    /// The line itself: its identity fields are read as a device PUT body is.
    pub body: Value,
    pub tags: Option<Map<String, Value>>,
    pub desired: Option<Map<String, Value>>,
}

fn object(body: &Value, pointer: &str) -> Result<Option<Map<String, Value>>, String> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map.clone())),
        Some(other) => Err(format!("{} must be an object, not {other}", pointer.trim_start_matches('/').replace('/', "."))),
    }
}

fn etag(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(|e| e.trim_matches('"').to_string())
}

/// A line of devices.txt, or why it is not a device (the text of importErrors.log's 400012 line).
pub fn parse_import_line(line: &[u8]) -> Result<ImportLine, String> {
    let text = String::from_utf8_lossy(line);
    let invalid = |why: String| format!("Invalid device format in line: {text}. {why}");
    let body: Value = serde_json::from_slice(line).map_err(|e| invalid(e.to_string()))?;
    if !body.is_object() {
        return Err(invalid("A line must be one JSON object.".into()));
    }
    let id = match body.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(invalid("Required property 'id' not found or empty.".into())),
    };
    Ok(ImportLine {
        mode: ImportMode::parse(body.get("importMode")).map_err(invalid)?,
        etag: etag(&body, "eTag"),
        twin_etag: etag(&body, "twinETag"),
        tags: object(&body, "/tags").map_err(invalid)?,
        desired: object(&body, "/properties/desired").map_err(invalid)?,
        id,
        body,
    })
}

/// Why one line failed, as importErrors.log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub device_id: Option<String>,
    pub code: u32,
    pub status: String,
}

impl LineError {
    pub fn new(device_id: &str, code: u32, status: impl Into<String>) -> LineError {
        LineError { device_id: Some(device_id.to_string()), code, status: status.into() }
    }

    /// A line that is not a device at all (DeserializationError).
    pub fn malformed(status: String) -> LineError {
        LineError { device_id: None, code: 400012, status }
    }

    pub fn to_line(&self) -> String {
        let mut line = match &self.device_id {
            Some(id) => json!({"deviceId": id, "errorCode": self.code, "errorStatus": self.status}),
            None => json!({"errorCode": self.code, "errorStatus": self.status}),
        }
        .to_string();
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_line_has_the_id_first_and_keys_unless_excluded() {
        let mut device = DeviceIdentity::new_sas("d1", crate::live::new_key(), crate::live::new_key());
        device.device_scope = Some("ms-azure-iot-edge://edge-1".into());
        let mut twins = TwinDocs::default();
        twins.write("d1", &device.generation_id, Some(json!({"site": "munich"}).as_object().unwrap().clone()), Some(json!({"interval": 5}).as_object().unwrap().clone()));
        let line = export_line(&device, &twins, false);
        assert!(line.starts_with("{\"id\":\"d1\",\"eTag\":") && line.ends_with("}\n"), "{line}");
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["authentication"]["type"], "sas");
        assert!(parsed["authentication"]["symmetricKey"]["primaryKey"].is_string());
        assert_eq!((parsed["twinETag"].as_str(), &parsed["tags"]["site"]), (Some("AAAAAAAAAAI="), &json!("munich")));
        assert_eq!(parsed["properties"]["desired"]["interval"], 5);
        assert_eq!(parsed["properties"]["reported"]["$version"], 1);
        assert_eq!(parsed["deviceScope"], "ms-azure-iot-edge://edge-1");
        let without = serde_json::from_str::<Value>(&export_line(&device, &twins, true)).unwrap();
        assert!(without["authentication"]["symmetricKey"]["primaryKey"].is_null());
    }

    #[test]
    fn import_lines_are_read_with_their_mode_and_etags() {
        let line = parse_import_line(br#"{"id":"d1","importMode":"UpdateIfMatchETag","eTag":"\"AAAA\"","tags":{"a":1},"properties":{"desired":{"b":2}}}"#).unwrap();
        assert_eq!((line.id.as_str(), line.mode, line.etag.as_deref()), ("d1", ImportMode::UpdateIfMatchETag, Some("AAAA")));
        assert_eq!((line.tags.unwrap()["a"].clone(), line.desired.unwrap()["b"].clone()), (json!(1), json!(2)));
        assert_eq!(parse_import_line(br#"{"id":"d2"}"#).unwrap().mode, ImportMode::Create);
    }

    #[test]
    fn a_malformed_line_is_named_in_its_error() {
        let bad = |line: &[u8]| parse_import_line(line).unwrap_err();
        assert!(bad(b"{not json").starts_with("Invalid device format in line: {not json. "));
        assert!(bad(br#"{"importMode":"create"}"#).contains("'id'"));
        assert!(bad(br#"{"id":"d1","importMode":"merge"}"#).contains("\"merge\""));
        assert!(bad(br#"{"id":"d1","tags":"x"}"#).contains("tags must be an object"));
        assert_eq!(LineError::malformed(bad(b"[1]")).to_line(), "{\"errorCode\":400012,\"errorStatus\":\"Invalid device format in line: [1]. A line must be one JSON object.\"}\n");
        assert_eq!(LineError::new("d1", 409001, "exists").to_line(), "{\"deviceId\":\"d1\",\"errorCode\":409001,\"errorStatus\":\"exists\"}\n");
    }
}
