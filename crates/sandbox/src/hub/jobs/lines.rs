//! The lines of devices.txt (one `ExportImportDevice` JSON object per line, service.json) and of
//! importErrors.log (one `{"deviceId","errorCode","errorStatus"}` object per failed line).

use crate::hub::identity::{Authentication, DeviceIdentity};
use crate::hub::twin;
use serde_json::{json, Value};

/// One exported device, keys as null when `exclude_keys` (as the service writes them), fields in
/// the service's order so a person reading devices.txt finds the ID first. The twin (tags, desired
/// and reported properties, its ETag) is the device's own, its stored text spliced in unparsed.
pub fn export_line(device: &DeviceIdentity, exclude_keys: bool) -> String {
    let twin = device.twin.as_deref();
    let (keys, thumbprints) = match &device.authentication {
        Authentication::Sas { primary_key, secondary_key } if !exclude_keys => {
            (json!({"primaryKey": primary_key, "secondaryKey": secondary_key}), json!({"primaryThumbprint": null, "secondaryThumbprint": null}))
        }
        Authentication::SelfSigned { primary_thumbprint, secondary_thumbprint } => {
            (json!({"primaryKey": null, "secondaryKey": null}), json!({"primaryThumbprint": primary_thumbprint, "secondaryThumbprint": secondary_thumbprint}))
        }
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
        ("twinETag", json!(twin::etag_of(twin)).to_string()),
        ("tags", twin::tags_text(twin).to_string()),
        ("properties", twin::properties_text(twin)),
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
    /// The line itself, an ExportImportDevice as the bulk registry reads one: identity fields as a
    /// device PUT body, `eTag`, `twinETag`, tags and desired properties.
    pub body: Value,
}

/// A line whose tags or properties are not objects is not a device at all.
fn object(body: &Value, pointer: &str) -> Result<(), String> {
    match body.pointer(pointer) {
        None | Some(Value::Null) | Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(format!("{} must be an object, not {other}", pointer.trim_start_matches('/').replace('/', "."))),
    }
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
    object(&body, "/tags").map_err(invalid)?;
    object(&body, "/properties").map_err(invalid)?;
    object(&body, "/properties/desired").map_err(invalid)?;
    Ok(ImportLine { mode: ImportMode::parse(body.get("importMode")).map_err(invalid)?, id, body })
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
        let mut twin = None;
        twin::update(&mut twin, twin::parse_patch(&json!({"tags": {"site": "munich"}, "properties": {"desired": {"interval": 5}}})).unwrap());
        twin.as_mut().unwrap().report(json!({"fw": "1.2"}).as_object().unwrap().clone());
        device.twin = twin;
        let line = export_line(&device, false);
        assert!(line.starts_with("{\"id\":\"d1\",\"eTag\":") && line.ends_with("}\n"), "{line}");
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["authentication"]["type"], "sas");
        assert!(parsed["authentication"]["symmetricKey"]["primaryKey"].is_string());
        assert_eq!(
            (parsed["twinETag"].as_str(), &parsed["tags"]["site"]),
            (Some("AAAAAAAAAAM="), &json!("munich")),
            "tags and desired, then reported: version 3"
        );
        assert_eq!(parsed["properties"]["desired"]["interval"], 5);
        assert_eq!((&parsed["properties"]["reported"]["fw"], &parsed["properties"]["reported"]["$version"]), (&json!("1.2"), &json!(2)));
        assert_eq!((&parsed["tags"], &parsed["properties"]), (&device.twin_json()["tags"], &device.twin_json()["properties"]), "what GET /twins answers");
        assert_eq!(parsed["deviceScope"], "ms-azure-iot-edge://edge-1");
        let without = serde_json::from_str::<Value>(&export_line(&device, true)).unwrap();
        assert!(without["authentication"]["symmetricKey"]["primaryKey"].is_null());
    }

    #[test]
    fn import_lines_are_read_with_their_mode_and_etags() {
        let line =
            parse_import_line(br#"{"id":"d1","importMode":"UpdateIfMatchETag","eTag":"\"AAAA\"","tags":{"a":1},"properties":{"desired":{"b":2}}}"#).unwrap();
        assert_eq!((line.id.as_str(), line.mode), ("d1", ImportMode::UpdateIfMatchETag));
        assert_eq!((&line.body["tags"]["a"], &line.body["properties"]["desired"]["b"]), (&json!(1), &json!(2)));
        assert_eq!(parse_import_line(br#"{"id":"d2"}"#).unwrap().mode, ImportMode::Create);
    }

    #[test]
    fn a_malformed_line_is_named_in_its_error() {
        let bad = |line: &[u8]| parse_import_line(line).unwrap_err();
        assert!(bad(b"{not json").starts_with("Invalid device format in line: {not json. "));
        assert!(bad(br#"{"importMode":"create"}"#).contains("'id'"));
        assert!(bad(br#"{"id":"d1","importMode":"merge"}"#).contains("\"merge\""));
        assert!(bad(br#"{"id":"d1","tags":"x"}"#).contains("tags must be an object"));
        assert_eq!(
            LineError::malformed(bad(b"[1]")).to_line(),
            "{\"errorCode\":400012,\"errorStatus\":\"Invalid device format in line: [1]. A line must be one JSON object.\"}\n"
        );
        assert_eq!(LineError::new("d1", 409001, "exists").to_line(), "{\"deviceId\":\"d1\",\"errorCode\":409001,\"errorStatus\":\"exists\"}\n");
    }
}
