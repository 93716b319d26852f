//! What the window shows of a bulk run's local files, read on this machine: a devices.txt checked
//! before anything is uploaded (each problem beside the text of its line), the input lines an
//! import's errors refer to, and an export's devices as table rows. Keys never reach the window:
//! a line's text is shown with its keys redacted, and a row carries no key at all.

use super::engine::file_error;
use super::error::BulkError;
use super::modes::ImportMode;
use super::plan::{Operation, Plan};
use super::validate::{validate, FileSummary, LineProblem};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use ts_rs::TS;

/// The most problems one check lists (a file of a million bad lines says how many more there are).
pub const MOST_PROBLEMS: usize = 1000;
/// The most characters of a line shown beside its problem (a twin can be 40 KB).
pub const LONGEST_LINE: usize = 400;
/// The most devices an export's table holds (the file itself holds every one).
pub const MOST_ROWS: usize = 200_000;

/// One line of the person's file, as shown: keys redacted, cut to `LONGEST_LINE` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "BulkInputLine")]
#[serde(rename_all = "camelCase")]
pub struct InputLine {
    pub line: u32,
    pub text: String,
}

/// A devices.txt as checked before upload: what it holds when it is valid, else its problems
/// (the first `MOST_PROBLEMS`), each line's text beside them.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkFileCheck")]
#[serde(rename_all = "camelCase")]
pub struct FileCheck {
    pub summary: Option<FileSummary>,
    pub problems: Vec<LineProblem>,
    /// Problems found beyond those listed.
    pub more_problems: u32,
    /// The text of each line a listed problem is on.
    pub lines: Vec<InputLine>,
}

/// One exported device as the table shows it: no keys, the twin's parts as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "BulkDeviceRow")]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    pub id: String,
    pub status: String,
    /// `sas`, `selfSigned`, `certificateAuthority` or `none`.
    pub auth_type: String,
    pub edge: bool,
    /// The twin's tags (`{}` when none).
    pub tags: String,
    /// The desired properties, without the service's `$metadata` and `$version`.
    pub desired: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "BulkExportedDevices")]
#[serde(rename_all = "camelCase")]
pub struct ExportedDevices {
    pub file: String,
    pub rows: Vec<DeviceRow>,
    /// Devices in the file beyond the rows (past `MOST_ROWS`).
    pub more: u32,
}

/// A line as it may be shown: its keys redacted, at most `LONGEST_LINE` characters.
fn shown(text: &str) -> String {
    let clean = iotm_azure::redact::scrub(text.trim_end());
    match clean.char_indices().nth(LONGEST_LINE) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, BulkError> {
    Ok(BufReader::new(std::fs::File::open(path).map_err(|e| file_error(path, e))?))
}

/// Checks the file as the run will (the same rules, the same default mode), with nothing uploaded.
pub fn check_file(path: &Path, default_mode: ImportMode) -> Result<FileCheck, BulkError> {
    match validate(open(path)?, default_mode) {
        Ok(summary) => Ok(FileCheck { summary: Some(summary), problems: vec![], more_problems: 0, lines: vec![] }),
        Err(mut problems) => {
            let more_problems = problems.len().saturating_sub(MOST_PROBLEMS) as u32;
            problems.truncate(MOST_PROBLEMS);
            let wanted: BTreeSet<u32> = problems.iter().map(|p| p.line).collect();
            let lines = input_lines(path, &wanted)?;
            Ok(FileCheck { summary: None, problems, more_problems, lines })
        }
    }
}

/// The text of the `wanted` lines of `path` (1-based), as they may be shown.
pub fn input_lines(path: &Path, wanted: &BTreeSet<u32>) -> Result<Vec<InputLine>, BulkError> {
    let Some(&last) = wanted.last() else { return Ok(vec![]) };
    let mut found = Vec::with_capacity(wanted.len());
    // Bytes, not str: a line that is not UTF-8 (itself a problem) is still shown.
    for (i, line) in open(path)?.split(b'\n').enumerate() {
        let n = i as u32 + 1;
        if n > last {
            break;
        }
        let line = line.map_err(|e| file_error(path, e))?;
        if wanted.contains(&n) {
            found.push(InputLine { line: n, text: shown(&String::from_utf8_lossy(&line)) });
        }
    }
    Ok(found)
}

/// The file a plan imports, when the person has it (an import's own file, Generate's keys file);
/// the other operations import a work file that is gone once the run ends.
pub fn imported_file(plan: &Plan) -> Option<&str> {
    match &plan.operation {
        Operation::Import { file, .. } => Some(file),
        Operation::Generate { keys_file, .. } => Some(keys_file),
        _ => None,
    }
}

fn compact(value: Option<&Value>) -> String {
    match value {
        Some(Value::Object(map)) => {
            let kept: serde_json::Map<String, Value> = map.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), v.clone())).collect();
            Value::Object(kept).to_string()
        }
        _ => "{}".into(),
    }
}

