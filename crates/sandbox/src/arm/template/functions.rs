//! The template functions: logic, comparison, numbers, strings, arrays and objects, as ARM
//! documents them ("Template functions", learn.microsoft.com). The ones about resources and the
//! deployment are in resource_fns.rs. Names are case-insensitive; a function ARM has and the
//! sandbox does not is refused naming it, never guessed at.

use super::eval::{invalid, kind, Eval, EvalError, Evaluator};
use super::expr::Expr;
use serde_json::{Map, Value};

pub fn call(ev: &Evaluator, name: &str, args: &[Expr]) -> Eval {
    let lower = name.to_ascii_lowercase();
    // The functions whose arguments are evaluated lazily or need the evaluator itself.
    match lower.as_str() {
        "parameters" => return ev.parameter(&text(&one(&lower, args, ev)?, name)?),
        "variables" => return ev.variable(&text(&one(&lower, args, ev)?, name)?),
        "copyindex" => {
            let values = all(ev, args)?;
            return match values.as_slice() {
                [] => ev.copy_index(None, 0),
                [Value::Number(n)] => ev.copy_index(None, n.as_i64().unwrap_or(0)),
                [Value::String(loop_name)] => ev.copy_index(Some(loop_name.as_str()), 0),
                [Value::String(loop_name), Value::Number(n)] => ev.copy_index(Some(loop_name.as_str()), n.as_i64().unwrap_or(0)),
                _ => Err(invalid("The template function 'copyIndex' takes an optional loop name and an optional offset.")),
            };
        }
        "if" => {
            arity(name, args, 3, 3)?;
            let condition = ev.expr(&args[0])?;
            let condition =
                condition.as_bool().ok_or_else(|| invalid(format!("The template function 'if' expects a Boolean condition, not {}.", kind(&condition))))?;
            return ev.expr(&args[if condition { 1 } else { 2 }]);
        }
        _ => {}
    }
    if let Some(result) = super::resource_fns::call(ev, &lower, name, args)? {
        return Ok(result);
    }
    let v = all(ev, args)?;
    pure(&lower, name, &v)
}

fn all(ev: &Evaluator, args: &[Expr]) -> Result<Vec<Value>, EvalError> {
    args.iter().map(|a| ev.expr(a)).collect()
}

fn one(lower: &str, args: &[Expr], ev: &Evaluator) -> Eval {
    arity(lower, args, 1, 1)?;
    ev.expr(&args[0])
}

pub fn arity<T>(name: &str, args: &[T], min: usize, max: usize) -> Result<(), EvalError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(invalid(format!(
            "The template language function '{name}' must have {expected} parameter(s), not {}. Please see https://aka.ms/arm-functions for usage details.",
            args.len()
        )));
    }
    Ok(())
}

pub fn text(v: &Value, function: &str) -> Result<String, EvalError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("The template language function '{function}' expects its parameter to be a string, not {}.", kind(v))))
}

fn int(v: &Value, function: &str) -> Result<i64, EvalError> {
    v.as_i64().ok_or_else(|| invalid(format!("The template language function '{function}' expects an integer, not {}.", kind(v))))
}

fn boolean(v: &Value, function: &str) -> Result<bool, EvalError> {
    v.as_bool().ok_or_else(|| invalid(format!("The template language function '{function}' expects Boolean parameters, not {}.", kind(v))))
}

/// `string()`: text as ARM writes it (C#'s True/False; objects and arrays as compact JSON).
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `format('{0}-{1}', a, b)`, with `{{` and `}}` for literal braces.
fn format(pattern: &str, args: &[Value]) -> Eval {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let spec: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let index: usize = spec
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .map_err(|_| invalid(format!("The format '{pattern}' has a bad placeholder '{{{spec}}}'.")))?;
                let arg =
                    args.get(index).ok_or_else(|| invalid(format!("The format '{pattern}' uses argument {index}, but only {} were given.", args.len())))?;
                out.push_str(&to_text(arg));
            }
            c => out.push(c),
        }
    }
    Ok(Value::String(out))
}

