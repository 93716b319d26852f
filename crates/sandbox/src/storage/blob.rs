//! A container reached by its SAS URL, as IoT Hub reaches the containers of import/export jobs:
//! the SAS is the only credential, so Azurite decides what it allows. Blobs are written in blocks
//! (Put Block, then Put Block List) and read as a stream, so no blob is ever held whole.

use super::VERSION;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use url::Url;

/// Blocks of this size are staged while writing; a 100,000-device devices.txt is a few dozen.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// What Storage answered instead of success, in its own terms (`<Error><Code>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "{status} {}: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl BlobError {
    fn transport(e: reqwest::Error) -> BlobError {
        let mut source: &dyn std::error::Error = &e;
        while let Some(inner) = source.source() {
            source = inner;
        }
        BlobError { status: None, code: "ConnectionFailed".into(), message: format!("{e} ({source})") }
    }

    async fn from_response(response: reqwest::Response) -> BlobError {
        let status = response.status().as_u16();
        let header_code = response.headers().get("x-ms-error-code").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        let code = tag(&body, "Code").or(header_code).unwrap_or_else(|| format!("Http{status}"));
        let message = tag(&body, "Message").map(|m| m.lines().next().unwrap_or_default().to_string()).unwrap_or_default();
        BlobError { status: Some(status), code, message }
    }
}

/// The text of the first `<name>…</name>` in `xml`, entities decoded.
fn tag(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&"))
}

#[derive(Clone)]
pub struct Container {
    http: reqwest::Client,
    url: Url,
}

impl Container {
    /// A container SAS URL on the sandbox's own storage (loopback, HTTPS, account then container
    /// in the path); anything else is refused with the reason, before any call.
    pub fn from_sas_url(uri: &str, tls: &Arc<rustls::ClientConfig>) -> Result<Container, String> {
        let url = Url::parse(uri).map_err(|e| format!("the container URI is not a URL ({e})"))?;
        if url.scheme() != "https" {
            return Err("the container URI must be https".into());
        }
        if !matches!(url.host_str(), Some("127.0.0.1" | "localhost")) {
            return Err(format!("the sandbox cloud reaches only its own blob storage (Azurite on 127.0.0.1), not {}", url.host_str().unwrap_or_default()));
        }
        if url.path_segments().map(|s| s.filter(|p| !p.is_empty()).count()) != Some(2) {
            return Err("the container URI must name an account and one container (https://127.0.0.1:<port>/<account>/<container>?<SAS>)".into());
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((**tls).clone())
            .https_only(true)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Container { http, url })
    }

    fn blob_url(&self, blob: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(blob.split('/'));
        }
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        url
    }

    async fn send(&self, method: Method, url: Url, body: Option<(Vec<u8>, &str)>, expected: StatusCode) -> Result<reqwest::Response, BlobError> {
        let mut request = self.http.request(method, url).header("x-ms-version", VERSION);
        request = match body {
            Some((bytes, content_type)) => request.header("content-type", content_type).header("content-length", bytes.len()).body(bytes),
            None => request.header("content-length", 0),
        };
        let response = request.send().await.map_err(BlobError::transport)?;
        if response.status() == expected {
            Ok(response)
        } else {
            Err(BlobError::from_response(response).await)
        }
    }

    /// `BlockBlob_StageBlock`.
    pub async fn put_block(&self, blob: &str, block_id: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let url = self.blob_url(blob, &[("comp", "block"), ("blockid", block_id)]);
        self.send(Method::PUT, url, Some((bytes, "application/octet-stream")), StatusCode::CREATED).await.map(drop)
    }

    /// `BlockBlob_CommitBlockList`: the blob becomes exactly these blocks (earlier, uncommitted
    /// ones are discarded by Storage).
    pub async fn put_block_list(&self, blob: &str, block_ids: &[String], content_type: &str) -> Result<(), BlobError> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in block_ids {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let url = self.blob_url(blob, &[("comp", "blocklist")]);
        let request = self
            .http
            .put(url)
            .header("x-ms-version", VERSION)
            .header("x-ms-blob-content-type", content_type)
            .header("content-type", "application/xml")
            .header("content-length", xml.len())
            .body(xml);
        let response = request.send().await.map_err(BlobError::transport)?;
        if response.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(BlobError::from_response(response).await)
        }
    }

    /// `Blob_Download`, left streaming: read it with `chunk()`.
    pub async fn open(&self, blob: &str) -> Result<reqwest::Response, BlobError> {
        self.send(Method::GET, self.blob_url(blob, &[]), None, StatusCode::OK).await
    }
}

