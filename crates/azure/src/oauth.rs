//! The `oauth2` crate's authorization-code and refresh exchanges, sent by our pipeline. oauth2
//! builds the token request and reads the answer; `PipelineHttp`, the HTTP client it is given,
//! turns its request into ours, so a token call keeps every policy a service call has: the
//! cloud's allow-list (before any I/O), the client request ID, Entra's rate limit, retries only
//! where repeating is safe, the per-try timeout, same-host redirects, and logs of the redacted URL
//! alone. The body is a `Secret` (it holds the code, the verifier or the refresh token). What it
//! skips, on purpose: the `Credential` (a token call is how a credential is made, so it carries
//! none, and a 401 never triggers a token renewal).
//!
//! A refusal never reaches oauth2's error parser: the pipeline turns a non-2xx answer into our
//! `AzureError` with Entra's `AADSTSnnnnn` already read, and `token_error` hands that same error
//! back, so sign-in explains it exactly as before.

use crate::cloud::Service;
use crate::error::{AzureError, ServiceError};
use crate::pipeline::Pipeline;
use crate::request::{decode_detail, Request};
use crate::secret::Secret;
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType};
use oauth2::http::header::{ACCEPT, CONTENT_TYPE};
use oauth2::{
    AsyncHttpClient, Client, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, RequestTokenError, StandardRevocableToken,
    StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// What Entra adds to a token response that we read: the ID token (OpenID Connect). The rest
/// (`ext_expires_in`, `foci`, `client_info`) is left unread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraFields {
    #[serde(default)]
    pub id_token: Option<Secret<String>>,
}

impl ExtraTokenFields for EntraFields {}

pub type EntraTokenResponse = StandardTokenResponse<EntraFields, BasicTokenType>;

/// An oauth2 client that knows Entra's token endpoint for one app registration (public client:
/// no secret, the client ID goes in the body).
pub type TokenClient = Client<
    BasicErrorResponse,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// `{authority}/{tenant}/oauth2/v2.0/token` of the pipeline's cloud.
pub(crate) fn token_client(pipeline: &Pipeline, tenant: &str, client_id: &str) -> Result<TokenClient, AzureError> {
    let url = pipeline
        .cloud()
        .endpoints()
        .authority_host
        .join(&format!("{tenant}/oauth2/v2.0/token"))
        .map_err(|e| AzureError::InvalidInput { what: "The token endpoint".into(), problem: e.to_string() })?;
    Ok(Client::new(ClientId::new(client_id.to_string())).set_token_uri(TokenUrl::from_url(url)))
}

/// The HTTP client oauth2 is given: one token call through `pipeline`.
#[derive(Clone)]
pub struct PipelineHttp {
    pipeline: Pipeline,
    /// The operation in logs: `Token_AuthorizationCode`, `Token_RefreshToken`.
    operation: &'static str,
    retry_safe: bool,
    /// Sent as `Origin` for single-page-app registrations (Entra refuses them without, AADSTS9002327).
    origin: Option<String>,
}

impl PipelineHttp {
    /// For redeeming a code: never repeated once it may have reached Entra (a code is burnt on use).
    pub fn code_redemption(pipeline: &Pipeline, origin: Option<&str>) -> PipelineHttp {
        PipelineHttp { pipeline: pipeline.clone(), operation: "Token_AuthorizationCode", retry_safe: false, origin: origin.map(str::to_string) }
    }

    /// For refreshing: repeated on throttling and transient failures, as a read would be.
    pub fn refresh(pipeline: &Pipeline, origin: Option<&str>) -> PipelineHttp {
        PipelineHttp { pipeline: pipeline.clone(), operation: "Token_RefreshToken", retry_safe: true, origin: origin.map(str::to_string) }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, AzureError> {
        let invalid = |problem: String| AzureError::InvalidInput { what: "The token request".into(), problem };
        let url = url::Url::parse(&request.uri().to_string()).map_err(|e| invalid(e.to_string()))?;
        let (parts, body) = request.into_parts();
        let body = String::from_utf8(body).map_err(|_| invalid("is not a form".into()))?;
        let mut ours = Request::new(Service::Entra, self.operation, parts.method, url).form(Secret::new(body)).retry_safe(self.retry_safe);
        for (name, value) in &parts.headers {
            // The pipeline sets these two itself, for a form body.
            if name != CONTENT_TYPE && name != ACCEPT {
                ours = ours.header(name.as_str(), value.to_str().map_err(|_| invalid(format!("has an odd {name} header")))?)?;
            }
        }
        if let Some(origin) = &self.origin {
            ours = ours.header("Origin", origin)?;
        }
        let answer = self.pipeline.send(&ours, None).await?;
        let mut response = oauth2::http::Response::new(answer.body);
        *response.status_mut() = answer.status;
        *response.headers_mut() = answer.headers;
        Ok(response)
    }
}

impl<'c> AsyncHttpClient<'c> for PipelineHttp {
    type Error = AzureError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, AzureError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// Our error for a failed exchange: the pipeline's own (Entra's refusal with its AADSTS number,
/// a timeout, a refused host) as it was, or what oauth2 found wrong with a 200 answer. Never the
/// body, which may hold a token.
pub(crate) fn token_error(error: RequestTokenError<AzureError, BasicErrorResponse>) -> AzureError {
    let decode = |detail: String| AzureError::Decode { service: Service::Entra, expected: "an Entra ID token response".into(), detail };
    match error {
        RequestTokenError::Request(error) => error,
        // Only a non-200 answer is read as an error, and the pipeline already returned those.
        RequestTokenError::ServerResponse(refusal) => {
            let body = serde_json::to_vec(&refusal).unwrap_or_default();
            AzureError::from_service(ServiceError::from_response(Service::Entra, 400, &Default::default(), &body))
        }
        RequestTokenError::Parse(error, _body) => decode(format!("{}: {}", error.path(), decode_detail(error.inner()))),
        RequestTokenError::Other(why) => decode(why),
    }
}
