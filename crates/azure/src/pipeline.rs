//! The one way the app calls Azure. Every request, whatever the service, goes through the same
//! steps in the same order:
//!
//! 1. the cloud's **allow-list** (HTTPS, a host of the chosen cloud) — before any network I/O,
//!    before even a token is fetched;
//! 2. a fresh **`x-ms-client-request-id`** per logical call, kept across its retries and logged;
//! 3. per try: the client-side **rate limit** of the service (and app, hub…), then **auth** — the
//!    credential's Authorization header (bearer or SAS), marked sensitive; asked after the wait so
//!    a token never goes out stale;
//! 4. **retry** with backoff and jitter, honouring the service's Retry-After (see `retry.rs`);
//! 5. a **tracing span** per call: method, the URL with secrets stripped, status, tries, duration and
//!    request IDs — never a header, never a body.
//!
//! The HTTPS client is reqwest on rustls (ring): the system's roots for real clouds, the sandbox's
//! CA alone for the sandbox. Redirects are followed only to the same host over HTTPS, a few hops.

use crate::auth::Credential;
use crate::cloud::Cloud;
use crate::error::{AzureError, ServiceError};
use crate::rate_limit::{RateLimiter, RateLimits};
use crate::redact::url_for_log;
use crate::request::{new_guid, Body, Request, Response};
use crate::retry::{backoff, retry_after, Failure};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::Instrument;

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineOptions {
    pub connect_timeout: Duration,
    /// Per try, until the whole answer is read.
    pub request_timeout: Duration,
    /// Tries after the first.
    pub max_retries: u32,
    /// The first backoff; each further one doubles.
    pub retry_delay: Duration,
    /// Cap on a backoff and on a service's Retry-After.
    pub max_retry_delay: Duration,
    /// Same-host HTTPS redirects followed before giving up.
    pub max_redirects: usize,
    pub rate_limits: RateLimits,
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            retry_delay: Duration::from_millis(800),
            max_retry_delay: Duration::from_secs(60),
            max_redirects: 3,
            rate_limits: RateLimits::default(),
        }
    }
}

/// Cheap to clone: every client of one cloud shares the connection pool and the rate limits.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    cloud: Cloud,
    options: PipelineOptions,
    http: reqwest::Client,
    limiter: RateLimiter,
}

/// What the redirect policy returns when it will not follow; found again in the error's sources.
#[derive(Debug)]
struct RedirectRefused {
    from: String,
    to: String,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect from {} to {} refused", self.from, self.to)
    }
}

impl std::error::Error for RedirectRefused {}

fn tls_config(cloud: &Cloud) -> Result<rustls::ClientConfig, AzureError> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: rustls::Error| AzureError::Setup(e.to_string());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(setup)?;
    let config = match cloud.ca_pem() {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| AzureError::Setup(format!("the sandbox CA certificate is not PEM: {e}")))?;
                roots.add(cert).map_err(setup)?;
            }
            if roots.is_empty() {
                return Err(AzureError::Setup("the sandbox CA file holds no certificate".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(setup)?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
        }
    };
    Ok(config)
}

fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let from = attempt.previous().first().cloned();
        let to = attempt.url();
        let same_host = from.as_ref().is_some_and(|f| f.host_str() == to.host_str() && f.port_or_known_default() == to.port_or_known_default());
        if to.scheme() != "https" || !same_host {
            let error = RedirectRefused { from: from.map(|f| url_for_log(&f)).unwrap_or_default(), to: url_for_log(to) };
            return attempt.error(error);
        }
        if attempt.previous().len() > max {
            let error = RedirectRefused { from: format!("{} after {max} redirects", from.map(|f| url_for_log(&f)).unwrap_or_default()), to: url_for_log(to) };
            return attempt.error(error);
        }
        attempt.follow()
    })
}

