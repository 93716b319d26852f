//! Reads a state file in constant memory: one device at a time is parsed and handed on, whatever
//! the file's size. Two variants of the same content, told apart by the first line:
//! - **JSON**, the CLI's (`json.dump(indent=4)`): one object, its first line `{` alone.
//! - **JSON Lines**, this app's streaming variant: each line a complete object holding a fragment of
//!   the same state (`{"devices": {"dev-1": {...}}}`), so merging the lines gives the CLI's file.
//!   It opens with a version line and closes with `{"$end": {"devices": N}}`, so a file cut at a line
//!   boundary is refused as truncated rather than read as a smaller hub.
//!
//! Every mistake is named by its line and its field path (`line 40, devices.edge1.identity.status`).
//! A run resumes from a `ReadMark`: the Lines variant seeks to the line it stopped at; the JSON
//! variant re-reads without handing on the devices already done.

use super::model::{ConfigurationsState, DeviceState, FORMAT_VERSION, VERSION_KEY};
use super::StateFileError;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The key of the Lines variant's last line.
pub const END_KEY: &str = "$end";
/// The longest line the Lines variant accepts (a device with many modules is well under 1 MiB).
const MAX_LINE: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "StateFileVariant")]
pub enum Variant {
    /// The CLI's format: one JSON object.
    Json,
    /// One fragment a line; one device a line.
    Lines,
}

/// One part of the state, as it comes in the file. Nearly every item is a device (the others come
/// once a file), so the variants' sizes differing costs nothing a box would save.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum StateItem {
    Arm(Value),
    Configurations(ConfigurationsState),
    Device { id: String, state: DeviceState },
}

/// Where a reader is, to resume after the last item handed on. Kept in the journal's checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    /// Byte offset of the line holding the item (Lines), 0 for the JSON variant.
    pub offset: u64,
    /// That line's number, from 1 (0 for the JSON variant).
    pub line: u64,
    /// Devices met before that line.
    pub devices_before: u64,
    /// Devices met up to and including this item.
    pub devices: u64,
}

/// What a whole read met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub variant: Option<Variant>,
    pub devices: u64,
    /// False when the callback asked to stop.
    pub finished: bool,
}

/// The callback's answer: go on, or stop reading (the run was stopped).
pub type Flow = std::ops::ControlFlow<()>;

/// Which variant a file is, from its first line.
pub fn detect(path: &Path) -> Result<Variant, StateFileError> {
    let file = File::open(path).map_err(|e| StateFileError::io(path, e))?;
    let mut first = String::new();
    BufReader::new(file).take(1 << 20).read_line(&mut first).map_err(|e| StateFileError::io(path, e))?;
    if first.trim().is_empty() {
        return Err(StateFileError::Invalid { file: path.display().to_string(), line: 1, field: "state".into(), problem: "the file is empty".into() });
    }
    Ok(match serde_json::from_str::<Value>(&first) {
        Ok(Value::Object(_)) => Variant::Lines,
        _ => Variant::Json,
    })
}

/// Reads the file from `resume` (or its start), handing each item and its mark to `each`.
pub fn read(path: &Path, resume: Option<ReadMark>, each: &mut dyn FnMut(StateItem, ReadMark) -> Flow) -> Result<ReadSummary, StateFileError> {
    let variant = detect(path)?;
    let file = File::open(path).map_err(|e| StateFileError::io(path, e))?;
    let resume = resume.unwrap_or_default();
    let mut walk = Walk { each, skip_devices: resume.devices, devices: 0, mark: ReadMark::default(), newer: None, stopped: false, end: None, versioned: false };
    match variant {
        Variant::Json => read_json(path, file, &mut walk)?,
        Variant::Lines => read_lines(path, file, resume, &mut walk)?,
    }
    Ok(ReadSummary { variant: Some(variant), devices: walk.devices, finished: !walk.stopped })
}

fn read_json(path: &Path, file: File, walk: &mut Walk) -> Result<(), StateFileError> {
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
    let mut track = serde_path_to_error::Track::new();
    let parsed = Fragment(walk).deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track)).and_then(|_| de.end());
    match parsed {
        Ok(()) => Ok(()),
        Err(_) if walk.stopped => Ok(()),
        Err(e) => Err(walk.failure(path, 0, track.path().to_string(), e)),
    }
}

