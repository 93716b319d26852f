//! `AzureError`: every way a call to Azure can fail, each with a stable `code()` the UI branches on
//! and a message written for people. A service's own error is parsed from whichever shape that
//! service answers in (ARM and Central `{"error":{"code","message"}}`, IoT Hub
//! `{"Message":"ErrorCode:X;text"}`, DPS `{"errorCode":n,"message"}`, Entra
//! `{"error","error_description":"AADSTSn: …"}`), so a wizard can tell "not found" from "throttled"
//! from "wrong secret" without reading text. No message carries a secret.

use crate::cloud::Service;
use crate::redact::scrub;
use reqwest::header::HeaderMap;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A service's own answer to a failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceError {
    pub service: Service,
    pub status: u16,
    /// The service's code: `ResourceNotFound`, `DeviceNotFound`, `404202`, `invalid_client`…
    pub code: Option<String>,
    /// Entra's `AADSTSnnnnn` number, when Entra answered.
    pub aadsts: Option<u32>,
    pub message: String,
    /// What to quote to Azure support.
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.service, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request ID {id})")?;
        }
        Ok(())
    }
}

impl ServiceError {
    /// Reads the error from a response in whatever shape it came; a body that fits none still
    /// yields the status and the start of the text.
    pub fn from_response(service: Service, status: u16, headers: &HeaderMap, body: &[u8]) -> ServiceError {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let mut error = ServiceError { service, status, code: None, aadsts: None, message: String::new(), request_id: None };
        if let Some(inner) = json.get("error").filter(|e| e.is_object()) {
            // ARM and Central.
            error.code = text(&inner["code"]);
            error.message = text(&inner["message"]).unwrap_or_default();
            error.request_id = text(&inner["requestId"]);
        } else if let Some(kind) = json.get("error").and_then(|e| e.as_str()) {
            // Entra: the description starts `AADSTSnnnn: `, then the text, then trace lines.
            error.code = Some(kind.to_string());
            let description = text(&json["error_description"]).unwrap_or_default();
            let first = description.split(" Trace ID:").next().unwrap_or_default().trim();
            let (number, rest) =
                first.strip_prefix("AADSTS").and_then(|r| r.split_once(':')).map_or((None, first), |(n, rest)| (n.trim().parse().ok(), rest.trim()));
            error.aadsts = number.or_else(|| json["error_codes"][0].as_u64().map(|n| n as u32));
            error.message = rest.to_string();
            error.request_id = text(&json["correlation_id"]).or_else(|| text(&json["trace_id"]));
        } else if let Some(message) = json.get("Message").and_then(|m| m.as_str()) {
            // IoT Hub: `ErrorCode:DeviceNotFound;Device d1 not registered`.
            let (code, rest) = message.strip_prefix("ErrorCode:").and_then(|m| m.split_once(';')).map_or((None, message), |(c, r)| (Some(c.to_string()), r));
            error.code = header("iothub-errorcode").or(code);
            error.message = rest.to_string();
        } else if let Some(code) = json.get("errorCode").filter(|c| !c.is_null()) {
            // DPS.
            error.code = Some(code.as_u64().map(|n| n.to_string()).or_else(|| text(code)).unwrap_or_default());
            error.message = text(&json["message"]).unwrap_or_default();
            error.request_id = text(&json["trackingId"]);
        } else if let Some((code, message)) = crate::blob::xml_error(body) {
            // Blob Storage: `<Error><Code>ContainerNotFound</Code><Message>…</Message></Error>`.
            error.code = header("x-ms-error-code").or(Some(code));
            error.message = message;
        } else {
            let raw = String::from_utf8_lossy(body);
            error.message = raw.chars().take(300).collect::<String>().trim().to_string();
        }
        if error.message.is_empty() {
            error.message = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("no explanation given").to_string();
        }
        error.message = scrub(&error.message);
        error.request_id = header("x-ms-request-id").or_else(|| header("request-id")).or(error.request_id);
        error
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzureError {
    #[error("{host} is not an address of {cloud}, so IoT Migrator will not call it")]
    HostNotAllowed { host: String, cloud: String },

    #[error("{url} is not HTTPS; IoT Migrator only talks to Azure over HTTPS")]
    NotHttps { url: String },

    #[error("{service} did not answer {what} within {:.0} s", after.as_secs_f64())]
    Timeout { service: Service, what: String, after: Duration },

    #[error("Could not reach {host}: {detail}")]
    Connection { host: String, detail: String },

    #[error("{} is still throttling after {attempts} attempts; try again later. {last}", last.service)]
    Throttled { attempts: u32, last: Box<ServiceError> },

    #[error("{0}")]
    Service(Box<ServiceError>),

    #[error("Not signed in, or the credential was refused. {0}")]
    Unauthorized(Box<ServiceError>),

    #[error("Signed in, but without permission for this. {0}")]
    Forbidden(Box<ServiceError>),

    #[error("{service} answered with something that is not {expected}: {detail}")]
    Decode { service: Service, expected: String, detail: String },

    #[error("The connection string's {part} {problem}")]
    ConnectionString { part: String, problem: String },

    #[error("{from} redirected to {to}; IoT Migrator follows redirects only within the same host over HTTPS")]
    RedirectRefused { from: String, to: String },

    #[error("{what} points at {to}, not at {from} that gave it; IoT Migrator sends the credential only to the host the call began on")]
    LinkToAnotherHost { what: String, from: String, to: String },

    #[error("The account was signed out, so its credential is no longer used. Sign in again; a stopped migration then resumes.")]
    SignedOut,

    #[error("{file}, line {line}: {field} {problem}")]
    CloudProfile { file: String, line: usize, field: String, problem: String },

    #[error("{service} is not offered in {cloud}")]
    NotInCloud { service: Service, cloud: String },

    #[error("The long-running operation ended {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    OperationFailed { status: String, code: Option<String>, message: String },

    #[error("{what} {problem}")]
    InvalidInput { what: String, problem: String },

    #[error("The HTTPS client could not be set up: {0}")]
    Setup(String),
}

impl AzureError {
    /// Stable, machine-readable: the UI branches on these, so they never change meaning.
    pub fn code(&self) -> &'static str {
        match self {
            AzureError::HostNotAllowed { .. } => "azure.host_not_allowed",
            AzureError::NotHttps { .. } => "azure.not_https",
            AzureError::Timeout { .. } => "azure.timeout",
            AzureError::Connection { .. } => "azure.connection",
            AzureError::Throttled { .. } => "azure.throttled",
            AzureError::Service(_) => "azure.service",
            AzureError::Unauthorized(_) => "azure.unauthorized",
            AzureError::Forbidden(_) => "azure.forbidden",
            AzureError::Decode { .. } => "azure.decode",
            AzureError::ConnectionString { .. } => "azure.connection_string",
            AzureError::RedirectRefused { .. } => "azure.redirect_refused",
            AzureError::LinkToAnotherHost { .. } => "azure.link_to_another_host",
            AzureError::SignedOut => "azure.signed_out",
            AzureError::CloudProfile { .. } => "azure.cloud_profile",
            AzureError::NotInCloud { .. } => "azure.not_in_cloud",
            AzureError::OperationFailed { .. } => "azure.operation_failed",
            AzureError::InvalidInput { .. } => "azure.invalid_input",
            AzureError::Setup(_) => "azure.setup",
        }
    }

    /// Every code `code` gives (the UI's union of error codes is made from it).
    pub const CODES: &'static [&'static str] = &[
        "azure.host_not_allowed",
        "azure.not_https",
        "azure.timeout",
        "azure.connection",
        "azure.throttled",
        "azure.service",
        "azure.unauthorized",
        "azure.forbidden",
        "azure.decode",
        "azure.connection_string",
        "azure.redirect_refused",
        "azure.link_to_another_host",
        "azure.signed_out",
        "azure.cloud_profile",
        "azure.not_in_cloud",
        "azure.operation_failed",
        "azure.invalid_input",
        "azure.setup",
    ];

