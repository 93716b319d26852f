//! IoT Hub's error shape: `{"Message":"ErrorCode:<Name>;<text>","ExceptionMessage":"Tracking ID:…"}`
//! with the six-digit code in the `iothub-errorcode` header's companion and the status it implies.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct HubError {
    pub status: StatusCode,
    pub name: &'static str,
    pub text: String,
}

impl HubError {
    pub fn new(status: StatusCode, name: &'static str, text: impl Into<String>) -> HubError {
        HubError { status, name, text: text.into() }
    }
    pub fn unauthorized(why: &str) -> HubError {
        HubError::new(StatusCode::UNAUTHORIZED, "IotHubUnauthorizedAccess", format!("Unauthorized ({why})"))
    }
    pub fn bad_api_version(v: Option<&str>) -> HubError {
        HubError::new(StatusCode::BAD_REQUEST, "InvalidProtocolVersion", format!("Invalid protocol version '{}'.", v.unwrap_or_default()))
    }
    pub fn device_not_found(id: &str) -> HubError {
        HubError::new(StatusCode::NOT_FOUND, "DeviceNotFound", format!("Device {id} not registered"))
    }
    pub fn not_served() -> HubError {
        HubError::new(StatusCode::NOT_FOUND, "NotFound", "The sandbox cloud does not serve this IoT Hub operation yet.")
    }
}

impl HubError {
    fn body(&self) -> serde_json::Value {
        let tracking = crate::tokens::random_token(16);
        let stamp = chrono::Utc::now();
        json!({
            "Message": format!("ErrorCode:{};{}", self.name, self.text),
            "ExceptionMessage": format!("Tracking ID:{tracking}-G:0-TimeStamp:{}", stamp.format("%m/%d/%Y %H:%M:%S")),
        })
    }

    /// The hub's refusal as DPS passes it on in a failed registration's `errorMessage`.
    pub fn unauthorized_body(text: &str) -> String {
        HubError::new(StatusCode::UNAUTHORIZED, "IotHubUnauthorizedAccess", text).body().to_string()
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(self.name) {
            response.headers_mut().insert("iothub-errorcode", v);
        }
        response
    }
}
