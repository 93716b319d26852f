//! The query language's parser state: the tokens, where it is, how deep it has nested, and the
//! helpers every rule uses (keywords, symbols, field names and paths).

use super::ast::{Dialect, SyntaxError};
use super::lex::{lex, Token, KEYWORDS};

/// How deep parentheses, NOT and unary minus may nest, and how many operators a query may have:
/// the evaluation recurses through the tree, so a hostile query must not exhaust the stack.
const MAX_DEPTH: usize = 64;
const MAX_OPERATORS: usize = 256;

pub(super) struct Parser {
    tokens: Vec<(Token, usize)>,
    pub(super) at: usize,
    pub(super) dialect: Dialect,
    depth: usize,
    operators: usize,
}

impl Parser {
    pub(super) fn new(text: &str, dialect: Dialect) -> Result<Parser, SyntaxError> {
        Ok(Parser { tokens: lex(text)?, at: 0, dialect, depth: 0, operators: 0 })
    }
    pub(super) fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }
    pub(super) fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)].0
    }
    pub(super) fn position(&self) -> usize {
        self.tokens[self.at].1
    }
    pub(super) fn next(&mut self) -> Token {
        let token = self.tokens[self.at].0.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }
    /// Runs `f` one nesting level deeper, refusing a query nested past MAX_DEPTH.
    pub(super) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, SyntaxError>) -> Result<T, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(SyntaxError { position: self.position(), message: format!("the query nests deeper than {MAX_DEPTH} levels") });
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Counts one more operator, refusing a query with more than MAX_OPERATORS.
    pub(super) fn operator(&mut self) -> Result<(), SyntaxError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(SyntaxError { position: self.position(), message: format!("the query has more than {MAX_OPERATORS} operators") });
        }
        Ok(())
    }

    pub(super) fn error(&self, expected: &str) -> SyntaxError {
        SyntaxError { position: self.position(), message: format!("expected {expected}, found {}", self.peek().describe()) }
    }
    pub(super) fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_keyword(keyword);
        if found {
            self.next();
        }
        found
    }
    pub(super) fn expect_keyword(&mut self, keyword: &str) -> Result<(), SyntaxError> {
        if self.keyword(keyword) {
            Ok(())
        } else {
            Err(self.error(&keyword.to_ascii_uppercase()))
        }
    }
    pub(super) fn symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Token::Symbol(s) if *s == symbol);
        if found {
            self.next();
        }
        found
    }
    pub(super) fn expect_symbol(&mut self, symbol: &str) -> Result<(), SyntaxError> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(&format!("'{symbol}'")))
        }
    }

    /// A field name: any word but a keyword.
    pub(super) fn name(&mut self, what: &str) -> Result<String, SyntaxError> {
        match self.peek() {
            Token::Word(w) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                let w = w.clone();
                self.next();
                Ok(w)
            }
            _ => Err(self.error(what)),
        }
    }

    pub(super) fn segments(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = vec![self.name("a field name")?];
        while self.symbol(".") {
            path.push(self.name("a field name after '.'")?);
        }
        Ok(path)
    }

    /// A field's path; a leading `devices.`, `devices.modules.` or `devices.jobs.` names the
    /// collection itself and is dropped.
    pub(super) fn path(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = self.segments()?;
        if path.len() > 2 && path[0].eq_ignore_ascii_case("devices") && (path[1].eq_ignore_ascii_case("modules") || path[1].eq_ignore_ascii_case("jobs")) {
            path.drain(..2);
        } else if path.len() > 1 && path[0].eq_ignore_ascii_case("devices") {
            path.remove(0);
        }
        Ok(path)
    }
}
