//! Deployment what-if: what a deployment would do, resource by resource, without doing it —
//! Create for what does not exist, Modify (with each property's `delta`) or NoChange for what
//! does, and for what the resource group holds that the template does not name, Delete in
//! Complete mode and Ignore in Incremental mode. Nested deployments are expanded into their
//! resources. Properties whose value needs the deployment (`reference()`) are shown as written.

use super::deployment_request::{prepare, Prepared, Refusal};
use super::deployment_run::nested_properties;
use super::internal::read;
use super::template::{NoEnv, Scope};
use crate::cloud::Cloud;
use axum::http::Method;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The changes for a prepared deployment: its resources, then the group's others.
pub async fn changes(cloud: &Arc<Cloud>, auth: &str, prepared: Prepared) -> Result<Vec<Value>, Refusal> {
    let scope = prepared.loaded.scope.clone();
    let mode = prepared.mode.clone();
    let mut out = template_changes(cloud.clone(), auth.to_string(), prepared).await?;
    let named: Vec<String> = out.iter().filter_map(|c| c["resourceId"].as_str()).map(str::to_ascii_lowercase).collect();
    for (id, before) in existing(cloud, auth, &scope).await {
        if named.contains(&id.to_ascii_lowercase()) {
            continue;
        }
        out.push(if mode == "Complete" {
            json!({"resourceId": id, "changeType": "Delete", "before": before})
        } else {
            json!({"resourceId": id, "changeType": "Ignore", "before": before})
        });
    }
    Ok(out)
}

/// Boxed: a nested deployment's changes are a template's changes too.
fn template_changes(cloud: Arc<Cloud>, auth: String, prepared: Prepared) -> Pin<Box<dyn Future<Output = Result<Vec<Value>, Refusal>> + Send>> {
    Box::pin(async move {
        let mut out = Vec::new();
        for p in prepared.plan.iter().filter(|p| p.condition) {
            if p.is_deployment() {
                let properties = nested_properties(&prepared.loaded, p, &NoEnv).map_err(|e| Refusal::bad("InvalidTemplate", e.message))?;
                let mut scope: Scope = prepared.loaded.scope.clone();
                scope.resource_group = p.resource_group.clone();
                scope.deployment_name = p.name.clone();
                let raw = serde_json::to_vec(&json!({"properties": properties})).unwrap_or_default();
                let child = prepare(&cloud, &properties, &raw, scope, prepared.base_uri.as_deref()).await?;
                out.extend(template_changes(cloud.clone(), auth.clone(), child).await?);
                continue;
            }
            let mut after = prepared.loaded.body(p, &NoEnv).map_err(|e| Refusal::bad("InvalidTemplate", e.message))?;
            after["id"] = json!(p.id);
            after["apiVersion"] = json!(p.api_version);
            match read(&cloud, &auth, Method::GET, &format!("{}?api-version={}", p.id, p.api_version)).await {
                Err(f) if f.status == axum::http::StatusCode::NOT_FOUND => out.push(json!({"resourceId": p.id, "changeType": "Create", "after": after})),
                Err(f) => out.push(json!({"resourceId": p.id, "changeType": "Unsupported", "unsupportedReason": f.error["message"], "after": after})),
                Ok(mut before) => {
                    before["apiVersion"] = json!(p.api_version);
                    let mut delta = Vec::new();
                    diff("", &after, &before, &mut delta);
                    let mut predicted = before.clone();
                    merge(&mut predicted, &after);
                    let change = if delta.is_empty() { "NoChange" } else { "Modify" };
                    let mut c = json!({"resourceId": p.id, "changeType": change, "before": before, "after": predicted});
                    if !delta.is_empty() {
                        c["delta"] = Value::Array(delta);
                    }
                    out.push(c);
                }
            }
        }
        Ok(out)
    })
}

/// The property changes the template makes to what exists: only what it sets counts (ARM's
/// what-if ignores read-only and unset properties).
fn diff(path: &str, after: &Value, before: &Value, out: &mut Vec<Value>) {
    if let Value::Object(a) = after {
        for (k, v) in a {
            if path.is_empty() && matches!(k.as_str(), "id" | "name" | "type" | "apiVersion") {
                continue;
            }
            let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            let b = before.as_object().and_then(|o| o.iter().find(|(bk, _)| bk.eq_ignore_ascii_case(k)).map(|(_, v)| v));
            match b {
                None if !v.is_null() => out.push(json!({"path": child, "propertyChangeType": "Create", "after": v})),
                None => {}
                Some(b) if v.is_object() && b.is_object() => diff(&child, v, b, out),
                Some(b) if deferred(v) || same(v, b) => {}
                Some(b) => out.push(json!({"path": child, "propertyChangeType": "Modify", "before": b, "after": v})),
            }
        }
    }
}

/// A value the deployment alone can know (an expression kept as written).
fn deferred(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with('[') && s.ends_with(']') && !s.starts_with("[["))
}

/// Equal as ARM compares them: strings case-insensitively (names, SKUs, locations).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y) || x.replace(' ', "").eq_ignore_ascii_case(&y.replace(' ', "")),
        _ => a == b,
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(i), Value::Object(f)) => {
            for (k, v) in f {
                merge(i.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (i, f) => *i = f.clone(),
    }
}

/// The resources the group holds now, by ID, as their GETs show them.
pub(super) async fn existing(cloud: &Arc<Cloud>, auth: &str, scope: &Scope) -> Vec<(String, Value)> {
    let group = format!("/subscriptions/{}/resourceGroups/{}", scope.subscription_id, scope.resource_group);
    let mut out = Vec::new();
    for (path, version) in [
        ("providers/Microsoft.Devices/IotHubs", "2023-06-30"),
        ("providers/Microsoft.Devices/provisioningServices", "2022-12-12"),
        ("providers/Microsoft.Storage/storageAccounts", "2023-05-01"),
    ] {
        // Storage without Azurite, or a type with nothing in the group, lists nothing.
        let mut next = Some(format!("{group}/{path}?api-version={version}"));
        while let Some(page) = next.take() {
            let Ok(list) = read(cloud, auth, Method::GET, &page).await else { break };
            for item in list["value"].as_array().into_iter().flatten() {
                if let Some(id) = item["id"].as_str() {
                    out.push((id.to_string(), item.clone()));
                }
            }
            next = list["nextLink"].as_str().map(|l| l.strip_prefix(&cloud.base_url()).unwrap_or(l).to_string());
        }
    }
    for item in cloud.arm_store().resources_under(&format!("{group}/")) {
        if let Some(id) = item["id"].as_str() {
            out.push((id.to_string(), item.clone()));
        }
    }
    out
}
