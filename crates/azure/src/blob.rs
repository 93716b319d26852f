//! Blob Storage, what the bulk import/export wizards need (x-ms-version 2024-08-04): a container
//! reached by its SAS URL — upload a block blob (`devices.txt`), download one (`importErrors.log`),
//! list the blobs, delete one — plus minting a container SAS from an account key for the cases
//! where the app holds the key (the sandbox's storage, a consultant's own account).

use crate::cloud::Service;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::Request;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use sha2::Sha256;
use url::Url;

/// The Blob service version every request states (the spec in ../shared/specs).
pub const VERSION: &str = "2024-08-04";

/// `<Error><Code>…</Code><Message>…</Message></Error>`, Storage's error body.
pub(crate) fn xml_error(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("<Error>") {
        return None;
    }
    let code = tag(text, "Code")?;
    let message = tag(text, "Message").unwrap_or_default();
    Some((code, message.lines().next().unwrap_or_default().to_string()))
}

/// The text of the first `<name>…</name>` in `xml`, entities decoded.
fn tag(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobItem {
    pub name: String,
    pub size: u64,
    pub last_modified: Option<String>,
}

/// A container, reached with a SAS URL (`https://<account>.blob.core.windows.net/<container>?sv=…&sig=…`).
/// The SAS is the credential: no Authorization header is sent.
#[derive(Clone)]
pub struct ContainerClient {
    pub(crate) pipeline: Pipeline,
    url: Url,
}

impl ContainerClient {
    pub fn from_sas_url(pipeline: Pipeline, sas_url: &Secret<String>) -> Result<ContainerClient, AzureError> {
        let url = Url::parse(sas_url.expose()).map_err(|e| AzureError::InvalidInput { what: "The container SAS URL".into(), problem: e.to_string() })?;
        if !url.query_pairs().any(|(k, _)| k == "sig") {
            return Err(AzureError::InvalidInput {
                what: "The container SAS URL".into(),
                problem: "has no sig= part: copy the whole URL with its SAS token".into(),
            });
        }
        // Azure puts the account in the host name; emulators on loopback put it first in the path.
        let segments = if pipeline.cloud().is_sandbox() { 2 } else { 1 };
        if url.path_segments().map(|s| s.filter(|p| !p.is_empty()).count()) != Some(segments) {
            return Err(AzureError::InvalidInput {
                what: "The container SAS URL".into(),
                problem: "must name exactly one container (https://<account>.blob.core.windows.net/<container>?…)".into(),
            });
        }
        pipeline.cloud().allows(&url)?;
        Ok(ContainerClient { pipeline, url })
    }

    /// The container URL without its SAS, for people and logs.
    pub fn display_url(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.to_string()
    }

    pub(crate) fn request(&self, operation: &'static str, method: Method, blob: Option<&str>, query: &[(&str, &str)]) -> Result<Request, AzureError> {
        let mut url = self.url.clone();
        if let Some(blob) = blob {
            if blob.is_empty() {
                return Err(AzureError::InvalidInput { what: "A blob name".into(), problem: "must not be empty".into() });
            }
            url.path_segments_mut()
                .map_err(|_| AzureError::InvalidInput { what: "The container URL".into(), problem: "cannot take a path".into() })?
                .pop_if_empty()
                .extend(blob.split('/'));
        }
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let partition = self.url.host_str().unwrap_or_default().to_string();
        Request::new(Service::Storage, operation, method, url).header("x-ms-version", VERSION).map(|r| r.partition(partition))
    }

    /// `BlockBlob_Upload`: the whole blob in one request (devices.txt of up to a few hundred MB).
    pub async fn upload(&self, blob: &str, bytes: Vec<u8>, content_type: &'static str) -> Result<(), AzureError> {
        let request = self.request("BlockBlob_Upload", Method::PUT, Some(blob), &[])?.header("x-ms-blob-type", "BlockBlob")?.raw(bytes, content_type);
        self.pipeline.send(&request, None).await.map(drop)
    }

    /// `Blob_Download`.
    pub async fn download(&self, blob: &str) -> Result<Vec<u8>, AzureError> {
        Ok(self.pipeline.send(&self.request("Blob_Download", Method::GET, Some(blob), &[])?, None).await?.body)
    }

    /// `Blob_Delete`.
    pub async fn delete(&self, blob: &str) -> Result<(), AzureError> {
        self.pipeline.send(&self.request("Blob_Delete", Method::DELETE, Some(blob), &[])?, None).await.map(drop)
    }

    /// `Container_ListBlobFlatSegment`, every page (`NextMarker`).
    pub async fn list(&self, prefix: Option<&str>) -> Result<Vec<BlobItem>, AzureError> {
        let mut items = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![("restype", "container"), ("comp", "list")];
            if let Some(prefix) = prefix {
                query.push(("prefix", prefix));
            }
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let body = self.pipeline.send(&self.request("Container_ListBlobFlatSegment", Method::GET, None, &query)?, None).await?.body;
            let xml = String::from_utf8(body).map_err(|_| AzureError::Decode {
                service: Service::Storage,
                expected: "a blob list".into(),
                detail: "not UTF-8".into(),
            })?;
            for blob in xml.split("<Blob>").skip(1) {
                let name = tag(blob, "Name").ok_or_else(|| AzureError::Decode {
                    service: Service::Storage,
                    expected: "a blob list".into(),
                    detail: "a blob without a name".into(),
                })?;
                items.push(BlobItem {
                    name,
                    size: tag(blob, "Content-Length").and_then(|s| s.parse().ok()).unwrap_or(0),
                    last_modified: tag(blob, "Last-Modified"),
                });
            }
            marker = tag(&xml, "NextMarker").unwrap_or_default();
            if marker.is_empty() {
                return Ok(items);
            }
        }
    }
}

