//! The diagnostics bundle a user attaches to a support request: the logs, the settings and the
//! versions, zipped — with every secret redacted again on the way in, whatever the source.

use crate::error::{Error, Result};
use crate::redact::redact;
use crate::settings::Settings;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// What the bundle says about the machine and the build.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    pub app: String,
    pub tauri: String,
    pub webview: String,
    pub os: String,
    pub arch: String,
}

/// What "Save diagnostics bundle" tells the user.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BundleSaved {
    pub path: String,
    pub files: Vec<String>,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// Writes `<target_dir>/iot-migrator-diagnostics-<timestamp>.zip`. The zip is written under a
/// temporary name and renamed when complete, so a failure never leaves half a bundle behind.
pub fn save_bundle(target_dir: &Path, log_dir: &Path, settings: &Settings, versions: &Versions) -> Result<BundleSaved> {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let path = target_dir.join(format!("iot-migrator-diagnostics-{stamp}.zip"));
    let partial = path.with_extension("zip.partial");
    let fail = |message: String| Error::DiagnosticsBundle { path: path.clone(), message };

    std::fs::create_dir_all(target_dir).map_err(Error::io("create", target_dir))?;
    let mut files = Vec::new();
    let result = (|| -> std::result::Result<(), String> {
        let file = std::fs::File::create(&partial).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut add = |name: String, text: &str| -> std::result::Result<(), String> {
            zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
            zip.write_all(redact(text).as_bytes()).map_err(|e| e.to_string())?;
            files.push(name);
            Ok(())
        };
        add("settings.json".into(), &serde_json::to_string_pretty(settings).expect("settings serialise"))?;
        add("versions.json".into(), &serde_json::to_string_pretty(versions).expect("versions serialise"))?;
        for log in crate::logging::log_files(log_dir) {
            let bytes = std::fs::read(&log).map_err(|e| format!("{}: {e}", log.display()))?;
            let name = format!("logs/{}", log.file_name().unwrap_or_default().to_string_lossy());
            add(name, &String::from_utf8_lossy(&bytes))?;
        }
        zip.finish().map_err(|e| e.to_string())?;
        Ok(())
    })();
    if let Err(message) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(message));
    }
    std::fs::rename(&partial, &path).map_err(|e| fail(e.to_string()))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(BundleSaved { path: path.display().to_string(), files, bytes })
}

/// Where bundles go when the OS has no Downloads folder.
pub fn fallback_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("diagnostics")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn versions() -> Versions {
        Versions { app: "0.1.0".into(), tauri: "2".into(), webview: "x".into(), os: "linux".into(), arch: "x86_64".into() }
    }

    #[test]
    fn the_bundle_holds_logs_settings_and_versions_with_secrets_redacted() {
        let logs = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::write(logs.path().join("iot-migrator.2026-11-23.log"), "INFO hub HostName=h;SharedAccessKey=LEAKED1=\n").unwrap();
        std::fs::write(logs.path().join("unrelated.txt"), "not ours").unwrap();
        let settings = Settings { tenant: "contoso.onmicrosoft.com".into(), ..Settings::default() };

        let saved = save_bundle(out.path(), logs.path(), &settings, &versions()).unwrap();
        assert_eq!(saved.files, ["settings.json", "versions.json", "logs/iot-migrator.2026-11-23.log"]);

        let mut zip = zip::ZipArchive::new(std::fs::File::open(&saved.path).unwrap()).unwrap();
        let mut all = String::new();
        for i in 0..zip.len() {
            zip.by_index(i).unwrap().read_to_string(&mut all).unwrap();
        }
        assert!(!all.contains("LEAKED1"), "{all}");
        assert!(all.contains("contoso.onmicrosoft.com") && all.contains("x86_64"));
        assert!(std::fs::read_dir(out.path()).unwrap().all(|e| !e.unwrap().path().to_string_lossy().ends_with(".partial")));
    }

    #[test]
    fn an_unwritable_target_fails_with_a_code_and_leaves_nothing() {
        let logs = tempfile::tempdir().unwrap();
        let blocker = tempfile::NamedTempFile::new().unwrap();
        // A file where the target folder should be.
        let err = save_bundle(blocker.path(), logs.path(), &Settings::default(), &versions()).unwrap_err();
        assert_eq!(err.code(), "io.failed");
    }
}