impl Pipeline {
    pub fn new(cloud: Cloud, options: PipelineOptions) -> Result<Pipeline, AzureError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&cloud)?)
            .https_only(true)
            .connect_timeout(options.connect_timeout)
            .redirect(redirect_policy(options.max_redirects))
            .user_agent(concat!("iot-migrator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AzureError::Setup(e.to_string()))?;
        let limiter = RateLimiter::new(options.rate_limits.clone());
        Ok(Pipeline { inner: Arc::new(Inner { cloud, options, http, limiter }) })
    }

    pub fn cloud(&self) -> &Cloud {
        &self.inner.cloud
    }

    /// Paces calls to one instance at its own rate (a hub at its tier's), not the service default.
    pub fn set_rate(&self, service: crate::cloud::Service, partition: &str, rate: crate::rate_limit::Rate) {
        self.inner.limiter.set_rate(service, partition, rate);
    }

    pub fn options(&self) -> &PipelineOptions {
        &self.inner.options
    }

    /// Sends `request` (with retries) and returns a 2xx answer, or the error the last try became.
    pub async fn send(&self, request: &Request, credential: Option<&dyn Credential>) -> Result<Response, AzureError> {
        // First, before any I/O: a host outside the cloud is never called, nor a token fetched for it.
        self.cloud().allows(&request.url)?;
        let client_request_id = new_guid();
        let span = tracing::info_span!(
            "azure",
            service = request.service.as_str(),
            operation = request.operation,
            method = %request.method,
            url = %url_for_log(&request.url),
            client_request_id = %client_request_id,
        );
        self.send_with_retries(request, credential, client_request_id).instrument(span).await
    }

    async fn send_with_retries(&self, request: &Request, credential: Option<&dyn Credential>, client_request_id: String) -> Result<Response, AzureError> {
        let options = &self.inner.options;
        let started = Instant::now();
        let audience = self.cloud().audience(request.service).unwrap_or_default();
        let write = !matches!(request.method, Method::GET | Method::HEAD);
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            self.inner.limiter.acquire(request.service, write, &request.partition).await;
            let authorization = match credential {
                Some(c) => Some(c.authorization(&audience).await?),
                None => None,
            };
            let outcome = self.try_once(request, authorization, &client_request_id).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (failure, response) = match outcome {
                Ok(response) if response.status.is_success() => {
                    tracing::debug!(
                        status = response.status.as_u16(),
                        attempts = attempt,
                        duration_ms = elapsed_ms,
                        request_id = response.request_id().unwrap_or("none"),
                        "answered"
                    );
                    return Ok(Response { attempts: attempt, client_request_id, ..response });
                }
                // A token the service calls expired or revoked (clock skew, a revoked grant): drop
                // it and try once more with a fresh one, as the Azure SDKs' bearer policies do.
                Ok(response) if response.status.as_u16() == 401 && !renewed && credential.is_some_and(|c| c.forget(&audience)) => {
                    renewed = true;
                    tracing::info!(attempt, "the service refused the token; fetching a fresh one");
                    continue;
                }
                Ok(response) => (Failure::Status(response.status.as_u16()), Some(response)),
                Err(TryError::Final(error)) => {
                    tracing::warn!(attempts = attempt, duration_ms = elapsed_ms, code = error.code(), "failed: {error}");
                    return Err(error);
                }
                Err(TryError::Retryable(failure)) => (failure, None),
            };
            let retry = failure.retryable(request.retry_safe) && attempt <= options.max_retries;
            if !retry {
                let error = self.final_error(request, failure, response, attempt, started);
                // Not found, conflict and a stale ETag are answers a wizard asks for, not trouble.
                if matches!(error.status(), Some(404 | 409 | 412)) {
                    tracing::info!(attempts = attempt, duration_ms = elapsed_ms, code = error.code(), "answered: {error}");
                } else {
                    tracing::warn!(attempts = attempt, duration_ms = elapsed_ms, code = error.code(), "failed: {error}");
                }
                return Err(error);
            }
            let asked = response.as_ref().and_then(|r| retry_after(&r.headers, SystemTime::now()));
            let delay = match asked {
                Some(wait) => wait.min(options.max_retry_delay),
                None => backoff(attempt, options.retry_delay, options.max_retry_delay),
            };
            tracing::info!(attempt, delay_ms = delay.as_millis() as u64, retry_after = asked.is_some(), "retrying after {}", failure.describe());
            tokio::time::sleep(delay).await;
        }
    }

    /// The error a failure becomes once no more tries are left (or none is allowed).
    fn final_error(&self, request: &Request, failure: Failure, response: Option<Response>, attempts: u32, started: Instant) -> AzureError {
        let host = request.url.host_str().unwrap_or_default().to_string();
        match (failure, response) {
            (Failure::Status(status), Some(r)) => {
                let error = ServiceError::from_response(request.service, status, &r.headers, &r.body);
                if status == 429 {
                    AzureError::Throttled { attempts, last: Box::new(error) }
                } else {
                    AzureError::from_service(error)
                }
            }
            (Failure::Timeout, _) => AzureError::Timeout { service: request.service, what: request.operation.to_string(), after: started.elapsed() },
            (Failure::Connect(why) | Failure::Broken(why), _) => AzureError::Connection { host, detail: why },
            (Failure::Status(status), None) => AzureError::Connection { host, detail: format!("status {status} without an answer") },
        }
    }

    /// One try: send, read the whole answer.
    async fn try_once(&self, request: &Request, authorization: Option<crate::secret::Secret<String>>, client_request_id: &str) -> Result<Response, TryError> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .timeout(request.timeout.unwrap_or(self.inner.options.request_timeout))
            .header("x-ms-client-request-id", client_request_id)
            .header("accept", "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(authorization) = authorization {
            let mut value = HeaderValue::from_str(authorization.expose())
                .map_err(|_| TryError::Final(AzureError::InvalidInput { what: "The credential".into(), problem: "gave a value no header can hold".into() }))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder = match &request.body {
            Some(Body::Json(bytes)) => builder.header(CONTENT_TYPE, "application/json").body(bytes.clone()),
            Some(Body::Form(form)) => builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form.expose().clone()),
            // An empty blob still states its length, or Storage cannot tell the request apart.
            Some(Body::Raw(bytes, content_type)) => {
                builder.header(CONTENT_TYPE, *content_type).header(reqwest::header::CONTENT_LENGTH, bytes.len()).body(bytes.clone())
            }
            None if matches!(request.method, Method::POST | Method::PUT | Method::PATCH) => builder.header(reqwest::header::CONTENT_LENGTH, "0"),
            None => builder,
        };
        let answer = builder.send().await.map_err(|e| transport_failure(&e))?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer.bytes().await.map_err(|e| transport_failure(&e))?.to_vec();
        Ok(Response { status, headers, body, service: request.service, attempts: 0, client_request_id: String::new() })
    }
}

enum TryError {
    Final(AzureError),
    Retryable(Failure),
}

/// Sorts a transport error: a refused redirect ends the call; the rest may be retried.
fn transport_failure(error: &reqwest::Error) -> TryError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<RedirectRefused>() {
            return TryError::Final(AzureError::RedirectRefused { from: refused.from.clone(), to: refused.to.clone() });
        }
        source = e.source();
    }
    if error.is_timeout() {
        return TryError::Retryable(Failure::Timeout);
    }
    let detail = innermost(error);
    if error.is_connect() {
        TryError::Retryable(Failure::Connect(detail))
    } else {
        TryError::Retryable(Failure::Broken(detail))
    }
}

/// The most specific cause, for people ("connection reset by peer", "certificate unknown").
fn innermost(error: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = error;
    while let Some(next) = last.source() {
        last = next;
    }
    // reqwest's own text names the URL; the innermost cause does not, and the span already has it.
    crate::redact::scrub(&last.to_string())
}
