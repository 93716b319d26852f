//! A twin's service-side state — tags, desired and reported properties, their versions — and the
//! two ways the service API changes it: update (a JSON merge patch: objects merge, `null` removes)
//! and replace (tags and desired properties swapped whole). Reported properties belong to the
//! device: the service API never writes them, the sandbox's control API and fleet do.
//!
//! The ETag is the twin version as the hub writes it (base64 of the big-endian 64-bit version:
//! version 1 is `AAAAAAAAAAE=`), so it needs no storage and changes exactly when the version does.

use super::identity::stamp;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

// The documented rules for tags and properties (IoT Hub, "Understand device twins": tags and
// properties format, twin size): keys up to 1 KB of UTF-8 without control characters, '.', '$' or
// spaces; string values up to 4 KB; at most 10 levels deep; tags up to 8 KB, desired and reported
// properties up to 32 KB each.
/// Deepest nesting the hub accepts in tags and properties.
const MAX_DEPTH: usize = 10;
/// Largest tags document the hub accepts (bytes of JSON).
const MAX_TAGS_BYTES: usize = 8 * 1024;
/// Largest desired (or reported) properties document the hub accepts (bytes of JSON).
const MAX_SECTION_BYTES: usize = 32 * 1024;
/// Longest key, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;
/// Longest string value, in bytes of UTF-8.
const MAX_STRING_BYTES: usize = 4 * 1024;
/// What the service writes at the top of a section itself; a read-modify-write sends them back.
const SERVICE_KEYS: [&str; 2] = ["$version", "$metadata"];

/// A twin's tags, desired or reported properties: a JSON object as compact text, the empty string
/// for `{}` (no allocation). A hub holds up to a million twins, and text is a third of the memory of
/// the parsed map; reads and writes parse it (one twin at a time), export splices it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Doc(Box<str>);

impl Doc {
    fn of(map: Map<String, Value>) -> Doc {
        if map.is_empty() {
            Doc::default()
        } else {
            Doc(Value::Object(map).to_string().into_boxed_str())
        }
    }

    fn text(&self) -> &str {
        if self.0.is_empty() {
            "{}"
        } else {
            &self.0
        }
    }

    fn map(&self) -> Map<String, Value> {
        if self.0.is_empty() {
            return Map::new();
        }
        // Only this module writes the text, always a serialised object.
        serde_json::from_str(&self.0).expect("a twin section is stored as a JSON object")
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `patch` merged into the section.
    fn merged(&self, patch: Map<String, Value>) -> Doc {
        let mut map = self.map();
        merge(&mut map, patch);
        Doc::of(map)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TwinState {
    tags: Doc,
    desired: Doc,
    reported: Doc,
    /// Counts every change to tags or properties.
    pub version: u64,
    pub desired_version: u64,
    pub reported_version: u64,
    pub desired_updated: Option<DateTime<Utc>>,
    pub reported_updated: Option<DateTime<Utc>>,
}

impl Default for TwinState {
    fn default() -> TwinState {
        TwinState {
            tags: Doc::default(),
            desired: Doc::default(),
            reported: Doc::default(),
            version: 1,
            desired_version: 1,
            reported_version: 1,
            desired_updated: None,
            reported_updated: None,
        }
    }
}

/// The ETag of a twin at `version`.
pub fn etag(version: u64) -> String {
    B64.encode(version.to_be_bytes())
}

/// The ETag of a stored twin, or of the empty one.
pub fn etag_of(twin: Option<&TwinState>) -> String {
    etag(twin.map_or(1, |t| t.version))
}

/// Whether an If-Match value (quotes already trimmed) allows a write to a twin at this state.
pub fn matches(twin: Option<&TwinState>, if_match: Option<&str>) -> bool {
    if_match.is_none_or(|e| e == "*" || e == etag_of(twin))
}

/// The writable part of a twin body: tags and desired properties, each only if present.
#[derive(Debug, Default, PartialEq)]
pub struct TwinPatch {
    pub tags: Option<Map<String, Value>>,
    pub desired: Option<Map<String, Value>>,
}

/// Keys the hub refuses: empty, longer than 1 KB, with `.`, space, `$` or control characters (C0 and C1).
fn bad_key(key: &str) -> bool {
    key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(|c| c == '.' || c == ' ' || c == '$' || c.is_control())
}

fn check(section: &str, value: &Value, depth: usize) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if depth > MAX_DEPTH {
                return Err(format!("{section} nest deeper than {MAX_DEPTH} levels"));
            }
            for (k, v) in map {
                if bad_key(k) {
                    let shown: String = k.chars().take(64).collect();
                    return Err(format!(
                        "'{shown}' in {section} is not a valid key: keys may not be empty, longer than {MAX_KEY_BYTES} bytes, nor hold '.', '$', spaces or control characters"
                    ));
                }
                check(section, v, depth + 1)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| check(section, v, depth + 1)),
        Value::String(text) if text.len() > MAX_STRING_BYTES => Err(format!("a string value in {section} exceeds {MAX_STRING_BYTES} bytes")),
        _ => Ok(()),
    }
}

/// Bytes of `value`'s compact JSON, counted without building the text.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("counting cannot fail");
    count.0
}