/// Arrays (or strings) sliced, as take/skip/first/last do.
fn slice(v: &Value, function: &str, from: usize, to: usize) -> Eval {
    match v {
        Value::Array(a) => Ok(Value::Array(a[from.min(a.len())..to.min(a.len()).max(from.min(a.len()))].to_vec())),
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let (a, b) = (from.min(chars.len()), to.min(chars.len()));
            Ok(Value::String(chars[a..b.max(a)].iter().collect()))
        }
        other => Err(invalid(format!("The template language function '{function}' expects an array or a string, not {}.", kind(other)))),
    }
}

fn length(v: &Value) -> Eval {
    match v {
        Value::Array(a) => Ok(a.len().into()),
        Value::String(s) => Ok(s.chars().count().into()),
        Value::Object(o) => Ok(o.len().into()),
        other => Err(invalid(format!("The template language function 'length' expects an array, a string or an object, not {}.", kind(other)))),
    }
}

fn compare(a: &Value, b: &Value, function: &str) -> Result<std::cmp::Ordering, EvalError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0))),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(invalid(format!("The template language function '{function}' expects two integers or two strings, not {} and {}.", kind(a), kind(b)))),
    }
}

fn pure(lower: &str, name: &str, v: &[Value]) -> Eval {
    let n = |min, max| arity(name, v, min, max);
    match lower {
        "true" => n(0, 0).map(|_| Value::Bool(true)),
        "false" => n(0, 0).map(|_| Value::Bool(false)),
        "null" => n(0, 0).map(|_| Value::Null),
        "equals" => n(2, 2).map(|_| Value::Bool(v[0] == v[1])),
        "not" => n(1, 1).and_then(|_| Ok(Value::Bool(!boolean(&v[0], name)?))),
        "and" => n(2, usize::MAX).and_then(|_| v.iter().try_fold(true, |acc, x| Ok::<bool, EvalError>(acc & boolean(x, name)?)).map(Value::Bool)),
        "or" => n(2, usize::MAX).and_then(|_| v.iter().try_fold(false, |acc, x| Ok::<bool, EvalError>(acc | boolean(x, name)?)).map(Value::Bool)),
        "less" | "lessorequals" | "greater" | "greaterorequals" => {
            n(2, 2)?;
            let o = compare(&v[0], &v[1], name)?;
            Ok(Value::Bool(match lower {
                "less" => o.is_lt(),
                "lessorequals" => o.is_le(),
                "greater" => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        "empty" => n(1, 1).map(|_| Value::Bool(empty(&v[0]))),
        "coalesce" => n(1, usize::MAX).map(|_| v.iter().find(|x| !x.is_null()).cloned().unwrap_or(Value::Null)),
        "length" => n(1, 1).and_then(|_| length(&v[0])),
        "add" | "sub" | "mul" | "div" | "mod" => {
            n(2, 2)?;
            let (a, b) = (int(&v[0], name)?, int(&v[1], name)?);
            if matches!(lower, "div" | "mod") && b == 0 {
                return Err(invalid(format!("The template language function '{name}' cannot divide by zero.")));
            }
            Ok(Value::from(match lower {
                "add" => a.wrapping_add(b),
                "sub" => a.wrapping_sub(b),
                "mul" => a.wrapping_mul(b),
                "div" => a / b,
                _ => a % b,
            }))
        }
        "min" | "max" => {
            n(1, usize::MAX)?;
            let items: Vec<Value> = if let [Value::Array(a)] = v { a.clone() } else { v.to_vec() };
            let ints = items.iter().map(|x| int(x, name)).collect::<Result<Vec<_>, _>>()?;
            let r = if lower == "min" { ints.iter().min() } else { ints.iter().max() };
            r.copied().map(Value::from).ok_or_else(|| invalid(format!("The template language function '{name}' needs at least one value.")))
        }
        "concat" => {
            if v.iter().all(Value::is_array) && !v.is_empty() {
                Ok(Value::Array(v.iter().flat_map(|a| a.as_array().cloned().unwrap_or_default()).collect()))
            } else if let Some(bad) = v.iter().find(|x| x.is_array() || x.is_object()) {
                Err(invalid(format!(
                    "The template language function 'concat' expects all arrays or all strings and numbers; {} is not one of them here.",
                    kind(bad)
                )))
            } else {
                Ok(Value::String(v.iter().map(to_text).collect()))
            }
        }
        "format" => n(1, usize::MAX).and_then(|_| format(&text(&v[0], name)?, &v[1..])),
        "string" => n(1, 1).map(|_| Value::String(to_text(&v[0]))),
        "int" => {
            n(1, 1)?;
            match &v[0] {
                Value::Number(x) => Ok(Value::from(x.as_f64().unwrap_or(0.0) as i64)),
                Value::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| invalid(format!("The template language function 'int' cannot convert '{s}' to an integer."))),
                other => Err(invalid(format!("The template language function 'int' cannot convert {} to an integer.", kind(other)))),
            }
        }
        "bool" => {
            n(1, 1)?;
            match &v[0] {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::Number(x) => Ok(Value::Bool(x.as_i64() != Some(0))),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
                other => Err(invalid(format!("The template language function 'bool' cannot convert {other} to a Boolean."))),
            }
        }
        "json" => n(1, 1).and_then(|_| {
            let s = text(&v[0], name)?;
            serde_json::from_str(&s).map_err(|e| invalid(format!("The template language function 'json' got text that is not JSON ({e}): '{s}'.")))
        }),
        "array" => n(1, 1).map(|_| if v[0].is_array() { v[0].clone() } else { Value::Array(vec![v[0].clone()]) }),
        "createarray" => Ok(Value::Array(v.to_vec())),
        "createobject" => {
            if !v.len().is_multiple_of(2) {
                return Err(invalid("The template language function 'createObject' takes key and value pairs."));
            }
            let mut o = Map::new();
            for pair in v.chunks(2) {
                o.insert(text(&pair[0], name)?, pair[1].clone());
            }
            Ok(Value::Object(o))
        }
        "union" => {
            n(2, usize::MAX)?;
            if v.iter().all(Value::is_object) {
                let mut o = Map::new();
                for x in v {
                    o.extend(x.as_object().cloned().unwrap_or_default());
                }
                Ok(Value::Object(o))
            } else if v.iter().all(Value::is_array) {
                let mut out: Vec<Value> = Vec::new();
                for x in v.iter().flat_map(|a| a.as_array().cloned().unwrap_or_default()) {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
                Ok(Value::Array(out))
            } else {
                Err(invalid("The template language function 'union' expects all objects or all arrays."))
            }
        }
        "intersection" => {
            n(2, usize::MAX)?;
            match &v[0] {
                Value::Array(first) => {
                    Ok(Value::Array(first.iter().filter(|x| v[1..].iter().all(|o| o.as_array().is_some_and(|a| a.contains(x)))).cloned().collect()))
                }
                Value::Object(first) => Ok(Value::Object(
                    first.iter().filter(|(k, x)| v[1..].iter().all(|o| o.get(k.as_str()) == Some(*x))).map(|(k, x)| (k.clone(), x.clone())).collect(),
                )),
                other => Err(invalid(format!("The template language function 'intersection' expects arrays or objects, not {}.", kind(other)))),
            }
        }
        "contains" => {
            n(2, 2)?;
            Ok(Value::Bool(match &v[0] {
                Value::String(s) => s.contains(&to_text(&v[1])),
                Value::Array(a) => a.contains(&v[1]),
                Value::Object(o) => o.keys().any(|k| k.eq_ignore_ascii_case(&to_text(&v[1]))),
                other => {
                    return Err(invalid(format!("The template language function 'contains' expects a string, an array or an object, not {}.", kind(other))))
                }
            }))
        }
        "first" => n(1, 1).and_then(|_| match &v[0] {
            Value::Array(a) => Ok(a.first().cloned().unwrap_or(Value::Null)),
            other => slice(other, name, 0, 1),
        }),
        "last" => n(1, 1).and_then(|_| match &v[0] {
            Value::Array(a) => Ok(a.last().cloned().unwrap_or(Value::Null)),
            Value::String(s) => Ok(Value::String(s.chars().last().map(String::from).unwrap_or_default())),
            other => Err(invalid(format!("The template language function 'last' expects an array or a string, not {}.", kind(other)))),
        }),
        "take" => n(2, 2).and_then(|_| slice(&v[0], name, 0, int(&v[1], name)?.max(0) as usize)),
        "skip" => n(2, 2).and_then(|_| slice(&v[0], name, int(&v[1], name)?.max(0) as usize, usize::MAX)),
        "range" => {
            n(2, 2)?;
            let (start, count) = (int(&v[0], name)?, int(&v[1], name)?);
            if !(0..=10_000).contains(&count) {
                return Err(invalid(format!("The template language function 'range' takes a count from 0 to 10000, not {count}.")));
            }
            Ok(Value::Array((start..start + count).map(Value::from).collect()))
        }
        "tolower" => n(1, 1).and_then(|_| Ok(Value::String(text(&v[0], name)?.to_lowercase()))),
        "toupper" => n(1, 1).and_then(|_| Ok(Value::String(text(&v[0], name)?.to_uppercase()))),
        "trim" => n(1, 1).and_then(|_| Ok(Value::String(text(&v[0], name)?.trim().to_string()))),
        "replace" => n(3, 3).and_then(|_| Ok(Value::String(text(&v[0], name)?.replace(&text(&v[1], name)?, &text(&v[2], name)?)))),
        "split" => {
            n(2, 2)?;
            let s = text(&v[0], name)?;
            let delimiters: Vec<String> = match &v[1] {
                Value::Array(a) => a.iter().map(|d| text(d, name)).collect::<Result<_, _>>()?,
                d => vec![text(d, name)?],
            };
            let mut parts = vec![s];
            for d in delimiters.iter().filter(|d| !d.is_empty()) {
                parts = parts.iter().flat_map(|p| p.split(d.as_str()).map(str::to_string).collect::<Vec<_>>()).collect();
            }
            Ok(Value::Array(parts.into_iter().map(Value::String).collect()))
        }
        "join" => n(2, 2).and_then(|_| {
            let items = v[0].as_array().ok_or_else(|| invalid("The template language function 'join' expects an array first."))?;
            Ok(Value::String(items.iter().map(to_text).collect::<Vec<_>>().join(&text(&v[1], name)?)))
        }),
        "startswith" => n(2, 2).and_then(|_| Ok(Value::Bool(text(&v[0], name)?.to_lowercase().starts_with(&text(&v[1], name)?.to_lowercase())))),
        "endswith" => n(2, 2).and_then(|_| Ok(Value::Bool(text(&v[0], name)?.to_lowercase().ends_with(&text(&v[1], name)?.to_lowercase())))),
        "indexof" | "lastindexof" => n(2, 2).and_then(|_| {
            let (s, needle) = (text(&v[0], name)?.to_lowercase(), text(&v[1], name)?.to_lowercase());
            let found = if lower == "indexof" { s.find(&needle) } else { s.rfind(&needle) };
            Ok(Value::from(found.map_or(-1, |i| s[..i].chars().count() as i64)))
        }),
        "substring" => n(2, 3).and_then(|_| {
            let s: Vec<char> = text(&v[0], name)?.chars().collect();
            let start = int(&v[1], name)?;
            let len = if v.len() == 3 { int(&v[2], name)? } else { s.len() as i64 - start };
            if start < 0 || len < 0 || (start + len) as usize > s.len() {
                return Err(invalid(format!(
                    "The template language function 'substring': start {start} and length {len} do not fit a string of {} characters.",
                    s.len()
                )));
            }
            Ok(Value::String(s[start as usize..(start + len) as usize].iter().collect()))
        }),
        "padleft" => n(2, 3).and_then(|_| {
            let s = to_text(&v[0]);
            let width = int(&v[1], name)?.max(0) as usize;
            let pad = if v.len() == 3 { text(&v[2], name)?.chars().next().unwrap_or(' ') } else { ' ' };
            let missing = width.saturating_sub(s.chars().count());
            Ok(Value::String(std::iter::repeat_n(pad, missing).chain(s.chars()).collect()))
        }),
        "base64" => n(1, 1).and_then(|_| Ok(Value::String(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text(&v[0], name)?)))),
        "base64tostring" => n(1, 1).and_then(|_| {
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text(&v[0], name)?).map_err(|e| invalid(format!("base64ToString: {e}")))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }),
        "objectkeys" => n(1, 1).map(|_| Value::Array(v[0].as_object().map(|o| o.keys().cloned().map(Value::String).collect()).unwrap_or_default())),
        "items" => n(1, 1).and_then(|_| {
            let o = v[0].as_object().ok_or_else(|| invalid("The template language function 'items' expects an object."))?;
            Ok(Value::Array(o.iter().map(|(k, x)| serde_json::json!({"key": k, "value": x})).collect()))
        }),
        _ => Err(invalid(format!("The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."))),
    }
}
