//! `Microsoft.Resources/deployments` at resource-group scope: create or update (a long-running
//! PUT: Accepted → Running → Succeeded / Failed / Canceled, polled at its Azure-AsyncOperation
//! URL), get, check existence, list, delete, validate, what-if (a long-running POST answered at
//! its Location), cancel, exportTemplate, and the deployment's operations. Served before ARM's
//! synchronous routes, since a linked template is read from blob storage.

use super::deployment_request::{expand, prepare, Refusal};
use super::deployment_run::{accepted, start};
use super::deployment_store::Deployment;
use super::errors::{with_ids, ArmError};
use super::generic_resources::group_location;
use super::subscriptions::check_version;
use super::template::Scope;
use super::{authenticate, Ctx};
use crate::cloud::Cloud;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub const VERSIONS: &[&str] = crate::api_versions::ARM_DEPLOYMENTS;
const TYPE: &str = "Microsoft.Resources/deployments";

fn refused(cloud: &Cloud, r: Refusal) -> Response {
    with_ids(cloud, r.status, json!({"error": r.error}))
}

fn not_found(group: &str, name: &str) -> ArmError {
    ArmError::new(StatusCode::NOT_FOUND, "DeploymentNotFound", format!("Deployment '{name}' could not be found in resource group '{group}'."))
}

