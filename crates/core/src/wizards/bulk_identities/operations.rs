//! The bulk operations built on import: each writes the devices.txt it imports. Generate writes
//! new devices with keys minted here into the person's chosen keys file (and imports that file);
//! delete lists the devices a hub query finds; enable / disable and regenerate-keys export the
//! registry first (an `update` line replaces the whole identity, so each line carries the
//! device's own keys and ETag) and change only what they are for, guarded by the device's ETag.
//! Files holding keys are the person's (keys file) or removed when the run ends (work files), 0600.

use super::engine::{device_ids, file_error, Engine};
use super::error::BulkError;
use super::modes::ImportMode;
use super::plan::{Operation, Plan};
use super::storage::JobContainer;
use iotm_azure::hub::HubClient;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// A 256-bit key, base64, as the hub mints them.
pub fn new_key() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file only its owner reads (it may hold keys).
pub fn create_private(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, BulkError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok(std::io::BufWriter::new(options.open(path).map_err(|e| file_error(path, e))?))
}

/// The device IDs a hub query finds.
pub async fn query_ids(hub: &HubClient, query: &str) -> Result<Vec<String>, BulkError> {
    let twins = hub.query(query, 1000)?.all().await?;
    Ok(twins.iter().filter_map(|t| t.get("deviceId").and_then(Value::as_str).map(str::to_string)).collect())
}

/// The lines Generate writes: `<prefix>-0000001`… with keys minted here.
pub fn generated_lines(prefix: &str, count: u32) -> impl Iterator<Item = Value> + '_ {
    (1..=count).map(move |i| {
        json!({"id": format!("{prefix}-{i:07}"), "importMode": "create", "status": "enabled",
               "authentication": {"type": "sas", "symmetricKey": {"primaryKey": new_key(), "secondaryKey": new_key()}}})
    })
}

/// An exported line turned into the update an operation makes (None: the line is left alone).
pub fn changed_line(exported: &Value, operation: &Operation) -> Option<Value> {
    let mut line = json!({
        "id": exported.get("id")?,
        "importMode": "updateIfMatchETag",
        "eTag": exported.get("eTag")?,
        "status": exported.get("status").cloned().unwrap_or(json!("enabled")),
        "authentication": exported.get("authentication").cloned().unwrap_or(Value::Null),
    });
    match operation {
        Operation::SetStatus { enabled, .. } => line["status"] = json!(if *enabled { "enabled" } else { "disabled" }),
        Operation::RegenerateKeys { .. } => {
            // Only devices with keys get new ones; X.509 devices are left alone.
            if line["authentication"]["type"] != "sas" {
                return None;
            }
            line["authentication"]["symmetricKey"] = json!({"primaryKey": new_key(), "secondaryKey": new_key()});
        }
        _ => return None,
    }
    if let Some(scope) = exported.get("deviceScope") {
        line["deviceScope"] = scope.clone();
    }
    Some(line)
}

/// Writes the devices.txt `operation` imports; answers its path.
pub async fn prepare(engine: &Engine<'_>, hub: &HubClient, plan: &Plan, container: &JobContainer, operation: &Operation) -> Result<PathBuf, BulkError> {
    let ctx = engine.ctx();
    let work = std::env::temp_dir().join(format!("iotm-bulk-{}", ctx.id()));
    let target = match operation {
        Operation::Generate { keys_file, .. } => PathBuf::from(keys_file),
        _ => work.join("devices.txt"),
    };
    let intent = json!({"operation": operation.name(), "file": target.display().to_string()});
    let path = target.clone();
    ctx.step("prepare", "Write the devices.txt to import", intent, |_| async move {
        let count = match operation {
            Operation::Generate { prefix, count, .. } => write_lines(&path, generated_lines(prefix, *count))?,
            Operation::Delete { query } => {
                let ids = query_ids(hub, query).await?;
                if ids.is_empty() {
                    return Err(BulkError::NothingMatches { query: query.clone() });
                }
                write_lines(&path, ids.iter().map(|id| json!({"id": id, "importMode": "delete"})))?
            }
            Operation::SetStatus { query, .. } | Operation::RegenerateKeys { query, .. } => {
                let wanted: HashSet<String> = query_ids(hub, query).await?.into_iter().collect();
                if wanted.is_empty() {
                    return Err(BulkError::NothingMatches { query: query.clone() });
                }
                let blob = engine.export(hub, plan, container, false).await?;
                let exported = work.join("exported.txt");
                engine.download(container, &blob, &exported).await?;
                let lines = read_lines(&exported)?.into_iter().filter(|l| l.get("id").and_then(Value::as_str).is_some_and(|id| wanted.contains(id)));
                let count = write_lines(&path, lines.filter_map(|l| changed_line(&l, operation)))?;
                let _ = std::fs::remove_file(&exported);
                if let Operation::RegenerateKeys { keys_file, .. } = operation {
                    // The new keys go to the person's file only; the work file is removed after the import.
                    write_lines(Path::new(keys_file), read_lines(&path)?.into_iter())?;
                }
                count
            }
            Operation::Export { .. } | Operation::Import { .. } => 0,
        };
        Ok(json!({"devices": count}))
    })
    .await?;
    let _ = device_ids(&target)?;
    Ok(target)
}