    /// The service's own error, when a service answered.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            AzureError::Service(e) | AzureError::Unauthorized(e) | AzureError::Forbidden(e) => Some(e),
            AzureError::Throttled { last, .. } => Some(last),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.service_error().map(|e| e.status)
    }

    /// The service's own code (`ResourceNotFound`, `DeviceNotFound`, `404202`, `invalid_client`).
    pub fn service_code(&self) -> Option<&str> {
        self.service_error().and_then(|e| e.code.as_deref())
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The error a final answer of `status` becomes.
    pub(crate) fn from_service(error: ServiceError) -> AzureError {
        match error.status {
            401 => AzureError::Unauthorized(Box::new(error)),
            403 => AzureError::Forbidden(Box::new(error)),
            // Entra answers a wrong secret with 401, a missing one with 400 invalid_client.
            400 if error.service == Service::Entra && error.code.as_deref() == Some("invalid_client") => AzureError::Unauthorized(Box::new(error)),
            _ => AzureError::Service(Box::new(error)),
        }
    }
}

/// The shape Tauri commands hand to the UI: `{code, message}` plus the service's details.
impl Serialize for AzureError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AzureError", 3)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.serialize_field("service", &self.service_error())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(service: Service, status: u16, body: &str) -> ServiceError {
        ServiceError::from_response(service, status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn each_service_shape_yields_its_own_code() {
        let arm = parse(Service::Arm, 404, r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'x' was not found."}}"#);
        assert_eq!((arm.code.as_deref(), arm.message.as_str()), (Some("ResourceNotFound"), "The Resource 'x' was not found."));
        let hub = parse(Service::Hub, 404, r#"{"Message":"ErrorCode:DeviceNotFound;Device d1 not registered","ExceptionMessage":"Tracking ID:1"}"#);
        assert_eq!((hub.code.as_deref(), hub.message.as_str()), (Some("DeviceNotFound"), "Device d1 not registered"));
        let dps = parse(Service::Dps, 404, r#"{"errorCode":404202,"trackingId":"t1","message":"Enrollment group 'g' was not found."}"#);
        assert_eq!((dps.code.as_deref(), dps.request_id.as_deref()), (Some("404202"), Some("t1")));
        let entra = parse(
            Service::Entra,
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: a Correlation ID: b","error_codes":[7000215],"correlation_id":"b"}"#,
        );
        assert_eq!((entra.code.as_deref(), entra.aadsts, entra.message.as_str()), (Some("invalid_client"), Some(7000215), "Invalid client secret provided."));
        assert_eq!(AzureError::from_service(entra).code(), "azure.unauthorized");
    }

    #[test]
    fn a_body_in_no_known_shape_still_says_what_happened() {
        let e = parse(Service::Arm, 502, "<html>Bad gateway</html>");
        assert_eq!(e.message, "<html>Bad gateway</html>");
        assert_eq!(parse(Service::Arm, 503, "").message, "Service Unavailable");
    }

    #[test]
    fn the_ui_gets_code_message_and_details() {
        let e = AzureError::from_service(parse(Service::Central, 404, r#"{"error":{"code":"NotFound","message":"Device d not found.","requestId":"r1"}}"#));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "azure.service");
        assert_eq!(json["service"]["code"], "NotFound");
        assert_eq!(json["service"]["requestId"], "r1");
    }
}
