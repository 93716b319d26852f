//! The state applied to a hub, one device (or the configurations) at a time, by comparison: what
//! the hub already holds as the state says is left alone, so a device met again after a resume is
//! not written twice, and a dry run is the same walk with nothing written.
//!
//! Unlike the CLI (which deletes everything first and creates it all again), a device is created
//! only when missing and updated only where it differs; Replace deletes only what the state lacks.

use super::from_hub::{desired_of, tags_of};
use super::state_file::{AuthKind, AuthenticationState, ConfigurationState, ConfigurationsState, DeviceState, ModuleState, TwinState};
use iotm_azure::hub::{DeviceAuthentication, DeviceCapabilities, DeviceIdentity, DeviceKeys, HubClient, ModuleIdentity};
use iotm_azure::AzureError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "HubStateChange")]
pub enum Change {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Delete => "delete",
            Change::Unchanged => "unchanged",
        }
    }
}

/// What applying one device did (or, dry, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceOutcome {
    pub device: Change,
    pub modules: Vec<(String, Change)>,
}

fn missing(e: &AzureError) -> bool {
    e.status() == Some(404)
}

fn wire_auth(auth: &AuthenticationState) -> DeviceAuthentication {
    let keys = auth.symmetric_key.as_ref().map(|k| DeviceKeys { primary_key: k.primary_key.clone(), secondary_key: k.secondary_key.clone() });
    DeviceAuthentication {
        kind: auth.kind.as_str().into(),
        symmetric_key: if auth.kind == AuthKind::Sas { keys } else { None },
        x509_thumbprint: (auth.kind == AuthKind::SelfSigned).then(|| serde_json::to_value(&auth.x509_thumbprint).unwrap_or(Value::Null)),
    }
}

/// Whether the hub's authentication is the state's (keys compared only when the state has them).
fn same_auth(state: &AuthenticationState, hub: Option<&DeviceAuthentication>) -> bool {
    let Some(hub) = hub else { return false };
    if hub.kind != state.kind.as_str() {
        return false;
    }
    match state.kind {
        AuthKind::Sas => {
            let Some(keys) = state.symmetric_key.as_ref().filter(|k| k.primary_key.is_some()) else { return true };
            let theirs = hub.symmetric_key.as_ref();
            let expose = |k: Option<&iotm_azure::Secret<String>>| k.map(|s| s.expose().clone());
            expose(keys.primary_key.as_ref()) == expose(theirs.and_then(|k| k.primary_key.as_ref()))
                && expose(keys.secondary_key.as_ref()) == expose(theirs.and_then(|k| k.secondary_key.as_ref()))
        }
        AuthKind::SelfSigned => {
            let theirs = hub.x509_thumbprint.clone().unwrap_or(Value::Null);
            let print = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_ascii_uppercase);
            state.x509_thumbprint.primary_thumbprint.as_deref().map(str::to_ascii_uppercase) == print(&theirs, "primaryThumbprint")
                && state.x509_thumbprint.secondary_thumbprint.as_deref().map(str::to_ascii_uppercase) == print(&theirs, "secondaryThumbprint")
        }
        AuthKind::CertificateAuthority | AuthKind::None => true,
    }
}

/// The twin body a replace sends: exactly the state's tags and desired properties.
fn twin_body(twin: &TwinState) -> Value {
    json!({"tags": twin.tags.clone().unwrap_or_default(), "properties": {"desired": twin.properties.desired}})
}

fn same_twin(state: &TwinState, hub: &Value) -> bool {
    state.tags.clone().unwrap_or_default() == tags_of(hub).unwrap_or_default() && state.properties.desired == desired_of(hub)
}

/// Applies one device (identity, twin, modules; its parent is set apart, once every device is in).
/// `known_missing`: a batch query found no such device on the hub, so it is created without a read
/// first; should it exist after all (a query lags a fresh create), the create is refused and the
/// device is read and compared as any other.
pub async fn apply_device(hub: &HubClient, id: &str, state: &DeviceState, replace: bool, dry: bool, known_missing: bool) -> Result<DeviceOutcome, AzureError> {
    if known_missing && !dry {
        match create_device(hub, id, state).await {
            Err(e) if e.status() == Some(409) => {}
            done => return done,
        }
    }
    if known_missing && dry {
        return Ok(DeviceOutcome { device: Change::Create, modules: state.modules.keys().map(|m| (m.clone(), Change::Create)).collect() });
    }
    let existing = match hub.device(id).await {
        Ok(device) => Some(device),
        Err(e) if missing(&e) => None,
        Err(e) => return Err(e),
    };
    let identity = &state.identity;
    // A device's parent is kept as the hub has it; the parents pass sets the state's.
    let wanted = wanted_identity(id, state, existing.as_ref().and_then(|e| e.device_scope.clone()));
    let mut change = match &existing {
        None => Change::Create,
        Some(e) => {
            let same = e.status.as_deref() == wanted.status.as_deref()
                && e.status_reason.as_deref().unwrap_or_default() == wanted.status_reason.as_deref().unwrap_or_default()
                && e.capabilities.as_ref().is_some_and(|c| c.iot_edge) == identity.capabilities.iot_edge
                && same_auth(&identity.authentication, e.authentication.as_ref());
            if same {
                Change::Unchanged
            } else {
                Change::Update
            }
        }
    };
    if !dry && change != Change::Unchanged {
        hub.create_or_update_device(&wanted, existing.as_ref().map(|_| "*")).await?;
    }
    let twin_differs = match &existing {
        None => has_twin(&state.twin),
        Some(_) => !same_twin(&state.twin, &serde_json::to_value(hub.twin(id).await?).unwrap_or_default()),
    };
    if twin_differs {
        if change == Change::Unchanged {
            change = Change::Update;
        }
        if !dry {
            hub.replace_twin(id, &twin_body(&state.twin), Some("*")).await?;
        }
    }
    let modules = apply_modules(hub, id, state, existing.is_some(), replace, dry).await?;
    Ok(DeviceOutcome { device: change, modules })
}

