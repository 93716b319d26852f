//! Running a deployment: its resources in plan order, each PUT through ARM's own router under the
//! deploying caller's token (arm/internal.rs) and waited for; nested deployments run as
//! deployments of their own, inline or linked, with `expressionEvaluationOptions.scope` inner or
//! outer; `reference()` and `list*()` answered from what exists when the resource's turn comes.
//! A failed resource leaves the ones before it in place; what depends on it is not attempted;
//! the deployment ends Failed with every failed resource's own error in its operations.

use super::deployment_request::{prepare, Prepared};
use super::deployment_store::{Deployment, DeploymentState, Operation};
use super::internal::{put_and_wait, read, Failure};
use super::template::{Env, EvalError, Loaded, Planned, TemplateError};
use crate::cloud::Cloud;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The state a new deployment starts in.
pub fn accepted(cloud: &Cloud, prepared: &Prepared) -> DeploymentState {
    DeploymentState {
        provisioning_state: "Accepted".into(),
        correlation_id: cloud.request_id(),
        status_id: cloud.request_id(),
        started: Utc::now(),
        finished: None,
        mode: prepared.mode.clone(),
        parameters: prepared.loaded.shown_parameters(),
        template: prepared.template.clone(),
        template_link: prepared.template_link.clone(),
        outputs: None,
        output_resources: vec![],
        dependencies: dependencies(&prepared.plan),
        error: None,
        operations: vec![],
        cancel_requested: false,
    }
}

/// ARM's `dependencies`: each resource with what it depends on.
fn dependencies(plan: &[Planned]) -> Vec<Value> {
    plan.iter()
        .filter(|p| !p.depends_on.is_empty())
        .map(|p| {
            let on: Vec<Value> =
                p.depends_on.iter().map(|&d| json!({"id": plan[d].id, "resourceType": plan[d].resource_type, "resourceName": plan[d].name})).collect();
            json!({"dependsOn": on, "id": p.id, "resourceType": p.resource_type, "resourceName": p.name})
        })
        .collect()
}

/// What a resource's evaluation asked the cloud for: `GET id?api-version` or `POST id/listX?…`.
type Wanted = (Method, String);

/// `reference()` and `list*()` answered from what was fetched; anything else is noted as wanted.
struct Fetched<'a> {
    plan: &'a [Planned],
    got: &'a HashMap<Wanted, Value>,
    wanted: RefCell<Vec<Wanted>>,
}

impl Fetched<'_> {
    fn answer(&self, key: Wanted) -> Result<Value, EvalError> {
        match self.got.get(&key) {
            Some(v) => Ok(v.clone()),
            None => {
                self.wanted.borrow_mut().push(key);
                Err(EvalError::Deferred)
            }
        }
    }
}

/// A version to read a resource with when `reference()` names none: the template's own for that
/// resource, else the one the sandbox's provider for it takes.
pub(super) fn default_version(id: &str) -> &'static str {
    let lower = id.to_ascii_lowercase();
    if lower.contains("/microsoft.devices/iothubs/") {
        "2023-06-30"
    } else if lower.contains("/microsoft.devices/provisioningservices/") {
        "2022-12-12"
    } else if lower.contains("/microsoft.storage/") {
        "2023-05-01"
    } else {
        "2024-07-01"
    }
}

impl Env for Fetched<'_> {
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> Result<Value, EvalError> {
        let in_plan = if target.starts_with('/') {
            self.plan.iter().find(|p| p.id.eq_ignore_ascii_case(target))
        } else {
            self.plan.iter().find(|p| p.name.eq_ignore_ascii_case(target) || format!("{}/{}", p.resource_type, p.name).eq_ignore_ascii_case(target))
        };
        let id = match (in_plan, target.starts_with('/')) {
            (Some(p), _) => p.id.clone(),
            (None, true) => target.to_string(),
            (None, false) => {
                return Err(EvalError::Invalid(format!(
                    "The template function 'reference' names '{target}', which is neither a resource ID nor a resource of the template."
                )))
            }
        };
        let version = api_version.map(str::to_string).or_else(|| in_plan.map(|p| p.api_version.clone())).unwrap_or_else(|| default_version(&id).into());
        let body = self.answer((Method::GET, format!("{id}?api-version={version}")))?;
        Ok(if full { body } else { body.get("properties").cloned().unwrap_or(Value::Null) })
    }

    fn list(&self, id: &str, action: &str, api_version: &str) -> Result<Value, EvalError> {
        self.answer((Method::POST, format!("{id}/{action}?api-version={api_version}")))
    }
}

