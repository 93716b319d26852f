//! A template's resources expanded and ordered: each `copy` loop becomes its instances, each
//! resource gets its name, type, API version and resource ID, `dependsOn` (resource IDs, names,
//! `type/name` or a copy loop's name) becomes edges, and the order is dependencies first — a
//! cycle, or a dependency on a resource the template does not define, is ARM's InvalidTemplate.

use super::eval::{EvalError, Evaluator};
use super::expr::{classify, parse, Expr, Text};
use super::{Loaded, NoEnv, TemplateError};
use serde_json::Value;

/// One resource instance to deploy.
#[derive(Debug, Clone)]
pub struct Planned {
    /// JSON path of its declaration in the request (`properties.template.resources[2]`).
    pub path: String,
    pub name: String,
    pub resource_type: String,
    pub api_version: String,
    /// The resource ID it will have, in its own resource group.
    pub id: String,
    /// The resource group it goes to (a nested deployment may name another).
    pub resource_group: String,
    /// False when its `condition` is false: it is skipped, and what depends on it goes ahead.
    pub condition: bool,
    /// Indexes (into the plan) of what must deploy first.
    pub depends_on: Vec<usize>,
    /// The copy loops it was expanded in, with its index in each.
    pub copy: Vec<(String, i64)>,
    /// Its `copy` loop's name, which `dependsOn` may use.
    pub loop_name: Option<String>,
    /// The declaration as written.
    pub raw: Value,
}

impl Planned {
    pub fn is_deployment(&self) -> bool {
        self.resource_type.eq_ignore_ascii_case("Microsoft.Resources/deployments")
    }
}

/// What a child declared inside its parent inherits: the parent's type, name, copy indexes and
/// place in the plan.
struct Parent {
    resource_type: String,
    name: String,
    copy: Vec<(String, i64)>,
    index: usize,
}

/// A declaration as written, with its parent when it is a child.
struct Declared<'a> {
    raw: &'a Value,
    path: String,
    parent: Option<Parent>,
}

fn string_field(ev: &Evaluator, raw: &Value, field: &str, path: &str) -> Result<Option<String>, TemplateError> {
    let Some(v) = raw.get(field) else { return Ok(None) };
    match ev.value(v) {
        Ok(Value::String(s)) => Ok(Some(s)),
        Ok(other) => Err(TemplateError::at(format!("{path}.{field}"), format!("The template resource's '{field}' must be a string, not {other}."))),
        Err(EvalError::Invalid(m)) => Err(TemplateError::at(format!("{path}.{field}"), m)),
        Err(EvalError::Deferred) => Err(TemplateError::at(
            format!("{path}.{field}"),
            format!("The template resource's '{field}' cannot use reference() or list*(): it must be known before the deployment starts."),
        )),
    }
}