/// The section's object, without the service's own `$version`/`$metadata` (a read-modify-write
/// sends them back; any other `$` key is refused), checked as the hub checks it.
fn section(body: &Value, pointer: &str, name: &str, max_bytes: usize) -> Result<Option<Map<String, Value>>, String> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            let map: Map<String, Value> = map.iter().filter(|(k, _)| !SERVICE_KEYS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            let value = Value::Object(map);
            check(name, &value, 1)?;
            if json_len(&value) > max_bytes {
                return Err(format!("{name} exceed {max_bytes} bytes"));
            }
            let Value::Object(map) = value else { unreachable!() };
            Ok(Some(map))
        }
        Some(other) => Err(format!("{name} must be a JSON object, not {other}")),
    }
}

/// Reads the tags and desired properties of a twin body; anything else in it (identity fields,
/// reported properties, versions) is the hub's and is ignored, as a round trip sends them back.
pub fn parse_patch(body: &Value) -> Result<TwinPatch, String> {
    if !body.is_object() {
        return Err("The twin must be a JSON object.".into());
    }
    Ok(TwinPatch {
        tags: section(body, "/tags", "tags", MAX_TAGS_BYTES)?,
        desired: section(body, "/properties/desired", "desired properties", MAX_SECTION_BYTES)?,
    })
}

/// A device's reported-properties patch (the body of its `$iothub/twin/PATCH/properties/reported/`),
/// checked by the same rules as the service's sections; `null` values stay in it (they remove).
pub fn parse_reported(body: &Value) -> Result<Map<String, Value>, String> {
    if !body.is_object() {
        return Err(format!("reported properties must be a JSON object, not {body}"));
    }
    section(&json!({ "reported": body }), "/reported", "reported properties", MAX_SECTION_BYTES).map(Option::unwrap_or_default)
}

