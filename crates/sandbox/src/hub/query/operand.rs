//! Values in a condition: literals, fields, the documented functions and arithmetic, with
//! `*`, `/`, `%` before `+`, `-`; and the constant lists of `IN`.

use super::ast::{Dialect, Function, Literal, Operand, SyntaxError};
use super::lex::Token;
use super::parser::Parser;

impl Parser {
    pub(super) fn literal(&mut self) -> Option<Literal> {
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
    pub(super) fn operand(&mut self) -> Result<Operand, SyntaxError> {
        let mut left = self.term()?;
        while let Token::Symbol(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.next();
            self.operator()?;
            left = Operand::Arithmetic(Box::new(left), op, Box::new(self.term()?));
        }
        Ok(left)
    }

    pub(super) fn term(&mut self) -> Result<Operand, SyntaxError> {
        let mut left = self.atom()?;
        while let Token::Symbol(op @ ("*" | "/" | "%")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.next();
            self.operator()?;
            left = Operand::Arithmetic(Box::new(left), op, Box::new(self.atom()?));
        }
        Ok(left)
    }

    pub(super) fn atom(&mut self) -> Result<Operand, SyntaxError> {
        self.nested(Self::atom_here)
    }

    pub(super) fn atom_here(&mut self) -> Result<Operand, SyntaxError> {
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

    pub(super) fn call(&mut self, name: &str) -> Result<Operand, SyntaxError> {
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
    pub(super) fn list(&mut self) -> Result<Vec<Literal>, SyntaxError> {
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
