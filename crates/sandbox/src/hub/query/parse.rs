//! The IoT Hub query language, the part migrations use: `SELECT * | <paths> FROM devices
//! [WHERE <condition>]`, with comparisons, `[NOT] IN [..]`, `AND`/`OR`/`NOT`, parentheses,
//! literals, dotted paths and `IS_DEFINED(path)`. Keywords are case-insensitive, field names are
//! not (as on the hub). A query it cannot read is refused with the position and token at fault,
//! so a caller learns what to change rather than getting a silent empty page.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `None` for `SELECT *`, else each field with the name it gets in the answer.
    pub fields: Option<Vec<Field>>,
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub path: Vec<String>,
    /// `AS alias`, or the path's last segment (what the hub names a projected field).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Vec<String>),
    Literal(Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Operand, Comparison, Operand),
    In { operand: Operand, list: Vec<Literal>, negated: bool },
    IsDefined(Vec<String>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// Why a query does not parse: the 1-based character position and what was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Syntax error at position {}: {}", self.position, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    String(String),
    Number(f64),
    Symbol(&'static str),
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::String(s) => format!("the string '{s}'"),
            Token::Number(n) => format!("the number {n}"),
            Token::Symbol(s) => format!("'{s}'"),
            Token::End => "the end of the query".into(),
        }
    }
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

const KEYWORDS: &[&str] = &["select", "from", "where", "and", "or", "not", "in", "as", "true", "false", "null", "is_defined"];
/// Longest first, so `<=` is not read as `<` then `=`.
const SYMBOLS: &[&str] = &["<=", ">=", "<>", "!=", "=", "<", ">", "(", ")", "[", "]", ",", ".", "*"];

