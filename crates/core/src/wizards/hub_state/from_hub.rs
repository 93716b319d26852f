//! A hub read into the state file's model, as `az iot hub state export` reads it: the twin query
//! gives each device's identity fields, tags and desired properties (reported ones, `$metadata` and
//! `$version` are the device's and the hub's, not state); a SAS device's keys come from its
//! identity; which devices have modules, and those modules' twins, from a module query per page;
//! the module keys from the device's module list. Devices of a page are read a few at a time,
//! paced by the pipeline at the hub's throttle.

use super::batch_query;
use super::error::HubStateError;
use super::state_file::{ConfigurationState, ConfigurationsState, DeviceIdentityState, DeviceState, ModuleIdentityState, ModuleState, TwinState};
use iotm_azure::hub::HubClient;
use iotm_azure::AzureError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Devices read at once: enough to keep a throttled hub's bucket busy, few enough to stay polite.
pub const DEVICES_AT_ONCE: usize = 16;

/// Fields the hub generates for a configuration, left out of the file (as the CLI leaves them out).
const GENERATED_CONFIGURATION_FIELDS: [&str; 4] = ["createdTimeUtc", "etag", "lastUpdatedTimeUtc", "schemaVersion"];

/// The hub's configurations, ADM ones and edge deployments apart.
pub async fn configurations(hub: &HubClient, hub_name: &str) -> Result<ConfigurationsState, HubStateError> {
    let all = hub.configurations().await.map_err(|e| match e.status() {
        Some(400 | 403 | 404) => HubStateError::ConfigurationsUnavailable { hub: hub_name.into(), detail: e.to_string() },
        _ => e.into(),
    })?;
    let mut state = ConfigurationsState::default();
    for mut value in all {
        if let Some(fields) = value.as_object_mut() {
            for field in GENERATED_CONFIGURATION_FIELDS {
                fields.remove(field);
            }
            // The hub shows all three content sections, the unused ones empty; the file holds the one in use.
            if let Some(content) = fields.get_mut("content").and_then(Value::as_object_mut) {
                content.retain(|_, section| section.as_object().is_none_or(|s| !s.is_empty()));
            }
        }
        let configuration: ConfigurationState =
            serde_json::from_value(value).map_err(|e| AzureError::InvalidInput { what: format!("A configuration of {hub_name}"), problem: e.to_string() })?;
        let list = if configuration.is_edge_deployment() { &mut state.edge_deployments } else { &mut state.adm_configurations };
        list.insert(configuration.id.clone(), configuration);
    }
    Ok(state)
}

/// Desired properties without the hub's bookkeeping.
pub fn desired_of(twin: &Value) -> Map<String, Value> {
    let mut desired = twin.pointer("/properties/desired").and_then(Value::as_object).cloned().unwrap_or_default();
    desired.remove("$metadata");
    desired.remove("$version");
    desired
}

/// Tags, `None` when there are none (the CLI writes tags only when the twin has some).
pub fn tags_of(twin: &Value) -> Option<Map<String, Value>> {
    twin.get("tags").and_then(Value::as_object).filter(|t| !t.is_empty()).cloned()
}

/// The edge parent's device ID from `parentScopes` (`ms-azure-iot-edge://edge2-637…` → `edge2`).
pub fn parent_of(twin: &Value) -> Option<String> {
    let scope = twin.get("parentScopes")?.as_array()?.first()?.as_str()?;
    let rest = scope.split_once("://").map_or(scope, |(_, rest)| rest);
    rest.rfind('-').map(|at| rest[..at].to_string()).filter(|p| !p.is_empty())
}

fn decode(what: String, e: serde_json::Error) -> HubStateError {
    AzureError::InvalidInput { what, problem: e.to_string() }.into()
}

/// A device's state from its twin (as the twin query gives it), keys and modules still to read.
pub fn device_from_twin(twin: &Value) -> Result<(String, DeviceState), HubStateError> {
    let id = twin.get("deviceId").and_then(Value::as_str).unwrap_or_default().to_string();
    let thumbprints = twin.get("x509Thumbprint").cloned().filter(|v| v.is_object()).unwrap_or(json!({"primaryThumbprint": null, "secondaryThumbprint": null}));
    let mut identity = json!({
        "authentication": {"type": twin.get("authenticationType").cloned().unwrap_or(json!("sas")), "x509Thumbprint": thumbprints},
        "capabilities": twin.get("capabilities").cloned().unwrap_or(json!({"iotEdge": false})),
        "status": twin.get("status").cloned().unwrap_or(json!("enabled")),
    });
    for field in ["connectionState", "modelId", "statusReason"] {
        if let Some(value) = twin.get(field).filter(|v| v.is_string()) {
            identity[field] = value.clone();
        }
    }
    let identity: DeviceIdentityState = serde_json::from_value(identity).map_err(|e| decode(format!("The twin of {id}"), e))?;
    let twin_state =
        TwinState { model_id: None, properties: super::state_file::DesiredProperties { desired: desired_of(twin) }, status: None, tags: tags_of(twin) };
    Ok((id.clone(), DeviceState { identity, modules: BTreeMap::new(), parent: parent_of(twin), twin: twin_state }))
}

