//! kombu's Redis key layout and routing rules (`kombu/transport/redis.py` and
//! `kombu/transport/virtual/exchange.py`).
//!
//! - bindings: set `_kombu.binding.<exchange>` with members `routing_key SEP pattern SEP queue`
//!   (`SEP` = `"\x06\x16"`; `pattern` is the regex kombu derives for topic exchanges, empty
//!   otherwise), mirrored in `_kombu.binding_permanent.<exchange>` for queues without `x-expires`;
//! - priority sub-queues: `_q_for_pri(queue, p)` = `queue` for the step 0, else
//!   `queue SEP step`, where the step is the largest priority step ≤ p;
//! - fanout: PUB/SUB on `/<db>.<exchange>` (`/<db>.<exchange>/<routing_key>` when a routing key is
//!   given: kombu's `fanout_patterns`).

/// kombu's separator inside binding members and priority queue names.
pub const SEP: &str = "\x06\x16";
/// kombu's default `priority_steps`.
pub const PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];

/// The binding set of `exchange`.
pub fn binding_key(exchange: &str) -> String {
    format!("_kombu.binding.{exchange}")
}

/// The set that keeps `exchange`'s binding table from being swept (queues without `x-expires`).
pub fn binding_permanent_key(exchange: &str) -> String {
    format!("_kombu.binding_permanent.{exchange}")
}

/// The sorted set of binding-table deadlines (kombu ≥ 5.6, queues with `x-expires`).
pub const BINDING_DEADLINES: &str = "_kombu.binding_deadlines";

/// kombu's `priority(n)`: the largest step ≤ `n` (the first step when `n` is below all of them).
pub fn step_for(steps: &[u8], n: u8) -> u8 {
    let idx = steps.partition_point(|s| *s <= n);
    let idx = idx.saturating_sub(1);
    steps.get(idx).copied().unwrap_or(0)
}

/// kombu's `_q_for_pri(queue, pri)`.
pub fn queue_for_priority(steps: &[u8], queue: &str, priority: u8) -> String {
    match step_for(steps, priority) {
        0 => queue.to_owned(),
        step => format!("{queue}{SEP}{step}"),
    }
}

/// Every list of `queue`, in the order BRPOP serves them (the step 0 first, as kombu).
pub fn priority_lists(steps: &[u8], queue: &str) -> Vec<String> {
    let mut lists: Vec<String> = steps.iter().map(|p| queue_for_priority(steps, queue, *p)).collect();
    lists.dedup();
    lists
}

/// The binding member kombu stores for `queue` bound with `routing_key` (`topic` adds the regex).
pub fn member(routing_key: &str, topic: bool, queue: &str) -> String {
    let pattern = if topic {
        key_to_pattern(routing_key)
    } else {
        String::new()
    };
    [routing_key, pattern.as_str(), queue].join(SEP)
}

/// Splits a binding member into `(routing_key, pattern, queue)`.
pub fn parse_member(member: &str) -> Option<(&str, &str, &str)> {
    let mut parts = member.split(SEP);
    let (rk, pattern, queue) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next().is_none().then_some((rk, pattern, queue))
}

/// The fanout PUB/SUB channel of `exchange` in database `db` (`_get_publish_topic`).
pub fn fanout_topic(db: i64, exchange: &str, routing_key: &str) -> String {
    if routing_key.is_empty() {
        format!("/{db}.{exchange}")
    } else {
        format!("/{db}.{exchange}/{routing_key}")
    }
}

/// The exchange a fanout channel name belongs to (`_receive_one`).
pub fn exchange_of_topic(channel: &str) -> &str {
    let channel = if channel.starts_with('/') {
        channel.split_once('.').map_or(channel, |(_, rest)| rest)
    } else {
        channel
    };
    channel.split('/').next().unwrap_or(channel)
}

