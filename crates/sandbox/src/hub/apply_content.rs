//! `POST /devices/{id}/applyConfigurationContent` (Configuration_ApplyOnEdgeDevice, 204): a
//! deployment given to one edge device directly, as `az iot edge set-modules` and `az iot hub state
//! import` give it. Each module of `modulesContent` (`$edgeAgent`, `$edgeHub` and the deployment's
//! own) gets exactly the desired properties given; a module not there yet is made as the edge
//! runtime's (`managedBy: iotEdge`, no credentials of its own).

use super::devices::{bad_json, invalid};
use super::module_identity::{ModuleIdentity, MAX_MODULES_PER_DEVICE};
use super::twin::{parse_patch, TwinPatch};
use super::{HubCtx, HubError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

fn bad(code: &'static str, text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, code, text)
}

pub async fn apply(
    State(ctx): State<HubCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let Some(modules) = body.get("modulesContent").and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return Err(bad("InvalidConfigurationContent", "An edge device's configuration content needs modulesContent."));
    };
    let mut desired = Vec::with_capacity(modules.len());
    for (module_id, content) in modules {
        let properties = content.get("properties.desired").cloned().unwrap_or(json!({}));
        let patch = parse_patch(&json!({"properties": {"desired": properties}}))
            .map_err(|problem| bad("InvalidConfigurationContent", format!("modulesContent.{module_id}: {problem}")))?;
        desired.push((module_id.clone(), patch));
    }
    let mut devices = ctx.hub.devices.lock().unwrap();
    let device = devices.get_mut(&id).ok_or_else(|| HubError::device_not_found(&id))?;
    if !device.iot_edge {
        return Err(bad("DeviceNotEdgeEnabled", format!("Device '{id}' is not an IoT Edge device; configuration content applies to edge devices only.")));
    }
    let modules = device.modules.get_or_insert_with(Box::default);
    let new = desired.iter().filter(|(m, _)| !modules.contains_key(m)).count();
    if modules.len() + new > MAX_MODULES_PER_DEVICE {
        return Err(bad("TooManyModulesOnDevice", format!("Device '{id}' would have more than {MAX_MODULES_PER_DEVICE} modules.")));
    }
    for (module_id, TwinPatch { desired, .. }) in desired {
        if !modules.contains_key(&module_id) {
            let made =
                ModuleIdentity::from_request(&id, &module_id, &json!({"managedBy": "iotEdge", "authentication": {"type": "none"}}), None).map_err(invalid)?;
            modules.insert(module_id.clone(), made);
        }
        let module = modules.get_mut(&module_id).expect("made above");
        // The deployment's desired properties replace the module's; its tags stay.
        let tags = module.twin.as_ref().map(|t| t.tags());
        module.twin.get_or_insert_with(Box::default).apply(TwinPatch { tags, desired: Some(desired.unwrap_or_default()) }, true);
    }
    Ok(StatusCode::NO_CONTENT)
}