fn wanted_identity(id: &str, state: &DeviceState, device_scope: Option<String>) -> DeviceIdentity {
    let identity = &state.identity;
    DeviceIdentity {
        device_id: id.to_string(),
        status: Some(identity.status.as_str().into()),
        status_reason: identity.status_reason.clone(),
        authentication: Some(wire_auth(&identity.authentication)),
        capabilities: Some(DeviceCapabilities { iot_edge: identity.capabilities.iot_edge }),
        device_scope,
        ..DeviceIdentity::default()
    }
}

/// Whether a new device's (or module's) twin needs writing at all.
fn has_twin(twin: &TwinState) -> bool {
    twin.tags.as_ref().is_some_and(|t| !t.is_empty()) || !twin.properties.desired.is_empty()
}

/// A device the hub does not hold: its identity, twin and modules written with no read first.
async fn create_device(hub: &HubClient, id: &str, state: &DeviceState) -> Result<DeviceOutcome, AzureError> {
    hub.create_or_update_device(&wanted_identity(id, state, None), None).await?;
    if has_twin(&state.twin) {
        hub.replace_twin(id, &twin_body(&state.twin), Some("*")).await?;
    }
    let modules = apply_modules(hub, id, state, false, false, false).await?;
    Ok(DeviceOutcome { device: Change::Create, modules })
}

async fn apply_modules(hub: &HubClient, id: &str, state: &DeviceState, existed: bool, replace: bool, dry: bool) -> Result<Vec<(String, Change)>, AzureError> {
    let existing: BTreeMap<String, ModuleIdentity> =
        if existed { hub.modules(id).await?.into_iter().map(|m| (m.module_id.clone(), m)).collect() } else { BTreeMap::new() };
    let mut changes = Vec::new();
    let mut edge_content = Map::new();
    let mut edge_differs = false;
    for (module_id, module) in &state.modules {
        let current = existing.get(module_id);
        let twin = match current {
            Some(_) => Some(hub.module_twin(id, module_id).await?),
            None => None,
        };
        if module.is_edge_managed(module_id) {
            // The edge runtime's modules get their desired properties from the device's deployment.
            edge_content.insert(module_id.clone(), json!({"properties.desired": module.twin.properties.desired}));
            let change = match &twin {
                None => Change::Create,
                Some(t) if desired_of(t) != module.twin.properties.desired => Change::Update,
                Some(_) => Change::Unchanged,
            };
            edge_differs |= change != Change::Unchanged;
            changes.push((module_id.clone(), change));
            continue;
        }
        changes.push((module_id.clone(), apply_module(hub, id, module_id, module, current, twin.as_ref(), dry).await?));
    }
    if edge_differs && !dry {
        hub.apply_configuration_content(id, &json!({"modulesContent": edge_content})).await?;
    }
    if replace {
        for module_id in existing.keys().filter(|m| !m.starts_with('$') && !state.modules.contains_key(*m)) {
            if !dry {
                match hub.delete_module(id, module_id, Some("*")).await {
                    Err(e) if !missing(&e) => return Err(e),
                    _ => {}
                }
            }
            changes.push((module_id.clone(), Change::Delete));
        }
    }
    Ok(changes)
}

async fn apply_module(
    hub: &HubClient,
    id: &str,
    module_id: &str,
    module: &ModuleState,
    current: Option<&ModuleIdentity>,
    twin: Option<&Value>,
    dry: bool,
) -> Result<Change, AzureError> {
    let auth = &module.identity.authentication;
    let mut change = match current {
        None => Change::Create,
        Some(m) if same_auth(auth, m.authentication.as_ref()) => Change::Unchanged,
        Some(_) => Change::Update,
    };
    if !dry && change != Change::Unchanged {
        let wanted = ModuleIdentity {
            module_id: module_id.to_string(),
            device_id: id.to_string(),
            managed_by: module.identity.managed_by.clone(),
            authentication: Some(wire_auth(auth)),
            ..ModuleIdentity::default()
        };
        hub.create_or_update_module(&wanted, current.map(|_| "*")).await?;
    }
    let twin_differs = match twin {
        None => has_twin(&module.twin),
        Some(t) => !same_twin(&module.twin, t),
    };
    if twin_differs {
        if change == Change::Unchanged {
            change = Change::Update;
        }
        if !dry {
            hub.replace_module_twin(id, module_id, &twin_body(&module.twin), Some("*")).await?;
        }
    }
    Ok(change)
}

