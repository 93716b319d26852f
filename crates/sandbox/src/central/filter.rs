//! Device-group filters: the part of Central's query language (https://aka.ms/iotcquery) that
//! groups use to pick devices by their built-in fields — `SELECT * FROM devices`, optionally
//! `WHERE $template = "…" AND $provisioned = true …`. Anything else is refused with the reason, so
//! a filter the sandbox cannot evaluate never silently selects the wrong devices.

use serde_json::Value;

/// One `$field op value` condition of a filter.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: &'static str,
    equal: bool,
    value: Value,
}

/// A parsed filter: every condition must hold (Central's group filters join them with AND).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Vec<Condition>);

/// The built-in device fields a filter may test, as `$name` → the device's JSON field.
const FIELDS: &[(&str, &str)] = &[
    ("$id", "id"),
    ("$displayName", "displayName"),
    ("$template", "template"),
    ("$provisioned", "provisioned"),
    ("$simulated", "simulated"),
    ("$enabled", "enabled"),
];

/// Splits into words, quoted strings (kept with their quotes) and the operators `=` and `!=`.
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut s = String::from('"');
            loop {
                match chars.next() {
                    Some(q) if q == c => break,
                    Some(ch) => s.push(ch),
                    None => return Err("a quoted string is not closed".into()),
                }
            }
            out.push(s + "\"");
        } else if c == '=' {
            chars.next();
            out.push("=".into());
        } else if c == '!' || c == '<' {
            chars.next();
            match (c, chars.next()) {
                ('!', Some('=')) | ('<', Some('>')) => out.push("!=".into()),
                _ => return Err(format!("the operator after '{c}' is not supported")),
            }
        } else {
            let mut word = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || "=!<\"'".contains(ch) {
                    break;
                }
                word.push(ch);
                chars.next();
            }
            out.push(word);
        }
    }
    Ok(out)
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, String> {
        let refuse = |why: String| format!("The filter '{text}' is not one the sandbox evaluates: {why}.");
        let tokens = tokens(text).map_err(refuse)?;
        let head: Vec<String> = tokens.iter().take(4).map(|t| t.to_ascii_uppercase()).collect();
        if head != ["SELECT", "*", "FROM", "DEVICES"] {
            return Err(refuse("it must start with SELECT * FROM devices".into()));
        }
        let rest = &tokens[4..];
        if rest.is_empty() {
            return Ok(Filter(vec![]));
        }
        if !rest[0].eq_ignore_ascii_case("WHERE") {
            return Err(refuse(format!("'{}' where WHERE or the end was expected", rest[0])));
        }
        let mut conditions = Vec::new();
        for (i, part) in rest[1..].split(|t| t.eq_ignore_ascii_case("AND")).enumerate() {
            let [name, op, value] = part else {
                return Err(refuse(format!("condition {} is not `$field = value` (OR, parentheses and functions are not supported)", i + 1)));
            };
            let field = FIELDS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, f)| *f)
                .ok_or_else(|| refuse(format!("'{name}' is not one of $id, $displayName, $template, $provisioned, $simulated, $enabled")))?;
            let value = match value.as_str() {
                v if v.starts_with('"') => Value::String(v.trim_matches('"').to_string()),
                v if v.eq_ignore_ascii_case("true") => Value::Bool(true),
                v if v.eq_ignore_ascii_case("false") => Value::Bool(false),
                v => return Err(refuse(format!("'{v}' is neither a quoted string nor true or false"))),
            };
            conditions.push(Condition { field, equal: op == "=", value });
        }
        Ok(Filter(conditions))
    }

    pub fn matches(&self, device: &Value) -> bool {
        self.0.iter().all(|c| {
            // A device without the field (no template yet, say) has false or an empty string there.
            let actual = match &device[c.field] {
                Value::Null if c.value.is_boolean() => Value::Bool(false),
                Value::Null => Value::String(String::new()),
                v => v.clone(),
            };
            (actual == c.value) == c.equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_filters_of_the_spec_examples_select_what_they_say() {
        let f = Filter::parse("SELECT * FROM devices WHERE $template = \"dtmi:modelDefinition:dtdlv2\" AND $provisioned = true").unwrap();
        assert!(f.matches(&json!({"template": "dtmi:modelDefinition:dtdlv2", "provisioned": true})));
        assert!(!f.matches(&json!({"template": "dtmi:modelDefinition:dtdlv2", "provisioned": false})));
        assert!(!f.matches(&json!({"template": "dtmi:other;1", "provisioned": true})));
        assert!(Filter::parse("select * from devices").unwrap().matches(&json!({"id": "any"})));
        assert!(Filter::parse("SELECT * FROM devices WHERE $simulated != true").unwrap().matches(&json!({"id": "no-flag"})));
    }

    #[test]
    fn what_the_sandbox_cannot_evaluate_is_refused_with_the_reason() {
        for (filter, why) in [
            ("SELECT * FROM devices WHERE $template = \"a\" OR $simulated = true", "OR"),
            ("SELECT * FROM devices WHERE temperature = 20", "'temperature' is not one of"),
            ("SELECT id FROM devices", "SELECT * FROM devices"),
            ("SELECT * FROM devices WHERE $template = \"open", "not closed"),
        ] {
            let err = Filter::parse(filter).unwrap_err();
            assert!(err.contains(why), "{filter}: {err}");
        }
    }
}
