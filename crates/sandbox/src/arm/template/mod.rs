//! The ARM template engine: a template and its parameters are loaded and checked (`load`), its
//! resources expanded — `copy` loops, `condition`, `dependsOn` — into the order they deploy in
//! (`plan`), and each resource's body and the outputs evaluated when their turn comes, with the
//! cloud answering `reference()` and `list*()` (`eval::Env`). Nothing here talks to the cloud:
//! the deployment runner (arm/deployment_run.rs) does.

pub mod eval;
pub mod expr;
mod functions;
pub mod jsonc;
pub mod locate;
pub mod params;
mod plan;
mod resource_fns;
#[cfg(test)]
mod tests;

pub use eval::{Env, EvalError, NoEnv};
pub use plan::Planned;
use serde_json::{Map, Value};

/// Where a deployment runs, for resourceGroup(), subscription(), deployment() and resource IDs.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub subscription_id: String,
    pub subscription_name: String,
    pub tenant_id: String,
    pub resource_group: String,
    pub location: String,
    pub deployment_name: String,
    pub content_version: String,
    /// The deployment's own `templateLink` (with its `uri`), when its template was linked.
    pub template_link: Option<Value>,
}

/// A template refused: ARM's message and the JSON path of the offending field in the request
/// (`properties.template.resources[1].dependsOn`). A `{position}` in the message is where ARM
/// writes " at line 'L' and column 'C'" (arm/template/locate.rs fills it).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
    pub path: String,
}

impl TemplateError {
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> TemplateError {
        TemplateError { message: message.into(), path: path.into() }
    }

    fn eval(path: &str, e: EvalError) -> TemplateError {
        match e {
            EvalError::Invalid(m) => TemplateError::at(path, m),
            EvalError::Deferred => {
                TemplateError::at(path, "The template function 'reference' or 'list*' is not expected here: its value is known only while deploying.")
            }
        }
    }
}

/// A template with its parameters resolved, ready to plan and evaluate.
pub struct Loaded {
    pub template: Value,
    /// Parameter name (lower case) → value.
    pub params: Map<String, Value>,
    vars: eval::Variables,
    pub scope: Scope,
}

