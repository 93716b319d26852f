//! `POST /devices` (BulkRegistry_UpdateRegistry): up to 100 ExportImportDevice entries, each a
//! create, update or delete of a device (or of a module, with `moduleId`) or of its twin, by
//! `importMode`. The request as a whole is refused (the hub's error shape) when it is not a list,
//! holds more than 100 entries or names an identity twice; otherwise each entry stands alone:
//! those that can be applied are, and the others are listed in `errors` — 200 when there are
//! none, 400 with the BulkRegistryOperationResult when there are.
//!
//! Modes, as the identity-registry import documents them: `create` (must not exist), `update` /
//! `createOrUpdate` (overwrite or create, ETag ignored), `updateIfMatchETag` (must exist, `eTag`
//! must match), `createOrUpdateIfMatchETag` (creates, or overwrites when `eTag` matches),
//! `delete`, `deleteIfMatchETag`, `updateTwin` and `updateTwinIfMatchETag` (`twinETag`). Tags and
//! desired properties an entry carries are merged into the twin as a twin PATCH merges them (the
//! twin's version moves once). An entry without `importMode` is `createOrUpdate`.
//!
//! Import jobs (hub/jobs) apply each line of devices.txt with the same [`device_entry`].

use super::devices::{bad_json, etag_matches};
use super::identity::{check_scope, valid_id, DeviceIdentity};
use super::module_identity::{ModuleIdentity, MAX_MODULES_PER_DEVICE};
use super::twin::{self, TwinPatch};
use super::{HubCtx, HubError};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Entries one call may carry.
pub const MAX_ENTRIES: usize = 100;

/// Why one entry was not applied: the spec's DeviceRegistryOperationError fields.
#[derive(Debug, PartialEq, Eq)]
pub struct EntryError {
    pub code: &'static str,
    pub status: String,
}

fn fail(code: &'static str, status: impl Into<String>) -> EntryError {
    EntryError { code, status: status.into() }
}

/// What an entry does; each caller reads its own mode names into this (an absent mode is
/// `createOrUpdate` here, `create` in an import job).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Create,
    Update { if_match: bool, or_create: bool },
    Delete { if_match: bool },
    UpdateTwin { if_match: bool },
}

fn mode(entry: &Value) -> Result<Mode, EntryError> {
    Ok(match entry.get("importMode").and_then(Value::as_str).unwrap_or("createOrUpdate").to_ascii_lowercase().as_str() {
        "create" => Mode::Create,
        "update" | "createorupdate" => Mode::Update { if_match: false, or_create: true },
        "updateifmatchetag" => Mode::Update { if_match: true, or_create: false },
        "createorupdateifmatchetag" => Mode::Update { if_match: true, or_create: true },
        "delete" => Mode::Delete { if_match: false },
        "deleteifmatchetag" => Mode::Delete { if_match: true },
        "updatetwin" => Mode::UpdateTwin { if_match: false },
        "updatetwinifmatchetag" => Mode::UpdateTwin { if_match: true },
        other => {
            return Err(fail(
                "ArgumentInvalid",
                format!("importMode '{other}' is not one of create, update, updateIfMatchETag, delete, deleteIfMatchETag, updateTwin, updateTwinIfMatchETag."),
            ))
        }
    })
}

fn etag_field<'a>(entry: &'a Value, field: &str) -> &'a str {
    entry.get(field).and_then(Value::as_str).unwrap_or_default().trim_matches('"')
}

fn precondition(what: &str, id: &str) -> EntryError {
    fail("PreconditionFailed", format!("Precondition failed: {what} version did not match, ETag value mismatch. DeviceId: {id}"))
}

/// Tags and desired properties an entry carries, if any.
fn twin_of(entry: &Value) -> Result<Option<TwinPatch>, EntryError> {
    let patch = twin::parse_patch(entry).map_err(|why| fail("ArgumentInvalid", why))?;
    Ok((patch.tags.is_some() || patch.desired.is_some()).then_some(patch))
}

