//! Evaluation of template values: every `[…]` string in a JSON value is replaced by what its
//! expression yields, property `copy` arrays are expanded, and the rest is kept as written. The
//! context — parameters, variables, copy indexes, the deployment's scope, and what exists in the
//! cloud (`Env`) — is the `Evaluator`'s.

use super::expr::{classify, parse, Expr, Text};
use super::Scope;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Why an expression yields nothing: the template is wrong, or it needs a resource that does not
/// exist yet (`reference`, `list*` before deployment), so its value is known only when deploying.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    Invalid(String),
    Deferred,
}

pub type Eval = Result<Value, EvalError>;

pub fn invalid(message: impl Into<String>) -> EvalError {
    EvalError::Invalid(message.into())
}

/// What exists in the cloud: the state of resources for `reference()`, and their keys for `list*()`.
pub trait Env {
    /// The resource's body (`full`) or its `properties`; `target` is a resource ID or the name of a
    /// resource of the template.
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> Eval;
    /// `listKeys(id, apiVersion)` and the other `list*` actions on a resource.
    fn list(&self, id: &str, action: &str, api_version: &str) -> Eval;
}

/// No cloud: every reference is deferred (validation and what-if).
pub struct NoEnv;

impl Env for NoEnv {
    fn reference(&self, _: &str, _: Option<&str>, _: bool) -> Eval {
        Err(EvalError::Deferred)
    }
    fn list(&self, _: &str, _: &str, _: &str) -> Eval {
        Err(EvalError::Deferred)
    }
}

/// Variables (behind locks so a deployment's task can hold them), evaluated on first use (they may use each other; a loop among them is an error).
pub struct Variables {
    raw: Map<String, Value>,
    done: Mutex<HashMap<String, Value>>,
    busy: Mutex<HashSet<String>>,
}

impl Variables {
    pub fn new(raw: &Map<String, Value>) -> Variables {
        let mut flat = Map::new();
        for (k, v) in raw {
            // `"copy": [{name, count, input}]` defines one array variable per entry.
            if k.eq_ignore_ascii_case("copy") && v.is_array() {
                for entry in v.as_array().into_iter().flatten() {
                    if let Some(name) = entry["name"].as_str() {
                        flat.insert(name.to_ascii_lowercase(), serde_json::json!({"$copy": entry}));
                    }
                }
            } else {
                flat.insert(k.to_ascii_lowercase(), v.clone());
            }
        }
        Variables { raw: flat, done: Mutex::default(), busy: Mutex::default() }
    }
}

#[derive(Clone)]
pub struct Evaluator<'a> {
    pub scope: &'a Scope,
    /// Parameter name (lower case) → value.
    pub params: &'a Map<String, Value>,
    pub vars: &'a Variables,
    /// The copy loops being expanded, innermost last: loop name (lower case) → index.
    pub copy: Vec<(String, i64)>,
    pub env: &'a dyn Env,
}

