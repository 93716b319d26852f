//! The IoT Hub query language: `SELECT [TOP n] * | <fields and aggregates> FROM devices |
//! devices.modules | devices.jobs [WHERE <condition>] [GROUP BY <paths>]`, with comparisons,
//! `[NOT] IN [..]` (and NIN), `AND`/`OR`/`NOT`, parentheses, arithmetic, literals, dotted paths and
//! the documented functions. Keywords and function names are case-insensitive, field names are not
//! (as on the hub). A query it cannot read is refused with the position and token at fault; what
//! the hub documents it refuses (projections or GROUP BY on jobs, GROUP BY off device twins, a
//! field neither grouped nor aggregated) is refused with the hub's reason.

pub use super::ast::*;
use super::lex::{lex, Token, KEYWORDS};

/// How deep parentheses, NOT and unary minus may nest, and how many operators a query may have:
/// the evaluation recurses through the tree, so a hostile query must not exhaust the stack.
const MAX_DEPTH: usize = 64;
const MAX_OPERATORS: usize = 256;

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    dialect: Dialect,
    depth: usize,
    operators: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }
    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)].0
    }
    fn position(&self) -> usize {
        self.tokens[self.at].1
    }
    fn next(&mut self) -> Token {
        let token = self.tokens[self.at].0.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }
    /// Runs `f` one nesting level deeper, refusing a query nested past MAX_DEPTH.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, SyntaxError>) -> Result<T, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(SyntaxError { position: self.position(), message: format!("the query nests deeper than {MAX_DEPTH} levels") });
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Counts one more operator, refusing a query with more than MAX_OPERATORS.
    fn operator(&mut self) -> Result<(), SyntaxError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(SyntaxError { position: self.position(), message: format!("the query has more than {MAX_OPERATORS} operators") });
        }
        Ok(())
    }

    fn error(&self, expected: &str) -> SyntaxError {
        SyntaxError { position: self.position(), message: format!("expected {expected}, found {}", self.peek().describe()) }
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

    fn segments(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = vec![self.name("a field name")?];
        while self.symbol(".") {
            path.push(self.name("a field name after '.'")?);
        }
        Ok(path)
    }

    /// A field's path; a leading `devices.`, `devices.modules.` or `devices.jobs.` names the
    /// collection itself and is dropped.
    fn path(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = self.segments()?;
        if path.len() > 2 && path[0].eq_ignore_ascii_case("devices") && (path[1].eq_ignore_ascii_case("modules") || path[1].eq_ignore_ascii_case("jobs")) {
            path.drain(..2);
        } else if path.len() > 1 && path[0].eq_ignore_ascii_case("devices") {
            path.remove(0);
        }
        Ok(path)
    }

    fn field(&mut self) -> Result<Field, SyntaxError> {
        let aggregate = match self.peek() {
            Token::Word(w) if *self.peek_at(1) == Token::Symbol("(") => Some(match w.to_ascii_uppercase().as_str() {
                "COUNT" => Aggregate::Count,
                "SUM" => Aggregate::Sum,
                "AVG" => Aggregate::Avg,
                "MIN" => Aggregate::Min,
                "MAX" => Aggregate::Max,
                _ => return Err(SyntaxError { position: self.position(), message: format!("'{w}' is not an aggregate (COUNT, SUM, AVG, MIN, MAX)") }),
            }),
            _ => None,
        };
        let value = match aggregate {
            Some(kind) => {
                self.next();
                self.next();
                let path = if kind == Aggregate::Count { None } else { Some(self.path()?) };
                self.expect_symbol(")")?;
                Selected::Aggregate(kind, path)
            }
            None => Selected::Path(self.path()?),
        };
        let name = if self.keyword("as") {
            self.name("a name after AS")?
        } else {
            match &value {
                Selected::Path(p) => p.last().cloned().unwrap_or_default(),
                // The hub names an unaliased aggregate `$1`, `$2`… by its place in the list.
                Selected::Aggregate(..) => String::new(),
            }
        };
        Ok(Field { value, name })
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_keyword("select")?;
        let top = if self.keyword("top") {
            match self.next() {
                Token::Number(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as usize),
                _ => return Err(SyntaxError { position: self.tokens[self.at.saturating_sub(1)].1, message: "TOP must be followed by a whole number".into() }),
            }
        } else {
            None
        };
        let fields = if self.symbol("*") {
            None
        } else {
            let mut fields = vec![self.field()?];
            while self.symbol(",") {
                fields.push(self.field()?);
            }
            for (i, f) in fields.iter_mut().enumerate() {
                if f.name.is_empty() {
                    f.name = format!("${}", i + 1);
                }
            }
            Some(fields)
        };
        self.expect_keyword("from")?;
        let position = self.position();
        let named = self.segments()?;
        let source = match named.iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>().join(".").as_str() {
            "devices" => Source::Devices,
            "devices.modules" => Source::Modules,
            "devices.jobs" => Source::Jobs,
            other => return Err(SyntaxError { position, message: format!("the collection must be devices, devices.modules or devices.jobs, not '{other}'") }),
        };
        let condition = if self.keyword("where") { Some(self.or()?) } else { None };
        let mut group_by = vec![];
        if self.keyword("group") {
            self.expect_keyword("by")?;
            group_by.push(self.path()?);
            while self.symbol(",") {
                group_by.push(self.path()?);
            }
        }
        if *self.peek() != Token::End {
            return Err(self.error(if condition.is_some() { "AND, OR, GROUP BY or the end of the query" } else { "WHERE, GROUP BY or the end of the query" }));
        }
        let query = Query { top, fields, source, condition, group_by };
        documented_limits(&query).map_err(|message| SyntaxError { position: 1, message })?;
        Ok(query)
    }

    fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.operator()?;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.operator()?;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, SyntaxError> {
        self.nested(|p| {
            if p.keyword("not") {
                p.operator()?;
                return Ok(Condition::Not(Box::new(p.not()?)));
            }
            p.primary()
        })
    }

    fn primary(&mut self) -> Result<Condition, SyntaxError> {
        if matches!(self.peek(), Token::Symbol("(")) {
            // A parenthesised condition, unless it is a value compared after it: `(a + 1) > 2`.
            let start = self.at;
            self.next();
            if let Ok(inner) = self.or() {
                if self.symbol(")") && !matches!(self.peek(), Token::Symbol("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%")) {
                    return Ok(inner);
                }
            }
            self.at = start;
        }
        let left = self.operand()?;
        let negated = self.keyword("not");
        if negated || self.peek().is_keyword("in") || self.peek().is_keyword("nin") {
            let nin = !negated && self.keyword("nin");
            if !nin {
                self.expect_keyword("in")?;
            }
            return Ok(Condition::In { operand: left, list: self.list()?, negated: negated || nin });
        }
        let op = match self.peek() {
            Token::Symbol("=") => Comparison::Eq,
            Token::Symbol("!=") | Token::Symbol("<>") => Comparison::Ne,
            Token::Symbol("<") => Comparison::Lt,
            Token::Symbol("<=") => Comparison::Le,
            Token::Symbol(">") => Comparison::Gt,
            Token::Symbol(">=") => Comparison::Ge,
            // A function, `true`/`false`, or (in a route) a field whose value must be true.
            _ if matches!(left, Operand::Call(..) | Operand::Literal(Literal::Bool(_))) => return Ok(Condition::Holds(left)),
            _ if self.dialect == Dialect::Routes && matches!(left, Operand::Path(_)) => return Ok(Condition::Holds(left)),
            _ => return Err(self.error("a comparison (=, !=, <>, <, <=, >, >=) or IN")),
        };
        self.next();
        Ok(Condition::Compare(left, op, self.operand()?))
    }

    fn literal(&mut self) -> Option<Literal> {
        let literal = match (self.peek(), self.peek_at(1)) {
            (Token::Symbol("-"), Token::Number(n)) => {
                let n = -*n;
                self.next();
                Literal::Number(n)
            }
            (Token::String(s), _) => Literal::String(s.clone()),
            (Token::Number(n), _) => Literal::Number(*n),
            (t, _) if t.is_keyword("true") => Literal::Bool(true),
            (t, _) if t.is_keyword("false") => Literal::Bool(false),
            (t, _) if t.is_keyword("null") => Literal::Null,
            (t, _) if t.is_keyword("undefined") => Literal::Undefined,
            _ => return None,
        };
        self.next();
        Some(literal)
    }

    /// A value: sums of products of atoms.
    fn operand(&mut self) -> Result<Operand, SyntaxError> {
        let mut left = self.term()?;
        while let Token::Symbol(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.next();
            self.operator()?;
            left = Operand::Arithmetic(Box::new(left), op, Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Operand, SyntaxError> {
        let mut left = self.atom()?;
        while let Token::Symbol(op @ ("*" | "/" | "%")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.next();
            self.operator()?;
            left = Operand::Arithmetic(Box::new(left), op, Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Operand, SyntaxError> {
        self.nested(Self::atom_here)
    }

    fn atom_here(&mut self) -> Result<Operand, SyntaxError> {
        if let Some(literal) = self.literal() {
            return Ok(Operand::Literal(literal));
        }
        if self.symbol("-") {
            self.operator()?;
            return Ok(Operand::Arithmetic(Box::new(Operand::Literal(Literal::Number(0.0))), '-', Box::new(self.atom()?)));
        }
        if self.symbol("(") {
            let inner = self.operand()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        if let (Token::Word(name), Token::Symbol("(")) = (self.peek().clone(), self.peek_at(1)) {
            return self.call(&name);
        }
        if matches!(self.peek(), Token::Word(_)) {
            return Ok(Operand::Path(self.path()?));
        }
        Err(self.error("a field or a value"))
    }

    fn call(&mut self, name: &str) -> Result<Operand, SyntaxError> {
        let position = self.position();
        let Some((function, min, max)) = Function::named(name, self.dialect) else {
            let message = if Function::named(name, Dialect::Routes).is_some() {
                format!("the function {} is served in route conditions only, not in twin or job queries", name.to_ascii_uppercase())
            } else {
                format!("'{name}' is not a function of the IoT Hub query language")
            };
            return Err(SyntaxError { position, message });
        };
        self.next();
        self.next();
        let mut args = vec![];
        if !self.symbol(")") {
            loop {
                args.push(self.operand()?);
                if self.symbol(")") {
                    break;
                }
                self.expect_symbol(",")?;
            }
        }
        if args.len() < min || args.len() > max {
            let wanted = if min == max {
                min.to_string()
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(SyntaxError { position, message: format!("{} takes {wanted} argument(s), not {}", name.to_ascii_uppercase(), args.len()) });
        }
        Ok(Operand::Call(function, args))
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

/// What the hub's docs say it does not do: on devices.jobs only `SELECT *` without aggregation
/// or grouping; GROUP BY on device twins only; a grouped query selects grouped fields and
/// aggregates only.
fn documented_limits(query: &Query) -> Result<(), String> {
    if query.source == Source::Jobs && (query.fields.is_some() || !query.group_by.is_empty()) {
        return Err("queries on devices.jobs support SELECT * only: no projection, aggregation or GROUP BY".into());
    }
    if !query.group_by.is_empty() && query.source != Source::Devices {
        return Err("GROUP BY is supported when querying device twins (FROM devices) only".into());
    }
    if !query.group_by.is_empty() || query.aggregates() {
        let Some(fields) = &query.fields else { return Err("SELECT * cannot be grouped; select the grouped fields and aggregates".into()) };
        for field in fields {
            if let Selected::Path(p) = &field.value {
                if !query.group_by.contains(p) {
                    return Err(format!("'{}' is neither in the GROUP BY clause nor aggregated", p.join(".")));
                }
            }
        }
    }
    Ok(())
}

pub fn parse(text: &str) -> Result<Query, SyntaxError> {
    Parser { tokens: lex(text)?, at: 0, dialect: Dialect::Twins, depth: 0, operators: 0 }.query()
}

/// A bare condition (a message route's, say) in `dialect`.
pub fn parse_condition(text: &str, dialect: Dialect) -> Result<Condition, SyntaxError> {
    let mut parser = Parser { tokens: lex(text)?, at: 0, dialect, depth: 0, operators: 0 };
    let condition = parser.or()?;
    if *parser.peek() != Token::End {
        return Err(parser.error("AND, OR or the end of the condition"));
    }
    Ok(condition)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
