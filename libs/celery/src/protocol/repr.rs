//! `argsrepr` / `kwargsrepr`: a port of Celery's `celery.utils.saferepr.saferepr` for JSON values,
//! with the limits `as_task_v2` uses (1024 characters, 3 nesting levels). Strings are quoted with
//! `'` (only `'` escaped, as Celery does), numbers and `None`/`True`/`False` printed as Python
//! prints them, containers deeper than the level limit shown as `{...}`/`[...]`, and output past
//! the size budget cut with `, ...` before the open brackets are closed.

use serde_json::Value;

use super::json::python_float;

/// Celery's `argsrepr_maxsize` / `kwargsrepr_maxsize`.
pub const MAX_SIZE: usize = 1024;
/// Celery's `task_repr_maxlevels` default.
pub const MAX_LEVELS: usize = 3;

/// `saferepr(tuple(args), 1024, maxlevels=3)`: positional arguments shown as a Python tuple, as
/// `task.delay(...)` / `apply_async(args=(...))` produce them.
pub fn args_repr(args: &[Value]) -> String {
    let mut tokens = Vec::new();
    push_seq(
        &mut tokens,
        args.iter(),
        0,
        Lit::open("("),
        Lit::close(if args.len() == 1 { ",)" } else { ")" }),
    );
    render(&tokens, MAX_SIZE as i64)
}

/// `saferepr(value, 1024, maxlevels=3)`.
pub fn value_repr(value: &Value) -> String {
    let mut tokens = Vec::new();
    push(&mut tokens, value, 0);
    render(&tokens, MAX_SIZE as i64)
}

/// A structural piece of output; `truncate` marks separators (never re-emitted when closing).
#[derive(Clone, Copy)]
struct Lit {
    value: &'static str,
    truncate: bool,
    direction: i32,
}

impl Lit {
    const fn open(value: &'static str) -> Self {
        Self {
            value,
            truncate: false,
            direction: 1,
        }
    }
    const fn close(value: &'static str) -> Self {
        Self {
            value,
            truncate: false,
            direction: -1,
        }
    }
}

const KV_SEP: Lit = Lit {
    value: ": ",
    truncate: true,
    direction: 0,
};
const LIST_SEP: Lit = Lit {
    value: ", ",
    truncate: true,
    direction: 0,
};

enum Token<'a> {
    Lit(Lit),
    /// A container past the level limit, e.g. `{...}` (direction 0, never truncated).
    Elided(&'static str),
    /// A string (values and dict keys alike).
    Quoted(&'a str),
    Plain(String),
}

fn push<'a>(tokens: &mut Vec<Token<'a>>, value: &'a Value, level: usize) {
    match value {
        Value::Null => tokens.push(Token::Plain("None".into())),
        Value::Bool(b) => tokens.push(Token::Plain(if *b { "True" } else { "False" }.into())),
        Value::Number(n) => tokens.push(Token::Plain(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => python_float(f),
            _ => n.to_string(),
        })),
        Value::String(s) => tokens.push(Token::Quoted(s)),
        Value::Array(_) if level >= MAX_LEVELS => tokens.push(Token::Elided("[...]")),
        Value::Object(_) if level >= MAX_LEVELS => tokens.push(Token::Elided("{...}")),
        Value::Array(items) => push_seq(tokens, items.iter(), level, Lit::open("["), Lit::close("]")),
        Value::Object(map) => {
            tokens.push(Token::Lit(Lit::open("{")));
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    tokens.push(Token::Lit(LIST_SEP));
                }
                tokens.push(Token::Quoted(k));
                tokens.push(Token::Lit(KV_SEP));
                push(tokens, v, level + 1);
            }
            tokens.push(Token::Lit(Lit::close("}")));
        }
    }
}

fn push_seq<'a>(
    tokens: &mut Vec<Token<'a>>,
    items: impl Iterator<Item = &'a Value>,
    level: usize,
    open: Lit,
    close: Lit,
) {
    tokens.push(Token::Lit(open));
    for (i, item) in items.enumerate() {
        if i > 0 {
            tokens.push(Token::Lit(LIST_SEP));
        }
        push(tokens, item, level + 1);
    }
    tokens.push(Token::Lit(close));
}

/// The streaming loop of `_saferepr`: emit tokens while budget remains, then `, ...` and the
/// closing brackets of whatever is still open.
fn render(tokens: &[Token<'_>], mut maxlen: i64) -> String {
    let mut out = String::new();
    let mut rest = &tokens[tokens.len()..];
    for (i, token) in tokens.iter().enumerate() {
        if maxlen <= 0 {
            if let Token::Lit(lit) = token
                && lit.direction < 0
            {
                out.push_str(lit.value);
                continue;
            }
            out.push_str(", ...");
            rest = &tokens[i..];
            break;
        }
        let val = match token {
            Token::Lit(lit) => lit.value.to_owned(),
            Token::Elided(s) => (*s).to_owned(),
            Token::Quoted(s) => format!("'{}'", truncate(s, maxlen).replace('\'', "\\'")),
            Token::Plain(s) => truncate(s, maxlen),
        };
        maxlen -= val.chars().count() as i64;
        out.push_str(&val);
    }
    let mut depth = 0;
    for token in rest {
        if let Token::Lit(lit) = token
            && !lit.truncate
        {
            depth += lit.direction;
            if depth < 0 {
                depth = 0;
                out.push_str(lit.value);
            }
        }
    }
    out
}

/// `celery.utils.text.truncate`: at `maxlen` characters or more, cut to `maxlen`, drop the last
/// partial word (up to the last space) and append `...`.
fn truncate(s: &str, maxlen: i64) -> String {
    let Ok(max) = usize::try_from(maxlen) else {
        return s.to_owned();
    };
    if max == 0 || s.chars().count() < max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    let kept = head.rsplit_once(' ').map_or(head.as_str(), |(before, _)| before);
    format!("{kept}...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tuples_of_args() {
        assert_eq!(args_repr(&[]), "()");
        assert_eq!(args_repr(&[json!(1)]), "(1,)");
        assert_eq!(args_repr(&[json!(1), json!("it's")]), "(1, 'it\\'s')");
    }

    #[test]
    fn elides_deep_containers() {
        assert_eq!(value_repr(&json!([{"a": {"b": {"c": 1}}}])), "[{'a': {'b': {...}}}]");
    }
}