/// RFC 7396 merge: objects merge key by key, `null` removes, anything else replaces.
pub fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => merge(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    merge(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

impl TwinState {
    pub fn tags(&self) -> Map<String, Value> {
        self.tags.map()
    }

    pub fn desired(&self) -> Map<String, Value> {
        self.desired.map()
    }

    pub fn reported(&self) -> Map<String, Value> {
        self.reported.map()
    }

    /// Applies an update (merge) or a replacement. The twin version moves once per call that
    /// carries anything; desired properties' own version only when they were part of it.
    pub fn apply(&mut self, patch: TwinPatch, replace: bool) {
        let TwinPatch { tags, desired } = patch;
        if replace {
            self.tags = Doc::default().merged(tags.unwrap_or_default());
            self.desired = Doc::default().merged(desired.unwrap_or_default());
            self.desired_version += 1;
            self.desired_updated = Some(Utc::now());
            self.version += 1;
            return;
        }
        if tags.is_none() && desired.is_none() {
            return;
        }
        if let Some(tags) = tags {
            self.tags = self.tags.merged(tags);
        }
        if let Some(desired) = desired {
            self.desired = self.desired.merged(desired);
            self.desired_version += 1;
            self.desired_updated = Some(Utc::now());
        }
        self.version += 1;
    }

    /// What a device reporting its state does: a merge into reported properties.
    pub fn report(&mut self, patch: Map<String, Value>) {
        self.reported = self.reported.merged(patch);
        self.reported_version += 1;
        self.reported_updated = Some(Utc::now());
        self.version += 1;
    }
}

/// Applies an update (merge) to the twin in `slot`, storing one only when the patch carries
/// something (a device never written keeps no twin). What PATCH does, and import jobs and the bulk
/// registry with twin data.
pub fn update(slot: &mut Option<Box<TwinState>>, patch: TwinPatch) {
    if patch.tags.is_some() || patch.desired.is_some() {
        slot.get_or_insert_with(Box::default).apply(patch, false);
    }
}

/// `{"$metadata":{"$lastUpdated":…},"$version":n}` spliced into a section's compact text.
fn section_text(doc: &Doc, version: u64, updated: Option<DateTime<Utc>>) -> String {
    let meta = format!("\"$metadata\":{{\"$lastUpdated\":{}}},\"$version\":{version}", stamp(updated));
    if doc.is_empty() {
        format!("{{{meta}}}")
    } else {
        let text = doc.text();
        format!("{},{meta}}}", &text[..text.len() - 1])
    }
}

/// A twin's tags as compact JSON text (`{}` for a twin never written).
pub fn tags_text(state: Option<&TwinState>) -> &str {
    state.map_or("{}", |s| s.tags.text())
}

/// A twin's `properties` as compact JSON text: desired and reported, each with `$metadata` and
/// `$version`, as devices.txt writes them (no parse: the stored text is spliced).
pub fn properties_text(state: Option<&TwinState>) -> String {
    let empty = TwinState::default();
    let s = state.unwrap_or(&empty);
    format!(
        "{{\"desired\":{},\"reported\":{}}}",
        section_text(&s.desired, s.desired_version, s.desired_updated),
        section_text(&s.reported, s.reported_version, s.reported_updated)
    )
}

/// Adds `etag`, `version`, `tags` and `properties` to a rendered twin (an identity's fields).
pub fn render_into(twin: &mut Value, state: Option<&TwinState>) {
    let empty = TwinState::default();
    let state = state.unwrap_or(&empty);
    let properties = |doc: &Doc, version: u64, updated: Option<DateTime<Utc>>| {
        let mut out = doc.map();
        out.insert("$metadata".into(), json!({"$lastUpdated": stamp(updated)}));
        out.insert("$version".into(), json!(version));
        Value::Object(out)
    };
    twin["etag"] = json!(etag(state.version));
    twin["version"] = json!(state.version);
    twin["tags"] = Value::Object(state.tags.map());
    twin["properties"] = json!({
        "desired": properties(&state.desired, state.desired_version, state.desired_updated),
        "reported": properties(&state.reported, state.reported_version, state.reported_updated),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_etag_is_the_version_as_the_hub_writes_it() {
        assert_eq!(etag(1), "AAAAAAAAAAE=");
        assert_eq!(etag(258), "AAAAAAAAAQI=");
        assert!(matches(None, Some("AAAAAAAAAAE=")) && matches(None, Some("*")) && matches(None, None));
        let twin = TwinState { version: 2, ..TwinState::default() };
        assert!(!matches(Some(&twin), Some("AAAAAAAAAAE=")), "a stale ETag is refused");
    }

    #[test]
    fn an_update_merges_and_null_removes() {
        let mut twin = TwinState::default();
        twin.apply(
            parse_patch(&json!({"tags": {"site": "lyon", "loc": {"floor": 3, "room": "a"}}, "properties": {"desired": {"interval": 30}}})).unwrap(),
            false,
        );
        assert_eq!((twin.version, twin.desired_version), (2, 2));
        twin.apply(parse_patch(&json!({"tags": {"loc": {"room": null, "wing": "w"}, "site": null, "team": "ops"}})).unwrap(), false);
        assert_eq!(Value::Object(twin.tags()), json!({"loc": {"floor": 3, "wing": "w"}, "team": "ops"}));
        assert_eq!((twin.version, twin.desired_version), (3, 2), "tags alone leave the desired version");
        assert_eq!(Value::Object(twin.desired()), json!({"interval": 30}));
    }

    #[test]
    fn a_replacement_swaps_tags_and_desired_whole_and_keeps_reported() {
        let mut twin = TwinState::default();
        twin.apply(parse_patch(&json!({"tags": {"a": 1, "b": 2}, "properties": {"desired": {"x": 1}}})).unwrap(), false);
        twin.report(obj(json!({"fw": "1.0"})));
        twin.apply(parse_patch(&json!({"tags": {"c": 3, "gone": null}, "properties": {"reported": {"fw": "hack"}}})).unwrap(), true);
        assert_eq!(Value::Object(twin.tags()), json!({"c": 3}));
        assert!(twin.desired().is_empty());
        assert_eq!(Value::Object(twin.reported()), json!({"fw": "1.0"}), "the service API never writes reported properties");
        assert_eq!((twin.version, twin.desired_version, twin.reported_version), (4, 3, 2));
    }

    #[test]
    fn a_round_trip_of_the_services_own_fields_is_accepted() {
        let mut rendered = json!({"deviceId": "d"});
        let mut twin = TwinState::default();
        twin.apply(parse_patch(&json!({"properties": {"desired": {"x": 1}}})).unwrap(), false);
        render_into(&mut rendered, Some(&twin));
        assert_eq!(rendered["properties"]["desired"]["$version"], 2);
        assert_eq!(parse_patch(&rendered).unwrap().desired, Some(obj(json!({"x": 1}))));
    }

    #[test]
    fn sections_are_kept_as_text_and_spliced_into_properties() {
        assert_eq!(std::mem::size_of::<Doc>(), 16, "a boxed str, nothing more");
        assert_eq!((tags_text(None), Doc::of(Map::new()).0.len()), ("{}", 0), "an empty section holds no text");
        let mut twin = TwinState::default();
        twin.apply(parse_patch(&json!({"tags": {"site": "lyon"}, "properties": {"desired": {"x": {"y": 1}}}})).unwrap(), false);
        twin.report(obj(json!({"fw": "1.0"})));
        assert_eq!(tags_text(Some(&twin)), r#"{"site":"lyon"}"#);
        let properties: Value = serde_json::from_str(&properties_text(Some(&twin))).unwrap();
        assert_eq!((properties["desired"]["x"]["y"].clone(), properties["desired"]["$version"].clone()), (json!(1), json!(2)));
        assert_eq!((properties["reported"]["fw"].clone(), properties["reported"]["$version"].clone()), (json!("1.0"), json!(2)));
        let mut rendered = json!({});
        render_into(&mut rendered, Some(&twin));
        assert_eq!(rendered["properties"], properties, "devices.txt and GET /twins agree");
        let empty: Value = serde_json::from_str(&properties_text(None)).unwrap();
        assert_eq!(empty["reported"], json!({"$metadata": {"$lastUpdated": crate::live::NEVER}, "$version": 1}));
        let mut slot = None;
        update(&mut slot, TwinPatch::default());
        assert!(slot.is_none(), "nothing to write stores no twin");
        update(&mut slot, parse_patch(&json!({"tags": {"a": 1}})).unwrap());
        update(&mut slot, parse_patch(&json!({"tags": {"b": 2, "a": null}})).unwrap());
        assert_eq!((slot.as_ref().unwrap().tags(), slot.as_ref().unwrap().version), (obj(json!({"b": 2})), 3));
    }

    #[test]
    fn bad_keys_depth_and_size_are_refused() {
        assert!(parse_patch(&json!({"tags": {"a.b": 1}})).unwrap_err().contains("'a.b'"));
        assert!(parse_patch(&json!({"tags": {"a b": 1}})).is_err());
        assert!(parse_patch(&json!({"properties": {"desired": {"ok": {"$x": 1}}}})).is_err(), "only the top level's $ keys are the service's");
        assert!(parse_patch(&json!({"tags": "x"})).is_err() && parse_patch(&json!([])).is_err());
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!({"k": deep});
        }
        assert!(parse_patch(&json!({"tags": deep.clone()})).is_ok());
        assert!(parse_patch(&json!({"tags": {"k": deep}})).unwrap_err().contains("deeper"));
        assert!(parse_patch(&json!({"properties": {"desired": {"big": vec!["x".repeat(4000); 9]}}})).unwrap_err().contains("bytes"));
    }

    #[test]
    fn the_documented_key_value_and_size_rules_hold() {
        assert!(parse_patch(&json!({"tags": {"$bad": 1}})).unwrap_err().contains("'$bad'"), "a $ key the service did not write is refused");
        let round_trip = parse_patch(&json!({"properties": {"desired": {"$version": 4, "$metadata": {}, "x": 1}}})).unwrap();
        assert_eq!(round_trip.desired, Some(obj(json!({"x": 1}))), "the service's own keys come back and are dropped");
        assert!(parse_patch(&json!({"tags": {"k".repeat(MAX_KEY_BYTES): 1}})).is_ok());
        assert!(parse_patch(&json!({"tags": {"k".repeat(MAX_KEY_BYTES + 1): 1}})).unwrap_err().contains("not a valid key"));
        assert!(parse_patch(&json!({"tags": {"c\u{85}1": 1}})).is_err(), "a C1 control character");
        assert!(parse_patch(&json!({"tags": {"s": "x".repeat(MAX_STRING_BYTES)}})).is_ok());
        assert!(parse_patch(&json!({"tags": {"s": "x".repeat(MAX_STRING_BYTES + 1)}})).unwrap_err().contains("string value"));
        let tags_over_8k = json!({"tags": {"a": "x".repeat(4000), "b": "x".repeat(4000), "c": "x".repeat(400)}});
        assert!(parse_patch(&tags_over_8k).unwrap_err().contains(&MAX_TAGS_BYTES.to_string()), "tags stop at 8 KB");
        let desired_under_32k = json!({"properties": {"desired": {"a": "x".repeat(4000), "b": "x".repeat(4000), "c": "x".repeat(400)}}});
        assert!(parse_patch(&desired_under_32k).is_ok(), "desired properties go to 32 KB");
    }
}
