//! Where a run's devices come from, a batch at a time, each batch with the checkpoint that resumes
//! after it: a state file (read on a blocking thread, a device at a time, through a bounded
//! channel: constant memory whatever the file's size) or a hub (its twin query, a page at a time,
//! resumed by the page's continuation token).

use super::error::HubStateError;
use super::from_hub;
use super::state_file::{read, DeviceState, Flow, ReadMark, ReadSummary, StateFileError, StateItem};
use iotm_azure::hub::HubClient;
use iotm_azure::{PageToken, Pager};
use serde_json::Value;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Devices applied between two checkpoints (and read from a file ahead of them, at most).
pub const BATCH: usize = 100;
/// Twins a page of the source hub's query holds.
pub const PAGE: u32 = 100;

pub struct Batch {
    pub devices: Vec<(String, DeviceState)>,
    /// Where to resume after this batch: a `ReadMark` (file) or a `PageToken` (hub), as JSON.
    pub resume: Value,
}

/// What the file's reading thread hands the run. Nearly every message is a device, so the
/// variants' sizes differing costs nothing a box would save.
#[allow(clippy::large_enum_variant)]
pub enum FileMessage {
    Device(String, DeviceState, ReadMark),
    End(Result<ReadSummary, StateFileError>),
}

pub enum DeviceSource {
    File { rx: mpsc::Receiver<FileMessage>, ended: bool },
    Hub { hub: HubClient, pager: Box<Pager<Value>>, ended: bool },
}

impl DeviceSource {
    /// The devices of a state file, after `resume` when a run stopped part-way.
    pub fn file(path: PathBuf, resume: Option<ReadMark>) -> DeviceSource {
        let (tx, rx) = mpsc::channel(BATCH * 2);
        tokio::task::spawn_blocking(move || {
            let result = read(&path, resume, &mut |item, mark| match item {
                StateItem::Device { id, state } => match tx.blocking_send(FileMessage::Device(id, state, mark)) {
                    Ok(()) => Flow::Continue(()),
                    // The run stopped listening (stopped or killed): stop reading.
                    Err(_) => Flow::Break(()),
                },
                _ => Flow::Continue(()),
            });
            let _ = tx.blocking_send(FileMessage::End(result));
        });
        DeviceSource::File { rx, ended: false }
    }

    /// The devices of a hub, after `resume` when a run stopped part-way.
    pub fn hub(hub: HubClient, resume: Option<PageToken>) -> Result<DeviceSource, HubStateError> {
        let pager = hub.query("SELECT * FROM devices", PAGE)?;
        let pager = match resume {
            Some(token) => pager.resumed_from(&token)?,
            None => pager,
        };
        Ok(DeviceSource::Hub { hub, pager: Box::new(pager), ended: false })
    }

    /// The next batch, `None` once every device was handed on.
    pub async fn next_batch(&mut self) -> Result<Option<Batch>, HubStateError> {
        match self {
            DeviceSource::File { rx, ended } => {
                if *ended {
                    return Ok(None);
                }
                let mut devices = Vec::new();
                let mut last = None;
                while devices.len() < BATCH {
                    // Wait for the first device of a batch; take whatever else is ready at once.
                    let message = if devices.is_empty() { rx.recv().await } else { rx.try_recv().ok() };
                    match message {
                        Some(FileMessage::Device(id, state, mark)) => {
                            devices.push((id, state));
                            last = Some(mark);
                        }
                        Some(FileMessage::End(result)) => {
                            *ended = true;
                            result?;
                            break;
                        }
                        None if devices.is_empty() => {
                            *ended = true;
                            break;
                        }
                        None => break,
                    }
                }
                match last {
                    Some(mark) => Ok(Some(Batch { devices, resume: serde_json::to_value(mark).unwrap_or_default() })),
                    None => Ok(None),
                }
            }
            DeviceSource::Hub { hub, pager, ended } => {
                if *ended {
                    return Ok(None);
                }
                let Some(page) = pager.next_page().await else {
                    *ended = true;
                    return Ok(None);
                };
                let devices = from_hub::devices(hub, page?).await?;
                let token = pager.continuation()?;
                if token.is_none() {
                    *ended = true;
                }
                Ok(Some(Batch { devices, resume: serde_json::to_value(token).unwrap_or_default() }))
            }
        }
    }
}
