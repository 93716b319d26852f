//! Twin tags and desired properties that import jobs write and export jobs read.
//!
//! The device registry (hub/identity.rs) does not store twins yet; this side table keeps what
//! imports set, keyed by device ID and tied to the identity's generation, so a device deleted and
//! created again (a new generation) starts with an empty twin, as on the service. When the
//! registry gains a twin store, this table is what moves into it.

use crate::live::NEVER;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct TwinDoc {
    generation_id: Box<str>,
    pub version: u64,
    /// A JSON object, compact.
    tags: Box<str>,
    /// A JSON object, compact, without `$metadata`/`$version`.
    desired: Box<str>,
    pub desired_version: u64,
    updated: Box<str>,
}

const EMPTY: &str = "{}";

fn text(map: Map<String, Value>) -> Box<str> {
    Value::Object(map).to_string().into_boxed_str()
}

impl TwinDoc {
    /// The tags, as JSON text.
    pub fn tags_text(&self) -> &str {
        &self.tags
    }

    pub fn tags(&self) -> Map<String, Value> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub fn desired(&self) -> Map<String, Value> {
        serde_json::from_str(&self.desired).unwrap_or_default()
    }
}

/// The twin ETag: the twin's version as an 8-byte counter, base64 (`AAAAAAAAAAE=` is version 1).
pub fn twin_etag(version: u64) -> String {
    B64.encode(version.to_be_bytes())
}

#[derive(Default)]
pub struct TwinDocs(HashMap<String, TwinDoc>);

impl TwinDocs {
    /// The device's twin, if one was written for this generation of it.
    pub fn get(&self, device_id: &str, generation_id: &str) -> Option<&TwinDoc> {
        self.0.get(device_id).filter(|t| &*t.generation_id == generation_id)
    }

    /// The twin's ETag as the hub reports it (version 1 for a twin never written).
    pub fn etag(&self, device_id: &str, generation_id: &str) -> String {
        twin_etag(self.get(device_id, generation_id).map_or(1, |t| t.version))
    }

    /// Replaces the tags and/or desired properties given (a `None` leaves that part as it was),
    /// bumping the twin's version as any twin write does.
    pub fn write(&mut self, device_id: &str, generation_id: &str, tags: Option<Map<String, Value>>, desired: Option<Map<String, Value>>) {
        let fresh = || TwinDoc { generation_id: generation_id.into(), version: 1, tags: EMPTY.into(), desired: EMPTY.into(), desired_version: 1, updated: NEVER.into() };
        let doc = self.0.entry(device_id.to_string()).or_insert_with(fresh);
        if &*doc.generation_id != generation_id {
            *doc = fresh();
        }
        doc.version += 1;
        if let Some(tags) = tags {
            doc.tags = text(tags);
        }
        if let Some(desired) = desired {
            doc.desired = text(desired.into_iter().filter(|(k, _)| !k.starts_with('$')).collect());
            doc.desired_version += 1;
            doc.updated = crate::live::now_iso().into();
        }
    }

    pub fn remove(&mut self, device_id: &str) {
        self.0.remove(device_id);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `properties` of an exported twin, as JSON text: desired and reported, each with `$metadata` and
/// `$version`.
pub fn properties_text(doc: Option<&TwinDoc>) -> String {
    let desired = doc.map_or(EMPTY, |d| &d.desired);
    let meta = format!("\"$metadata\":{},\"$version\":{}", json!({"$lastUpdated": doc.map_or(NEVER, |d| &d.updated)}), doc.map_or(1, |d| d.desired_version));
    let desired = match desired {
        EMPTY => format!("{{{meta}}}"),
        object => format!("{},{meta}}}", &object[..object.len() - 1]),
    };
    format!("{{\"desired\":{desired},\"reported\":{{\"$metadata\":{{\"$lastUpdated\":\"{NEVER}\"}},\"$version\":1}}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_bumps_the_version_and_a_new_generation_starts_empty() {
        let mut docs = TwinDocs::default();
        assert_eq!(docs.etag("d1", "g1"), "AAAAAAAAAAE=");
        docs.write("d1", "g1", Some(json!({"site": "munich"}).as_object().unwrap().clone()), None);
        assert_eq!(docs.etag("d1", "g1"), "AAAAAAAAAAI=");
        docs.write("d1", "g1", None, Some(json!({"interval": 5, "$version": 9}).as_object().unwrap().clone()));
        let doc = docs.get("d1", "g1").unwrap();
        assert_eq!((doc.version, doc.tags()["site"].clone(), doc.desired().len()), (3, json!("munich"), 1));
        let properties: Value = serde_json::from_str(&properties_text(Some(doc))).unwrap();
        assert_eq!((properties["desired"]["interval"].clone(), properties["desired"]["$version"].clone()), (json!(5), json!(2)));
        let empty: Value = serde_json::from_str(&properties_text(None)).unwrap();
        assert_eq!(empty["desired"], json!({"$metadata": {"$lastUpdated": NEVER}, "$version": 1}));
        assert!(docs.get("d1", "g2").is_none());
        docs.write("d1", "g2", None, None);
        assert_eq!((docs.get("d1", "g2").unwrap().version, docs.get("d1", "g2").unwrap().tags().len()), (2, 0));
    }
}
