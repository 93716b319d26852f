//! `POST …/IotHubs/{hub}/exportDevices` and `…/importDevices`: ARM's way to start the hub's
//! import/export jobs. The job is started by the hub's own job machinery (hub/jobs), so it is the
//! same job the data plane's `GET /jobs/{id}` and ARM's `jobs/{id}` answer. These wait on blob
//! storage, so they are served before ARM's synchronous routes.

use super::errors::ArmError;
use super::iot_hub_operations::{hub, job_response};
use super::{authenticate, json, Ctx};
use crate::cloud::Cloud;
use crate::hub::jobs::state::Kind;
use crate::hub::HubCtx;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json as j, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// ARM's request body (`ExportDevicesRequest` / `ImportDevicesRequest`) as the data plane's
/// `JobProperties`.
fn job_properties(kind: Kind, body: &Value) -> Result<Value, ArmError> {
    let bad = |m: &str| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", m.to_string());
    let text = |field: &str| body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty());
    let authentication = text("authenticationType").unwrap_or("keyBased");
    Ok(match kind {
        Kind::Export => {
            let uri = text("exportBlobContainerUri").ok_or_else(|| bad("exportBlobContainerUri is required."))?;
            let exclude = body.get("excludeKeys").and_then(Value::as_bool).ok_or_else(|| bad("excludeKeys (true or false) is required."))?;
            j!({"type": "export", "outputBlobContainerUri": uri, "excludeKeysInExport": exclude, "outputBlobName": text("exportBlobName"),
                "storageAuthenticationType": authentication})
        }
        Kind::Import => {
            let input = text("inputBlobContainerUri").ok_or_else(|| bad("inputBlobContainerUri is required."))?;
            let output = text("outputBlobContainerUri").ok_or_else(|| bad("outputBlobContainerUri is required."))?;
            j!({"type": "import", "inputBlobContainerUri": input, "outputBlobContainerUri": output, "inputBlobName": text("inputBlobName"),
                "outputBlobName": text("outputBlobName"), "storageAuthenticationType": authentication})
        }
    })
}

/// Serves exportDevices / importDevices, or None for any other request.
pub async fn serve(cloud: &Arc<Cloud>, method: &Method, uri: &Uri, headers: &HeaderMap, query: &HashMap<String, String>, body: &[u8]) -> Option<Response> {
    let segments: Vec<String> = uri.path().trim_matches('/').split('/').map(str::to_ascii_lowercase).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let kind = match (method, s.as_slice()) {
        (&Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "exportdevices"]) => Kind::Export,
        (&Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "importdevices"]) => Kind::Import,
        _ => return None,
    };
    let raw: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let result = async {
        let caller = authenticate(cloud, headers)?;
        let ctx = Ctx { cloud, caller: &caller, uri, page: 0 };
        let action = if kind == Kind::Export { "Microsoft.Devices/IotHubs/exportDevices/Action" } else { "Microsoft.Devices/IotHubs/importDevices/Action" };
        let hub = hub(&ctx, raw[1], raw[3], raw[7], query.get("api-version").map(String::as_str), action)?;
        let request: Value = serde_json::from_slice(body).map_err(|e| {
            ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'."))
        })?;
        let properties = job_properties(kind, &request)?;
        let hub_ctx = HubCtx { cloud: cloud.clone(), hub };
        let job = crate::hub::jobs::start(&hub_ctx, kind, &properties).await.map_err(|e| ArmError::new(e.status, e.name, e.text))?;
        Ok::<_, ArmError>(json(cloud, job_response(&job)))
    }
    .await;
    Some(result.unwrap_or_else(|e| e.into_response_with_id(cloud)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_requests_become_the_data_planes_job_properties() {
        let export =
            job_properties(Kind::Export, &j!({"exportBlobContainerUri": "https://s/c?sig=x", "excludeKeys": true, "exportBlobName": "d.txt"})).unwrap();
        assert_eq!(
            (export["outputBlobContainerUri"].as_str(), export["excludeKeysInExport"].as_bool(), export["outputBlobName"].as_str()),
            (Some("https://s/c?sig=x"), Some(true), Some("d.txt"))
        );
        assert_eq!(job_properties(Kind::Export, &j!({"exportBlobContainerUri": "u"})).unwrap_err().code, "InvalidRequestContent");
        let import = job_properties(Kind::Import, &j!({"inputBlobContainerUri": "i", "outputBlobContainerUri": "o"})).unwrap();
        assert_eq!((import["type"].as_str(), import["inputBlobContainerUri"].as_str()), (Some("import"), Some("i")));
        assert!(job_properties(Kind::Import, &j!({"inputBlobContainerUri": "i"})).is_err());
    }
}