/// Tokens with their 1-based start positions (characters, not bytes).
fn lex(text: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(SyntaxError { position: start, message: "the string is not closed".into() }),
                    Some('\\') if chars.get(i + 1).is_some() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(q) if *q == c => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        value.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push((Token::String(value), start));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let end =
                (i + 1..chars.len()).find(|&j| !(chars[j].is_ascii_digit() || chars[j] == '.' || chars[j] == 'e' || chars[j] == 'E')).unwrap_or(chars.len());
            let literal: String = chars[i..end].iter().collect();
            let number = literal.parse().map_err(|_| SyntaxError { position: start, message: format!("'{literal}' is not a number") })?;
            tokens.push((Token::Number(number), start));
            i = end;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let end = (i..chars.len()).find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '$' || chars[j] == '-')).unwrap_or(chars.len());
            tokens.push((Token::Word(chars[i..end].iter().collect()), start));
            i = end;
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| s.chars().enumerate().all(|(k, sc)| chars.get(i + k) == Some(&sc))) {
            tokens.push((Token::Symbol(symbol), start));
            i += symbol.chars().count();
        } else {
            return Err(SyntaxError { position: start, message: format!("unexpected character '{c}'") });
        }
    }
    tokens.push((Token::End, chars.len() + 1));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }
    fn next(&mut self) -> Token {
        let token = self.tokens[self.at].0.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }
    fn error(&self, expected: &str) -> SyntaxError {
        let (token, position) = &self.tokens[self.at];
        SyntaxError { position: *position, message: format!("expected {expected}, found {}", token.describe()) }
    }
    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_keyword(keyword);
        if found {
            self.next();
        }
        found
    }
    fn expect_keyword(&mut self, keyword: &str) -> Result<(), SyntaxError> {
        if self.keyword(keyword) {
            Ok(())
        } else {
            Err(self.error(&keyword.to_ascii_uppercase()))
        }
    }
    fn symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Token::Symbol(s) if *s == symbol);
        if found {
            self.next();
        }
        found
    }
    fn expect_symbol(&mut self, symbol: &str) -> Result<(), SyntaxError> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(&format!("'{symbol}'")))
        }
    }

    /// A field name: any word but a keyword.
    fn name(&mut self, what: &str) -> Result<String, SyntaxError> {
        match self.peek() {
            Token::Word(w) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                let w = w.clone();
                self.next();
                Ok(w)
            }
            _ => Err(self.error(what)),
        }
    }

    /// `a.b.c` as written.
    fn segments(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = vec![self.name("a field name")?];
        while self.symbol(".") {
            path.push(self.name("a field name after '.'")?);
        }
        Ok(path)
    }

    /// A twin field's path; a leading `devices.` is the collection itself and is dropped.
    fn path(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = self.segments()?;
        if path.len() > 1 && path[0].eq_ignore_ascii_case("devices") {
            path.remove(0);
        }
        Ok(path)
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_keyword("select")?;
        let fields = if self.symbol("*") {
            None
        } else {
            let mut fields = vec![];
            loop {
                let path = self.path()?;
                let name = if self.keyword("as") { self.name("a name after AS")? } else { path.last().cloned().unwrap_or_default() };
                fields.push(Field { path, name });
                if !self.symbol(",") {
                    break;
                }
            }
            Some(fields)
        };
        self.expect_keyword("from")?;
        let position = self.tokens[self.at].1;
        let source = self.segments()?;
        if source.len() != 1 || !source[0].eq_ignore_ascii_case("devices") {
            return Err(SyntaxError { position, message: format!("only FROM devices is served by the sandbox, not '{}'", source.join(".")) });
        }
        let condition = if self.keyword("where") { Some(self.or()?) } else { None };
        if *self.peek() != Token::End {
            return Err(self.error(if condition.is_some() { "AND, OR or the end of the query" } else { "WHERE or the end of the query" }));
        }
        Ok(Query { fields, condition })
    }

    fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, SyntaxError> {
        if self.keyword("not") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, SyntaxError> {
        if self.symbol("(") {
            let inner = self.or()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        if self.keyword("is_defined") {
            self.expect_symbol("(")?;
            let path = self.path()?;
            self.expect_symbol(")")?;
            return Ok(Condition::IsDefined(path));
        }
        let left = self.operand()?;
        let negated = self.keyword("not");
        if negated || self.peek().is_keyword("in") {
            self.expect_keyword("in")?;
            return Ok(Condition::In { operand: left, list: self.list()?, negated });
        }
        let op = match self.peek() {
            Token::Symbol("=") => Comparison::Eq,
            Token::Symbol("!=") | Token::Symbol("<>") => Comparison::Ne,
            Token::Symbol("<") => Comparison::Lt,
            Token::Symbol("<=") => Comparison::Le,
            Token::Symbol(">") => Comparison::Gt,
            Token::Symbol(">=") => Comparison::Ge,
            _ => return Err(self.error("a comparison (=, !=, <>, <, <=, >, >=) or IN")),
        };
        self.next();
        Ok(Condition::Compare(left, op, self.operand()?))
    }

    fn literal(&mut self) -> Option<Literal> {
        let literal = match self.peek() {
            Token::String(s) => Literal::String(s.clone()),
            Token::Number(n) => Literal::Number(*n),
            t if t.is_keyword("true") => Literal::Bool(true),
            t if t.is_keyword("false") => Literal::Bool(false),
            t if t.is_keyword("null") => Literal::Null,
            _ => return None,
        };
        self.next();
        Some(literal)
    }

    fn operand(&mut self) -> Result<Operand, SyntaxError> {
        match self.literal() {
            Some(literal) => Ok(Operand::Literal(literal)),
            None if matches!(self.peek(), Token::Word(_)) => Ok(Operand::Path(self.path()?)),
            None => Err(self.error("a field or a value")),
        }
    }

    /// `[v, …]` (the hub's form), or `(v, …)` as SQL writes it.
    fn list(&mut self) -> Result<Vec<Literal>, SyntaxError> {
        let close = if self.symbol("[") {
            "]"
        } else if self.symbol("(") {
            ")"
        } else {
            return Err(self.error("'[' to open the IN list"));
        };
        let mut list = vec![];
        if self.symbol(close) {
            return Ok(list);
        }
        loop {
            list.push(self.literal().ok_or_else(|| self.error("a value in the IN list"))?);
            if self.symbol(close) {
                return Ok(list);
            }
            if !self.symbol(",") {
                return Err(self.error(&format!("',' or '{close}'")));
            }
        }
    }
}

pub fn parse(text: &str) -> Result<Query, SyntaxError> {
    Parser { tokens: lex(text)?, at: 0 }.query()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn select_star_and_field_lists() {
        assert_eq!(parse("SELECT * FROM devices").unwrap(), Query { fields: None, condition: None });
        let q = parse("select deviceId, properties.reported.fw AS firmware, devices.status from DEVICES").unwrap();
        let fields = q.fields.unwrap();
        assert_eq!(fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["deviceId", "firmware", "status"]);
        assert_eq!(fields[1].path, path("properties.reported.fw"));
        assert_eq!(fields[2].path, path("status"));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let q = parse("SELECT * FROM devices WHERE a = 1 OR NOT b = 'x' AND c IN ['p', \"q\"]").unwrap();
        let eq = |p: &str, l: Literal| Condition::Compare(Operand::Path(path(p)), Comparison::Eq, Operand::Literal(l));
        let expected = Condition::Or(
            Box::new(eq("a", Literal::Number(1.0))),
            Box::new(Condition::And(
                Box::new(Condition::Not(Box::new(eq("b", Literal::String("x".into()))))),
                Box::new(Condition::In {
                    operand: Operand::Path(path("c")),
                    list: vec![Literal::String("p".into()), Literal::String("q".into())],
                    negated: false,
                }),
            )),
        );
        assert_eq!(q.condition.unwrap(), expected);
    }

    #[test]
    fn every_operator_and_literal_parses() {
        for op in ["=", "!=", "<>", "<", "<=", ">", ">="] {
            parse(&format!("SELECT * FROM devices WHERE tags.n {op} -2.5")).unwrap();
        }
        let q = parse("SELECT * FROM devices WHERE (capabilities.iotEdge = true OR tags.x = null) AND status NOT IN ['disabled'] AND IS_DEFINED(tags.site) AND NOT is_defined(tags.gone)").unwrap();
        assert!(matches!(q.condition, Some(Condition::And(..))));
    }

    #[test]
    fn errors_name_the_position_and_token() {
        let e = parse("SELECT * FROM devices WHERE status == 'x'").unwrap_err();
        assert_eq!(e.position, 37);
        assert!(e.message.contains("'='"), "{e}");
        let e = parse("SELECT * FORM devices").unwrap_err();
        assert_eq!((e.position, e.message.as_str()), (10, "expected FROM, found 'FORM'"));
        assert!(parse("SELECT * FROM devices WHERE tags.site = 'x").unwrap_err().message.contains("not closed"));
        assert!(parse("SELECT * FROM devices.modules").unwrap_err().message.contains("devices.modules"));
        assert!(parse("SELECT * FROM devices WHERE status IN 'x'").unwrap_err().message.contains("'['"));
        assert!(parse("SELECT * FROM devices WHERE").unwrap_err().message.contains("the end of the query"));
        assert!(parse("SELECT * FROM devices status = 'x'").unwrap_err().message.contains("WHERE"));
    }
}
