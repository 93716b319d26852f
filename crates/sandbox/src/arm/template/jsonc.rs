//! ARM reads templates and deployment requests leniently, as JSON with comments: `//` and `/* */`
//! comments, property names without quotes (the az CLI splices the template file into its
//! request as `template:{…}`), and trailing commas. This turns such text into strict JSON,
//! keeping every line where it was so error positions still point into the user's file.

/// Strict JSON for `text`; text that is strict JSON already comes back unchanged.
pub fn to_json(text: &[u8]) -> Vec<u8> {
    let b = text;
    let mut out = Vec::with_capacity(b.len() + 16);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.extend_from_slice(&b[start..i]);
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    // Lines inside a comment are kept, so later positions do not move.
                    if b[i] == b'\n' {
                        out.push(b'\n');
                    }
                    i += 1;
                }
                i = (i + 2).min(b.len());
            }
            b',' => {
                // A comma followed (after blanks and comments) by a closing bracket is dropped.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if !matches!(b.get(j), Some(b'}' | b']')) {
                    out.push(b',');
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                let word = &b[start..i];
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                // A bare word before ':' is a property name; true, false and null stay as they are.
                if b.get(j) == Some(&b':') && !matches!(word, b"true" | b"false" | b"null") {
                    out.push(b'"');
                    out.extend_from_slice(word);
                    out.push(b'"');
                } else {
                    out.extend_from_slice(word);
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_az_clis_spliced_request_and_commented_templates_read_as_json() {
        let az = b"{\"properties\": {\"mode\": \"Incremental\", template:{\r\n  // the schema\r\n  \"$schema\": \"s\", /* a\nblock */ \"resources\": [1, 2,],\r\n}}}";
        let parsed: Value = serde_json::from_slice(&to_json(az)).unwrap();
        assert_eq!(parsed, json!({"properties": {"mode": "Incremental", "template": {"$schema": "s", "resources": [1, 2]}}}));
        let strict = br#"{"a": "// not a comment, template: x", "b": [true, null, "x,]"]}"#;
        assert_eq!(to_json(strict), strict.to_vec());
        let lines = b"{\n/* one\ntwo */\n\"x\": 1}";
        assert_eq!(to_json(lines).iter().filter(|&&c| c == b'\n').count(), 3, "lines are kept for error positions");
    }
}