/// Applies one device entry (an ExportImportDevice object) to the registry. `check_scopes` checks a
/// leaf's `deviceScope` and `parentScopes` against the registry's edge devices (a scan of the
/// registry: the bulk call does; an import job, a line at a time over up to a million devices,
/// does not).
pub fn device_entry(devices: &mut BTreeMap<String, DeviceIdentity>, id: &str, entry: &Value, mode: Mode, check_scopes: bool) -> Result<(), EntryError> {
    let not_found = || fail("DeviceNotFound", format!("Device {id} not registered"));
    let existing = devices.get(id);
    match mode {
        Mode::Create | Mode::Update { .. } => {
            match (mode, existing) {
                (Mode::Create, Some(_)) => return Err(fail("DeviceAlreadyExists", format!("A device with ID '{id}' is already registered."))),
                (Mode::Update { or_create: false, .. }, None) => return Err(not_found()),
                (Mode::Update { if_match: true, .. }, Some(old)) if !etag_matches(old, etag_field(entry, "eTag")) => return Err(precondition("Device", id)),
                _ => {}
            }
            let twin = twin_of(entry)?;
            let mut device = DeviceIdentity::from_request(id, entry, existing).map_err(|e| fail("ArgumentInvalid", format!("{}: {}", e.field, e.problem)))?;
            if check_scopes {
                check_scope(devices, &device).map_err(|e| fail("InvalidDeviceScope", e.problem))?;
            }
            // An updated device keeps its twin (from_request carries it over); the entry's twin
            // data is merged into it.
            twin::update(&mut device.twin, twin.unwrap_or_default());
            devices.insert(id.to_string(), device);
        }
        Mode::Delete { if_match } => {
            let old = existing.ok_or_else(not_found)?;
            if if_match && !etag_matches(old, etag_field(entry, "eTag")) {
                return Err(precondition("Device", id));
            }
            devices.remove(id);
        }
        Mode::UpdateTwin { if_match } => {
            let device = devices.get_mut(id).ok_or_else(not_found)?;
            if if_match && !twin::matches(device.twin.as_deref(), Some(etag_field(entry, "twinETag"))) {
                return Err(precondition("Twin", id));
            }
            twin::update(&mut device.twin, twin_of(entry)?.unwrap_or_default());
        }
    }
    Ok(())
}

/// Module entries need their device to exist already (as on the hub).
fn module_entry(devices: &mut BTreeMap<String, DeviceIdentity>, id: &str, mid: &str, entry: &Value, mode: Mode) -> Result<(), EntryError> {
    let device = devices.get_mut(id).ok_or_else(|| fail("DeviceNotFound", format!("Device {id} not registered")))?;
    let not_found = || fail("ModuleNotFound", format!("Module {mid} on device {id} not registered"));
    let etag_ok = |m: &ModuleIdentity| m.etag.trim_matches('"') == etag_field(entry, "eTag") || etag_field(entry, "eTag") == "*";
    let count = device.modules.as_ref().map_or(0, |m| m.len());
    let existing = device.modules.as_ref().and_then(|m| m.get(mid));
    match mode {
        Mode::Create | Mode::Update { .. } => {
            match (mode, existing) {
                (Mode::Create, Some(_)) => {
                    return Err(fail("ModuleAlreadyExistsOnDevice", format!("A module with ID '{mid}' is already registered on device '{id}'.")))
                }
                (Mode::Update { or_create: false, .. }, None) => return Err(not_found()),
                (Mode::Update { if_match: true, .. }, Some(old)) if !etag_ok(old) => return Err(precondition("Module", id)),
                (_, None) if count >= MAX_MODULES_PER_DEVICE => {
                    return Err(fail("TooManyModulesOnDevice", format!("Device '{id}' already has the maximum of {MAX_MODULES_PER_DEVICE} modules.")))
                }
                _ => {}
            }
            let twin = twin_of(entry)?;
            let mut module =
                ModuleIdentity::from_request(id, mid, entry, existing).map_err(|e| fail("ArgumentInvalid", format!("{}: {}", e.field, e.problem)))?;
            twin::update(&mut module.twin, twin.unwrap_or_default());
            device.modules.get_or_insert_with(Box::default).insert(mid.to_string(), module);
        }
        Mode::Delete { if_match } => {
            let old = existing.ok_or_else(not_found)?;
            if if_match && !etag_ok(old) {
                return Err(precondition("Module", id));
            }
            if let Some(modules) = device.modules.as_mut() {
                modules.remove(mid);
                if modules.is_empty() {
                    device.modules = None;
                }
            }
        }
        Mode::UpdateTwin { if_match } => {
            let module = device.modules.as_mut().and_then(|m| m.get_mut(mid)).ok_or_else(not_found)?;
            if if_match && !twin::matches(module.twin.as_deref(), Some(etag_field(entry, "twinETag"))) {
                return Err(precondition("Twin", id));
            }
            twin::update(&mut module.twin, twin_of(entry)?.unwrap_or_default());
        }
    }
    Ok(())
}

