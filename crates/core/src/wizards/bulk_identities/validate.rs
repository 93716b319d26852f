//! devices.txt checked on this machine before it is uploaded, line by line, so an import job never
//! fails (or logs a line) for what could be seen locally: JSON, the fields each mode needs, the
//! device ID rules, key lengths and thumbprints, IDs that appear twice, and twin sizes. Read as a
//! stream: a file of a million lines takes one line of memory plus the set of IDs.

use super::modes::ImportMode;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use ts_rs::TS;

/// IoT Hub's limits on a twin's parts (bytes of JSON): tags 8 KB, desired properties 32 KB.
pub const TAGS_LIMIT: usize = 8 * 1024;
pub const DESIRED_LIMIT: usize = 32 * 1024;
/// A device ID: up to 128 ASCII letters, digits and these.
const ID_SPECIALS: &str = "-.+%_#*?!(),:=@$'";

/// One thing wrong with one line, with a code the UI can branch on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LineProblem {
    /// 1-based, as an editor counts.
    pub line: u32,
    /// `bulk.line.json`, `bulk.line.missingField`, `bulk.line.badId`, `bulk.line.unknownMode`,
    /// `bulk.line.badKey`, `bulk.line.badThumbprint`, `bulk.line.badStatus`,
    /// `bulk.line.duplicateId`, `bulk.line.twinTooLarge`.
    pub code: String,
    /// The field the problem is in (`authentication.symmetricKey.primaryKey`), when one is.
    pub field: Option<String>,
    pub message: String,
}

/// What a valid file holds: how many lines of each mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "BulkFileSummary")]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    pub lines: u32,
    pub by_mode: Vec<(ImportMode, u32)>,
}

fn problem(line: u32, code: &str, field: Option<&str>, message: impl Into<String>) -> LineProblem {
    LineProblem { line, code: code.into(), field: field.map(str::to_string), message: message.into() }
}

/// Why `id` is not a device ID, if it is not.
pub fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("is empty".into());
    }
    if id.len() > 128 {
        return Some(format!("is {} characters long; a device ID has at most 128", id.len()));
    }
    id.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ID_SPECIALS.contains(*c)))
        .map(|c| format!("has '{}', which a device ID cannot hold (letters, digits and {ID_SPECIALS} only)", c.escape_default()))
}

/// Why a symmetric key is refused: base64 of 16 to 64 bytes.
fn key_problem(key: &str) -> Option<String> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Err(_) => Some("is not base64".into()),
        Ok(bytes) if !(16..=64).contains(&bytes.len()) => Some(format!("is {} bytes long; a key is 16 to 64 bytes (base64)", bytes.len())),
        Ok(_) => None,
    }
}

/// SHA-1 (40) or SHA-256 (64) hex.
fn thumbprint_problem(t: &str) -> Option<String> {
    let hex = t.chars().all(|c| c.is_ascii_hexdigit());
    (!(hex && (t.len() == 40 || t.len() == 64))).then(|| format!("is not a SHA-1 or SHA-256 thumbprint (40 or 64 hex digits, found {} characters)", t.len()))
}