/// kombu's `TopicExchange.key_to_pattern`: `^` + words joined by `\.` + `$`, with `*` →
/// `[^\.]+` and `#` → `.*?`, other words escaped as `escape_regex(rkey, '.#*')` does.
pub fn key_to_pattern(routing_key: &str) -> String {
    let words: Vec<String> = routing_key
        .split('.')
        .map(|w| match w {
            "*" => r"[^\.]+".to_owned(),
            "#" => ".*?".to_owned(),
            w => escape_regex(w),
        })
        .collect();
    format!("^{}$", words.join(r"\."))
}

/// kombu's `escape_regex(p, white='.#*')`: a backslash before every character that is neither
/// alphanumeric nor `.`, `#`, `*` (NUL becomes `\000`).
fn escape_regex(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c == '\0' {
            out.push_str("\\000");
            continue;
        }
        if !(c.is_alphanumeric() || matches!(c, '.' | '#' | '*')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a topic binding key matches `routing_key` with kombu's regex semantics: `*` is one or
/// more non-dot characters, `#` any characters (dots included, possibly none); words are
/// separated by literal dots. (So, unlike AMQP, `a.#` does not match `a`.)
pub fn topic_matches(binding_key: &str, routing_key: &str) -> bool {
    let words: Vec<&str> = binding_key.split('.').collect();
    let mut tokens: Vec<Token<'_>> = Vec::with_capacity(words.len() * 2);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            tokens.push(Token::Lit("."));
        }
        tokens.push(match *w {
            "*" => Token::Word,
            "#" => Token::Any,
            w => Token::Lit(w),
        });
    }
    matches(&tokens, routing_key)
}

#[derive(Clone, Copy)]
enum Token<'a> {
    Lit(&'a str),
    /// `[^\.]+`
    Word,
    /// `.*`
    Any,
}

fn matches(tokens: &[Token<'_>], text: &str) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Lit(l) => text.strip_prefix(l).is_some_and(|t| matches(rest, t)),
        Token::Word => {
            let run = text.find('.').unwrap_or(text.len());
            (1..=run).any(|n| matches(rest, &text[n..]))
        }
        Token::Any => text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .any(|i| matches(rest, &text[i..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_queues_follow_q_for_pri() {
        let s = &PRIORITY_STEPS;
        assert_eq!(queue_for_priority(s, "q", 0), "q");
        assert_eq!(queue_for_priority(s, "q", 2), "q");
        assert_eq!(queue_for_priority(s, "q", 3), "q\x06\x163");
        assert_eq!(queue_for_priority(s, "q", 8), "q\x06\x166");
        assert_eq!(queue_for_priority(s, "q", 9), "q\x06\x169");
        assert_eq!(priority_lists(s, "q"), ["q", "q\x06\x163", "q\x06\x166", "q\x06\x169"]);
    }

    #[test]
    fn members_and_topics_match_kombu() {
        assert_eq!(member("celery", false, "celery"), "celery\x06\x16\x06\x16celery");
        assert_eq!(member("task.#", true, "q"), "task.#\x06\x16^task\\..*?$\x06\x16q");
        assert_eq!(key_to_pattern("a.*.b-c"), r"^a\.[^\.]+\.b\-c$");
        assert_eq!(parse_member("a\x06\x16\x06\x16q"), Some(("a", "", "q")));
        assert_eq!(fanout_topic(3, "celery.pidbox", ""), "/3.celery.pidbox");
        assert_eq!(exchange_of_topic("/3.celery.pidbox"), "celery.pidbox");
        assert_eq!(exchange_of_topic("/0.ex/rk.x"), "ex");
    }

    #[test]
    fn topic_matching_is_kombus_regex() {
        assert!(topic_matches("#", "") && topic_matches("#", "a.b"));
        assert!(topic_matches("task.#", "task.succeeded") && !topic_matches("task.#", "task"));
        assert!(topic_matches("*.b", "a.b") && !topic_matches("*.b", "x.a.b") && !topic_matches("*.b", ".b"));
        assert!(topic_matches("a.*.c", "a.x.c") && !topic_matches("a.*.c", "a.x.y.c"));
        assert!(topic_matches("worker.#", "worker.heartbeat") && !topic_matches("worker", "worker.x"));
    }
}