/// Serves the deployment routes, or None for any other request.
pub async fn serve(cloud: &Arc<Cloud>, method: &Method, uri: &Uri, headers: &HeaderMap, query: &HashMap<String, String>, body: &[u8]) -> Option<Response> {
    let segments: Vec<String> = uri.path().trim_matches('/').split('/').map(str::to_ascii_lowercase).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    // Deployments live under `providers/Microsoft.Resources/deployments`; their operations are
    // also listed under `resourcegroups/{group}/deployments/{name}/operations`, as the spec has it.
    let at = match s.as_slice() {
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.resources", "deployments", ..] => 7,
        ["subscriptions", _, "resourcegroups", _, "deployments", _, "operations", ..] => 5,
        _ => return None,
    };
    let raw: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let version = query.get("api-version").map(String::as_str);
    // ARM reads requests as JSON with comments (the az CLI sends `template:{…}` unquoted).
    let lenient = super::template::jsonc::to_json(body);
    let body: &[u8] = &lenient;
    let answer = async {
        let caller = authenticate(cloud, headers).map_err(|e| e.into_response_with_id(cloud))?;
        let ctx = Ctx { cloud, caller: &caller, uri, page: query.get("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0) };
        check_version(version, TYPE, VERSIONS).map_err(|e| e.into_response_with_id(cloud))?;
        let (sub, group) = (raw[1], raw[3]);
        let arm = |e: ArmError| e.into_response_with_id(cloud);
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let find = |name: &str| cloud.arm_store().deployment(sub, group, name).ok_or_else(|| not_found(group, name));
        let response = match (method.clone(), &s[at..]) {
            (Method::GET, []) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/read").map_err(arm)?;
                let mut all = cloud.arm_store().deployments_in(sub, group);
                all.sort_by_key(|d| std::cmp::Reverse(d.state().started));
                super::json(cloud, ctx.paged(all.iter().map(|d| d.to_json()).collect()))
            }
            (Method::GET, [_]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/read").map_err(arm)?;
                super::json(cloud, find(raw[at]).map_err(arm)?.to_json())
            }
            (Method::HEAD, [_]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/read").map_err(arm)?;
                (if find(raw[at]).is_ok() { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }).into_response()
            }
            (Method::PUT, [_]) => {
                let scope = scope(&ctx, sub, group, raw[at], "Microsoft.Resources/deployments/write").map_err(arm)?;
                if let Some(active) = cloud.arm_store().deployment(sub, group, raw[at]).filter(|d| d.is_active()) {
                    return Err(arm(ArmError::new(
                        StatusCode::CONFLICT,
                        "DeploymentActive",
                        format!("Unable to edit or replace deployment '{}': previous deployment from '{}' is still active. Please see https://aka.ms/arm-deploy for usage details.", active.name, crate::timestamps::rfc3339(active.state().started)),
                    )));
                }
                let properties = properties(body).map_err(|r| refused(cloud, r))?;
                let prepared = prepare(cloud, &properties, body, scope, None).await.map_err(|r| refused(cloud, r))?;
                expand(cloud, &prepared).await.map_err(|r| refused(cloud, r))?;
                let deployment = Deployment::new(sub, group, raw[at], accepted(cloud, &prepared));
                cloud.arm_store().put_deployment(deployment.clone());
                let status_id = deployment.state().status_id;
                let body = deployment.to_json();
                start(cloud.clone(), auth, deployment.clone(), prepared);
                let mut response = with_ids(cloud, StatusCode::CREATED, body);
                let poll = format!("{}{}/operationStatuses/{status_id}?api-version={}", cloud.base_url(), deployment.id(), version.unwrap_or_default());
                if let Ok(v) = HeaderValue::from_str(&poll) {
                    response.headers_mut().insert("azure-asyncoperation", v);
                }
                response
            }
            (Method::DELETE, [_]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/delete").map_err(arm)?;
                if cloud.arm_store().deployment(sub, group, raw[at]).is_some_and(|d| d.is_active()) {
                    return Err(arm(ArmError::new(StatusCode::CONFLICT, "DeploymentActive", format!("The deployment '{}' is still running: cancel it before deleting it.", raw[at]))));
                }
                cloud.arm_store().remove_deployment(sub, group, raw[at]);
                StatusCode::NO_CONTENT.into_response()
            }
            (Method::GET, [_, "operationstatuses", _]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/read").map_err(arm)?;
                let state = find(raw[at]).map_err(arm)?.state();
                let mut status = json!({"status": state.provisioning_state});
                if let Some(error) = state.error {
                    status["error"] = error;
                }
                super::json(cloud, status)
            }
            (Method::POST, [_, "validate"]) => {
                let scope = scope(&ctx, sub, group, raw[at], "Microsoft.Resources/deployments/validate/action").map_err(arm)?;
                let properties = properties(body).map_err(|r| refused(cloud, r))?;
                let prepared = prepare(cloud, &properties, body, scope, None).await.map_err(|r| refused(cloud, r))?;
                let validated: Vec<Value> = expand(cloud, &prepared).await.map_err(|r| refused(cloud, r))?.into_iter().map(|id| json!({"id": id})).collect();
                let id = format!("/subscriptions/{sub}/resourceGroups/{group}/providers/{TYPE}/{}", raw[at]);
                let state = accepted(cloud, &prepared);
                let mut properties = json!({
                    "provisioningState": "Succeeded",
                    "correlationId": state.correlation_id,
                    "timestamp": crate::timestamps::now_rfc3339(),
                    "duration": "PT0S",
                    "mode": state.mode,
                    "parameters": state.parameters,
                    "templateHash": super::deployment_store::template_hash(&state.template),
                    "dependencies": state.dependencies,
                    "validatedResources": validated,
                });
                if let Some(link) = state.template_link {
                    properties["templateLink"] = link;
                }
                super::json(cloud, json!({"id": id, "name": raw[at], "type": TYPE, "properties": properties}))
            }
            (Method::POST, [_, "whatif"]) => {
                let scope = scope(&ctx, sub, group, raw[at], "Microsoft.Resources/deployments/whatIf/action").map_err(arm)?;
                let properties = properties(body).map_err(|r| refused(cloud, r))?;
                let prepared = prepare(cloud, &properties, body, scope, None).await.map_err(|r| refused(cloud, r))?;
                let changes = super::what_if::changes(cloud, &auth, prepared).await.map_err(|r| refused(cloud, r))?;
                let id = cloud.request_id();
                cloud.arm_store().put_what_if(id.clone(), json!({"status": "Succeeded", "properties": {"changes": changes}}));
                let mut response = with_ids(cloud, StatusCode::ACCEPTED, Value::Null);
                let location = format!("{}/subscriptions/{sub}/resourcegroups/{group}/providers/{TYPE}/{}/whatIfResults/{id}?api-version={}", cloud.base_url(), raw[at], version.unwrap_or_default());
                if let Ok(v) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert("location", v);
                }
                response
            }
            (Method::GET, [_, "whatifresults", _]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/read").map_err(arm)?;
                let result = cloud.arm_store().what_if(raw[at + 2]).ok_or_else(|| arm(ArmError::new(StatusCode::NOT_FOUND, "OperationNotFound", format!("The what-if operation '{}' was not found.", raw[at + 2]))))?;
                super::json(cloud, result)
            }
            (Method::POST, [_, "cancel"]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/cancel/action").map_err(arm)?;
                let d = find(raw[at]).map_err(arm)?;
                if !d.is_active() {
                    return Err(arm(ArmError::new(
                        StatusCode::CONFLICT,
                        "DeploymentCannotBeCanceled",
                        format!("The deployment '{}' cannot be canceled because it is in the '{}' state.", d.name, d.state().provisioning_state),
                    )));
                }
                d.update(|s| s.cancel_requested = true);
                StatusCode::NO_CONTENT.into_response()
            }
            (Method::POST, [_, "exporttemplate"]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/exportTemplate/action").map_err(arm)?;
                super::json(cloud, json!({"template": find(raw[at]).map_err(arm)?.state().template}))
            }
            (Method::GET, [_, "operations"]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/operations/read").map_err(arm)?;
                super::json(cloud, ctx.paged(find(raw[at]).map_err(arm)?.operations_json()))
            }
            (Method::GET, [_, "operations", _]) => {
                group_location(&ctx, sub, group, "Microsoft.Resources/deployments/operations/read").map_err(arm)?;
                let op = find(raw[at]).map_err(arm)?.operations_json().into_iter().find(|o| o["operationId"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(raw[at + 2])));
                super::json(cloud, op.ok_or_else(|| arm(ArmError::new(StatusCode::NOT_FOUND, "DeploymentOperationNotFound", format!("Deployment operation '{}' could not be found.", raw[at + 2]))))?)
            }
            _ => return Err(arm(ArmError::not_found_path(method.as_str(), uri.path()))),
        };
        Ok::<Response, Response>(response)
    }
    .await;
    Some(answer.unwrap_or_else(|r| r))
}

