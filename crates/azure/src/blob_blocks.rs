//! Large blobs moved in pieces, so neither side holds a file whole and an interrupted transfer
//! goes on where it stopped: a local file uploaded as a block blob (`BlockBlob_StageBlock`, then
//! `BlockBlob_CommitBlockList`), staged blocks listed again after a restart
//! (`BlockBlob_GetBlockList`, uncommitted) so the upload resumes at the next block, a blob
//! downloaded range by range (`Blob_Download` with `x-ms-range`) into a writer, and a container
//! created (`Container_Create`).

use crate::blob::ContainerClient;
use crate::cloud::Service;
use crate::error::AzureError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::Method;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// 4 MiB: the size Azure's own tools stage; a 100,000-device devices.txt is a few dozen blocks.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// Block `index`'s ID: the same length for every block (Storage requires it), the same on every
/// run (so a resumed upload recognises what it staged before).
pub fn block_id(index: usize) -> String {
    B64.encode(format!("block-{index:08}"))
}

/// How far an upload or download has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transferred {
    pub bytes: u64,
    pub total: u64,
    /// Blocks found staged by an earlier, interrupted run and not sent again.
    pub resumed_blocks: usize,
}

fn decode(expected: &str, detail: impl Into<String>) -> AzureError {
    AzureError::Decode { service: Service::Storage, expected: expected.into(), detail: detail.into() }
}

fn io(what: &Path, e: std::io::Error) -> AzureError {
    AzureError::InvalidInput { what: format!("The file {}", what.display()), problem: format!("cannot be read or written: {e}") }
}

impl ContainerClient {
    /// `Container_Create`; false when it exists already (`ContainerAlreadyExists`).
    pub async fn create_container(&self) -> Result<bool, AzureError> {
        let request = self.request("Container_Create", Method::PUT, None, &[("restype", "container")])?;
        match self.pipeline.send(&request, None).await {
            Ok(_) => Ok(true),
            Err(AzureError::Service(e)) if e.code.as_deref() == Some("ContainerAlreadyExists") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `BlockBlob_StageBlock`.
    pub async fn stage_block(&self, blob: &str, block_id: &str, bytes: Vec<u8>) -> Result<(), AzureError> {
        let request = self.request("BlockBlob_StageBlock", Method::PUT, Some(blob), &[("comp", "block"), ("blockid", block_id)])?;
        self.pipeline.send(&request.raw(bytes, "application/octet-stream"), None).await.map(drop)
    }

    /// `BlockBlob_GetBlockList` of the blocks staged and not committed yet: (ID, size). A blob that
    /// does not exist yet has none.
    pub async fn uncommitted_blocks(&self, blob: &str) -> Result<Vec<(String, u64)>, AzureError> {
        let request = self.request("BlockBlob_GetBlockList", Method::GET, Some(blob), &[("comp", "blocklist"), ("blocklisttype", "uncommitted")])?;
        let body = match self.pipeline.send(&request, None).await {
            Ok(response) => response.body,
            Err(AzureError::Service(e)) if e.status == 404 => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let xml = String::from_utf8(body).map_err(|_| decode("a block list", "not UTF-8"))?;
        let staged = xml.split("<UncommittedBlocks>").nth(1).unwrap_or_default();
        let mut blocks = Vec::new();
        for block in staged.split("<Block>").skip(1) {
            let name = between(block, "Name").ok_or_else(|| decode("a block list", "a block without a name"))?;
            let size = between(block, "Size").and_then(|s| s.parse().ok()).ok_or_else(|| decode("a block list", "a block without a size"))?;
            blocks.push((name.to_string(), size));
        }
        Ok(blocks)
    }

    /// `BlockBlob_CommitBlockList`: the blob becomes these blocks, in this order.
    pub async fn commit_blocks(&self, blob: &str, ids: &[String], content_type: &str) -> Result<(), AzureError> {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
        for id in ids {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let request =
            self.request("BlockBlob_CommitBlockList", Method::PUT, Some(blob), &[("comp", "blocklist")])?.header("x-ms-blob-content-type", content_type)?;
        self.pipeline.send(&request.raw(xml.into_bytes(), "application/xml"), None).await.map(drop)
    }

    /// Uploads the file at `path` as block blob `blob`, `block_size` bytes a block. Blocks an
    /// earlier run staged (same ID and size) are not sent again, so an interrupted upload resumes
    /// at the next block. `progress` hears after every block.
    pub async fn upload_file(
        &self,
        blob: &str,
        path: &Path,
        block_size: usize,
        content_type: &str,
        mut progress: impl FnMut(Transferred),
    ) -> Result<Transferred, AzureError> {
        let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let total = file.metadata().map_err(|e| io(path, e))?.len();
        let staged = self.uncommitted_blocks(blob).await?;
        let blocks = (total as usize).div_ceil(block_size.max(1)).max(1);
        let mut ids = Vec::with_capacity(blocks);
        let mut done = Transferred { bytes: 0, total, resumed_blocks: 0 };
        for index in 0..blocks {
            let id = block_id(index);
            let size = (total - (index * block_size) as u64).min(block_size as u64);
            if staged.iter().any(|(name, s)| *name == id && *s == size) {
                done.resumed_blocks += 1;
            } else {
                let mut bytes = vec![0u8; size as usize];
                file.seek(SeekFrom::Start((index * block_size) as u64)).map_err(|e| io(path, e))?;
                file.read_exact(&mut bytes).map_err(|e| io(path, e))?;
                self.stage_block(blob, &id, bytes).await?;
            }
            done.bytes += size;
            ids.push(id);
            progress(done);
        }
        self.commit_blocks(blob, &ids, content_type).await?;
        Ok(done)
    }

    /// Downloads `blob` into `out`, `chunk` bytes a request, so memory stays at one chunk
    /// whatever the blob's size. `progress` hears after every chunk.
    pub async fn download_to(&self, blob: &str, out: &mut impl Write, chunk: usize, mut progress: impl FnMut(Transferred)) -> Result<u64, AzureError> {
        let mut offset: u64 = 0;
        loop {
            let range = format!("bytes={}-{}", offset, offset + chunk.max(1) as u64 - 1);
            let request = self.request("Blob_Download", Method::GET, Some(blob), &[])?.header("x-ms-range", &range)?;
            let response = match self.pipeline.send(&request, None).await {
                Ok(r) => r,
                // An empty blob has no first byte to range over.
                Err(AzureError::Service(e)) if e.status == 416 && offset == 0 => return Ok(0),
                Err(e) => return Err(e),
            };
            let total = response
                .header("content-range")
                .and_then(|r| r.rsplit('/').next())
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(offset + response.body.len() as u64);
            out.write_all(&response.body)
                .map_err(|e| AzureError::InvalidInput { what: "The downloaded file".into(), problem: format!("cannot be written: {e}") })?;
            offset += response.body.len() as u64;
            progress(Transferred { bytes: offset, total, resumed_blocks: 0 });
            if offset >= total || response.body.is_empty() {
                return Ok(offset);
            }
        }
    }
}

fn between<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_are_equal_in_length_and_the_same_on_every_run() {
        assert_eq!(block_id(0).len(), block_id(99_999_999).len());
        assert_eq!(block_id(7), block_id(7));
        assert_ne!(block_id(7), block_id(8));
    }
}
