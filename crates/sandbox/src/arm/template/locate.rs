//! Where a JSON path (`properties.template.resources[1].name`) is in the text a client sent, as
//! line and column: ARM's InvalidTemplate errors name them ("at line '12' and column '9'", and
//! `additionalInfo[].info.lineNumber/linePosition`), so a user finds the field in their file.
//! serde_json keeps no positions, so this is a small scanner of its own.

/// One step of a path: a property name or an array index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Step::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    out.push(Step::Index(i));
                }
                rest = &rest[close + 1..];
            }
        } else {
            out.push(Step::Key(rest.to_string()));
        }
    }
    out
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return serde_json::from_slice(&self.b[start..self.pos]).ok();
                }
                _ => self.pos += 1,
            }
        }
        None
    }

    /// Skips one value of any kind.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.b.get(self.pos)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.pos < self.b.len() {
                    match self.b[self.pos] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                None
            }
            _ => {
                while self.pos < self.b.len() && !matches!(self.b[self.pos], b',' | b'}' | b']') {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Moves to the value the step names inside the value at `pos`; None when it is not there.
    fn enter(&mut self, step: &Step) -> Option<()> {
        self.ws();
        match (self.b.get(self.pos)?, step) {
            (b'{', Step::Key(key)) => {
                self.pos += 1;
                loop {
                    self.ws();
                    if self.b.get(self.pos) == Some(&b'}') {
                        return None;
                    }
                    let name = self.string()?;
                    self.ws();
                    self.pos += 1; // ':'
                    if name.eq_ignore_ascii_case(key) {
                        self.ws();
                        return Some(());
                    }
                    self.skip()?;
                    self.ws();
                    if self.b.get(self.pos) == Some(&b',') {
                        self.pos += 1;
                    }
                }
            }
            (b'[', Step::Index(i)) => {
                self.pos += 1;
                for _ in 0..*i {
                    self.skip()?;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b',') {
                        return None;
                    }
                    self.pos += 1;
                }
                self.ws();
                Some(())
            }
            _ => None,
        }
    }
}

/// The 1-based line and column of the deepest part of `path` found in `text`.
pub fn line_and_column(text: &[u8], path: &str) -> (usize, usize) {
    let mut s = Scanner { b: text, pos: 0 };
    let mut found = 0;
    for step in steps(path) {
        if s.enter(&step).is_none() {
            break;
        }
        found = s.pos;
    }
    let before = &text[..found.min(text.len())];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&c| c != b'\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_found_by_line_and_column() {
        let text = b"{\n  \"properties\": {\n    \"template\": {\n      \"resources\": [\n        {\"name\": \"a\"},\n        {\"type\": \"x\", \"name\": \"b\"}\n      ]\n    }\n  }\n}";
        assert_eq!(line_and_column(text, "properties.template.resources[1].name"), (6, 31));
        assert_eq!(line_and_column(text, "properties.template.resources[0]"), (5, 9));
        // A path that goes past what is there stops at the deepest part found.
        assert_eq!(line_and_column(text, "properties.template.parameters.x"), (3, 17));
    }
}