/// Checks one parsed line; `default_mode` is what a line without `importMode` is imported as.
fn check_line(n: u32, line: &Value, default_mode: ImportMode, out: &mut Vec<LineProblem>) -> Option<(String, ImportMode)> {
    let Some(obj) = line.as_object() else {
        out.push(problem(n, "bulk.line.json", None, "is not a JSON object (one device per line, {\"id\": …})"));
        return None;
    };
    let id = match obj.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(_) => {
            out.push(problem(n, "bulk.line.badId", Some("id"), "id must be a string"));
            return None;
        }
        None => {
            out.push(problem(n, "bulk.line.missingField", Some("id"), "has no id"));
            return None;
        }
    };
    if let Some(why) = id_problem(&id) {
        out.push(problem(n, "bulk.line.badId", Some("id"), format!("the device ID '{}' {why}", id.escape_default())));
    }
    let mode = match obj.get("importMode") {
        None | Some(Value::Null) => default_mode,
        Some(Value::String(m)) => match ImportMode::parse(m) {
            Some(mode) => mode,
            None => {
                let known: Vec<&str> = ImportMode::ALL.iter().map(|m| m.as_str()).collect();
                out.push(problem(n, "bulk.line.unknownMode", Some("importMode"), format!("importMode '{m}' is not one of {}", known.join(", "))));
                return None;
            }
        },
        Some(_) => {
            out.push(problem(n, "bulk.line.unknownMode", Some("importMode"), "importMode must be a string"));
            return None;
        }
    };
    if let Some(field) = mode.etag_field() {
        if obj.get(field).is_none_or(|v| v.as_str().is_none_or(str::is_empty)) {
            out.push(problem(n, "bulk.line.missingField", Some(field), format!("{mode} compares {field}, and the line has none")));
        }
    }
    if mode.writes_identity() {
        if let Some(status) = obj.get("status").filter(|s| !s.is_null()) {
            if !matches!(status.as_str(), Some("enabled" | "disabled")) {
                out.push(problem(n, "bulk.line.badStatus", Some("status"), format!("status is {status}; it is 'enabled' or 'disabled'")));
            }
        }
        check_authentication(n, obj.get("authentication"), out);
    }
    if matches!(mode, ImportMode::Delete | ImportMode::DeleteIfMatchETag) {
        return Some((id, mode));
    }
    let size = |v: Option<&Value>| v.filter(|v| !v.is_null()).map_or(0, |v| v.to_string().len());
    let tags = size(obj.get("tags"));
    if tags > TAGS_LIMIT {
        out.push(problem(n, "bulk.line.twinTooLarge", Some("tags"), format!("tags are {tags} bytes; a twin's tags hold at most {TAGS_LIMIT}")));
    }
    let desired = size(obj.get("properties").and_then(|p| p.get("desired")));
    if desired > DESIRED_LIMIT {
        out.push(problem(
            n,
            "bulk.line.twinTooLarge",
            Some("properties.desired"),
            format!("desired properties are {desired} bytes; a twin holds at most {DESIRED_LIMIT}"),
        ));
    }
    Some((id, mode))
}

fn check_authentication(n: u32, auth: Option<&Value>, out: &mut Vec<LineProblem>) {
    let Some(auth) = auth.filter(|a| !a.is_null()) else { return };
    let kind = auth.get("type").and_then(Value::as_str).unwrap_or("sas");
    match kind {
        "sas" => {
            for which in ["primaryKey", "secondaryKey"] {
                if let Some(key) = auth.get("symmetricKey").and_then(|k| k.get(which)).and_then(Value::as_str) {
                    if let Some(why) = key_problem(key) {
                        let field = format!("authentication.symmetricKey.{which}");
                        out.push(problem(n, "bulk.line.badKey", Some(&field), format!("{which} {why}")));
                    }
                }
            }
        }
        "selfSigned" => {
            for which in ["primaryThumbprint", "secondaryThumbprint"] {
                if let Some(t) = auth.get("x509Thumbprint").and_then(|k| k.get(which)).and_then(Value::as_str) {
                    if let Some(why) = thumbprint_problem(t) {
                        let field = format!("authentication.x509Thumbprint.{which}");
                        out.push(problem(n, "bulk.line.badThumbprint", Some(&field), format!("{which} {why}")));
                    }
                }
            }
        }
        "certificateAuthority" | "none" => {}
        other => out.push(problem(
            n,
            "bulk.line.badKey",
            Some("authentication.type"),
            format!("authentication type '{other}' is not sas, selfSigned, certificateAuthority or none"),
        )),
    }
}