/// Sets a child's edge parent: its device scope becomes the parent's. Answers whether it changed.
pub async fn apply_parent(hub: &HubClient, id: &str, parent: &str, dry: bool) -> Result<Change, AzureError> {
    let scope = hub.device(parent).await?.device_scope.unwrap_or_default();
    let mut child = hub.device(id).await?;
    let current = child.device_scope.clone().unwrap_or_default();
    // An edge child keeps its own scope and names the parent's among its parent scopes.
    if current == scope || (child.capabilities.as_ref().is_some_and(|c| c.iot_edge) && child_parent_scope(hub, id).await? == Some(scope.clone())) {
        return Ok(Change::Unchanged);
    }
    if !dry {
        child.device_scope = Some(scope);
        hub.create_or_update_device(&child, Some("*")).await?;
    }
    Ok(Change::Update)
}

async fn child_parent_scope(hub: &HubClient, id: &str) -> Result<Option<String>, AzureError> {
    let twin = serde_json::to_value(hub.twin(id).await?).unwrap_or_default();
    Ok(twin.get("parentScopes").and_then(Value::as_array).and_then(|s| s.first()).and_then(Value::as_str).map(str::to_string))
}

/// The configuration body the hub takes: what the importer sends, never the generated fields.
fn configuration_body(configuration: &ConfigurationState) -> Value {
    json!({
        "id": configuration.id, "content": configuration.content, "targetCondition": configuration.target_condition,
        "priority": configuration.priority, "labels": if configuration.labels.is_null() { json!({}) } else { configuration.labels.clone() },
        "metrics": metrics_of(&configuration.metrics),
    })
}

fn metrics_of(metrics: &Value) -> Value {
    json!({"queries": metrics.get("queries").cloned().filter(Value::is_object).unwrap_or(json!({}))})
}

/// Content without its empty sections: the hub shows all three, a file holds the one in use.
fn content_of(configuration: &Value) -> Value {
    let mut content = configuration.get("content").cloned().unwrap_or_default();
    if let Some(sections) = content.as_object_mut() {
        sections.retain(|_, section| section.as_object().is_none_or(|s| !s.is_empty()));
    }
    content
}

fn same_configuration(body: &Value, hub: &Value) -> bool {
    let labels = |v: &Value| v.get("labels").cloned().filter(|l| !l.is_null()).unwrap_or(json!({}));
    content_of(body) == content_of(hub)
        && body["targetCondition"] == hub.get("targetCondition").cloned().unwrap_or_default()
        && body["priority"] == hub.get("priority").cloned().unwrap_or(json!(0))
        && labels(body) == labels(hub)
        && body["metrics"] == metrics_of(hub.get("metrics").unwrap_or(&Value::Null))
}

/// Applies every configuration: ADM ones, then full edge deployments, then layered ones (which
/// build on them). Content cannot change once created, so a configuration whose content differs is
/// deleted and created again. With `replace`, the hub's configurations the state lacks are deleted.
pub async fn apply_configurations(hub: &HubClient, state: &ConfigurationsState, replace: bool, dry: bool) -> Result<Vec<(String, Change)>, AzureError> {
    let existing: BTreeMap<String, Value> =
        hub.configurations().await?.into_iter().filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string).map(|id| (id, c))).collect();
    let ordered = state
        .adm_configurations
        .values()
        .chain(state.edge_deployments.values().filter(|c| !c.is_layered()))
        .chain(state.edge_deployments.values().filter(|c| c.is_layered()));
    let mut changes = Vec::new();
    for configuration in ordered {
        let body = configuration_body(configuration);
        let change = match existing.get(&configuration.id) {
            None => Change::Create,
            Some(hub_copy) if same_configuration(&body, hub_copy) => Change::Unchanged,
            Some(_) => Change::Update,
        };
        if !dry {
            match change {
                Change::Create => drop(hub.create_or_update_configuration(&configuration.id, &body, None).await?),
                Change::Update if content_of(&existing[&configuration.id]) != content_of(&body) => {
                    hub.delete_configuration(&configuration.id, Some("*")).await?;
                    hub.create_or_update_configuration(&configuration.id, &body, None).await?;
                }
                Change::Update => drop(hub.create_or_update_configuration(&configuration.id, &body, Some("*")).await?),
                Change::Delete | Change::Unchanged => {}
            }
        }
        changes.push((configuration.id.clone(), change));
    }
    if replace {
        let wanted: Vec<&String> = state.all().map(|c| &c.id).collect();
        for id in existing.keys().filter(|id| !wanted.contains(id)) {
            if !dry {
                match hub.delete_configuration(id, Some("*")).await {
                    Err(e) if !missing(&e) => return Err(e),
                    _ => {}
                }
            }
            changes.push((id.clone(), Change::Delete));
        }
    }
    Ok(changes)
}