/// Permissions of a container SAS, in the order the service requires them.
pub fn permissions(read: bool, add: bool, create: bool, write: bool, delete: bool, list: bool) -> String {
    [(read, 'r'), (add, 'a'), (create, 'c'), (write, 'w'), (delete, 'd'), (list, 'l')].iter().filter(|(on, _)| *on).map(|(_, c)| *c).collect()
}

/// A service SAS for a whole container (`sr=c`), signed with the account key (HMAC-SHA256 over the
/// string-to-sign of service version 2020-12-06 and later). `expiry` is RFC 3339 (`2030-01-01T00:00:00Z`).
pub fn container_sas_url(
    container_url: &Url,
    account: &str,
    account_key: &Secret<String>,
    permissions: &str,
    expiry: &str,
) -> Result<Secret<String>, AzureError> {
    let container = container_url
        .path_segments()
        .and_then(|mut s| s.find(|p| !p.is_empty() && *p != account))
        .ok_or_else(|| AzureError::InvalidInput { what: "The container URL".into(), problem: "names no container".into() })?;
    let resource = format!("/blob/{account}/{container}");
    // sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot time, encryption scope, rscc, rscd, rsce, rscl, rsct
    let to_sign = [permissions, "", expiry, &resource, "", "", "https,http", VERSION, "c", "", "", "", "", "", "", ""].join("\n");
    let key =
        B64.decode(account_key.expose()).map_err(|_| AzureError::InvalidInput { what: "The storage account key".into(), problem: "is not base64".into() })?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| AzureError::InvalidInput { what: "The storage account key".into(), problem: "is empty".into() })?;
    mac.update(to_sign.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let mut url = container_url.clone();
    url.query_pairs_mut()
        .append_pair("sv", VERSION)
        .append_pair("spr", "https,http")
        .append_pair("se", expiry)
        .append_pair("sr", "c")
        .append_pair("sp", permissions)
        .append_pair("sig", &signature);
    Ok(Secret::new(url.to_string()))
}

/// An account SAS that allows only creating containers (`ss=b srt=c sp=c`), signed with the
/// account key, on the container's URL: what the app needs to create the container a job uses,
/// and nothing more. `expiry` is RFC 3339.
pub fn container_create_sas_url(container_url: &Url, account: &str, account_key: &Secret<String>, expiry: &str) -> Result<Secret<String>, AzureError> {
    // account, sp, ss, srt, st, se, sip, spr, sv, ses, then a final newline (2020-12-06 and later).
    let to_sign = format!("{account}\nc\nb\nc\n\n{expiry}\n\nhttps\n{VERSION}\n\n");
    let key =
        B64.decode(account_key.expose()).map_err(|_| AzureError::InvalidInput { what: "The storage account key".into(), problem: "is not base64".into() })?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| AzureError::InvalidInput { what: "The storage account key".into(), problem: "is empty".into() })?;
    mac.update(to_sign.as_bytes());
    let mut url = container_url.clone();
    url.query_pairs_mut()
        .append_pair("sv", VERSION)
        .append_pair("ss", "b")
        .append_pair("srt", "c")
        .append_pair("sp", "c")
        .append_pair("se", expiry)
        .append_pair("spr", "https")
        .append_pair("sig", &B64.encode(mac.finalize().into_bytes()));
    Ok(Secret::new(url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_and_blob_lists_are_read_from_their_xml() {
        let error = br#"<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.
RequestId:1</Message></Error>"#;
        assert_eq!(
            xml_error(error),
            Some(("AuthorizationPermissionMismatch".into(), "This request is not authorized to perform this operation using this permission.".into()))
        );
        assert_eq!(tag("<Blob><Name>a &amp; b.txt</Name></Blob>", "Name").as_deref(), Some("a & b.txt"));
        assert_eq!(permissions(true, false, true, true, false, true), "rcwl");
    }
}
