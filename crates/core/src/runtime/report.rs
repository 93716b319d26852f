//! Reports written out the same way for every wizard: CSV (one row per item, quoted where CSV
//! needs it) or JSON, into a folder, named after the migration. Nothing secret is in the journal,
//! so nothing secret can reach a report.

use super::error::RunError;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum ReportFormat {
    Csv,
    Json,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 2] = [ReportFormat::Csv, ReportFormat::Json];

    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }
}

/// A field as CSV holds it: quoted where CSV needs it, and never a formula. A spreadsheet runs a
/// cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, and a device ID,
/// a reason or Azure's message can start so (`-dev`, `=HYPERLINK(…)` put in a device's name by
/// whoever can create devices); such a field gets a leading apostrophe, OWASP's advice, so it shows
/// as text. The JSON export keeps every value exactly.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A CSV text: the header, then a line per row.
pub fn csv<'r>(header: &[&str], rows: impl IntoIterator<Item = Vec<&'r str>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// The report's file name when no one chose another: `iot-migrator-<id>.<ext>`.
pub fn file_name(id: &str, format: ReportFormat) -> String {
    format!("iot-migrator-{id}.{}", format.extension())
}

/// Writes `text` as `iot-migrator-<id>.<ext>` into `dir` (made if missing); answers the path.
pub fn write(dir: &Path, id: &str, format: ReportFormat, text: &str) -> Result<PathBuf, RunError> {
    let path = dir.join(file_name(id, format));
    std::fs::create_dir_all(dir).map_err(|e| RunError::FileNotWritten { path: path.display().to_string(), detail: e.to_string() })?;
    write_file(&path, text)
}

/// Writes `text` to `path`, a file the person chose (its folder exists: a save dialog picked it).
pub fn write_file(path: &Path, text: &str) -> Result<PathBuf, RunError> {
    std::fs::write(path, text).map_err(|e| RunError::FileNotWritten { path: path.display().to_string(), detail: e.to_string() })?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks_only() {
        let text = csv(&["a", "b"], [vec!["plain", "with,comma"], vec!["say \"hi\"", "two\nlines"]]);
        assert_eq!(text, "a,b\nplain,\"with,comma\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n");
    }

    #[test]
    fn a_field_a_spreadsheet_would_run_as_a_formula_is_kept_as_text() {
        let text = csv(&["deviceId", "reason"], [vec!["=HYPERLINK(\"http://x\",\"y\")", "+1"], vec!["-dev", "@SUM(A1)"], vec!["\tx", "ok=1"]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1");
        assert_eq!(lines[2], "'-dev,'@SUM(A1)");
        assert_eq!(lines[3], "'\tx,ok=1");
    }

    #[test]
    fn a_report_that_cannot_be_written_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        let err = write(&blocked, "m1", ReportFormat::Csv, "x").unwrap_err();
        assert_eq!(err.code(), "migration.fileNotWritten");
        assert!(err.to_string().contains("iot-migrator-m1.csv"), "{err}");
    }
}
