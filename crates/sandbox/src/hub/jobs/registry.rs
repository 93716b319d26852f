//! What one import line does to the registry, mode by mode, as the bulk identity docs describe:
//! create refuses an existing device, update refuses a missing one, the `IfMatchETag` modes compare
//! the device's (or, for twins, the twin's) ETag, delete refuses a missing device. A failure is a
//! line of importErrors.log; the other lines go on.

use super::lines::{ImportLine, ImportMode, LineError};
use crate::hub::bulk::{self, EntryError, Mode};
use crate::hub::identity::DeviceIdentity;
use std::collections::BTreeMap;

fn mode(mode: ImportMode) -> Mode {
    match mode {
        ImportMode::Create => Mode::Create,
        ImportMode::Update => Mode::Update { if_match: false, or_create: false },
        ImportMode::UpdateIfMatchETag => Mode::Update { if_match: true, or_create: false },
        ImportMode::CreateOrUpdate => Mode::Update { if_match: false, or_create: true },
        ImportMode::CreateOrUpdateIfMatchETag => Mode::Update { if_match: true, or_create: true },
        ImportMode::Delete => Mode::Delete { if_match: false },
        ImportMode::DeleteIfMatchETag => Mode::Delete { if_match: true },
        ImportMode::UpdateTwin => Mode::UpdateTwin { if_match: false },
        ImportMode::UpdateTwinIfMatchETag => Mode::UpdateTwin { if_match: true },
    }
}

/// importErrors.log's numeric code for the bulk registry's error name.
fn code(e: &EntryError) -> u32 {
    match e.code {
        "DeviceNotFound" => 404001,
        "DeviceAlreadyExists" => 409001,
        "PreconditionFailed" => 412001,
        _ => 400004,
    }
}

/// Applies `line` to `devices`, twin included, as the bulk registry applies an entry (one
/// implementation of the import modes: hub/bulk.rs). Edge scopes are not checked against the
/// registry (a scan per line); the bulk call checks them.
pub fn apply(devices: &mut BTreeMap<String, DeviceIdentity>, line: &ImportLine) -> Result<(), LineError> {
    bulk::device_entry(devices, &line.id, &line.body, mode(line.mode), false).map_err(|e| LineError::new(&line.id, code(&e), e.status))
}

#[cfg(test)]
mod tests {
    use super::super::lines::parse_import_line;
    use super::*;

    struct Registry {
        devices: BTreeMap<String, DeviceIdentity>,
    }

    impl Registry {
        fn new() -> Registry {
            let mut devices = BTreeMap::new();
            devices.insert("old".to_string(), DeviceIdentity::new_sas("old", crate::live::new_key(), crate::live::new_key()));
            Registry { devices }
        }
        fn etag(&self, id: &str) -> String {
            self.devices[id].etag.clone()
        }
        fn run(&mut self, line: &str) -> Result<(), u32> {
            apply(&mut self.devices, &parse_import_line(line.as_bytes()).unwrap()).map_err(|e| e.code)
        }
        fn twin(&self, id: &str) -> &crate::hub::twin::TwinState {
            self.devices[id].twin.as_deref().unwrap()
        }
    }

    #[test]
    fn create_refuses_an_existing_device_and_sets_the_twin() {
        let mut r = Registry::new();
        assert_eq!(r.run(r#"{"id":"old","importMode":"create"}"#), Err(409001));
        assert_eq!(r.run(r#"{"id":"new","importMode":"create","status":"disabled","tags":{"site":"munich"}}"#), Ok(()));
        assert!(!r.devices["new"].enabled);
        assert_eq!(r.twin("new").tags()["site"], "munich");
        assert_eq!(r.devices["new"].twin_json()["tags"]["site"], "munich", "what GET /twins and the query see");
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
    fn an_update_keeps_the_twin_reported_properties_included_and_merges_the_lines_twin() {
        let mut r = Registry::new();
        r.devices.get_mut("old").unwrap().twin.get_or_insert_with(Box::default).report(serde_json::json!({"fw": "2.0"}).as_object().unwrap().clone());
        assert_eq!(r.run(r#"{"id":"old","importMode":"createOrUpdate","tags":{"site":"lyon"}}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"old","importMode":"update","status":"disabled","tags":{"wave":2},"properties":{"reported":{"fw":"forged"}}}"#), Ok(()));
        let twin = r.twin("old");
        assert_eq!(
            (serde_json::Value::Object(twin.tags()), twin.reported()["fw"].clone(), twin.version),
            (serde_json::json!({"site": "lyon", "wave": 2}), serde_json::json!("2.0"), 4)
        );
        assert_eq!(r.run(r#"{"id":"old","importMode":"updateTwin","tags":{"bad.key":1}}"#), Err(400004));
        assert_eq!(r.run(r#"{"id":"old","importMode":"delete"}"#), Ok(()));
        assert_eq!(r.run(r#"{"id":"old","importMode":"create"}"#), Ok(()));
        assert!(r.devices["old"].twin.is_none(), "a device created again starts with an empty twin");
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
        let twin = r.twin("old");
        assert_eq!(
            (twin.tags()["a"].clone(), twin.desired()["b"].clone(), twin.version, twin.desired_version),
            (serde_json::json!(1), serde_json::json!(3), 3, 2)
        );
        assert_eq!(r.run(r#"{"id":"old","importMode":"updateTwinIfMatchETag","twinETag":"AAAAAAAAAAI=","tags":{"a":3}}"#), Err(412001), "stale now");
        assert_eq!(
            r.run(r#"{"id":"old","importMode":"updateTwin","tags":{"a":null,"c":{"d":1}},"properties":{"desired":{"$version":7,"$metadata":{}}}}"#),
            Ok(())
        );
        let twin = r.twin("old");
        assert_eq!(
            (serde_json::Value::Object(twin.tags()), twin.desired()["b"].clone(), twin.version, twin.desired_version),
            (serde_json::json!({"c": {"d": 1}}), serde_json::json!(3), 4, 3),
            "merged as a PATCH merges: null removes, the service's own $ keys are dropped"
        );
    }
}