/// One exported line as a row (None: not a device line).
pub fn device_row(line: &Value) -> Option<DeviceRow> {
    let id = line.get("id")?.as_str()?.to_string();
    let text = |pointer: &str, default: &str| line.pointer(pointer).and_then(Value::as_str).unwrap_or(default).to_string();
    Some(DeviceRow {
        id,
        status: text("/status", "enabled"),
        auth_type: text("/authentication/type", "sas"),
        edge: line.pointer("/capabilities/iotEdge").and_then(Value::as_bool).unwrap_or(false),
        tags: compact(line.get("tags")),
        desired: compact(line.pointer("/properties/desired")),
    })
}

/// The devices of an exported devices.txt, in the file's order (the first `MOST_ROWS`).
pub fn exported_devices(path: &Path) -> Result<ExportedDevices, BulkError> {
    let (mut rows, mut more) = (Vec::new(), 0u32);
    for line in open(path)?.lines() {
        let line = line.map_err(|e| file_error(path, e))?;
        let Some(row) = serde_json::from_str::<Value>(&line).ok().as_ref().and_then(device_row) else { continue };
        if rows.len() < MOST_ROWS {
            rows.push(row);
        } else {
            more += 1;
        }
    }
    Ok(ExportedDevices { file: path.display().to_string(), rows, more })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("iotm-bulk-view-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("devices.txt");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn each_problem_comes_with_its_lines_text_and_no_key_is_shown() {
        let text = format!(
            "{{\"id\":\"ok\",\"authentication\":{{\"type\":\"sas\",\"symmetricKey\":{{\"primaryKey\":\"{KEY}\",\"secondaryKey\":\"{KEY}\"}}}}}}\n{{\"id\": \"broken\"\n{{\"id\":\"ok\",\"authentication\":{{\"type\":\"sas\",\"symmetricKey\":{{\"primaryKey\":\"c2hvcnQ=\"}}}}}}\n"
        );
        let check = check_file(&file("problems", &text), ImportMode::CreateOrUpdate).unwrap();
        assert!(check.summary.is_none());
        let seen: Vec<(u32, &str)> = check.problems.iter().map(|p| (p.line, p.code.as_str())).collect();
        assert_eq!(seen, [(2, "bulk.line.json"), (3, "bulk.line.badKey"), (3, "bulk.line.duplicateId")]);
        assert_eq!(check.lines.iter().map(|l| l.line).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(check.lines[0].text, "{\"id\": \"broken\"");
        assert!(check.lines[1].text.contains("[REDACTED]") && !check.lines[1].text.contains("c2hvcnQ"), "{}", check.lines[1].text);
        let all: BTreeSet<u32> = [1, 2, 3].into();
        assert!(input_lines(&file("problems", &text), &all).unwrap().iter().all(|l| !l.text.contains(KEY)));
    }

    #[test]
    fn a_valid_file_is_summed_up_and_a_long_line_is_cut() {
        let check = check_file(&file("valid", "{\"id\":\"a\"}\n{\"id\":\"b\",\"importMode\":\"delete\"}\n"), ImportMode::Create).unwrap();
        assert_eq!(check.summary.unwrap().lines, 2);
        assert!(check.problems.is_empty() && check.lines.is_empty());
        let long = format!("{{\"id\":\"{}\"}}", "x".repeat(1000));
        let lines = input_lines(&file("long", &long), &[1].into()).unwrap();
        assert_eq!(lines[0].text.chars().count(), LONGEST_LINE + 1);
        assert!(lines[0].text.ends_with('…'));
    }

    #[test]
    fn an_exported_device_becomes_a_row_without_its_keys() {
        let line = format!(
            "{{\"id\":\"gw\",\"eTag\":\"e\",\"status\":\"disabled\",\"authentication\":{{\"symmetricKey\":{{\"primaryKey\":\"{KEY}\"}},\"type\":\"sas\"}},\"tags\":{{\"site\":\"a\"}},\"properties\":{{\"desired\":{{\"fan\":2,\"$metadata\":{{}},\"$version\":3}},\"reported\":{{}}}},\"capabilities\":{{\"iotEdge\":true}}}}\nnot json\n{{\"id\":\"x509\",\"authentication\":{{\"type\":\"selfSigned\"}},\"tags\":null}}\n"
        );
        let exported = exported_devices(&file("export", &line)).unwrap();
        assert_eq!(
            exported.rows[0],
            DeviceRow {
                id: "gw".into(),
                status: "disabled".into(),
                auth_type: "sas".into(),
                edge: true,
                tags: "{\"site\":\"a\"}".into(),
                desired: "{\"fan\":2}".into()
            }
        );
        assert_eq!((exported.rows[1].id.as_str(), exported.rows[1].auth_type.as_str(), exported.rows[1].tags.as_str()), ("x509", "selfSigned", "{}"));
        assert_eq!((exported.rows.len(), exported.more), (2, 0));
        assert!(!serde_json::to_string(&exported).unwrap().contains(KEY));
    }
}