fn whole(name: &'static str, text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, name, text)
}

/// Applies the entries; the per-entry errors in the spec's shape (empty: all applied).
pub fn apply(devices: &mut BTreeMap<String, DeviceIdentity>, entries: &Value) -> Result<Vec<Value>, HubError> {
    let entries = entries.as_array().ok_or_else(|| whole("ArgumentInvalid", "The body must be a JSON array of ExportImportDevice entries."))?;
    if entries.len() > MAX_ENTRIES {
        return Err(whole(
            "TooManyDevices",
            format!("Too many devices specified: {} (at most {MAX_ENTRIES} a call; use an import job for more).", entries.len()),
        ));
    }
    let mut seen = HashSet::new();
    for entry in entries {
        let key = (entry.get("id").and_then(Value::as_str), entry.get("moduleId").and_then(Value::as_str));
        if let (Some(id), mid) = key {
            if !seen.insert(key) {
                return Err(whole(
                    "DeviceDefinedMultipleTimes",
                    format!("The identity {id}{} is defined more than once.", mid.map(|m| format!("/{m}")).unwrap_or_default()),
                ));
            }
        }
    }
    let mut errors = Vec::new();
    for entry in entries {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
        let mid = entry.get("moduleId").and_then(Value::as_str).filter(|m| !m.is_empty());
        let outcome = match (valid_id(id), mid) {
            (false, _) => Err(fail("ArgumentInvalid", format!("The device ID '{id}' is not valid."))),
            (true, Some(m)) if !valid_id(m) => Err(fail("ArgumentInvalid", format!("The module ID '{m}' is not valid."))),
            (true, m) => mode(entry).and_then(|mode| match m {
                None => device_entry(devices, id, entry, mode, true),
                Some(m) => module_entry(devices, id, m, entry, mode),
            }),
        };
        if let Err(e) = outcome {
            let mut error = json!({"deviceId": id, "errorCode": e.code, "errorStatus": e.status});
            if let Some(m) = mid {
                error["moduleId"] = json!(m);
            }
            errors.push(error);
        }
    }
    Ok(errors)
}