/// Checks every line of `reader`; every problem, each with its line, or what the file holds.
pub fn validate(reader: impl BufRead, default_mode: ImportMode) -> Result<FileSummary, Vec<LineProblem>> {
    let mut problems = Vec::new();
    let mut first_seen: HashMap<String, u32> = HashMap::new();
    let mut by_mode: HashMap<ImportMode, u32> = HashMap::new();
    let mut lines = 0;
    for (index, text) in reader.lines().enumerate() {
        let n = index as u32 + 1;
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(n, "bulk.line.json", None, format!("cannot be read as UTF-8 text: {e}")));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        lines += 1;
        let parsed: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(problem(n, "bulk.line.json", None, format!("is not valid JSON: {e}")));
                continue;
            }
        };
        if let Some((id, mode)) = check_line(n, &parsed, default_mode, &mut problems) {
            *by_mode.entry(mode).or_default() += 1;
            if let Some(first) = first_seen.get(&id) {
                problems.push(problem(
                    n,
                    "bulk.line.duplicateId",
                    Some("id"),
                    format!("the device '{id}' is on line {first} already; a job takes each device once"),
                ));
            } else {
                first_seen.insert(id, n);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let by_mode = ImportMode::ALL.into_iter().filter_map(|m| by_mode.get(&m).map(|c| (m, *c))).collect();
    Ok(FileSummary { lines, by_mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn problems(text: &str) -> Vec<(u32, String, Option<String>)> {
        validate(text.as_bytes(), ImportMode::CreateOrUpdate).unwrap_err().into_iter().map(|p| (p.line, p.code, p.field)).collect()
    }

    #[test]
    fn a_valid_file_is_counted_by_mode_per_line_and_by_default() {
        let text = format!(
            "{{\"id\":\"a\",\"importMode\":\"create\",\"authentication\":{{\"type\":\"sas\",\"symmetricKey\":{{\"primaryKey\":\"{KEY}\",\"secondaryKey\":\"{KEY}\"}}}}}}\n\n{{\"id\":\"b\"}}\n{{\"id\":\"c\",\"importMode\":\"DELETE\"}}\n"
        );
        let summary = validate(text.as_bytes(), ImportMode::CreateOrUpdate).unwrap();
        assert_eq!(summary.lines, 3);
        assert_eq!(summary.by_mode, vec![(ImportMode::Create, 1), (ImportMode::CreateOrUpdate, 1), (ImportMode::Delete, 1)]);
    }

    #[test]
    fn each_mistake_is_named_with_its_line_and_field() {
        let text = [
            r#"{"id": "broken", "importMode": "#,
            r#"{"id": "m", "importMode": "merge"}"#,
            r#"{"importMode": "create"}"#,
            r#"{"id": "bad/id"}"#,
            r#"{"id": "k", "authentication": {"type": "sas", "symmetricKey": {"primaryKey": "c2hvcnQ=", "secondaryKey": null}}}"#,
            r#"{"id": "e", "importMode": "updateIfMatchETag"}"#,
            r#"{"id": "k"}"#,
            r#"{"id": "t", "authentication": {"type": "selfSigned", "x509Thumbprint": {"primaryThumbprint": "abc"}}}"#,
            r#"{"id": "s", "status": "on"}"#,
        ]
        .join("\n");
        assert_eq!(
            problems(&text),
            vec![
                (1, "bulk.line.json".into(), None),
                (2, "bulk.line.unknownMode".into(), Some("importMode".into())),
                (3, "bulk.line.missingField".into(), Some("id".into())),
                (4, "bulk.line.badId".into(), Some("id".into())),
                (5, "bulk.line.badKey".into(), Some("authentication.symmetricKey.primaryKey".into())),
                (6, "bulk.line.missingField".into(), Some("eTag".into())),
                (7, "bulk.line.duplicateId".into(), Some("id".into())),
                (8, "bulk.line.badThumbprint".into(), Some("authentication.x509Thumbprint.primaryThumbprint".into())),
                (9, "bulk.line.badStatus".into(), Some("status".into())),
            ]
        );
    }

    #[test]
    fn a_twin_past_the_hubs_limits_is_refused_before_upload() {
        let big = "x".repeat(TAGS_LIMIT);
        let text = format!("{{\"id\":\"big\",\"tags\":{{\"note\":\"{big}\"}}}}");
        assert_eq!(problems(&text), vec![(1, "bulk.line.twinTooLarge".into(), Some("tags".into()))]);
        // A delete carries no twin, whatever the line holds besides.
        assert!(validate(format!("{{\"id\":\"big\",\"importMode\":\"delete\",\"tags\":{{\"note\":\"{big}\"}}}}").as_bytes(), ImportMode::Create).is_ok());
    }

    #[test]
    fn device_id_rules_are_the_hubs() {
        assert_eq!(id_problem("thermostat-01.a+b%_#*?!(),:=@$'"), None);
        assert!(id_problem(&"a".repeat(129)).unwrap().contains("128"));
        assert!(id_problem("héllo").unwrap().contains('é'.escape_default().to_string().as_str()));
        assert!(id_problem("").is_some());
    }
}
