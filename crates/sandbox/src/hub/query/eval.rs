//! Evaluates a parsed query on a twin's JSON. Logic is three-valued, as on the hub: a path that is
//! not there, or values of different types compared, make the comparison undefined, and only a
//! condition that is true selects the twin (so `tags.site != 'x'` skips twins without the tag).

use super::parse::{Comparison, Condition, Field, Literal, Operand};
use serde_json::{Map, Value};
use std::cmp::Ordering;

fn lookup<'a>(twin: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(twin, |v, segment| v.get(segment))
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::String(s) => Value::String(s.clone()),
        Literal::Number(n) => serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

fn operand<'a>(twin: &'a Value, o: &Operand) -> Option<std::borrow::Cow<'a, Value>> {
    match o {
        Operand::Path(p) => lookup(twin, p).map(std::borrow::Cow::Borrowed),
        Operand::Literal(l) => Some(std::borrow::Cow::Owned(literal(l))),
    }
}

/// Order of two values of the same scalar type; None when their types differ (or are not ordered).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn compare(a: &Value, op: Comparison, b: &Value) -> Option<bool> {
    let ordering = order(a, b)?;
    let ordered = matches!((a, b), (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_)));
    Some(match op {
        Comparison::Eq => ordering == Ordering::Equal,
        Comparison::Ne => ordering != Ordering::Equal,
        _ if !ordered => return None,
        Comparison::Lt => ordering == Ordering::Less,
        Comparison::Le => ordering != Ordering::Greater,
        Comparison::Gt => ordering == Ordering::Greater,
        Comparison::Ge => ordering != Ordering::Less,
    })
}

/// True, false, or undefined (`None`).
pub fn evaluate(condition: &Condition, twin: &Value) -> Option<bool> {
    match condition {
        Condition::Compare(a, op, b) => compare(&*operand(twin, a)?, *op, &*operand(twin, b)?),
        Condition::In { operand: o, list, negated } => {
            let value = operand(twin, o)?;
            let found = list.iter().any(|l| order(&value, &literal(l)) == Some(Ordering::Equal));
            Some(found != *negated)
        }
        Condition::IsDefined(path) => Some(lookup(twin, path).is_some()),
        Condition::And(a, b) => match (evaluate(a, twin), evaluate(b, twin)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Condition::Or(a, b) => match (evaluate(a, twin), evaluate(b, twin)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Condition::Not(a) => evaluate(a, twin).map(|v| !v),
    }
}

/// Whether the twin is selected (no condition selects every twin).
pub fn selects(condition: Option<&Condition>, twin: &Value) -> bool {
    condition.is_none_or(|c| evaluate(c, twin) == Some(true))
}

/// The twin as the SELECT list shapes it: the whole twin, or just the listed fields that exist.
pub fn project(fields: Option<&[Field]>, twin: Value) -> Value {
    let Some(fields) = fields else { return twin };
    let mut out = Map::new();
    for field in fields {
        if let Some(v) = lookup(&twin, &field.path) {
            out.insert(field.name.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;
    use serde_json::json;

    fn twin() -> Value {
        json!({"deviceId": "dev-1", "status": "enabled", "connectionState": "Connected", "version": 4,
               "tags": {"site": "lyon", "floor": 3}, "capabilities": {"iotEdge": false},
               "properties": {"reported": {"fw": "1.2.0"}, "desired": {}}})
    }

    fn matches(query: &str) -> bool {
        let q = parse(&format!("SELECT * FROM devices WHERE {query}")).unwrap();
        selects(q.condition.as_ref(), &twin())
    }

    #[test]
    fn comparisons_on_each_type() {
        assert!(matches("deviceId = 'dev-1'") && matches("status != \"disabled\"") && matches("status <> 'disabled'"));
        assert!(matches("tags.floor > 2") && matches("tags.floor >= 3") && matches("tags.floor < 3.5") && matches("tags.floor <= 3"));
        assert!(matches("properties.reported.fw > '1.10'") && matches("capabilities.iotEdge = false") && !matches("capabilities.iotEdge = true"));
        assert!(!matches("tags.floor = '3'"), "a number is not a string");
        assert!(!matches("tags.floor > 'a'"));
        assert!(!matches("deviceId = 'DEV-1'"), "values compare case-sensitively");
    }

    #[test]
    fn missing_fields_are_undefined_not_false() {
        assert!(!matches("tags.gone = 'x'") && !matches("tags.gone != 'x'"));
        assert!(!matches("NOT tags.gone = 'x'"), "NOT undefined stays undefined");
        assert!(matches("tags.gone = 'x' OR status = 'enabled'"));
        assert!(!matches("tags.gone = 'x' AND status = 'enabled'"));
        assert!(!matches("IS_DEFINED(tags.gone)") && matches("NOT IS_DEFINED(tags.gone)") && matches("is_defined(properties.reported.fw)"));
    }

    #[test]
    fn in_lists_logic_and_parentheses() {
        assert!(matches("tags.site IN ['paris', 'lyon']") && !matches("tags.site NOT IN ['paris', 'lyon']"));
        assert!(matches("tags.floor in [1, 2, 3]") && !matches("tags.gone NOT IN ['x']"));
        assert!(matches("(status = 'disabled' OR connectionState = 'Connected') AND NOT (tags.site = 'paris')"));
        assert!(!matches("status = 'disabled' OR connectionState = 'Connected' AND tags.site = 'paris'"));
    }

    #[test]
    fn projection_keeps_the_listed_fields_that_exist() {
        let q = parse("SELECT deviceId, connectionState, properties.reported.fw, tags.gone FROM devices").unwrap();
        assert_eq!(project(q.fields.as_deref(), twin()), json!({"deviceId": "dev-1", "connectionState": "Connected", "fw": "1.2.0"}));
        assert_eq!(project(None, twin()), twin());
    }
}
