//! Evaluates a parsed query on a twin's JSON (or a message's properties, for routes). Logic is
//! three-valued, as on the hub: a path that is not there, or values of different types compared,
//! make the comparison undefined, and only a condition that is true selects the twin (so
//! `tags.site != 'x'` skips twins without the tag).

use super::ast::{Comparison, Condition, Field, Function, Literal, Operand, Selected};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub fn lookup<'a>(twin: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(twin, |v, segment| v.get(segment))
}

fn literal(l: &Literal) -> Option<Value> {
    Some(match l {
        Literal::String(s) => Value::String(s.clone()),
        Literal::Number(n) => number(*n)?,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
        Literal::Undefined => return None,
    })
}

fn number(n: f64) -> Option<Value> {
    // Whole numbers stay integers, as the hub writes them.
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        return Some(Value::from(n as i64));
    }
    serde_json::Number::from_f64(n).map(Value::Number)
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

fn call(f: Function, args: &[Option<Value>]) -> Option<Value> {
    use Function::*;
    let arg = |i: usize| args.get(i).and_then(Option::as_ref);
    let num = |i: usize| arg(i).and_then(Value::as_f64);
    let flag = |b: bool| Some(Value::Bool(b));
    match f {
        IsDefined => flag(arg(0).is_some()),
        IsNull => flag(arg(0).is_some_and(Value::is_null)),
        IsString => flag(arg(0).is_some_and(Value::is_string)),
        IsNumber => flag(arg(0).is_some_and(Value::is_number)),
        IsBool => flag(arg(0).is_some_and(Value::is_boolean)),
        IsObject => flag(arg(0).is_some_and(Value::is_object)),
        IsArray => flag(arg(0).is_some_and(Value::is_array)),
        IsPrimitive => flag(arg(0).is_some_and(|v| !v.is_object() && !v.is_array())),
        StartsWith => flag(text(arg(0)?)?.starts_with(text(arg(1)?)?)),
        EndsWith => flag(text(arg(0)?)?.ends_with(text(arg(1)?)?)),
        Contains => flag(text(arg(0)?)?.contains(text(arg(1)?)?)),
        Abs => number(num(0)?.abs()),
        Exp => number(num(0)?.exp()),
        Power => number(num(0)?.powf(num(1)?)),
        Square => number(num(0)?.powi(2)),
        Ceiling => number(num(0)?.ceil()),
        Floor => number(num(0)?.floor()),
        Sign => number(num(0)?.signum() * f64::from(u8::from(num(0)? != 0.0))),
        Sqrt => number(num(0)?.sqrt()),
        AsNumber => match arg(0)? {
            Value::Number(n) => Some(Value::Number(n.clone())),
            Value::String(s) => number(s.trim().parse::<f64>().ok()?),
            _ => None,
        },
        Concat => args.iter().map(|a| a.as_ref().and_then(Value::as_str)).collect::<Option<String>>().map(Value::String),
        Length => number(text(arg(0)?)?.chars().count() as f64),
        Lower => Some(Value::String(text(arg(0)?)?.to_lowercase())),
        Upper => Some(Value::String(text(arg(0)?)?.to_uppercase())),
        Substring => {
            let s: Vec<char> = text(arg(0)?)?.chars().collect();
            let start = (num(1)?.max(0.0) as usize).min(s.len());
            let len = if args.len() > 2 { num(2)?.max(0.0) as usize } else { s.len() };
            Some(Value::String(s[start..(start + len).min(s.len())].iter().collect()))
        }
        IndexOf => {
            let (s, fragment) = (text(arg(0)?)?, text(arg(1)?)?);
            number(s.find(fragment).map_or(-1.0, |b| s[..b].chars().count() as f64))
        }
    }
}

/// The value of an operand on a document; None when undefined.
pub fn value(doc: &Value, o: &Operand) -> Option<Value> {
    match o {
        Operand::Path(p) => lookup(doc, p).cloned(),
        Operand::Literal(l) => literal(l),
        Operand::Call(f, args) => call(*f, &args.iter().map(|a| value(doc, a)).collect::<Vec<_>>()),
        Operand::Arithmetic(a, op, b) => {
            let (x, y) = (value(doc, a)?.as_f64()?, value(doc, b)?.as_f64()?);
            number(match op {
                '+' => x + y,
                '-' => x - y,
                '*' => x * y,
                '/' if y != 0.0 => x / y,
                '%' if y != 0.0 => x % y,
                _ => return None,
            })
        }
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
pub fn evaluate(condition: &Condition, doc: &Value) -> Option<bool> {
    match condition {
        Condition::Compare(a, op, b) => compare(&value(doc, a)?, *op, &value(doc, b)?),
        Condition::In { operand: o, list, negated } => {
            let v = value(doc, o)?;
            let found = list.iter().any(|l| literal(l).is_some_and(|l| order(&v, &l) == Some(Ordering::Equal)));
            Some(found != *negated)
        }
        Condition::Holds(o) => match value(doc, o)? {
            Value::Bool(b) => Some(b),
            _ => None,
        },
        Condition::And(a, b) => match (evaluate(a, doc), evaluate(b, doc)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Condition::Or(a, b) => match (evaluate(a, doc), evaluate(b, doc)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Condition::Not(a) => evaluate(a, doc).map(|v| !v),
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
        if let Selected::Path(path) = &field.value {
            if let Some(v) = lookup(&twin, path) {
                out.insert(field.name.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