impl<'a> Evaluator<'a> {
    pub fn with_copy(&self, name: &str, index: i64) -> Evaluator<'a> {
        let mut copy = self.copy.clone();
        copy.push((name.to_ascii_lowercase(), index));
        Evaluator { scope: self.scope, params: self.params, vars: self.vars, copy, env: self.env }
    }

    pub fn parameter(&self, name: &str) -> Eval {
        self.params
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| invalid(format!("The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details.")))
    }

    pub fn variable(&self, name: &str) -> Eval {
        let key = name.to_ascii_lowercase();
        if let Some(v) = self.vars.done.lock().unwrap().get(&key) {
            return Ok(v.clone());
        }
        let raw = self.vars.raw.get(&key).cloned().ok_or_else(|| {
            invalid(format!("The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."))
        })?;
        if !self.vars.busy.lock().unwrap().insert(key.clone()) {
            return Err(invalid(format!("The template variable '{name}' refers to itself, through the variables it uses.")));
        }
        // Variables are evaluated outside any resource's copy loop.
        let outside = Evaluator { scope: self.scope, params: self.params, vars: self.vars, copy: vec![], env: self.env };
        let value = match raw.get("$copy") {
            Some(entry) => outside.copy_array(entry, "variables"),
            None => outside.value(&raw),
        };
        self.vars.busy.lock().unwrap().remove(&key);
        let value = value?;
        self.vars.done.lock().unwrap().insert(key, value.clone());
        Ok(value)
    }

    /// `copyIndex([loopName], [offset])`.
    pub fn copy_index(&self, name: Option<&str>, offset: i64) -> Eval {
        let found = match name {
            Some(n) => self.copy.iter().rev().find(|(l, _)| l.eq_ignore_ascii_case(n)),
            None => self.copy.last(),
        };
        match found {
            Some((_, i)) => Ok(Value::from(i + offset)),
            None => Err(invalid(match name {
                Some(n) => format!("The template function 'copyIndex' is not expected here: no copy loop named '{n}' is being expanded."),
                None => "The template function 'copyIndex' is not expected at this location. Please see https://aka.ms/arm-copy for usage details.".into(),
            })),
        }
    }

    /// `{name, count, input}` → the array of `input` evaluated `count` times under loop `name`.
    fn copy_array(&self, entry: &Value, at: &str) -> Eval {
        let name = entry["name"].as_str().ok_or_else(|| invalid(format!("A copy entry in {at} has no 'name'.")))?;
        let count = self.value(&entry["count"])?;
        let count = count.as_i64().filter(|c| (0..=800).contains(c)).ok_or_else(|| {
            invalid(format!(
                "The copy count of '{name}' must be a whole number from 0 to 800, not {count}. Please see https://aka.ms/arm-copy for usage details."
            ))
        })?;
        (0..count).map(|i| self.with_copy(name, i).value(&entry["input"])).collect::<Result<Vec<_>, _>>().map(Value::Array)
    }

    /// A JSON value with its expressions evaluated.
    pub fn value(&self, v: &Value) -> Eval {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(items) => items.iter().map(|i| self.value(i)).collect::<Result<Vec<_>, _>>().map(Value::Array),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, item) in map {
                    if k.eq_ignore_ascii_case("copy") && item.is_array() && item.as_array().is_some_and(|a| a.iter().all(|e| e.get("input").is_some())) {
                        for entry in item.as_array().into_iter().flatten() {
                            let name = entry["name"].as_str().unwrap_or_default().to_string();
                            out.insert(name, self.copy_array(entry, "properties")?);
                        }
                        continue;
                    }
                    out.insert(k.clone(), self.value(item)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// A template string: literal, or the value of its expression.
    pub fn string(&self, s: &str) -> Eval {
        match classify(s) {
            Text::Literal(text) => Ok(Value::String(text.into_owned())),
            Text::Expression(src) => self.expr(&parse(src).map_err(EvalError::Invalid)?),
        }
    }

    pub fn expr(&self, e: &Expr) -> Eval {
        match e {
            Expr::Str(s) => Ok(Value::String(s.clone())),
            Expr::Int(i) => Ok(Value::from(*i)),
            Expr::Call(name, args) => super::functions::call(self, name, args),
            Expr::Property(inner, name) => {
                let v = self.expr(inner)?;
                member(&v, name)
            }
            Expr::Index(inner, index) => {
                let v = self.expr(inner)?;
                match self.expr(index)? {
                    Value::String(name) => member(&v, &name),
                    Value::Number(n) => {
                        let i = n.as_i64().unwrap_or(-1);
                        let items = v
                            .as_array()
                            .ok_or_else(|| invalid(format!("The language expression indexes {} with {i}, but only arrays take a number index.", kind(&v))))?;
                        items.get(i as usize).filter(|_| i >= 0).cloned().ok_or_else(|| {
                            invalid(format!("The language expression property array index '{i}' is out of bounds (the array has {} items).", items.len()))
                        })
                    }
                    other => Err(invalid(format!("The language expression index {other} is neither a property name nor a number."))),
                }
            }
        }
    }
}

/// `x.name` (case-insensitive, as ARM's objects are).
fn member(v: &Value, name: &str) -> Eval {
    let map = v.as_object().ok_or_else(|| invalid(format!("The language expression property '{name}' can't be evaluated: {} has no properties.", kind(v))))?;
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).ok_or_else(|| {
        let available: Vec<&str> = map.keys().map(String::as_str).collect();
        invalid(format!("The language expression property '{name}' doesn't exist, available properties are '{}'.", available.join(", ")))
    })
}

/// ARM's name for a JSON value's type, as its messages use it.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}