/// What the twin query cannot give: a SAS device's keys, its modules and their twins. `module_twins`:
/// the device's module twins if a batch query found them (none: it has no module, and its module
/// list is not read); without them each module's twin is read.
pub async fn complete_device(hub: &HubClient, id: &str, device: &mut DeviceState, module_twins: Option<Vec<Value>>) -> Result<(), HubStateError> {
    if device.identity.authentication.kind == super::state_file::AuthKind::Sas {
        let identity = hub.device(id).await?;
        let keys = identity.authentication.and_then(|a| a.symmetric_key);
        device.identity.authentication.symmetric_key = Some(super::state_file::SymmetricKeys {
            primary_key: keys.as_ref().and_then(|k| k.primary_key.clone()),
            secondary_key: keys.and_then(|k| k.secondary_key),
        });
    }
    let mut queried: Option<BTreeMap<String, Value>> =
        module_twins.map(|twins| twins.into_iter().filter_map(|t| Some((t.get("moduleId")?.as_str()?.to_string(), t))).collect());
    if queried.as_ref().is_some_and(BTreeMap::is_empty) {
        return Ok(());
    }
    for module in hub.modules(id).await? {
        let twin = match queried.as_mut().and_then(|q| q.remove(&module.module_id)) {
            Some(twin) => twin,
            None => hub.module_twin(id, &module.module_id).await?,
        };
        let authentication = serde_json::to_value(module.authentication.as_ref().map(wire_authentication)).unwrap_or(Value::Null);
        let mut identity = json!({"authentication": authentication});
        if let Some(state) = module.connection_state.as_ref() {
            identity["connectionState"] = json!(state);
        }
        if let Some(managed_by) = module.managed_by.as_ref() {
            identity["managedBy"] = json!(managed_by);
        }
        let identity: ModuleIdentityState = serde_json::from_value(identity).map_err(|e| decode(format!("The module {} of {id}", module.module_id), e))?;
        let twin_state = TwinState {
            model_id: twin.get("modelId").and_then(Value::as_str).map(str::to_string),
            properties: super::state_file::DesiredProperties { desired: desired_of(&twin) },
            status: twin.get("status").and_then(Value::as_str).map(str::to_string),
            tags: tags_of(&twin),
        };
        device.modules.insert(module.module_id.clone(), ModuleState { identity, twin: twin_state });
    }
    Ok(())
}

/// A module's authentication as the file writes it: keys in clear (the file is where they go),
/// thumbprints always present.
fn wire_authentication(auth: &iotm_azure::hub::DeviceAuthentication) -> Value {
    let keys = auth
        .symmetric_key
        .as_ref()
        .map(|k| json!({"primaryKey": k.primary_key.as_ref().map(|s| s.expose()), "secondaryKey": k.secondary_key.as_ref().map(|s| s.expose())}));
    let mut value = json!({"type": auth.kind, "x509Thumbprint": auth.x509_thumbprint.clone().filter(|v| v.is_object()).unwrap_or(json!({"primaryThumbprint": null, "secondaryThumbprint": null}))});
    if let Some(keys) = keys {
        value["symmetricKey"] = keys;
    }
    value
}

/// A page of twins read into devices, `DEVICES_AT_ONCE` at a time, in the page's order.
pub async fn devices(hub: &HubClient, twins: Vec<Value>) -> Result<Vec<(String, DeviceState)>, HubStateError> {
    let ids: Vec<&str> = twins.iter().filter_map(|t| t.get("deviceId").and_then(Value::as_str)).collect();
    let mut module_twins = batch_query::module_twins(hub, &ids).await?;
    let mut read = Vec::with_capacity(twins.len());
    for chunk in twins.chunks(DEVICES_AT_ONCE) {
        let mut tasks = tokio::task::JoinSet::new();
        for (at, twin) in chunk.iter().enumerate() {
            let (id, mut device) = device_from_twin(twin)?;
            let hub = hub.clone();
            let modules = module_twins.remove(&id);
            tasks.spawn(async move {
                let done = complete_device(&hub, &id, &mut device, modules).await;
                (at, done.map(|_| (id, device)))
            });
        }
        let mut chunk_read: Vec<Option<(String, DeviceState)>> = vec![None; chunk.len()];
        while let Some(joined) = tasks.join_next().await {
            let (at, done) = joined.map_err(|e| AzureError::InvalidInput { what: "A device read".into(), problem: e.to_string() })?;
            match done {
                Ok(device) => chunk_read[at] = Some(device),
                // A device deleted between the query and its read is not part of the state.
                Err(HubStateError::Azure(e)) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        read.extend(chunk_read.into_iter().flatten());
    }
    Ok(read)
}
