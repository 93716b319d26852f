//! `importErrors.log`, the file an import job writes beside its input: one JSON object per line
//! (`{"deviceId", "errorCode", "errorStatus"}`). Each is put beside the input line it refers to
//! (by device ID, or by the line's text when the service could not read an ID from it) and its
//! code said in words.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportError {
    /// The input line it refers to (1-based), when one could be found.
    pub line: Option<u32>,
    pub device_id: Option<String>,
    pub error_code: Option<u32>,
    /// The code in words.
    pub meaning: String,
    /// What the service said.
    pub status: String,
}

/// IoT Hub's error codes as import jobs log them, in an admin's words.
pub fn meaning(code: u32) -> &'static str {
    match code {
        400004 => "a field of the line has a value the hub does not take",
        400012 => "the line is not a device the hub can read (JSON, fields or mode)",
        400027 => "the device's keys or thumbprints are not valid",
        403002 => "the hub holds as many devices as its tier allows",
        404001 => "no device with this ID is registered",
        409001 => "a device with this ID is registered already",
        412001 => "the ETag does not match: the device or twin changed since the file was made",
        429001 => "the hub throttled the job",
        500001 => "the hub failed on this device (an internal error)",
        _ => "the hub refused this device",
    }
}

/// The input's device IDs and lines, read once: ID → first line, and the text of lines whose ID
/// cannot be read (for errors that quote the line).
#[derive(Debug, Default)]
pub struct InputIndex {
    by_id: HashMap<String, u32>,
    by_text: HashMap<String, u32>,
}

impl InputIndex {
    pub fn read(reader: impl BufRead) -> std::io::Result<InputIndex> {
        let mut index = InputIndex::default();
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            let n = i as u32 + 1;
            match serde_json::from_str::<Value>(&line).ok().and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string)) {
                Some(id) => {
                    index.by_id.entry(id).or_insert(n);
                }
                None if !line.trim().is_empty() => {
                    index.by_text.entry(line.trim().to_string()).or_insert(n);
                }
                None => {}
            }
        }
        Ok(index)
    }

    fn line_of(&self, device_id: Option<&str>, status: &str) -> Option<u32> {
        if let Some(line) = device_id.and_then(|id| self.by_id.get(id)) {
            return Some(*line);
        }
        // "Invalid device format in line: <the line>. <why>": the quoted line names it.
        let quoted = status.strip_prefix("Invalid device format in line: ")?;
        self.by_text.iter().find(|(text, _)| quoted.starts_with(text.as_str())).map(|(_, n)| *n)
    }
}

/// Every error of the log, each beside its input line (sorted by line; those without one last).
pub fn read_log(log: impl BufRead, input: &InputIndex) -> std::io::Result<Vec<ImportError>> {
    let mut errors = Vec::new();
    for line in log.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Value = serde_json::from_str(&line).unwrap_or_else(|_| Value::String(line.clone()));
        let device_id = entry.get("deviceId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let error_code = entry.get("errorCode").and_then(Value::as_u64).map(|c| c as u32);
        let status = entry.get("errorStatus").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| line.clone());
        errors.push(ImportError {
            line: input.line_of(device_id.as_deref(), &status),
            meaning: error_code.map_or("the hub refused this line", meaning).to_string(),
            device_id,
            error_code,
            // A 400012 quotes the whole line, keys and all: kept (journal, report, window) without them.
            status: iotm_azure::redact::scrub(&status),
        });
    }
    errors.sort_by_key(|e| e.line.unwrap_or(u32::MAX));
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_is_put_beside_the_line_it_refers_to_with_its_code_in_words() {
        let input = "{\"id\":\"ok\"}\n{\"id\":\"dup\",\"importMode\":\"create\"}\n{\"id\": \"broken\", \"importMode\": \n";
        let index = InputIndex::read(input.as_bytes()).unwrap();
        let log = concat!(
            "{\"deviceId\":\"\",\"errorCode\":400012,\"errorStatus\":\"Invalid device format in line: {\\\"id\\\": \\\"broken\\\", \\\"importMode\\\": . Unexpected end\"}\n",
            "{\"deviceId\":\"dup\",\"errorCode\":409001,\"errorStatus\":\"A device with ID 'dup' is already registered.\"}\n",
            "{\"deviceId\":\"ghost\",\"errorCode\":404001,\"errorStatus\":\"not found\"}\n",
        );
        let errors = read_log(log.as_bytes(), &index).unwrap();
        let seen: Vec<(Option<u32>, Option<&str>, &str)> = errors.iter().map(|e| (e.line, e.device_id.as_deref(), e.meaning.as_str())).collect();
        assert_eq!(
            seen,
            vec![
                (Some(2), Some("dup"), "a device with this ID is registered already"),
                (Some(3), None, "the line is not a device the hub can read (JSON, fields or mode)"),
                (None, Some("ghost"), "no device with this ID is registered"),
            ]
        );
    }

    #[test]
    fn a_line_quoted_by_the_hub_is_kept_without_its_keys() {
        let line = "{\"id\":5,\"authentication\":{\"symmetricKey\":{\"primaryKey\":\"cHJpbWFyeWtleVZhbHVlMQ==\"}},\"tags\":[1]}";
        let index = InputIndex::read(format!("{line}\n").as_bytes()).unwrap();
        let log = serde_json::json!({"errorCode": 400012, "errorStatus": format!("Invalid device format in line: {line}. tags must be an object")});
        let errors = read_log(format!("{log}\n").as_bytes(), &index).unwrap();
        assert_eq!(errors[0].line, Some(1), "found by the line's text before the key is taken out");
        assert!(!errors[0].status.contains("cHJpbWFyeWtleVZhbHVlMQ") && errors[0].status.contains("[REDACTED]"), "{}", errors[0].status);
    }
}