/// The deployment's scope: its subscription, resource group and name (after RBAC for `action`).
fn scope(ctx: &Ctx, sub: &str, group: &str, name: &str, action: &str) -> Result<Scope, ArmError> {
    let location = group_location(ctx, sub, group, action)?;
    // The spec's pattern for deploymentName: ^[-\w\._\(\)]+$, 1 to 64 characters.
    if name.is_empty() || name.chars().count() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c)) {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidDeploymentName",
            format!("The deployment name '{name}' is not valid: use 1 to 64 letters, digits, '-', '_', '.', '(' or ')'."),
        ));
    }
    let scenario = ctx.cloud.scenario();
    let s = scenario.subscriptions.iter().find(|s| s.id.eq_ignore_ascii_case(sub));
    Ok(Scope {
        subscription_id: s.map(|s| s.id.clone()).unwrap_or_else(|| sub.to_string()),
        subscription_name: s.map(|s| s.display_name.clone()).unwrap_or_default(),
        tenant_id: s.map(|s| s.tenant_id.clone()).unwrap_or_default(),
        resource_group: scenario
            .subscriptions
            .iter()
            .flat_map(|s| &s.resource_groups)
            .find(|g| g.name.eq_ignore_ascii_case(group))
            .map(|g| g.name.clone())
            .unwrap_or_else(|| group.to_string()),
        location,
        deployment_name: name.to_string(),
        content_version: String::new(),
        template_link: None,
    })
}

/// The request's `properties`.
fn properties(body: &[u8]) -> Result<Value, Refusal> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    match request.get("properties") {
        Some(p) if p.is_object() => Ok(p.clone()),
        _ => Err(Refusal::bad("InvalidRequestContent", "The request content was invalid: 'properties' is required.")),
    }
}