pub fn plan(loaded: &Loaded) -> Result<Vec<Planned>, TemplateError> {
    let base = loaded.evaluator(&NoEnv);
    let scope = &loaded.scope;
    let mut out: Vec<Planned> = Vec::new();
    let mut raw_deps: Vec<Vec<String>> = Vec::new();
    // What each resource's reference() and list*() name: a dependency when the template defines it.
    let mut implicit: Vec<Vec<String>> = Vec::new();
    let mut queue: Vec<Declared> = loaded.template["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, raw)| Declared { raw, path: format!("properties.template.resources[{i}]"), parent: None })
        .collect();
    queue.reverse();
    while let Some(d) = queue.pop() {
        if !d.raw.is_object() {
            return Err(TemplateError::at(&d.path, "A template resource must be a JSON object."));
        }
        let mut ev = base.clone();
        ev.copy = d.parent.as_ref().map(|p| p.copy.clone()).unwrap_or_default();
        let (loop_name, count) = match d.raw.get("copy") {
            None => (None, 1),
            Some(copy) => {
                let name = copy["name"].as_str().ok_or_else(|| TemplateError::at(format!("{}.copy", d.path), "The copy loop has no 'name'."))?;
                let count = ev.value(&copy["count"]).map_err(|e| TemplateError::eval(&format!("{}.copy.count", d.path), e))?;
                let count = count.as_i64().filter(|c| (0..=800).contains(c)).ok_or_else(|| {
                    TemplateError::at(
                        format!("{}.copy.count", d.path),
                        format!("The copy count must be a whole number from 0 to 800, not {count}. Please see https://aka.ms/arm-copy for usage details."),
                    )
                })?;
                (Some(name.to_string()), count)
            }
        };
        for i in 0..count {
            let ev = match &loop_name {
                Some(l) => ev.with_copy(l, i),
                None => ev.clone(),
            };
            let path = d.path.clone();
            let missing = |f: &str| TemplateError::at(&path, format!("Required property '{f}' not found in JSON. Path '{path}'."));
            let mut name = string_field(&ev, d.raw, "name", &path)?.ok_or_else(|| missing("name"))?;
            let mut resource_type = string_field(&ev, d.raw, "type", &path)?.ok_or_else(|| missing("type"))?;
            let api_version = string_field(&ev, d.raw, "apiVersion", &path)?.ok_or_else(|| missing("apiVersion"))?;
            if let Some(Parent { resource_type: parent_type, name: parent_name, .. }) = &d.parent {
                // A child declared inside its parent: short type and name.
                if !resource_type.contains('/') || !resource_type.starts_with(parent_type.as_str()) {
                    resource_type = format!("{parent_type}/{resource_type}");
                }
                if name.split('/').count() < resource_type.split('/').count() - 1 {
                    name = format!("{parent_name}/{name}");
                }
            }
            let condition = match d.raw.get("condition") {
                None => true,
                Some(c) => match ev.value(c).map_err(|e| TemplateError::eval(&format!("{path}.condition"), e))? {
                    Value::Bool(b) => b,
                    other => return Err(TemplateError::at(format!("{path}.condition"), format!("The condition must be a Boolean, not {other}."))),
                },
            };
            let resource_group = string_field(&ev, d.raw, "resourceGroup", &path)?.unwrap_or_else(|| scope.resource_group.clone());
            let subscription = string_field(&ev, d.raw, "subscriptionId", &path)?.unwrap_or_else(|| scope.subscription_id.clone());
            let types: Vec<&str> = resource_type.split('/').collect();
            let names: Vec<&str> = name.split('/').collect();
            if types.len() < 2 || names.len() != types.len() - 1 {
                return Err(TemplateError::at(
                    &path,
                    format!("The template resource '{name}'{{position}} for type '{resource_type}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources for usage details."),
                ));
            }
            let mut id = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{}", types[0]);
            for (t, n) in types[1..].iter().zip(&names) {
                id.push_str(&format!("/{t}/{n}"));
            }
            let mut deps = Vec::new();
            for (j, dep) in d.raw.get("dependsOn").and_then(Value::as_array).into_iter().flatten().enumerate() {
                match ev.value(dep) {
                    Ok(Value::String(s)) => deps.push(s),
                    Ok(other) => return Err(TemplateError::at(format!("{path}.dependsOn[{j}]"), format!("A dependsOn entry must be a string, not {other}."))),
                    Err(e) => return Err(TemplateError::eval(&format!("{path}.dependsOn[{j}]"), e)),
                }
            }
            let index = out.len();
            if let Some(Parent { index: parent_index, .. }) = &d.parent {
                deps.push(format!("#{parent_index}"));
            }
            raw_deps.push(deps);
            implicit.push(referenced(&ev, d.raw));
            out.push(Planned {
                path: path.clone(),
                name: name.clone(),
                resource_type: resource_type.clone(),
                api_version,
                id,
                resource_group,
                condition,
                depends_on: vec![],
                copy: ev.copy.clone(),
                loop_name: loop_name.clone(),
                raw: d.raw.clone(),
            });
            let children: &[Value] = d.raw.get("resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for (j, child) in children.iter().enumerate().rev() {
                queue.push(Declared {
                    raw: child,
                    path: format!("{path}.resources[{j}]"),
                    parent: Some(Parent { resource_type: resource_type.clone(), name: name.clone(), copy: ev.copy.clone(), index }),
                });
            }
        }
    }
    for (i, deps) in raw_deps.iter().enumerate() {
        let mut edges = Vec::new();
        for dep in deps {
            let found = resolve(&out, dep);
            if found.is_empty() {
                return Err(TemplateError::at(
                    format!("{}.dependsOn", out[i].path),
                    format!("The resource '{dep}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details."),
                ));
            }
            edges.extend(found.into_iter().filter(|j| *j != i));
        }
        for target in &implicit[i] {
            edges.extend(resolve(&out, target).into_iter().filter(|j| *j != i));
        }
        edges.sort_unstable();
        edges.dedup();
        out[i].depends_on = edges;
    }
    order(out)
}

/// The resources a `dependsOn` entry names.
fn resolve(all: &[Planned], dep: &str) -> Vec<usize> {
    if let Some(index) = dep.strip_prefix('#').and_then(|i| i.parse().ok()) {
        return vec![index];
    }
    let d = dep.to_ascii_lowercase();
    all.iter()
        .enumerate()
        .filter(|(_, p)| {
            let id = p.id.to_ascii_lowercase();
            let typed = format!("{}/{}", p.resource_type, p.name).to_ascii_lowercase();
            let providers = id.split("/providers/").last().unwrap_or_default().to_string();
            id == d
                || (d.starts_with('/') && id.ends_with(&d))
                || providers == d.trim_start_matches('/')
                || typed == d
                || p.name.eq_ignore_ascii_case(dep)
                || p.loop_name.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(dep))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Dependencies first, otherwise in declaration order; a cycle is refused naming a resource on it.
fn order(plan: Vec<Planned>) -> Result<Vec<Planned>, TemplateError> {
    let n = plan.len();
    let mut placed = vec![false; n];
    let mut sequence = Vec::with_capacity(n);
    while sequence.len() < n {
        let next = (0..n).find(|&i| !placed[i] && plan[i].depends_on.iter().all(|&d| placed[d]));
        match next {
            Some(i) => {
                placed[i] = true;
                sequence.push(i);
            }
            None => {
                let stuck = (0..n).find(|&i| !placed[i]).unwrap_or_default();
                let on_cycle = cycle_member(&plan, stuck, &placed);
                return Err(TemplateError::at(
                    &plan[on_cycle].path,
                    format!(
                        "Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-template/#resources for usage details.",
                        plan[on_cycle].id
                    ),
                ));
            }
        }
    }
    // Edges are renumbered to the new positions.
    let position: Vec<usize> = {
        let mut p = vec![0; n];
        for (new, &old) in sequence.iter().enumerate() {
            p[old] = new;
        }
        p
    };
    let mut slots: Vec<Option<Planned>> = plan.into_iter().map(Some).collect();
    Ok(sequence
        .iter()
        .map(|&old| {
            let mut p = slots[old].take().unwrap_or_else(|| unreachable!("each resource is placed once"));
            p.depends_on = p.depends_on.iter().map(|&d| position[d]).collect();
            p
        })
        .collect())
}

/// Follows unplaced dependencies from `start` until one repeats: that one is on a cycle.
fn cycle_member(plan: &[Planned], start: usize, placed: &[bool]) -> usize {
    let mut seen = vec![false; plan.len()];
    let mut at = start;
    while !seen[at] {
        seen[at] = true;
        match plan[at].depends_on.iter().find(|&&d| !placed[d]) {
            Some(&d) => at = d,
            None => return at,
        }
    }
    at
}

/// The targets of the `reference()` and `list*()` calls in a resource's own fields (ARM orders a
/// resource after the template's resources it references, as if it had said dependsOn). A nested
/// deployment's inner template is its own and not looked into.
fn referenced(ev: &Evaluator, raw: &Value) -> Vec<String> {
    fn strings<'v>(v: &'v Value, top: bool, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|i| strings(i, false, out)),
            Value::Object(map) => {
                for (k, x) in map {
                    let skipped =
                        if top { matches!(k.to_ascii_lowercase().as_str(), "dependson" | "resources" | "copy" | "name" | "type") } else { k == "template" };
                    if !skipped {
                        strings(x, false, out);
                    }
                }
            }
            _ => {}
        }
    }
    fn calls(ev: &Evaluator, e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Call(name, args) => {
                let lower = name.to_ascii_lowercase();
                if lower == "reference" || lower.starts_with("list") {
                    if let Some(Ok(Value::String(target))) = args.first().map(|a| ev.expr(a)) {
                        out.push(target);
                    }
                }
                args.iter().for_each(|a| calls(ev, a, out));
            }
            Expr::Property(inner, _) => calls(ev, inner, out),
            Expr::Index(inner, index) => {
                calls(ev, inner, out);
                calls(ev, index, out);
            }
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }
    let mut texts = Vec::new();
    strings(raw, true, &mut texts);
    let mut out = Vec::new();
    for text in texts {
        // A malformed expression is reported when the resource's body is evaluated.
        if let Text::Expression(src) = classify(text) {
            if let Ok(e) = parse(src) {
                calls(ev, &e, &mut out);
            }
        }
    }
    out
}
