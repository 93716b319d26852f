//! Template parameters: the values a deployment supplies (`{"name": {"value": …}}`) checked
//! against the template's declarations — type, allowedValues, minValue/maxValue,
//! minLength/maxLength — and defaults evaluated where none is supplied. Every refusal names the
//! parameter and where it is, as ARM's InvalidTemplate does.

use super::eval::{kind, EvalError, Evaluator, Variables};
use super::{Scope, TemplateError};
use serde_json::{Map, Value};

/// ARM's name for a declared type (`Integer` for `int`), or None for a type ARM does not have.
fn expected(declared: &str) -> Option<&'static str> {
    Some(match declared.to_ascii_lowercase().as_str() {
        "string" | "securestring" => "String",
        "int" => "Integer",
        "bool" => "Boolean",
        "object" | "secureobject" => "Object",
        "array" => "Array",
        _ => return None,
    })
}

/// Whether the declared type is secure (its value never shown again).
pub fn secure(declared: &str) -> bool {
    matches!(declared.to_ascii_lowercase().as_str(), "securestring" | "secureobject")
}

/// ARM's capitalised type name for the deployment's `parameters` and `outputs`.
pub fn display_type(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Int",
        "bool" => "Bool",
        "object" => "Object",
        "secureobject" => "SecureObject",
        "array" => "Array",
        _ => "String",
    }
    .to_string()
}

/// Resolves every declared parameter: the supplied value, else the default; then checks it.
pub fn resolve(declared: &Map<String, Value>, supplied: &Map<String, Value>, scope: &Scope) -> Result<Map<String, Value>, TemplateError> {
    for name in supplied.keys() {
        if !declared.keys().any(|d| d.eq_ignore_ascii_case(name)) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(TemplateError::at(
                format!("properties.parameters.{name}"),
                format!(
                    "The template parameters '{name}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut resolved = Map::new();
    let no_vars = Variables::new(&Map::new());
    for (name, declaration) in declared {
        let at = format!("properties.template.parameters.{name}");
        let declared_type = declaration["type"].as_str().unwrap_or_default();
        let wanted = expected(declared_type).ok_or_else(|| {
            TemplateError::at(
                format!("{at}.type"),
                format!("The template parameter '{name}' has type '{declared_type}', which is not one of string, securestring, int, bool, object, secureObject, array."),
            )
        })?;
        let entry = supplied.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let (value, from) = match entry {
            Some(e) if e.get("reference").is_some() => {
                return Err(TemplateError::at(
                    format!("properties.parameters.{name}"),
                    format!("The template parameter '{name}' refers to a Key Vault secret; the sandbox cloud has no Key Vault. Pass the value itself."),
                ))
            }
            Some(e) => (e.get("value").cloned().unwrap_or(Value::Null), format!("properties.parameters.{name}.value")),
            None => match declaration.get("defaultValue") {
                // Defaults may use other parameters (those declared before) and the deployment's functions.
                Some(default) => {
                    let ev = Evaluator { scope, params: &resolved, vars: &no_vars, copy: vec![], env: &super::eval::NoEnv };
                    let v = ev.value(default).map_err(|e| match e {
                        EvalError::Invalid(m) => TemplateError::at(format!("{at}.defaultValue"), m),
                        EvalError::Deferred => TemplateError::at(format!("{at}.defaultValue"), format!("The default value of the template parameter '{name}' cannot use reference() or list*().")),
                    })?;
                    (v, format!("{at}.defaultValue"))
                }
                None => {
                    return Err(TemplateError::at(
                        at,
                        format!("The value for the template parameter '{name}'{{position}} is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."),
                    ))
                }
            },
        };
        check(name, declaration, wanted, &value).map_err(|m| TemplateError::at(from, m))?;
        resolved.insert(name.to_ascii_lowercase(), value);
    }
    Ok(resolved)
}

fn check(name: &str, declaration: &Value, wanted: &str, value: &Value) -> Result<(), String> {
    let actual = kind(value);
    if actual != wanted {
        return Err(format!(
            "Template parameter JToken type is not valid for the template parameter '{name}'. Expected '{wanted}'. Actual '{actual}'. Please see https://aka.ms/arm-deploy/#parameter-file for usage details."
        ));
    }
    let shown = super::functions::to_text(value);
    let refuse = |why: String| format!("The provided value '{shown}' for the template parameter '{name}'{{position}} is not valid. {why}");
    if let Some(allowed) = declaration.get("allowedValues").and_then(Value::as_array) {
        // An array parameter is allowed when each of its items is.
        let ok = match value {
            Value::Array(items) => items.iter().all(|i| allowed.contains(i)),
            v => allowed.contains(v),
        };
        if !ok {
            let list: Vec<String> = allowed.iter().map(super::functions::to_text).collect();
            return Err(refuse(format!("The parameter value is not part of the allowed value(s): '{}'.", list.join(","))));
        }
    }
    if let Some(n) = value.as_i64() {
        if let Some(min) = declaration.get("minValue").and_then(Value::as_i64).filter(|m| n < *m) {
            return Err(refuse(format!("The parameter value is less than the minimum value of '{min}'.")));
        }
        if let Some(max) = declaration.get("maxValue").and_then(Value::as_i64).filter(|m| n > *m) {
            return Err(refuse(format!("The parameter value is greater than the maximum value of '{max}'.")));
        }
    }
    let length = match value {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let Some(len) = length {
        if let Some(min) = declaration.get("minLength").and_then(Value::as_i64).filter(|m| len < *m) {
            return Err(refuse(format!("The length of the value is less than the minimum length of '{min}'.")));
        }
        if let Some(max) = declaration.get("maxLength").and_then(Value::as_i64).filter(|m| len > *m) {
            return Err(refuse(format!("The length of the value is greater than the maximum length of '{max}'.")));
        }
    }
    Ok(())
}
