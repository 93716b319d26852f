//! Requests the router refuses before a handler runs (a body that is not UTF-8, a path segment
//! that does not decode, a form without its content type, a method the route lacks) get axum's
//! plain-text answers. Clients parse errors by the service's shape, so those answers are rewritten
//! into it here, keeping their status and their explanation.

use crate::faults::service_of;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The body of the service's error for `status` with `message`.
pub fn shaped(service: &str, status: StatusCode, message: &str) -> serde_json::Value {
    let stamp = crate::timestamps::now_rfc3339();
    let id = crate::tokens::random_token(16);
    match service {
        "hub" => json!({"Message": format!("ErrorCode:ArgumentInvalid;{message}"), "ExceptionMessage": format!("Tracking ID:{id}")}),
        "dps" => json!({"errorCode": status.as_u16() as u32 * 1000 + 4, "trackingId": id, "message": message, "timestampUtc": stamp}),
        "entra" => {
            json!({"error": "invalid_request", "error_description": format!("AADSTS900144: {message}"), "error_codes": [900144], "timestamp": stamp, "trace_id": id, "correlation_id": id})
        }
        "central" => json!({"error": {"code": "BadRequest", "message": message, "requestId": id, "time": stamp}}),
        _ => {
            json!({"error": {"code": if status == StatusCode::METHOD_NOT_ALLOWED { "MethodNotAllowed" } else { "InvalidRequestContent" }, "message": message}})
        }
    }
}

pub async fn reshape(State(fixed_service): State<Option<&'static str>>, request: Request, next: Next) -> Response {
    let Some(service) = fixed_service.or_else(|| service_of(request.uri().path())) else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    let status = response.status();
    let plain = response.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.to_str().is_ok_and(|t| t.starts_with("text/plain")));
    if !status.is_client_error() || !plain {
        return response;
    }
    let text = to_bytes(response.into_body(), 64 * 1024).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("The request was refused.").to_string() } else { text };
    let mut shaped_response = (status, Json(shaped(service, status, &message))).into_response();
    if service == "central" || service == "arm" {
        if let Ok(v) = crate::tokens::random_token(16).parse() {
            shaped_response.headers_mut().insert("x-ms-request-id", v);
        }
    }
    shaped_response
}
