//! The operation after `field:` — comparisons, ranges, `|` lists — and its quoted or unquoted
//! values with their `%` wildcards.

use super::{Parser, is_ws};
use crate::ast::{Comparison, Item, Like, Op};
use crate::error::PqlError;

impl Parser<'_> {
    pub(super) fn operation(&mut self) -> Result<Op, PqlError> {
        let rest = &self.src[self.pos..];
        let comparison = [
            ("<=", Comparison::Lte),
            ("=<", Comparison::Lte),
            (">=", Comparison::Gte),
            ("=>", Comparison::Gte),
            ("<", Comparison::Lt),
            (">", Comparison::Gt),
        ]
        .into_iter()
        .find(|(sym, _)| rest.starts_with(sym));
        if let Some((sym, cmp)) = comparison {
            self.pos += sym.len();
            let item = self.item()?;
            self.expect_end_of_operation("a comparison takes a single value")?;
            return Ok(Op::Compare(cmp, item));
        }
        let first = self.item()?;
        if self.src[self.ws_end(self.pos)..].starts_with("..") {
            self.pos = self.ws_end(self.pos) + 2;
            let second = self.item()?;
            self.expect_end_of_operation("a range is `start..end`")?;
            return Ok(Op::Range(first, second));
        }
        let mut items = vec![first];
        loop {
            let at = self.ws_end(self.pos);
            if self.peek_at(at) != Some(b'|') || self.condition_at(at + 1) {
                break;
            }
            self.pos = at + 1;
            items.push(self.item()?);
            let at = self.ws_end(self.pos);
            if self.src[at..].starts_with("..") {
                return Err(PqlError::syntax(at, "a range (`..`) cannot be part of a `|` list"));
            }
        }
        self.expect_end_of_operation("join conditions with `,`; quote values holding separators")?;
        if let [item] = items.as_slice()
            && !item.quoted
            && item.like == Like::Exact
            && item.text == "nil"
        {
            return Ok(Op::Nil);
        }
        Ok(Op::Any(items))
    }

    /// After an operation: the end, `,`, `)`, `|` or `AND`/`OR`, else a syntax error saying `hint`.
    fn expect_end_of_operation(&mut self, hint: &str) -> Result<(), PqlError> {
        let at = self.ws_end(self.pos);
        match self.peek_at(at) {
            None | Some(b',' | b')') => Ok(()),
            Some(b'|') if self.condition_at(at + 1) => Ok(()),
            _ if self.keyword_at(self.pos).is_some() => Ok(()),
            _ => Err(PqlError::syntax(
                at,
                format!("unexpected `{}`: {hint}", self.word_at(at)),
            )),
        }
    }

    fn item(&mut self) -> Result<Item, PqlError> {
        self.skip_ws();
        let pos = self.pos;
        let quote_at = if self.peek() == Some(b'%') { pos + 1 } else { pos };
        if matches!(self.peek_at(quote_at), Some(b'"' | b'\'')) {
            return self.quoted_item(pos, quote_at);
        }
        while let Some(b) = self.peek() {
            // A blank then `field:` ends the value too, so that a missing `,` is reported.
            let stop = matches!(b, b',' | b')' | b'|')
                || self.src[self.pos..].starts_with("..")
                || (is_ws(b) && (self.keyword_at(self.pos).is_some() || self.field_colon_at(self.pos)));
            if stop {
                break;
            }
            self.pos += self.src[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
        let raw = self.src[pos..self.pos].trim_end();
        let (text, like) = match (raw.strip_prefix('%'), raw.strip_suffix('%')) {
            (Some(_), Some(_)) if raw.len() >= 2 => (&raw[1..raw.len() - 1], Like::Contains),
            (Some(rest), None) => (rest, Like::Suffix),
            (None, Some(rest)) => (rest, Like::Prefix),
            _ => (raw, Like::Exact),
        };
        if text.trim().is_empty() {
            return Err(PqlError::syntax(pos, "expected a value"));
        }
        Ok(Item {
            text: text.to_owned(),
            pos,
            quoted: false,
            like,
        })
    }

    fn quoted_item(&mut self, pos: usize, quote_at: usize) -> Result<Item, PqlError> {
        let quote = self.bytes()[quote_at];
        let mut text = String::new();
        let mut i = quote_at + 1;
        loop {
            let Some(c) = self.src[i..].chars().next() else {
                return Err(PqlError::syntax(quote_at, "unterminated quoted value"));
            };
            i += c.len_utf8();
            match c {
                '\\' => match self.src[i..].chars().next() {
                    Some(next @ ('\\' | '"' | '\'')) => {
                        text.push(next);
                        i += 1;
                    }
                    _ => text.push('\\'),
                },
                c if c as u32 == u32::from(quote) => break,
                c => text.push(c),
            }
        }
        self.pos = i;
        let trailing = self.peek() == Some(b'%');
        if trailing {
            self.pos += 1;
        }
        let like = match (quote_at > pos, trailing) {
            (true, true) => Like::Contains,
            (true, false) => Like::Suffix,
            (false, true) => Like::Prefix,
            (false, false) => Like::Exact,
        };
        Ok(Item {
            text,
            pos,
            quoted: true,
            like,
        })
    }
}