/// Evaluates with the cloud's answers: fetches what the evaluation wants, then evaluates again,
/// until nothing more is wanted.
async fn evaluate<T>(cloud: &Arc<Cloud>, auth: &str, plan: &[Planned], f: impl Fn(&dyn Env) -> Result<T, TemplateError>) -> Result<T, Failure> {
    let mut got: HashMap<Wanted, Value> = HashMap::new();
    for _ in 0..8 {
        let (result, wanted) = {
            let env = Fetched { plan, got: &got, wanted: RefCell::default() };
            let result = f(&env);
            (result, env.wanted.into_inner())
        };
        if wanted.is_empty() {
            return result.map_err(|e| Failure { status: StatusCode::BAD_REQUEST, error: json!({"code": "InvalidTemplate", "message": e.message}) });
        }
        for key in wanted {
            let value = read(cloud, auth, key.0.clone(), &key.1).await?;
            got.insert(key, value);
        }
    }
    Err(Failure {
        status: StatusCode::BAD_REQUEST,
        error: json!({"code": "InvalidTemplate", "message": "The template's reference() calls nest deeper than the sandbox follows (8)."}),
    })
}

/// Starts the deployment in the background.
pub fn start(cloud: Arc<Cloud>, auth: String, deployment: Arc<Deployment>, prepared: Prepared) {
    tokio::spawn(run(cloud, auth, deployment, prepared));
}

/// Runs a (nested) deployment to its end. Boxed: a nested deployment runs one of its own.
pub fn run(cloud: Arc<Cloud>, auth: String, deployment: Arc<Deployment>, prepared: Prepared) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        deployment.update(|s| s.provisioning_state = "Running".into());
        let Prepared { loaded, plan, base_uri, mode, .. } = prepared;
        let mut blocked = vec![false; plan.len()];
        let mut details = Vec::new();
        for (i, p) in plan.iter().enumerate() {
            if deployment.state().cancel_requested {
                deployment.update(|s| {
                    s.provisioning_state = "Canceled".into();
                    s.finished = Some(Utc::now());
                });
                return;
            }
            if !p.condition {
                continue;
            }
            if p.depends_on.iter().any(|&d| blocked[d]) {
                blocked[i] = true;
                continue;
            }
            let op = Operation {
                id: operation_id(&cloud),
                kind: "Create".into(),
                resource_id: p.id.clone(),
                resource_type: p.resource_type.clone(),
                resource_name: p.name.clone(),
                state: "Running".into(),
                status_code: String::new(),
                error: None,
                started: Utc::now(),
                finished: None,
            };
            let op_id = op.id.clone();
            deployment.update(|s| s.operations.push(op));
            let result = if p.is_deployment() {
                nested(&cloud, &auth, &loaded, &plan, p, base_uri.as_deref()).await
            } else {
                resource(&cloud, &auth, &loaded, &plan, p).await
            };
            let failed = result.as_ref().err().cloned();
            deployment.update(|s| {
                if let Some(op) = s.operations.iter_mut().find(|o| o.id == op_id) {
                    op.finished = Some(Utc::now());
                    match &result {
                        Ok(status) => {
                            op.state = "Succeeded".into();
                            op.status_code = reason(*status);
                            s.output_resources.push(p.id.clone());
                        }
                        Err(f) => {
                            op.state = "Failed".into();
                            op.status_code = reason(f.status);
                            op.error = Some(f.error.clone());
                        }
                    }
                }
            });
            if let Some(f) = failed {
                blocked[i] = true;
                details.push(f.error);
            }
        }
        if details.is_empty() && mode == "Complete" {
            details.extend(remove_the_rest(&cloud, &auth, &deployment, &loaded, &plan).await);
        }
        let outputs = if details.is_empty() { Some(evaluate(&cloud, &auth, &plan, |env| loaded.outputs(env)).await) } else { None };
        let id = deployment.id();
        deployment.update(|s| {
            s.finished = Some(Utc::now());
            match outputs {
                Some(Ok(outputs)) => {
                    s.provisioning_state = "Succeeded".into();
                    s.outputs = Some(outputs);
                }
                Some(Err(f)) => {
                    s.provisioning_state = "Failed".into();
                    s.error = Some(json!({"code": "DeploymentOutputEvaluationFailed", "target": id, "message": "Unable to evaluate the template outputs.", "details": [f.error]}));
                }
                None => {
                    s.provisioning_state = "Failed".into();
                    s.error = Some(json!({
                        "code": "DeploymentFailed",
                        "target": id,
                        "message": "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
                        "details": details,
                    }));
                }
            }
        });
    })
}

fn operation_id(cloud: &Cloud) -> String {
    cloud.request_id().replace('-', "").to_uppercase()[..16].to_string()
}

/// Complete mode: what the resource group holds that the template does not name is deleted,
/// each as an operation of its own; the errors of the deletes that failed.
async fn remove_the_rest(cloud: &Arc<Cloud>, auth: &str, deployment: &Deployment, loaded: &Loaded, plan: &[Planned]) -> Vec<Value> {
    let mut errors = Vec::new();
    for (id, before) in super::what_if::existing(cloud, auth, &loaded.scope).await {
        if plan.iter().any(|p| p.id.eq_ignore_ascii_case(&id)) {
            continue;
        }
        let op = Operation {
            id: operation_id(cloud),
            kind: "Delete".into(),
            resource_id: id.clone(),
            resource_type: before["type"].as_str().unwrap_or_default().to_string(),
            resource_name: before["name"].as_str().unwrap_or_default().to_string(),
            state: "Running".into(),
            status_code: String::new(),
            error: None,
            started: Utc::now(),
            finished: None,
        };
        let op_id = op.id.clone();
        deployment.update(|s| s.operations.push(op));
        let (status, _, body) =
            super::internal::call(cloud.clone(), auth.into(), Method::DELETE, format!("{id}?api-version={}", default_version(&id)), None).await;
        let error = (!status.is_success())
            .then(|| body.get("error").cloned().unwrap_or_else(|| json!({"code": reason(status), "message": format!("The delete answered {status}.")})));
        deployment.update(|s| {
            if let Some(op) = s.operations.iter_mut().find(|o| o.id == op_id) {
                op.finished = Some(Utc::now());
                op.status_code = reason(status);
                op.state = if error.is_some() { "Failed" } else { "Succeeded" }.into();
                op.error = error.clone();
            }
        });
        errors.extend(error);
    }
    errors
}

