//! ARM's error body and headers: `{"error":{"code","message"}}`, `x-ms-request-id`,
//! `x-ms-correlation-request-id`, and `WWW-Authenticate` on 401.

use crate::cloud::Cloud;
use crate::tokens::TokenError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ArmError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ArmError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError { status, code, message: message.into() }
    }

    pub fn missing_auth() -> ArmError {
        ArmError::new(StatusCode::UNAUTHORIZED, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
    }

    pub fn invalid_token(e: TokenError) -> ArmError {
        match e {
            TokenError::Expired => ArmError::new(StatusCode::UNAUTHORIZED, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."),
            TokenError::WrongAudience(aud) => ArmError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationTokenAudience", format!("The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.")),
            TokenError::Malformed | TokenError::BadSignature => ArmError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The access token is invalid."),
        }
    }

    pub fn missing_api_version() -> ArmError {
        ArmError::new(StatusCode::BAD_REQUEST, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
    }

    pub fn unsupported_api_version(version: &str, resource_type: &str, supported: &[&str]) -> ArmError {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            format!("No registered resource provider found for location 'global' and API version '{version}' for type '{resource_type}'. The supported api-versions are '{}'.", supported.join(", ")),
        )
    }

    pub fn not_found_path(method: &str, path: &str) -> ArmError {
        ArmError::new(StatusCode::NOT_FOUND, "NotFound", format!("The sandbox cloud does not serve {method} {path}."))
    }

    pub fn into_response_with_id(self, cloud: &Cloud) -> Response {
        let mut response = with_ids(cloud, self.status, json!({"error": {"code": self.code, "message": self.message}}));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge =
                format!(r#"Bearer authorization_uri="{}/common/oauth2/authorize", error="invalid_token", error_description="{}""#, cloud.base_url(), self.code);
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert("www-authenticate", v);
            }
        }
        response
    }
}

pub fn with_ids(cloud: &Cloud, status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let id = cloud.request_id();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-ms-request-id", v.clone());
        headers.insert("x-ms-correlation-request-id", v);
    }
    response
}