fn read_lines(path: &Path, file: File, resume: ReadMark, walk: &mut Walk) -> Result<(), StateFileError> {
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let (mut offset, mut line) = if resume.line > 0 { (resume.offset, resume.line) } else { (0, 1) };
    reader.seek(SeekFrom::Start(offset)).map_err(|e| StateFileError::io(path, e))?;
    walk.devices = if resume.line > 0 { resume.devices_before } else { 0 };
    let mut text = String::new();
    let mut last_line = 0;
    loop {
        text.clear();
        let read = reader.by_ref().take(MAX_LINE + 1).read_line(&mut text).map_err(|e| StateFileError::io(path, e))?;
        if read == 0 {
            break;
        }
        if read as u64 > MAX_LINE {
            return Err(StateFileError::Invalid { file: path.display().to_string(), line, field: "line".into(), problem: "is longer than 16 MiB".into() });
        }
        if !text.trim().is_empty() {
            if walk.end.is_some() {
                return Err(StateFileError::Invalid { file: path.display().to_string(), line, field: END_KEY.into(), problem: "is not the last line".into() });
            }
            walk.mark = ReadMark { offset, line, devices_before: walk.devices, devices: walk.devices };
            let mut de = serde_json::Deserializer::from_str(&text);
            let mut track = serde_path_to_error::Track::new();
            let parsed = Fragment(walk).deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track)).and_then(|_| de.end());
            match parsed {
                Ok(()) => {}
                Err(_) if walk.stopped => return Ok(()),
                Err(e) => return Err(walk.failure(path, line - 1, track.path().to_string(), e)),
            }
            last_line = line;
        }
        offset += read as u64;
        line += 1;
    }
    let file = path.display().to_string();
    match walk.end {
        Some(count) if count == walk.devices => Ok(()),
        Some(count) => Err(StateFileError::Invalid {
            file,
            line: last_line,
            field: format!("{END_KEY}.devices"),
            problem: format!("says {count} devices, the file holds {}", walk.devices),
        }),
        // A file that says who wrote it must say where it ends; a bare fragment file need not.
        None if walk.versioned => Err(StateFileError::Truncated { file, line: last_line }),
        None => Ok(()),
    }
}

struct Walk<'a> {
    each: &'a mut dyn FnMut(StateItem, ReadMark) -> Flow,
    skip_devices: u64,
    devices: u64,
    mark: ReadMark,
    newer: Option<u64>,
    stopped: bool,
    end: Option<u64>,
    versioned: bool,
}

impl Walk<'_> {
    fn hand_on<E: serde::de::Error>(&mut self, item: StateItem) -> Result<(), E> {
        self.mark.devices = self.devices;
        if (self.each)(item, self.mark).is_break() {
            self.stopped = true;
            return Err(E::custom("stopped"));
        }
        Ok(())
    }

    fn failure(&self, path: &Path, line_before: u64, field: String, e: serde_json::Error) -> StateFileError {
        let file = path.display().to_string();
        if let Some(found) = self.newer {
            return StateFileError::NewerVersion { file, found, supported: FORMAT_VERSION as u64 };
        }
        let line = line_before + e.line() as u64;
        if e.is_io() {
            return StateFileError::Io { path: file, problem: e.to_string() };
        }
        if e.is_eof() {
            return StateFileError::Truncated { file, line };
        }
        let message = e.to_string();
        let problem = message.split(" at line ").next().unwrap_or(&message).to_string();
        let field = if field.is_empty() || field == "." { "state".to_string() } else { field };
        StateFileError::Invalid { file, line, field, problem }
    }
}

/// A whole state object, or one line's fragment of it.
struct Fragment<'w, 'a>(&'w mut Walk<'a>);

impl<'de> DeserializeSeed<'de> for Fragment<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fragment<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a hub state object (arm, configurations, devices)")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let walk = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                VERSION_KEY => {
                    let version: u64 = map.next_value()?;
                    walk.versioned = true;
                    if version > FORMAT_VERSION as u64 {
                        walk.newer = Some(version);
                        return Err(M::Error::custom("newer format"));
                    }
                }
                END_KEY => {
                    #[derive(Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct End {
                        devices: u64,
                    }
                    walk.end = Some(map.next_value::<End>()?.devices);
                }
                "arm" => match map.next_value::<Value>()? {
                    Value::Object(arm) => walk.hand_on(StateItem::Arm(Value::Object(arm)))?,
                    Value::Null => {}
                    _ => return Err(M::Error::custom("invalid type: expected an ARM template object")),
                },
                "configurations" => {
                    let configurations = map.next_value::<Option<ConfigurationsState>>()?;
                    if let Some(configurations) = configurations {
                        walk.hand_on(StateItem::Configurations(configurations))?;
                    }
                }
                "devices" => map.next_value_seed(Devices(walk))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `devices` object, one device at a time.
struct Devices<'w, 'a>(&'w mut Walk<'a>);

impl<'de> DeserializeSeed<'de> for Devices<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Devices<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of devices by ID")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let walk = self.0;
        while let Some(id) = map.next_key::<String>()? {
            walk.devices += 1;
            if walk.devices <= walk.skip_devices {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let state: DeviceState = map.next_value()?;
            walk.hand_on(StateItem::Device { id, state })?;
        }
        Ok(())
    }
}
