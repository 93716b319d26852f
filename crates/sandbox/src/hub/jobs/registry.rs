//! What one import line does to the registry, mode by mode, as the bulk identity docs describe:
//! create refuses an existing device, update refuses a missing one, the `IfMatchETag` modes compare
//! the device's (or, for twins, the twin's) ETag, delete refuses a missing device. A failure is a
//! line of importErrors.log; the other lines go on.

use super::lines::{ImportLine, ImportMode, LineError};
use super::twin_docs::TwinDocs;
use crate::hub::identity::DeviceIdentity;
use std::collections::BTreeMap;

fn not_found(id: &str) -> LineError {
    LineError::new(id, 404001, format!("Device {id} not registered"))
}

fn etag_mismatch(id: &str) -> LineError {
    LineError::new(id, 412001, format!("Precondition failed: Device version did not match, ETag value mismatch. DeviceId: {id}"))
}

fn matches(current: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| g == "*" || g == current.trim_matches('"'))
}

/// Applies `line` to `devices` and `twins` (locked together by the caller).
pub fn apply(devices: &mut BTreeMap<String, DeviceIdentity>, twins: &mut TwinDocs, line: &ImportLine) -> Result<(), LineError> {
    let id = line.id.as_str();
    let existing = devices.get(id);
    match line.mode {
        ImportMode::Delete | ImportMode::DeleteIfMatchETag => {
            let device = existing.ok_or_else(|| not_found(id))?;
            if line.mode == ImportMode::DeleteIfMatchETag && !matches(&device.etag, line.etag.as_deref()) {
                return Err(etag_mismatch(id));
            }
            devices.remove(id);
            twins.remove(id);
            Ok(())
        }
        ImportMode::UpdateTwin | ImportMode::UpdateTwinIfMatchETag => {
            let device = existing.ok_or_else(|| not_found(id))?;
            if line.mode == ImportMode::UpdateTwinIfMatchETag && !matches(&twins.etag(id, &device.generation_id), line.twin_etag.as_deref()) {
                return Err(LineError::new(id, 412001, format!("Precondition failed: Twin version did not match, ETag value mismatch. DeviceId: {id}")));
            }
            twins.write(id, &device.generation_id, line.tags.clone(), line.desired.clone());
            Ok(())
        }
        mode => {
            match (mode, existing) {
                (ImportMode::Create, Some(_)) => return Err(LineError::new(id, 409001, format!("A device with ID '{id}' is already registered."))),
                (ImportMode::Update | ImportMode::UpdateIfMatchETag, None) => return Err(not_found(id)),
                (ImportMode::UpdateIfMatchETag | ImportMode::CreateOrUpdateIfMatchETag, Some(device)) if !matches(&device.etag, line.etag.as_deref()) => return Err(etag_mismatch(id)),
                _ => {}
            }
            let device = DeviceIdentity::from_request(id, &line.body, existing).map_err(|e| LineError::new(id, 400004, format!("{}: {}", e.field, e.problem)))?;
            if line.tags.is_some() || line.desired.is_some() {
                twins.write(id, &device.generation_id, line.tags.clone(), line.desired.clone());
            }
            devices.insert(id.to_string(), device);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lines::parse_import_line;
    use super::*;

    struct Registry {
        devices: BTreeMap<String, DeviceIdentity>,
        twins: TwinDocs,
    }

    impl Registry {
        fn new() -> Registry {
            let mut devices = BTreeMap::new();
            devices.insert("old".to_string(), DeviceIdentity::new_sas("old", crate::live::new_key(), crate::live::new_key()));
            Registry { devices, twins: TwinDocs::default() }
        }
        fn etag(&self, id: &str) -> String {
            self.devices[id].etag.clone()
        }
        fn run(&mut self, line: &str) -> Result<(), u32> {
            apply(&mut self.devices, &mut self.twins, &parse_import_line(line.as_bytes()).unwrap()).map_err(|e| e.code)
        }
    }

    #[test]
    fn create_refuses_an_existing_device_and_sets_the_twin() {
        let mut r = Registry::new();
        assert_eq!(r.run(r#"{"id":"old","importMode":"create"}"#), Err(409001));
        assert_eq!(r.run(r#"{"id":"new","importMode":"create","status":"disabled","tags":{"site":"munich"}}"#), Ok(()));
        assert!(!r.devices["new"].enabled);
        assert_eq!(r.twins.get("new", &r.devices["new"].generation_id).unwrap().tags()["site"], "munich");
    }

    #[test]
    fn update_needs_the_device_and_if_match_needs_its_etag() {
        let mut r = Registry::new();
        assert_eq!(r.run(r#"{"id":"missing","importMode":"update"}"#), Err(404001));
        assert_eq!(r.run(r#"{"id":"missing","importMode":"updateIfMatchETag","eTag":"x"}"#), Err(404001));
        assert_eq!(r.run(r#"{"id":"old","importMode":"updateIfMatchETag","eTag":"stale"}"#), Err(412001));
        let generation = r.devices["old"].generation_id.clone();
        let etag = r.etag("old");
        assert_eq!(r.run(&format!(r#"{{"id":"old","importMode":"updateIfMatchETag","eTag":"{etag}","status":"disabled"}}"#)), Ok(()));
        assert!(!r.devices["old"].enabled && r.etag("old") != etag && r.devices["old"].generation_id == generation);
        assert_eq!(r.run(r#"{"id":"old","importMode":"update","status":"enabled"}"#), Ok(()));
        assert!(r.devices["old"].enabled);
    }

    #[test]
    fn create_or_update_creates_or_replaces_and_its_if_match_form_checks_only_existing_devices() {
        let mut r = Registry::new();
        assert_eq!(r.run(r#"{"id":"new","importMode":"createOrUpdate"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"old","importMode":"createOrUpdate","status":"disabled"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"other","importMode":"createOrUpdateIfMatchETag","eTag":"anything"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"old","importMode":"createOrUpdateIfMatchETag","eTag":"stale"}"#), Err(412001));
        assert_eq!(r.run(r#"{"id":"old","importMode":"createOrUpdateIfMatchETag","eTag":"*"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"bad","importMode":"createOrUpdate","authentication":{"type":"tpm"}}"#), Err(400004));
        assert!(!r.devices.contains_key("bad"));
    }

    #[test]
    fn delete_needs_the_device_and_its_if_match_form_its_etag() {
        let mut r = Registry::new();
        assert_eq!(r.run(r#"{"id":"missing","importMode":"delete"}"#), Err(404001));
        assert_eq!(r.run(r#"{"id":"old","importMode":"deleteIfMatchETag","eTag":"stale"}"#), Err(412001));
        let etag = r.etag("old");
        assert_eq!(r.run(&format!(r#"{{"id":"old","importMode":"deleteIfMatchETag","eTag":"{etag}"}}"#)), Ok(()));
        assert!(r.devices.is_empty());
        assert_eq!(r.run(r#"{"id":"new","importMode":"create"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"new","importMode":"delete"}"#), Ok(()));
        assert!(r.devices.is_empty());
    }

    #[test]
    fn update_twin_leaves_the_identity_and_its_if_match_form_checks_the_twin_etag() {
        let mut r = Registry::new();
        let etag = r.etag("old");
        assert_eq!(r.run(r#"{"id":"missing","importMode":"updateTwin","tags":{"a":1}}"#), Err(404001));
        assert_eq!(r.run(r#"{"id":"old","importMode":"updateTwin","tags":{"a":1}}"#), Ok(()));
        assert_eq!(r.etag("old"), etag, "a twin update leaves the identity's ETag");
        // The device ETag is not the twin's: the twin is at version 2 now.
        assert_eq!(r.run(&format!(r#"{{"id":"old","importMode":"updateTwinIfMatchETag","twinETag":"{etag}","tags":{{"a":2}}}}"#)), Err(412001));
        assert_eq!(r.run(r#"{"id":"old","importMode":"updateTwinIfMatchETag","twinETag":"AAAAAAAAAAI=","properties":{"desired":{"b":3}}}"#), Ok(()));
        let twin = r.twins.get("old", &r.devices["old"].generation_id).unwrap();
        assert_eq!((twin.tags()["a"].clone(), twin.desired()["b"].clone(), twin.version), (serde_json::json!(1), serde_json::json!(3), 3));
    }
}
