//! One logical call to a service as the typed clients describe it (`Request`), and the answer the
//! pipeline hands back (`Response`). A request is plain data, so the pipeline can send it again
//! on retry and the pager can re-send it with a continuation token.

use crate::cloud::Service;
use crate::error::AzureError;
use crate::secret::Secret;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use url::Url;

/// A request body: JSON for service calls, a form for the token endpoint. Bodies are never logged;
/// the form carries a client secret, hence `Secret`.
#[derive(Clone)]
pub(crate) enum Body {
    Json(Vec<u8>),
    Form(Secret<String>),
    /// Bytes as they are (a blob), with their content type.
    Raw(Vec<u8>, &'static str),
}

#[derive(Clone)]
pub struct Request {
    pub(crate) service: Service,
    /// The spec's operation ID (`Subscriptions_List`), for logs and for people reading them.
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Option<Body>,
    pub(crate) retry_safe: bool,
    /// Which rate-limit bucket of the service this call draws from (a Central app, a hub…).
    pub(crate) partition: String,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    /// GET, HEAD, PUT and DELETE are safe to repeat (idempotent); a POST is not unless the caller
    /// says so with `retry_safe(true)`.
    pub fn new(service: Service, operation: &'static str, method: Method, url: Url) -> Request {
        let retry_safe = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        Request { service, operation, method, url, headers: Vec::new(), body: None, retry_safe, partition: String::new(), timeout: None }
    }

    pub fn get(service: Service, operation: &'static str, url: Url) -> Request {
        Request::new(service, operation, Method::GET, url)
    }

    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Request, AzureError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| AzureError::InvalidInput { what: format!("The body of {}", self.operation), problem: format!("could not be written as JSON: {e}") })?;
        self.body = Some(Body::Json(bytes));
        Ok(self)
    }

    /// A body sent as it is (a blob's content).
    pub fn raw(mut self, bytes: Vec<u8>, content_type: &'static str) -> Request {
        self.body = Some(Body::Raw(bytes, content_type));
        self
    }

    pub(crate) fn form(mut self, body: Secret<String>) -> Request {
        self.body = Some(Body::Form(body));
        self
    }

    /// A header that is not a secret (the pipeline adds Authorization itself).
    pub fn header(mut self, name: &str, value: &str) -> Result<Request, AzureError> {
        let invalid = |problem: String| AzureError::InvalidInput { what: format!("The {name} header"), problem };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("is not a header name".into()))?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid(format!("cannot hold '{value}'")))?;
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        Ok(self)
    }

    /// `If-Match` with the ETag quoted as the services expect; `None` sends none.
    pub fn if_match(self, etag: Option<&str>) -> Result<Request, AzureError> {
        match etag {
            None => Ok(self),
            Some("*") => self.header("if-match", "*"),
            Some(etag) => {
                let quoted = if etag.starts_with('"') { etag.to_string() } else { format!("\"{etag}\"") };
                self.header("if-match", &quoted)
            }
        }
    }

    /// Marks a POST as safe to repeat (a read such as `listKeys`, a query), or a call as unsafe.
    pub fn retry_safe(mut self, safe: bool) -> Request {
        self.retry_safe = safe;
        self
    }

    pub fn partition(mut self, partition: impl Into<String>) -> Request {
        self.partition = partition.into();
        self
    }

    /// A longer wait for an answer than the pipeline's default (a device command waits on the device).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn service(&self) -> Service {
        self.service
    }
}

/// A service's answer, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub(crate) service: Service,
    /// How many times the request went out (1 when no retry was needed).
    pub attempts: u32,
    /// The `x-ms-client-request-id` this call was sent with.
    pub client_request_id: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `T`; `expected` says in words what it should have been ("a page of devices").
    pub fn json<T: DeserializeOwned>(&self, expected: &str) -> Result<T, AzureError> {
        serde_json::from_slice(&self.body).map_err(|e| AzureError::Decode { service: self.service, expected: expected.to_string(), detail: decode_detail(&e) })
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-ms-request-id").or_else(|| self.header("request-id"))
    }
}

/// serde's explanation without the values it quotes (a mistyped key would be quoted whole).
pub(crate) fn decode_detail(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            quoted = !quoted;
            out.push_str(if quoted { "\"…" } else { "\"" });
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// A fresh GUID (version 4) for `x-ms-client-request-id`.
pub(crate) fn new_guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A URL a service handed back (a `nextLink`, a status URL) is followed only to the host (and port)
/// of the request that started the call. The allow-list admits every host of the cloud — every
/// Central app, every hub — so without this a link could carry the credential of one app or
/// hub to another. Azure's own links never leave their host.
pub(crate) fn same_host(started: &Url, link: &Url, what: &str) -> Result<(), AzureError> {
    let host = |u: &Url| u.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    if host(started) == host(link) && started.port_or_known_default() == link.port_or_known_default() {
        return Ok(());
    }
    let origin = |u: &Url| format!("{}{}", u.host_str().unwrap_or_default(), u.port().map(|p| format!(":{p}")).unwrap_or_default());
    Err(AzureError::LinkToAnotherHost { what: what.to_string(), from: origin(started), to: origin(link) })
}

/// `base` with `api-version` set (replacing any already there).
pub(crate) fn with_api_version(mut url: Url, version: &str) -> Url {
    let kept: Vec<(String, String)> = url.query_pairs().filter(|(k, _)| k != "api-version").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("api-version", version);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_methods_are_retried_unless_marked() {
        let url = Url::parse("https://management.azure.com/x").unwrap();
        assert!(Request::new(Service::Arm, "op", Method::PUT, url.clone()).retry_safe);
        assert!(Request::new(Service::Arm, "op", Method::DELETE, url.clone()).retry_safe);
        assert!(!Request::new(Service::Arm, "op", Method::POST, url.clone()).retry_safe);
        assert!(Request::new(Service::Arm, "op", Method::POST, url).retry_safe(true).retry_safe);
    }

    #[test]
    fn a_decode_error_does_not_quote_the_value() {
        let e = serde_json::from_str::<u32>("\"SharedAccessKey=abc\"").unwrap_err();
        let detail = decode_detail(&e);
        assert!(!detail.contains("abc") && detail.contains("invalid type"), "{detail}");
    }

    #[test]
    fn client_request_ids_are_version_4_guids() {
        let (a, b) = (new_guid(), new_guid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