fn reason(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("OK").replace(' ', "")
}

/// The body ARM sends the provider: the resource without the template's own fields.
fn request_body(body: Value) -> Value {
    let mut body = body;
    if let Some(o) = body.as_object_mut() {
        for k in ["name", "type", "apiVersion", "resourceGroup", "subscriptionId", "scope"] {
            o.remove(k);
        }
    }
    body
}

async fn resource(cloud: &Arc<Cloud>, auth: &str, loaded: &Loaded, plan: &[Planned], p: &Planned) -> Result<StatusCode, Failure> {
    let body = evaluate(cloud, auth, plan, |env| loaded.body(p, env)).await?;
    put_and_wait(cloud, auth, &p.id, &p.api_version, request_body(body)).await.map(|_| StatusCode::OK)
}

/// A nested deployment's `properties` as the child deploys them: evaluated in the parent, except
/// the inner template, which is the child's to evaluate — against its own parameters (scope
/// inner), or against the parent's parameters and variables (scope outer, ARM's default).
pub fn nested_properties(loaded: &Loaded, p: &Planned, env: &dyn Env) -> Result<Value, TemplateError> {
    let mut outer = p.clone();
    let inner_template = outer.raw.get_mut("properties").and_then(|props| props.as_object_mut()).and_then(|props| props.remove("template"));
    let mut properties = loaded.body(&outer, env)?["properties"].take();
    let inner_scope = properties["expressionEvaluationOptions"]["scope"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("inner"));
    if let Some(mut template) = inner_template {
        if !inner_scope {
            template["parameters"] = loaded.template.get("parameters").cloned().unwrap_or_else(|| json!({}));
            template["variables"] = loaded.template.get("variables").cloned().unwrap_or_else(|| json!({}));
            let values: Map<String, Value> = loaded
                .template
                .get("parameters")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, _)| (k.clone(), json!({"value": loaded.params.get(&k.to_ascii_lowercase()).cloned().unwrap_or(Value::Null)})))
                .collect();
            properties["parameters"] = Value::Object(values);
        }
        properties["template"] = template;
    }
    Ok(properties)
}

/// A `Microsoft.Resources/deployments` resource: a deployment of its own, which this one waits for.
async fn nested(cloud: &Arc<Cloud>, auth: &str, loaded: &Loaded, plan: &[Planned], p: &Planned, base_uri: Option<&str>) -> Result<StatusCode, Failure> {
    let properties = evaluate(cloud, auth, plan, |env| nested_properties(loaded, p, env)).await?;
    let scope = {
        let mut s = loaded.scope.clone();
        s.resource_group = p.resource_group.clone();
        s.deployment_name = p.name.clone();
        s.template_link = None;
        if !s.resource_group.eq_ignore_ascii_case(&loaded.scope.resource_group) {
            let scenario = cloud.scenario();
            let group = scenario
                .subscriptions
                .iter()
                .find(|x| x.id.eq_ignore_ascii_case(&s.subscription_id))
                .and_then(|x| x.resource_groups.iter().find(|g| g.name.eq_ignore_ascii_case(&s.resource_group)));
            match group {
                Some(g) => s.location = g.location.clone(),
                None => {
                    return Err(Failure {
                        status: StatusCode::NOT_FOUND,
                        error: json!({"code": "ResourceGroupNotFound", "message": format!("Resource group '{}' could not be found.", s.resource_group)}),
                    })
                }
            }
        }
        s
    };
    let raw = serde_json::to_vec(&json!({"properties": properties})).unwrap_or_default();
    let prepared = prepare(cloud, &properties, &raw, scope.clone(), base_uri).await.map_err(|r| Failure { status: r.status, error: r.error })?;
    let child = Deployment::new(&scope.subscription_id, &scope.resource_group, &p.name, accepted(cloud, &prepared));
    cloud.arm_store().put_deployment(child.clone());
    run(cloud.clone(), auth.to_string(), child.clone(), prepared).await;
    let state = child.state();
    match state.provisioning_state.as_str() {
        "Succeeded" => Ok(StatusCode::OK),
        other => Err(Failure {
            status: StatusCode::BAD_REQUEST,
            error: state.error.unwrap_or_else(|| json!({"code": "DeploymentFailed", "message": format!("The nested deployment '{}' ended {other}.", p.name)})),
        }),
    }
}