pub async fn update_registry(
    State(ctx): State<HubCtx>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let errors = apply(&mut ctx.hub.devices.lock().unwrap(), &body)?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, Json(json!({"isSuccessful": errors.is_empty(), "errors": errors, "warnings": []}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> BTreeMap<String, DeviceIdentity> {
        let mut devices = BTreeMap::new();
        devices.insert("old".to_string(), DeviceIdentity::new_sas("old", String::new(), String::new()));
        devices
    }

    fn codes(errors: &[Value]) -> Vec<(String, String)> {
        errors.iter().map(|e| (e["deviceId"].as_str().unwrap().to_string(), e["errorCode"].as_str().unwrap().to_string())).collect()
    }

    #[test]
    fn each_mode_does_what_it_says_and_failures_stand_alone() {
        let mut devices = registry();
        let etag = devices["old"].etag.clone();
        let errors = apply(
            &mut devices,
            &json!([
                {"id": "new-1", "importMode": "create", "tags": {"site": "lyon"}},
                {"id": "old", "importMode": "create"},
                {"id": "new-2", "importMode": "update", "status": "disabled"},
                {"id": "ghost", "importMode": "updateIfMatchETag", "eTag": "x"},
                {"id": "ghost-2", "importMode": "delete"},
            ]),
        )
        .unwrap();
        assert_eq!(
            codes(&errors),
            [("old".into(), "DeviceAlreadyExists".into()), ("ghost".into(), "DeviceNotFound".into()), ("ghost-2".into(), "DeviceNotFound".into())]
        );
        assert!(devices.contains_key("new-1") && !devices["new-2"].enabled, "the good entries were applied");
        assert_eq!(devices["new-1"].twin_json()["tags"]["site"], "lyon");

        let errors = apply(
            &mut devices,
            &json!([
                {"id": "old", "importMode": "updateIfMatchETag", "eTag": "stale", "status": "disabled"},
                {"id": "new-1", "importMode": "deleteIfMatchETag", "eTag": "stale"},
                {"id": "new-2", "importMode": "updateTwinIfMatchETag", "twinETag": "AAAAAAAAAAE=", "properties": {"desired": {"x": 1}}},
            ]),
        )
        .unwrap();
        assert_eq!(codes(&errors), [("old".into(), "PreconditionFailed".into()), ("new-1".into(), "PreconditionFailed".into())]);
        assert!(devices["old"].enabled && devices.contains_key("new-1"));
        assert_eq!(devices["new-2"].twin_json()["properties"]["desired"]["x"], 1);

        let errors = apply(
            &mut devices,
            &json!([
                {"id": "old", "importMode": "updateIfMatchETag", "eTag": format!("\"{etag}\""), "status": "disabled"},
                {"id": "new-1", "importMode": "delete"},
            ]),
        )
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!devices["old"].enabled && !devices.contains_key("new-1"));
    }

    #[test]
    fn twin_data_merges_into_the_twin_as_a_patch_does() {
        let mut devices = registry();
        devices.get_mut("old").unwrap().twin.get_or_insert_with(Box::default).report(json!({"fw": "1.0"}).as_object().unwrap().clone());
        let errors = apply(&mut devices, &json!([{"id": "old", "importMode": "updateTwin", "tags": {"site": "lyon", "loc": {"floor": 1}}}])).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let errors = apply(&mut devices, &json!([{"id": "old", "importMode": "updateTwinIfMatchETag", "twinETag": "AAAAAAAAAAM=", "tags": {"loc": {"room": "a"}}, "properties": {"desired": {"x": 1}}}])).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let twin = devices["old"].twin_json();
        assert_eq!(
            (&twin["tags"], &twin["properties"]["reported"]["fw"], &twin["version"]),
            (&json!({"site": "lyon", "loc": {"floor": 1, "room": "a"}}), &json!("1.0"), &json!(4))
        );
        let stale = apply(&mut devices, &json!([{"id": "old", "importMode": "updateTwinIfMatchETag", "twinETag": "AAAAAAAAAAM=", "tags": {"x": 1}}])).unwrap();
        assert_eq!(codes(&stale), [("old".into(), "PreconditionFailed".into())]);
        assert!(apply(&mut devices, &json!([{"id": "quiet", "importMode": "create"}])).unwrap().is_empty());
        assert!(devices["quiet"].twin.is_none(), "no twin data, no twin stored");
    }

    #[test]
    fn module_entries_need_their_device() {
        let mut devices = registry();
        let errors = apply(
            &mut devices,
            &json!([
                {"id": "old", "moduleId": "m1", "importMode": "create"},
                {"id": "nobody", "moduleId": "m1", "importMode": "create"},
            ]),
        )
        .unwrap();
        assert_eq!(codes(&errors), [("nobody".into(), "DeviceNotFound".into())]);
        assert_eq!(errors[0]["moduleId"], "m1");
        assert!(devices["old"].modules.as_ref().is_some_and(|m| m.contains_key("m1")));
        assert!(apply(&mut devices, &json!([{"id": "old", "moduleId": "m1", "importMode": "delete"}])).unwrap().is_empty());
        assert!(devices["old"].modules.is_none());
    }

    #[test]
    fn the_whole_call_is_refused_when_too_big_or_repeating_an_identity() {
        let mut devices = registry();
        let many: Vec<Value> = (0..=MAX_ENTRIES).map(|i| json!({"id": format!("d{i}"), "importMode": "create"})).collect();
        assert_eq!(apply(&mut devices, &Value::Array(many)).unwrap_err().name, "TooManyDevices");
        let twice = json!([{"id": "a", "importMode": "create"}, {"id": "a", "importMode": "delete"}]);
        assert_eq!(apply(&mut devices, &twice).unwrap_err().name, "DeviceDefinedMultipleTimes");
        assert_eq!(devices.len(), 1, "nothing applied");
        assert_eq!(
            codes(&apply(&mut devices, &json!([{"id": "bad id!", "importMode": "create"}, {"id": "x", "importMode": "upsert"}])).unwrap()),
            [("bad id!".into(), "ArgumentInvalid".into()), ("x".into(), "ArgumentInvalid".into())]
        );
    }
}
