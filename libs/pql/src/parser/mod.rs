//! The parser: query text → [`Query`], with the byte offset of every error.
//!
//! ```text
//! query    := [or]
//! or       := and { ("|" | "OR") and }
//! and      := unary { ("," | "AND") unary }
//! unary    := "~(" or ")" | "(" or ")" | term
//! term     := field ":" ["~"] operation
//! operation:= ("<" | "<=" | ">" | ">=") item | item ".." item | item { "|" item }
//! item     := ["%"] quoted ["%"] | unquoted text (`%` at either end is a wildcard)
//! ```
//! `AND`/`OR` are case-insensitive words. A `|` separates two conditions when a condition
//! (`field:` or `(`) follows it, otherwise it separates two values (`status:running | queued`).
//! Unquoted values run until `,`, `)`, `|`, `..` or an `AND`/`OR` followed by a condition; quote
//! values holding those (`name:"a, b"`, with `\"` and `\\` escapes). `nil` (unquoted) means null.

mod operation;

use crate::ast::{Query, Term};
use crate::error::PqlError;

/// How deep parentheses may nest.
const MAX_DEPTH: usize = 32;

/// Parses `text`. The empty (or blank) query is `Query::All(vec![])`, which matches everything.
pub fn parse(text: &str) -> Result<Query, PqlError> {
    let mut p = Parser {
        src: text,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(Query::All(Vec::new()));
    }
    let query = p.or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(query),
        Some(b')') => Err(PqlError::syntax(p.pos, "`)` without a matching `(`")),
        Some(_) => Err(PqlError::syntax(
            p.pos,
            format!(
                "unexpected `{}`; join conditions with `,`, `|`, AND or OR",
                p.rest_word()
            ),
        )),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

fn is_ws(b: u8) -> bool {
    b.is_ascii_whitespace()
}

fn is_field_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.src.as_bytes()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn peek_at(&self, at: usize) -> Option<u8> {
        self.bytes().get(at).copied()
    }

    fn skip_ws(&mut self) {
        self.pos = self.ws_end(self.pos);
    }

    fn ws_end(&self, mut at: usize) -> usize {
        while self.peek_at(at).is_some_and(is_ws) {
            at += 1;
        }
        at
    }

    /// The next few characters, for error messages.
    fn rest_word(&self) -> String {
        self.word_at(self.pos)
    }

    fn word_at(&self, at: usize) -> String {
        self.src[at..].chars().take(12).collect()
    }

    fn or(&mut self) -> Result<Query, PqlError> {
        let mut parts = vec![self.and()?];
        while self.eat_separator(b'|', "or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Any(parts)
        })
    }

    fn and(&mut self) -> Result<Query, PqlError> {
        let mut parts = vec![self.unary()?];
        while self.eat_separator(b',', "and") {
            // Polyaxon ignores empty expressions: `a:1,,b:2` and a trailing comma are fine.
            while self.peek_at(self.ws_end(self.pos)) == Some(b',') {
                self.pos = self.ws_end(self.pos) + 1;
            }
            let next = self.ws_end(self.pos);
            if self.peek_at(next).is_none() || self.peek_at(next) == Some(b')') {
                break;
            }
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::All(parts)
        })
    }

    /// Consumes `symbol` or the word `keyword` (followed by a condition) after optional blanks.
    fn eat_separator(&mut self, symbol: u8, keyword: &str) -> bool {
        let at = self.ws_end(self.pos);
        if self.peek_at(at) == Some(symbol) {
            self.pos = at + 1;
            return true;
        }
        match self.keyword_at(self.pos) {
            Some((word, end)) if word.eq_ignore_ascii_case(keyword) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    /// At blanks followed by `AND`/`OR`, blanks (or `(`) and a condition: the word and where it ends.
    fn keyword_at(&self, at: usize) -> Option<(&str, usize)> {
        let start = self.ws_end(at);
        if start == at && at != 0 && !matches!(self.peek_at(at.wrapping_sub(1)), Some(b')')) {
            return None;
        }
        let end = (start..self.src.len())
            .find(|&i| !self.bytes()[i].is_ascii_alphabetic())
            .unwrap_or(self.src.len());
        let word = &self.src[start..end];
        if !(word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or")) {
            return None;
        }
        let after = self.ws_end(end);
        if (after > end || self.peek_at(end) == Some(b'(')) && self.condition_at(after) {
            Some((word, end))
        } else {
            None
        }
    }

    /// Whether a condition (`field:`, `(` or `~(`) starts at `at` (after blanks).
    fn condition_at(&self, at: usize) -> bool {
        let i = self.ws_end(at);
        match self.peek_at(i) {
            Some(b'(') => true,
            Some(b'~') => self.peek_at(self.ws_end(i + 1)) == Some(b'('),
            _ => self.field_colon_at(i),
        }
    }

    /// Whether `field:` starts at `at` (after blanks).
    fn field_colon_at(&self, at: usize) -> bool {
        let mut i = self.ws_end(at);
        if !self.peek_at(i).is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            return false;
        }
        while self.peek_at(i).is_some_and(is_field_char) {
            i += 1;
        }
        self.peek_at(self.ws_end(i)) == Some(b':')
    }

    fn unary(&mut self) -> Result<Query, PqlError> {
        self.skip_ws();
        let start = self.pos;
        let negated = self.peek() == Some(b'~') && self.peek_at(self.ws_end(self.pos + 1)) == Some(b'(');
        if negated {
            self.pos = self.ws_end(self.pos + 1);
        }
        if self.peek() != Some(b'(') {
            return self.term().map(Query::Term);
        }
        if self.depth >= MAX_DEPTH {
            return Err(PqlError::syntax(self.pos, "parentheses nest too deeply"));
        }
        self.depth += 1;
        self.pos += 1;
        let inner = self.or()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(PqlError::syntax(
                self.pos,
                format!("expected `)` to close the `(` at position {start}"),
            ));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(if negated { Query::Not(Box::new(inner)) } else { inner })
    }

    fn term(&mut self) -> Result<Term, PqlError> {
        let field_pos = self.pos;
        match self.peek() {
            None => return Err(PqlError::syntax(self.pos, "expected a condition (`field:value`)")),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
            Some(_) => {
                return Err(PqlError::syntax(
                    self.pos,
                    format!("expected a field name, found `{}`", self.rest_word()),
                ));
            }
        }
        while self.peek().is_some_and(is_field_char) {
            self.pos += 1;
        }
        let field = &self.src[field_pos..self.pos];
        if field.split('.').any(str::is_empty) {
            return Err(PqlError::syntax(field_pos, format!("invalid field name `{field}`")));
        }
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(PqlError::syntax(
                self.pos,
                format!("expected `:` after `{field}` (conditions are `field:value`)"),
            ));
        }
        self.pos += 1;
        self.skip_ws();
        let negated = self.peek() == Some(b'~');
        if negated {
            self.pos += 1;
            self.skip_ws();
        }
        let op_pos = self.pos;
        let op = self.operation()?;
        Ok(Term {
            field: field.to_owned(),
            field_pos,
            negated,
            op,
            op_pos,
        })
    }
}
