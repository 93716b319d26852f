//! `POST /subscriptions/{s}/resourcegroups/{g}/exportTemplate`: a resource group's resources as an
//! ARM template, as `az group export` and the az CLI's `iot hub state export` (ARM aspect) ask for
//! it — every resource (`["*"]`) or the IDs given, read through their own GETs, with resource names
//! parameterised unless `SkipResourceNameParameterization` / `SkipAllParameterization` is asked
//! for, and children depending on their parents.

use super::errors::{with_ids, ArmError};
use super::generic_resources::group_location;
use super::subscriptions::check_version;
use super::template::Scope;
use super::{authenticate, Ctx};
use crate::cloud::Cloud;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

const SCHEMA: &str = "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json#";

/// Serves exportTemplate on a resource group, or None for any other request.
pub async fn serve(cloud: &Arc<Cloud>, method: &Method, uri: &Uri, headers: &HeaderMap, query: &HashMap<String, String>, body: &[u8]) -> Option<Response> {
    let segments: Vec<String> = uri.path().trim_matches('/').split('/').map(str::to_ascii_lowercase).collect();
    if *method != Method::POST
        || !matches!(segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice(), ["subscriptions", _, "resourcegroups", _, "exporttemplate"])
    {
        return None;
    }
    let raw: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let answer = async {
        let caller = authenticate(cloud, headers)?;
        let ctx = Ctx { cloud, caller: &caller, uri, page: 0 };
        check_version(query.get("api-version").map(String::as_str), "resourceGroups", crate::api_versions::ARM_RESOURCE_GROUPS)?;
        let (sub, group) = (raw[1], raw[3]);
        let location = group_location(&ctx, sub, group, "Microsoft.Resources/subscriptions/resourceGroups/exportTemplate/action")?;
        let bad = |m: String| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", m);
        let request: Value = serde_json::from_slice(body).map_err(|e| bad(format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
        let wanted: Vec<String> = request["resources"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad("'resources' must be an array of resource IDs, or [\"*\"] for all.".into()))?
            .iter()
            .map(|r| r.as_str().map(str::to_string).ok_or_else(|| bad(format!("'resources' holds {r}, which is not a resource ID."))))
            .collect::<Result<_, _>>()?;
        let options: Vec<String> = request["options"].as_str().unwrap_or_default().split(',').map(|o| o.trim().to_ascii_lowercase()).filter(|o| !o.is_empty()).collect();
        for o in &options {
            if !["includeparameterdefaultvalue", "includecomments", "skipresourcenameparameterization", "skipallparameterization"].contains(&o.as_str()) {
                return Err(bad(format!("The export option '{o}' is not one of IncludeParameterDefaultValue, IncludeComments, SkipResourceNameParameterization, SkipAllParameterization.")));
            }
        }
        let scope = Scope { subscription_id: sub.to_string(), resource_group: group.to_string(), location, ..Scope::default() };
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let mut found = super::what_if::existing(cloud, auth, &scope).await;
        if !wanted.iter().any(|w| w == "*") {
            for w in &wanted {
                if !found.iter().any(|(id, _)| id.eq_ignore_ascii_case(w)) {
                    return Err(ArmError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The resource '{w}' to export was not found in resource group '{group}'.")));
                }
            }
            found.retain(|(id, _)| wanted.iter().any(|w| w.eq_ignore_ascii_case(id)));
        }
        let parameterise = !options.iter().any(|o| o == "skipallparameterization" || o == "skipresourcenameparameterization");
        let defaults = options.iter().any(|o| o == "includeparameterdefaultvalue");
        Ok(with_ids(cloud, StatusCode::OK, json!({"template": template(&found, parameterise, defaults)})))
    }
    .await;
    Some(answer.unwrap_or_else(|e: ArmError| e.into_response_with_id(cloud)))
}

/// `NS/t1/t2` and the names `n1/n2` of a resource ID.
fn type_and_name(id: &str) -> (String, String) {
    let after = id.rsplit_once("/providers/").map(|(_, a)| a).unwrap_or_default();
    let parts: Vec<&str> = after.split('/').collect();
    let mut types: Vec<&str> = vec![parts.first().copied().unwrap_or_default()];
    let mut names: Vec<&str> = Vec::new();
    for pair in parts[1..].chunks(2) {
        types.push(pair[0]);
        names.extend(pair.get(1).copied());
    }
    (types.join("/"), names.join("/"))
}

/// `IotHubs_contoso_hub_weu_name`, as ARM names a resource's name parameter.
fn parameter_name(resource_type: &str, name: &str) -> String {
    let last = resource_type.rsplit('/').next().unwrap_or_default();
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("{last}_{clean}_name")
}

fn template(found: &[(String, Value)], parameterise: bool, defaults: bool) -> Value {
    let mut parameters = Map::new();
    let mut resources = Vec::new();
    for (id, body) in found {
        let (resource_type, name) = type_and_name(id);
        let names: Vec<&str> = name.split('/').collect();
        let mut resource = Map::new();
        resource.insert("type".into(), json!(resource_type));
        resource.insert("apiVersion".into(), body.get("apiVersion").cloned().unwrap_or_else(|| json!(super::deployment_run::default_version(id))));
        let root_type = resource_type.split('/').take(2).collect::<Vec<_>>().join("/");
        let name_value = if parameterise {
            let parameter = parameter_name(&root_type, names[0]);
            let mut declaration = json!({"type": "String"});
            if defaults {
                declaration["defaultValue"] = json!(names[0]);
            }
            parameters.insert(parameter.clone(), declaration);
            match names.len() {
                1 => format!("[parameters('{parameter}')]"),
                _ => format!("[concat(parameters('{parameter}'), '/{}')]", names[1..].join("/")),
            }
        } else {
            name.clone()
        };
        resource.insert("name".into(), json!(name_value));
        for (k, v) in body.as_object().into_iter().flatten() {
            if matches!(k.as_str(), "id" | "name" | "type" | "etag" | "systemData" | "resourcegroup" | "subscriptionid" | "apiVersion") {
                continue;
            }
            let mut v = v.clone();
            if k == "properties" {
                if let Some(p) = v.as_object_mut() {
                    p.remove("provisioningState");
                }
            }
            resource.insert(k.clone(), v);
        }
        // A child deploys after its parent, as ARM's export writes it.
        if names.len() > 1 {
            let parent_id = id.rsplitn(3, '/').nth(2).unwrap_or_default();
            let (parent_type, parent_name) = type_and_name(parent_id);
            let args: Vec<String> = parent_name.split('/').map(|n| format!("'{n}'")).collect();
            resource.insert("dependsOn".into(), json!([format!("[resourceId('{parent_type}', {})]", args.join(", "))]));
        }
        resources.push(Value::Object(resource));
    }
    json!({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters, "variables": {}, "resources": resources})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_become_a_template_with_parameterised_names_and_children_after_parents() {
        let hub = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Devices/IotHubs/contoso-hub";
        let broker = "/subscriptions/s/resourceGroups/g/providers/Microsoft.IoTOperations/instances/ops/brokers/default";
        let found = vec![
            (
                hub.to_string(),
                json!({"id": hub, "name": "contoso-hub", "type": "Microsoft.Devices/IotHubs", "etag": "x", "location": "westeurope", "sku": {"name": "S1"}, "properties": {"provisioningState": "Succeeded", "features": "None"}}),
            ),
            (broker.to_string(), json!({"id": broker, "properties": {"provisioningState": "Succeeded", "memoryProfile": "Low"}})),
        ];
        let t = template(&found, true, true);
        assert_eq!(t["parameters"]["IotHubs_contoso_hub_name"], json!({"type": "String", "defaultValue": "contoso-hub"}));
        assert_eq!(
            t["resources"][0],
            json!({"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": "[parameters('IotHubs_contoso_hub_name')]", "location": "westeurope", "sku": {"name": "S1"}, "properties": {"features": "None"}})
        );
        assert_eq!(t["resources"][1]["name"], json!("[concat(parameters('instances_ops_name'), '/default')]"));
        assert_eq!(t["resources"][1]["dependsOn"], json!(["[resourceId('Microsoft.IoTOperations/instances', 'ops')]"]));
        let plain = template(&found, false, false);
        assert_eq!((plain["resources"][0]["name"].as_str(), plain["parameters"].as_object().unwrap().len()), (Some("contoso-hub"), 0));
    }
}
