//! Topic exchange matching, as RabbitMQ does it: routing keys and binding patterns are words
//! separated by `.`; in a pattern `*` stands for exactly one word and `#` for zero or more words.
//! The empty routing key has zero words (only `#` matches it).

/// One word of a compiled binding pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Word {
    /// `#`: zero or more words.
    Any,
    /// `*`: exactly one word.
    One,
    Literal(String),
}

/// A compiled topic binding pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern(Vec<Word>);

impl Pattern {
    pub(super) fn compile(pattern: &str) -> Self {
        Self(
            split(pattern)
                .map(|word| match word {
                    "#" => Word::Any,
                    "*" => Word::One,
                    other => Word::Literal(other.to_owned()),
                })
                .collect(),
        )
    }

    /// Whether `routing_key` matches. Linear greedy glob matching: on a mismatch, backtrack to
    /// the last `#` and let it swallow one more word (correct because `#` matches any sequence).
    pub(super) fn matches(&self, routing_key: &str) -> bool {
        let pattern = &self.0;
        let mut key = split(routing_key);
        // (pattern index after the last `#`, key words that `#` has swallowed so far)
        let mut backtrack: Option<(usize, std::str::Split<'_, char>)> = None;
        let mut p = 0;
        loop {
            let mut rest = key.clone();
            let Some(word) = rest.next() else { break };
            match pattern.get(p) {
                Some(Word::Any) => {
                    p += 1;
                    backtrack = Some((p, key.clone()));
                    continue;
                }
                Some(Word::One) => {
                    p += 1;
                    key = rest;
                    continue;
                }
                Some(Word::Literal(lit)) if lit == word => {
                    p += 1;
                    key = rest;
                    continue;
                }
                _ => {}
            }
            let Some((after_any, swallowed)) = backtrack.as_mut() else {
                return false;
            };
            // Let the last `#` take one more word and retry the rest of the pattern after it.
            if swallowed.next().is_none() {
                return false;
            }
            p = *after_any;
            key = swallowed.clone();
        }
        pattern[p.min(pattern.len())..].iter().all(|w| *w == Word::Any)
    }
}

/// The words of a key or pattern; the empty string has none.
fn split(key: &str) -> std::str::Split<'_, char> {
    let mut words = key.split('.');
    if key.is_empty() {
        // Consume the single empty word so the iterator yields nothing.
        let _ = words.next();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn m(pattern: &str, key: &str) -> bool {
        Pattern::compile(pattern).matches(key)
    }

    #[test]
    fn literal_words_must_all_match() {
        assert!(m("run.created", "run.created"));
        assert!(!m("run.created", "run.deleted"));
        assert!(!m("run.created", "run.created.x"));
        assert!(!m("run.created", "run"));
        assert!(!m("run", "runner"));
    }

    #[test]
    fn star_matches_exactly_one_word() {
        assert!(m("run.*", "run.created"));
        assert!(!m("run.*", "run.status.changed"));
        assert!(!m("run.*", "run"));
        assert!(m("*.status.*", "run.status.changed"));
        assert!(m("*", "run"));
        assert!(!m("*", ""));
        assert!(m("a.*.c", "a..c"), "an empty word is still a word");
    }

    #[test]
    fn hash_matches_zero_or_more_words() {
        assert!(m("#", ""));
        assert!(m("#", "a"));
        assert!(m("#", "a.b.c"));
        assert!(m("run.#", "run"));
        assert!(m("run.#", "run.status.changed"));
        assert!(!m("run.#", "project.created"));
        assert!(m("#.changed", "run.status.changed"));
        assert!(m("#.changed", "changed"));
        assert!(!m("#.changed", "run.status.changed.not"));
        assert!(m("a.#.z", "a.z"));
        assert!(m("a.#.z", "a.b.c.z"));
        assert!(!m("a.#.z", "a.b.c"));
    }

    #[test]
    fn several_wildcards_backtrack() {
        assert!(m("#.b.#", "a.b.c"));
        assert!(m("#.b.#", "b"));
        assert!(!m("#.b.#", "a.c"));
        assert!(m("#.a.*.a", "a.a.x.a"));
        assert!(m("#.*.x", "q.w.x"));
        assert!(!m("#.*.x", "x"));
        assert!(m("*.#", "a"));
        assert!(!m("*.#", ""));
        assert!(m("#.#", ""));
        assert!(m("a.#.b.#.c", "a.x.b.y.b.z.c"));
        assert!(!m("a.#.b.#.c", "a.x.c.b"));
    }

    #[test]
    fn empty_pattern_matches_only_the_empty_key() {
        assert!(m("", ""));
        assert!(!m("", "a"));
    }
}
