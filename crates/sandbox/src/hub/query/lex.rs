//! The query's tokens, with the 1-based character position each starts at (for error messages).

use super::ast::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(String),
    String(String),
    Number(f64),
    Symbol(&'static str),
    End,
}

impl Token {
    pub fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::String(s) => format!("the string '{s}'"),
            Token::Number(n) => format!("the number {n}"),
            Token::Symbol(s) => format!("'{s}'"),
            Token::End => "the end of the query".into(),
        }
    }
    pub fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Words that are never field names.
pub const KEYWORDS: &[&str] = &["select", "from", "where", "group", "by", "top", "and", "or", "not", "in", "nin", "as", "true", "false", "null", "undefined"];
/// Longest first, so `<=` is not read as `<` then `=`.
const SYMBOLS: &[&str] = &["<=", ">=", "<>", "!=", "=", "<", ">", "(", ")", "[", "]", ",", ".", "*", "+", "-", "/", "%"];

fn string_literal(chars: &[char], i: &mut usize, quote: char, start: usize) -> Result<String, SyntaxError> {
    let mut value = String::new();
    *i += 1;
    loop {
        match chars.get(*i) {
            None => return Err(SyntaxError { position: start, message: "the string is not closed".into() }),
            // `\uXXXX`, and `\'`, `\"`, `\\` (the documented escapes).
            Some('\\') if chars.get(*i + 1) == Some(&'u') => {
                let hex: String = chars.get(*i + 2..*i + 6).map(|h| h.iter().collect()).unwrap_or_default();
                let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                let c = c.ok_or_else(|| SyntaxError { position: *i + 1, message: "\\u must be followed by four hexadecimal digits".into() })?;
                value.push(c);
                *i += 6;
            }
            Some('\\') if chars.get(*i + 1).is_some() => {
                value.push(chars[*i + 1]);
                *i += 2;
            }
            Some(q) if *q == quote => {
                *i += 1;
                return Ok(value);
            }
            Some(other) => {
                value.push(*other);
                *i += 1;
            }
        }
    }
}

pub fn lex(text: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let value = string_literal(&chars, &mut i, c, start)?;
            tokens.push((Token::String(value), start));
        } else if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
            let end = (i + 2..chars.len()).find(|&j| !chars[j].is_ascii_hexdigit()).unwrap_or(chars.len());
            let digits: String = chars[i + 2..end].iter().collect();
            let number = u64::from_str_radix(&digits, 16).map_err(|_| SyntaxError { position: start, message: format!("'0x{digits}' is not a number") })?;
            tokens.push((Token::Number(number as f64), start));
            i = end;
        } else if c.is_ascii_digit() {
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