/// The service imports a line without `importMode` as `create`: when the plan says otherwise, a
/// work copy carries the plan's mode on those lines (line for line, so errors still point at the
/// person's own lines). Answers the file to upload.
pub async fn with_default_mode(engine: &Engine<'_>, file: &Path, mode: ImportMode) -> Result<PathBuf, BulkError> {
    let reader = BufReader::new(std::fs::File::open(file).map_err(|e| file_error(file, e))?);
    let mut lines = Vec::new();
    let mut changed = false;
    for line in reader.lines() {
        let line = line.map_err(|e| file_error(file, e))?;
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(mut obj)) if mode != ImportMode::Create && obj.get("importMode").is_none_or(Value::is_null) => {
                obj.insert("importMode".into(), json!(mode.as_str()));
                changed = true;
                lines.push(Value::Object(obj).to_string());
            }
            _ => lines.push(line),
        }
    }
    if !changed {
        return Ok(file.to_path_buf());
    }
    let ctx = engine.ctx();
    let copy = std::env::temp_dir().join(format!("iotm-bulk-{}", ctx.id())).join("devices.txt");
    let intent = json!({"file": file.display().to_string(), "defaultMode": mode.as_str()});
    let path = copy.clone();
    ctx.step("defaultMode", "Write the default import mode on lines without one", intent, |_| async move {
        let mut out = create_private(&path)?;
        for line in &lines {
            writeln!(out, "{line}").map_err(|e| file_error(&path, e))?;
        }
        out.flush().map_err(|e| file_error(&path, e))?;
        Ok::<_, BulkError>(json!({"lines": lines.len()}))
    })
    .await?;
    Ok(copy)
}

fn write_lines(path: &Path, lines: impl Iterator<Item = Value>) -> Result<usize, BulkError> {
    let mut out = create_private(path)?;
    let mut count = 0;
    for line in lines {
        writeln!(out, "{line}").map_err(|e| file_error(path, e))?;
        count += 1;
    }
    out.flush().map_err(|e| file_error(path, e))?;
    Ok(count)
}

fn read_lines(path: &Path) -> Result<Vec<Value>, BulkError> {
    let reader = BufReader::new(std::fs::File::open(path).map_err(|e| file_error(path, e))?);
    let mut lines = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| file_error(path, e))?;
        if let Ok(value) = serde_json::from_str(&line) {
            lines.push(value);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_line_keeps_the_devices_keys_and_etag_and_changes_only_its_purpose() {
        let exported = json!({"id": "d1", "eTag": "MTIz", "status": "enabled", "authentication": {"type": "sas", "symmetricKey": {"primaryKey": "a", "secondaryKey": "b"}}, "tags": {"x": 1}});
        let disable = changed_line(&exported, &Operation::SetStatus { query: "q".into(), enabled: false }).unwrap();
        assert_eq!(disable["status"], "disabled");
        assert_eq!(disable["importMode"], "updateIfMatchETag");
        assert_eq!(disable["eTag"], "MTIz");
        assert_eq!(disable["authentication"]["symmetricKey"]["primaryKey"], "a");
        assert!(disable.get("tags").is_none(), "the twin is not touched");
        let rekeyed = changed_line(&exported, &Operation::RegenerateKeys { query: "q".into(), keys_file: "k".into() }).unwrap();
        assert_ne!(rekeyed["authentication"]["symmetricKey"]["primaryKey"], "a");
        assert_eq!(rekeyed["status"], "enabled");
        let x509 = json!({"id": "d2", "eTag": "e", "authentication": {"type": "selfSigned"}});
        assert!(changed_line(&x509, &Operation::RegenerateKeys { query: "q".into(), keys_file: "k".into() }).is_none());
    }

    #[test]
    fn generated_devices_are_numbered_and_each_gets_keys_of_its_own() {
        let lines: Vec<Value> = generated_lines("lab", 3).collect();
        assert_eq!(lines.iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(), ["lab-0000001", "lab-0000002", "lab-0000003"]);
        assert_ne!(lines[0]["authentication"]["symmetricKey"]["primaryKey"], lines[1]["authentication"]["symmetricKey"]["primaryKey"]);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        assert!(super::super::validate::validate(text.as_bytes(), super::super::modes::ImportMode::Create).is_ok());
    }
}