/// Writes one block blob in `BLOCK_SIZE` blocks, committing the list at the end.
pub struct BlockWriter {
    container: Container,
    blob: String,
    buffer: Vec<u8>,
    blocks: Vec<String>,
    pub written: u64,
}

impl BlockWriter {
    pub fn new(container: Container, blob: &str) -> BlockWriter {
        BlockWriter { container, blob: blob.to_string(), buffer: Vec::with_capacity(BLOCK_SIZE), blocks: vec![], written: 0 }
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.buffer.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buffer.len() >= BLOCK_SIZE {
            self.stage().await?;
        }
        Ok(())
    }

    async fn stage(&mut self) -> Result<(), BlobError> {
        // Block IDs must all have the same length within a blob.
        let id = B64.encode(format!("block-{:08}", self.blocks.len()));
        let bytes = std::mem::replace(&mut self.buffer, Vec::with_capacity(BLOCK_SIZE));
        self.container.put_block(&self.blob, &id, bytes).await?;
        self.blocks.push(id);
        Ok(())
    }

    /// Stages what is left and commits every block (an empty blob when nothing was written).
    pub async fn finish(mut self, content_type: &str) -> Result<u64, BlobError> {
        if !self.buffer.is_empty() {
            self.stage().await?;
        }
        self.container.put_block_list(&self.blob, &self.blocks, content_type).await?;
        Ok(self.written)
    }
}

/// Splits a streamed body into lines (`\n`, an optional `\r` before it, a UTF-8 BOM at the start),
/// holding at most one partial line between chunks.
#[derive(Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    started: bool,
}

impl LineSplitter {
    /// The complete lines in `chunk` (with what was left from the previous one).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut chunk = chunk;
        if !self.started && !chunk.is_empty() {
            self.started = true;
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(chunk);
        }
        let mut lines = Vec::new();
        for piece in chunk.split_inclusive(|b| *b == b'\n') {
            self.partial.extend_from_slice(piece);
            if self.partial.ends_with(b"\n") {
                let mut line = std::mem::take(&mut self.partial);
                line.pop();
                if line.ends_with(b"\r") {
                    line.pop();
                }
                lines.push(line);
            }
        }
        lines
    }

    /// The last line, when the body did not end with a newline.
    pub fn finish(self) -> Option<Vec<u8>> {
        let mut line = self.partial;
        if line.ends_with(b"\r") {
            line.pop();
        }
        (!line.is_empty()).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_chunks_with_bom_and_crlf() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"\xEF\xBB\xBF{\"id\":\"a\"}\r\n{\"id\""), vec![b"{\"id\":\"a\"}".to_vec()]);
        assert_eq!(s.push(b":\"b\"}\n\n{\"id\":\"c\"}"), vec![b"{\"id\":\"b\"}".to_vec(), b"".to_vec()]);
        assert_eq!(s.finish(), Some(b"{\"id\":\"c\"}".to_vec()));
    }

    #[test]
    fn storage_errors_are_read_from_their_xml() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.\nRequestId:1</Message></Error>";
        assert_eq!(tag(xml, "Code").as_deref(), Some("AuthorizationPermissionMismatch"));
        assert!(Container::from_sas_url("https://evil.example.com/a/b?sig=x", &Arc::new(test_tls())).err().unwrap().contains("only its own blob storage"));
        assert!(Container::from_sas_url("https://127.0.0.1:1/onlyaccount?sig=x", &Arc::new(test_tls())).err().unwrap().contains("one container"));
    }

    fn test_tls() -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    }
}
