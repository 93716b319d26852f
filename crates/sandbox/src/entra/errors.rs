//! Entra's error responses: an OAuth `error`, an `AADSTSnnnnn: …` description and the trace
//! fields, exactly the shape MSAL parses (and the app explains to users).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct AadError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl AadError {
    pub fn new(status: StatusCode, error: &'static str, code: u32, description: impl Into<String>) -> AadError {
        AadError { status, error, code, description: description.into() }
    }

    pub fn bad_request(error: &'static str, code: u32, description: impl Into<String>) -> AadError {
        AadError::new(StatusCode::BAD_REQUEST, error, code, description)
    }

    pub fn tenant_not_found(tenant: &str) -> AadError {
        AadError::bad_request(
            "invalid_tenant",
            90002,
            format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        )
    }

    pub fn unknown_client(client_id: &str) -> AadError {
        AadError::bad_request(
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
        )
    }

    /// `AADSTS70011: …` the way Entra formats descriptions (code, text, then trace lines).
    pub fn description_line(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.description)
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let trace_id = crate::tokens::random_token(12);
        let timestamp = crate::timestamps::now_rfc3339();
        let body = json!({
            "error": self.error,
            "error_description": format!("{} Trace ID: {trace_id} Correlation ID: {trace_id} Timestamp: {timestamp}", self.description_line()),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": trace_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}