impl Loaded {
    /// Checks the template's shape and resolves its parameters (`supplied` is the request's
    /// `properties.parameters`).
    pub fn load(template: &Value, supplied: &Value, scope: Scope) -> Result<Loaded, TemplateError> {
        let t = template.as_object().ok_or_else(|| TemplateError::at("properties.template", "The template must be a JSON object."))?;
        for required in ["$schema", "contentVersion"] {
            if !t.get(required).is_some_and(Value::is_string) {
                return Err(TemplateError::at("properties.template", format!("Required property '{required}' not found in JSON. Path 'properties.template'.")));
            }
        }
        if t.get("languageVersion").is_some() {
            return Err(TemplateError::at(
                "properties.template.languageVersion",
                "The template's languageVersion (symbolic resource names) is not supported by the sandbox cloud: use the resources array.",
            ));
        }
        if !t.get("resources").is_some_and(Value::is_array) {
            return Err(TemplateError::at(
                "properties.template",
                "Required property 'resources' not found in JSON, or it is not an array. Path 'properties.template'.",
            ));
        }
        let empty = Map::new();
        let declared = match t.get("parameters") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(TemplateError::at("properties.template.parameters", "The template's 'parameters' must be an object.")),
        };
        let supplied = match supplied {
            Value::Null => &empty,
            Value::Object(p) => p,
            _ => return Err(TemplateError::at("properties.parameters", "The deployment's 'parameters' must be an object of {\"name\": {\"value\": …}}.")),
        };
        let mut scope = scope;
        scope.content_version = t["contentVersion"].as_str().unwrap_or_default().to_string();
        let params = params::resolve(declared, supplied, &scope)?;
        let vars = eval::Variables::new(t.get("variables").and_then(Value::as_object).unwrap_or(&empty));
        let loaded = Loaded { template: template.clone(), params, vars, scope };
        // Every variable is evaluated now, so a broken one fails validation, not the deployment.
        let ev = loaded.evaluator(&NoEnv);
        for name in t.get("variables").and_then(Value::as_object).unwrap_or(&empty).keys().filter(|k| !k.eq_ignore_ascii_case("copy")) {
            match ev.variable(name) {
                Ok(_) | Err(EvalError::Deferred) => {}
                Err(e) => return Err(TemplateError::eval(&format!("properties.template.variables.{name}"), e)),
            }
        }
        Ok(loaded)
    }

    pub fn evaluator<'a>(&'a self, env: &'a dyn Env) -> eval::Evaluator<'a> {
        eval::Evaluator { scope: &self.scope, params: &self.params, vars: &self.vars, copy: vec![], env }
    }

    /// The resources in the order they deploy in (dependencies first), conditions evaluated.
    pub fn plan(&self) -> Result<Vec<Planned>, TemplateError> {
        plan::plan(self)
    }

    /// A resource's body with every expression evaluated against what `env` knows. With `NoEnv`,
    /// the strings whose value needs the deployment are kept as written (validation, what-if).
    pub fn body(&self, planned: &Planned, env: &dyn Env) -> Result<Value, TemplateError> {
        let mut ev = self.evaluator(env);
        ev.copy = planned.copy.clone();
        let mut body = Map::new();
        for (k, v) in planned.raw.as_object().into_iter().flatten() {
            if matches!(k.to_ascii_lowercase().as_str(), "copy" | "dependson" | "condition" | "resources" | "comments") {
                continue;
            }
            let value = match ev.value(v) {
                Ok(v) => v,
                Err(EvalError::Deferred) => keep_deferred(&ev, v).map_err(|e| TemplateError::eval(&format!("{}.{k}", planned.path), e))?,
                Err(e) => return Err(TemplateError::eval(&format!("{}.{k}", planned.path), e)),
            };
            body.insert(k.clone(), value);
        }
        body.insert("name".into(), Value::String(planned.name.clone()));
        body.insert("type".into(), Value::String(planned.resource_type.clone()));
        Ok(Value::Object(body))
    }

    /// The outputs as ARM reports them (`{"name": {"type": "String", "value": …}}`).
    pub fn outputs(&self, env: &dyn Env) -> Result<Value, TemplateError> {
        let ev = self.evaluator(env);
        let mut out = Map::new();
        for (name, output) in self.template.get("outputs").and_then(Value::as_object).into_iter().flatten() {
            let at = format!("properties.template.outputs.{name}");
            if let Some(condition) = output.get("condition") {
                if ev.value(condition).map_err(|e| TemplateError::eval(&at, e))? == Value::Bool(false) {
                    continue;
                }
            }
            let value = match output.get("copy") {
                Some(copy) => {
                    let mut entry = copy.clone();
                    entry["name"] = Value::String(name.clone());
                    ev.value(&serde_json::json!({"copy": [entry]})).map(|v| v[name.as_str()].clone())
                }
                None => ev.value(output.get("value").unwrap_or(&Value::Null)),
            }
            .map_err(|e| TemplateError::eval(&at, e))?;
            let declared = output["type"].as_str().unwrap_or("string");
            // ARM never returns a secure output's value.
            let shown = if params::secure(declared) {
                serde_json::json!({"type": params::display_type(declared)})
            } else {
                serde_json::json!({"type": params::display_type(declared), "value": value})
            };
            out.insert(name.clone(), shown);
        }
        Ok(Value::Object(out))
    }

    /// The parameters as a deployment shows them: secure ones by type only.
    pub fn shown_parameters(&self) -> Value {
        let mut out = Map::new();
        for (name, declaration) in self.template.get("parameters").and_then(Value::as_object).into_iter().flatten() {
            let declared = declaration["type"].as_str().unwrap_or_default();
            let mut entry = serde_json::json!({"type": params::display_type(declared)});
            if !params::secure(declared) {
                entry["value"] = self.params.get(&name.to_ascii_lowercase()).cloned().unwrap_or(Value::Null);
            }
            out.insert(name.clone(), entry);
        }
        Value::Object(out)
    }
}

/// The value with what can be evaluated evaluated and each string that needs the deployment
/// kept as written (ARM's what-if shows such properties as their expressions).
fn keep_deferred(ev: &eval::Evaluator, v: &Value) -> Result<Value, EvalError> {
    match v {
        Value::String(s) => match ev.string(s) {
            Err(EvalError::Deferred) => Ok(Value::String(s.clone())),
            other => other,
        },
        Value::Array(items) => items.iter().map(|i| keep_deferred(ev, i)).collect::<Result<Vec<_>, _>>().map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, x) in map {
                // A property copy loop is expanded when it can be, else kept as written.
                if k.eq_ignore_ascii_case("copy") && x.is_array() {
                    match ev.value(&serde_json::json!({"copy": x})) {
                        Ok(Value::Object(expanded)) => out.extend(expanded),
                        Ok(_) | Err(EvalError::Deferred) => {
                            out.insert(k.clone(), x.clone());
                        }
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                out.insert(k.clone(), keep_deferred(ev, x)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}
