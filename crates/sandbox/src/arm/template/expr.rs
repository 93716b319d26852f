//! ARM template language expressions (`"[concat(parameters('a'), '-x')]"`): a string is an
//! expression when it starts with `[` and ends with `]` (`[[` escapes a literal `[`). Parsed into a
//! small tree first, so a malformed expression is refused at validation with ARM's own wording,
//! before anything is deployed.

/// One node of a parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    /// `name(args…)`; names are case-insensitive, as ARM's are.
    Call(String, Vec<Expr>),
    /// `x.name`.
    Property(Box<Expr>, String),
    /// `x[i]` or `x['name']`.
    Index(Box<Expr>, Box<Expr>),
}

/// What a template string holds: plain text, or an expression to evaluate.
pub enum Text<'a> {
    Literal(std::borrow::Cow<'a, str>),
    Expression(&'a str),
}

/// Classifies a template string as ARM does: `[…]` is an expression, `[[…` is the literal `[…`.
pub fn classify(s: &str) -> Text<'_> {
    if s.starts_with("[[") {
        return Text::Literal(std::borrow::Cow::Owned(s[1..].to_string()));
    }
    if s.len() >= 2 && s.starts_with('[') && s.ends_with(']') {
        return Text::Expression(&s[1..s.len() - 1]);
    }
    Text::Literal(std::borrow::Cow::Borrowed(s))
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
}

/// Parses the inside of `[…]`; the error is ARM's sentence for it.
pub fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser { src, chars: src.chars().collect(), pos: 0 };
    let e = p.expr()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.fail(&format!("the character '{}' was not expected", p.chars[p.pos])));
    }
    Ok(e)
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> String {
        format!("Unable to parse language expression '{}': {what} at position {}.", self.src, self.pos)
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(self.fail(&format!("expected '{c}' and actual '{x}'"))),
            None => Err(self.fail(&format!("expected '{c}' and actual end of data"))),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    self.skip_ws();
                    let name = self.ident();
                    if name.is_empty() {
                        return Err(self.fail("expected a property name after '.'"));
                    }
                    e = Expr::Property(Box::new(e), name);
                }
                Some('[') => {
                    self.pos += 1;
                    let index = self.expr()?;
                    self.expect(']')?;
                    e = Expr::Index(Box::new(e), Box::new(index));
                }
                _ => return Ok(e),
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            None => Err(self.fail("expected an expression and actual end of data")),
            Some('\'') => self.string(),
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.pos += 1;
                while self.chars.get(self.pos).is_some_and(char::is_ascii_digit) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                text.parse().map(Expr::Int).map_err(|_| self.fail(&format!("'{text}' is not an integer")))
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let mut name = self.ident();
                // User-defined functions are `namespace.name(…)`.
                if self.chars.get(self.pos) == Some(&'.') && self.chars.get(self.pos + 1).is_some_and(|c| c.is_alphabetic()) {
                    let save = self.pos;
                    self.pos += 1;
                    let rest = self.ident();
                    if self.peek() == Some('(') {
                        name = format!("{name}.{rest}");
                    } else {
                        self.pos = save;
                    }
                }
                if self.peek() != Some('(') {
                    return Err(self.fail(&format!("'{name}' must be followed by '(': functions are called, e.g. {name}()")));
                }
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() == Some(')') {
                    self.pos += 1;
                    return Ok(Expr::Call(name, args));
                }
                loop {
                    args.push(self.expr()?);
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(')') => {
                            self.pos += 1;
                            return Ok(Expr::Call(name, args));
                        }
                        Some(x) => return Err(self.fail(&format!("expected ',' or ')' and actual '{x}'"))),
                        None => return Err(self.fail("expected ')' and actual end of data")),
                    }
                }
            }
            Some(c) => Err(self.fail(&format!("the character '{c}' was not expected"))),
        }
    }

    /// `'it''s'`: a doubled quote is one quote.
    fn string(&mut self) -> Result<Expr, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => return Err(self.fail("the string literal is not terminated")),
                Some('\'') if self.chars.get(self.pos + 1) == Some(&'\'') => {
                    out.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Expr::Str(out));
                }
                Some(c) => {
                    out.push(*c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_properties_indexes_and_escaped_quotes_parse() {
        let e = parse("concat(parameters('a').b[0], 'it''s', -3)").unwrap();
        let Expr::Call(name, args) = e else { panic!() };
        assert_eq!(name, "concat");
        assert_eq!(args[1], Expr::Str("it's".into()));
        assert_eq!(args[2], Expr::Int(-3));
        assert!(matches!(&args[0], Expr::Index(inner, _) if matches!(&**inner, Expr::Property(_, p) if p == "b")));
    }

    #[test]
    fn malformed_expressions_say_where() {
        assert!(parse("concat('a'").unwrap_err().contains("expected ')'"));
        assert!(parse("'open").unwrap_err().contains("not terminated"));
        assert!(parse("parameters").unwrap_err().contains("followed by '('"));
        assert!(parse("a() b").unwrap_err().contains("not expected"));
    }

    #[test]
    fn double_bracket_is_a_literal() {
        assert!(matches!(classify("[[not an expression]"), Text::Literal(s) if s == "[not an expression]"));
        assert!(matches!(classify("[variables('x')]"), Text::Expression("variables('x')")));
        assert!(matches!(classify("plain"), Text::Literal(_)));
    }
}
