//! The IoT Hub query language: `SELECT [TOP n] * | <fields and aggregates> FROM devices |
//! devices.modules | devices.jobs [WHERE <condition>] [GROUP BY <paths>]`, with comparisons,
//! `[NOT] IN [..]` (and NIN), `AND`/`OR`/`NOT`, parentheses, arithmetic, literals, dotted paths and
//! the documented functions. Keywords and function names are case-insensitive, field names are not
//! (as on the hub). A query it cannot read is refused with the position and token at fault; what
//! the hub documents it refuses (projections or GROUP BY on jobs, GROUP BY off device twins, a
//! field neither grouped nor aggregated) is refused with the hub's reason.

pub use super::ast::*;
use super::lex::Token;
use super::parser::Parser;

impl Parser {
    pub(super) fn field(&mut self) -> Result<Field, SyntaxError> {
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

    pub(super) fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_keyword("select")?;
        let top = if self.keyword("top") {
            let position = self.position();
            match self.next() {
                Token::Number(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as usize),
                _ => return Err(SyntaxError { position, message: "TOP must be followed by a whole number".into() }),
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

    pub(super) fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.operator()?;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    pub(super) fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.operator()?;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    pub(super) fn not(&mut self) -> Result<Condition, SyntaxError> {
        self.nested(|p| {
            if p.keyword("not") {
                p.operator()?;
                return Ok(Condition::Not(Box::new(p.not()?)));
            }
            p.primary()
        })
    }

    pub(super) fn primary(&mut self) -> Result<Condition, SyntaxError> {
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
    Parser::new(text, Dialect::Twins)?.query()
}

/// A bare condition (a message route's, say) in `dialect`.
pub fn parse_condition(text: &str, dialect: Dialect) -> Result<Condition, SyntaxError> {
    let mut parser = Parser::new(text, dialect)?;
    let condition = parser.or()?;
    if *parser.peek() != Token::End {
        return Err(parser.error("AND, OR or the end of the condition"));
    }
    Ok(condition)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
