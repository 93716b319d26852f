//! Writes a state file one device at a time, in either variant (see `reader`). The JSON variant is
//! laid out as the CLI's `json.dump(indent=4, sort_keys=True)` lays it out, so the files diff
//! cleanly; it opens with this app's format version, which the CLI's importer ignores.
//!
//! Nothing half-written is ever left under the file's name: the text goes to `<file>.partial`
//! and is renamed when complete. A killed export resumes from a `WriteMark` (the partial file is
//! cut back to the mark and continued).

use super::model::{ConfigurationsState, DeviceState, FORMAT_VERSION, VERSION_KEY};
use super::reader::{Variant, END_KEY};
use super::StateFileError;
use serde::{Deserialize, Serialize};
use serde_json::ser::PrettyFormatter;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where a writer is, kept in the journal's checkpoint to resume an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteMark {
    pub offset: u64,
    pub devices: u64,
    /// The JSON variant's `devices` object is open.
    pub in_devices: bool,
}

pub struct StateWriter {
    variant: Variant,
    file: BufWriter<File>,
    partial: PathBuf,
    target: PathBuf,
    mark: WriteMark,
}

/// The name the text is written under until it is complete.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl StateWriter {
    /// A new file (its `.partial` until `finish`), the version written first.
    pub fn create(target: &Path, variant: Variant) -> Result<StateWriter, StateFileError> {
        let partial = partial_path(target);
        let file = File::create(&partial).map_err(|e| StateFileError::io(&partial, e))?;
        let mut writer =
            StateWriter { variant, file: BufWriter::with_capacity(1 << 16, file), partial, target: target.to_path_buf(), mark: WriteMark::default() };
        match variant {
            Variant::Json => writer.put(&format!("{{\n    \"{VERSION_KEY}\": {FORMAT_VERSION}"))?,
            Variant::Lines => writer.put(&format!("{{\"{VERSION_KEY}\":{FORMAT_VERSION}}}\n"))?,
        }
        Ok(writer)
    }

    /// Continues a partial file from `mark` (what was written after it is cut off).
    pub fn resume(target: &Path, variant: Variant, mark: WriteMark) -> Result<StateWriter, StateFileError> {
        let partial = partial_path(target);
        let mut file = OpenOptions::new().write(true).open(&partial).map_err(|e| StateFileError::io(&partial, e))?;
        let io = |e| StateFileError::io(&partial, e);
        file.set_len(mark.offset).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(StateWriter { variant, file: BufWriter::with_capacity(1 << 16, file), partial, target: target.to_path_buf(), mark })
    }

    /// Everything so far on disk, and where it ends.
    pub fn mark(&mut self) -> Result<WriteMark, StateFileError> {
        self.file.flush().map_err(|e| StateFileError::io(&self.partial, e))?;
        Ok(self.mark)
    }

    pub fn devices_written(&self) -> u64 {
        self.mark.devices
    }

    /// The ARM aspect: a template of the hub and its certificates. Before any device.
    pub fn arm(&mut self, template: &Value) -> Result<(), StateFileError> {
        self.top_level("arm", template)
    }

    /// Both lists of configurations. Before any device.
    pub fn configurations(&mut self, configurations: &ConfigurationsState) -> Result<(), StateFileError> {
        self.top_level("configurations", configurations)
    }

    /// Opens the `devices` object even if no device follows (an exported empty registry).
    pub fn devices_section(&mut self) -> Result<(), StateFileError> {
        if self.variant == Variant::Json && !self.mark.in_devices {
            self.put(",\n    \"devices\": {")?;
            self.mark.in_devices = true;
        }
        Ok(())
    }

    pub fn device(&mut self, id: &str, device: &DeviceState) -> Result<(), StateFileError> {
        let key = serde_json::to_string(id).map_err(|e| self.encode_error(e))?;
        match self.variant {
            Variant::Json => {
                self.devices_section()?;
                let body = pretty(device, 8).map_err(|e| self.encode_error(e))?;
                let separator = if self.mark.devices == 0 { "" } else { "," };
                self.put(&format!("{separator}\n        {key}: {body}"))?;
            }
            Variant::Lines => {
                let body = serde_json::to_string(device).map_err(|e| self.encode_error(e))?;
                self.put(&format!("{{\"devices\":{{{key}:{body}}}}}\n"))?;
            }
        }
        self.mark.devices += 1;
        Ok(())
    }

    /// Closes the file and gives it its name.
    pub fn finish(mut self) -> Result<PathBuf, StateFileError> {
        match self.variant {
            Variant::Json => {
                if self.mark.in_devices {
                    self.put(if self.mark.devices == 0 { "}" } else { "\n    }" })?;
                }
                self.put("\n}\n")?;
            }
            Variant::Lines => self.put(&format!("{{\"{END_KEY}\":{{\"devices\":{}}}}}\n", self.mark.devices))?,
        }
        let file = self.file.into_inner().map_err(|e| StateFileError::io(&self.partial, e.into_error()))?;
        file.sync_all().map_err(|e| StateFileError::io(&self.partial, e))?;
        drop(file);
        std::fs::rename(&self.partial, &self.target).map_err(|e| StateFileError::io(&self.target, e))?;
        Ok(self.target)
    }

    fn top_level(&mut self, key: &str, value: &impl Serialize) -> Result<(), StateFileError> {
        if self.mark.in_devices || (self.variant == Variant::Lines && self.mark.devices > 0) {
            return Err(StateFileError::Io { path: self.partial.display().to_string(), problem: format!("{key} must be written before the devices") });
        }
        match self.variant {
            Variant::Json => {
                let body = pretty(value, 4).map_err(|e| self.encode_error(e))?;
                self.put(&format!(",\n    \"{key}\": {body}"))
            }
            Variant::Lines => {
                let body = serde_json::to_string(value).map_err(|e| self.encode_error(e))?;
                self.put(&format!("{{\"{key}\":{body}}}\n"))
            }
        }
    }

    fn put(&mut self, text: &str) -> Result<(), StateFileError> {
        self.file.write_all(text.as_bytes()).map_err(|e| StateFileError::io(&self.partial, e))?;
        self.mark.offset += text.len() as u64;
        Ok(())
    }

    fn encode_error(&self, e: serde_json::Error) -> StateFileError {
        StateFileError::Io { path: self.partial.display().to_string(), problem: e.to_string() }
    }
}

/// `value` as `json.dump(indent=4)` writes it, nested `indent` spaces deep (a JSON string holds no
/// raw newline, so every newline is the layout's).
fn pretty(value: &impl Serialize, indent: usize) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(b"    "));
    value.serialize(&mut serializer)?;
    let text = String::from_utf8(out).expect("serde_json writes UTF-8");
    Ok(text.replace('\n', &format!("\n{}", " ".repeat(indent))))
}
