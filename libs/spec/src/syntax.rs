//! Positions for the YAML errors `yaml_serde` reports imprecisely: a duplicate mapping key
//! (reported at its mapping; found here with its path), a second document (reported without a
//! position), and the end of input of an unterminated one-line JSON (reported on the line after
//! the last).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Anchor;
use crate::lines::{Position, locate_in};
use crate::path::Path;

const FOUND: &str = "myelin-spec:duplicate-key";

/// Where a syntax error is, and the path of the offending node when known.
pub(crate) fn position(source: &str, error: &yaml_serde::Error) -> (Option<Position>, Option<Path>) {
    // `yaml_serde` points a duplicate key at the start of its mapping: find the key itself.
    if error.to_string().contains("duplicate entry")
        && let Some((path, position)) = duplicate_key(source)
    {
        return (Some(position), Some(path));
    }
    if let Some(at) = error.location() {
        return (
            Some(clamp(
                source,
                Position {
                    line: at.line(),
                    column: at.column(),
                },
            )),
            None,
        );
    }
    if let Some(position) = second_document(source) {
        return (Some(position), None);
    }
    (None, None)
}

/// Moves a position past the end of the text back to the end of its last line.
fn clamp(source: &str, position: Position) -> Position {
    let lines = source.lines().count().max(1);
    if position.line <= lines {
        return position;
    }
    let last = source.lines().last().unwrap_or("");
    Position {
        line: lines,
        column: last.chars().count() + 1,
    }
}

/// The first key that repeats a key of the same mapping, in document order.
fn duplicate_key(source: &str) -> Option<(Path, Position)> {
    let found = RefCell::new(None);
    let walk = Walk {
        path: Path::root(),
        found: &found,
    };
    let error = walk.deserialize(yaml_serde::Deserializer::from_str(source)).err()?;
    let path = found.into_inner()?;
    let at = error.location()?;
    Some((
        path,
        Position {
            line: at.line(),
            column: at.column(),
        },
    ))
}

/// The first node of the second document of a stream.
fn second_document(source: &str) -> Option<Position> {
    let mut documents = yaml_serde::Deserializer::from_str(source);
    documents.next()?;
    locate_in(documents.next()?, &Path::root(), Anchor::Value)
}

/// Walks every mapping and sequence, failing at the first repeated key.
struct Walk<'a> {
    path: Path,
    found: &'a RefCell<Option<Path>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<(char, String)> = Vec::new();
        while let Some(key) = map.next_key_seed(Key {
            seen: &seen,
            path: &self.path,
            found: self.found,
        })? {
            let path = self.path.key(key.as_ref().map_or("?", |(_, text)| text.as_str()));
            seen.extend(key);
            map.next_value_seed(Walk {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(Walk {
                path: self.path.index(index),
                found: self.found,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One mapping key, as (type, text) so that `1` and `"1"` differ as they do in YAML; `None` for
/// keys that are collections. Fails on a key already `seen`.
struct Key<'a> {
    seen: &'a [(char, String)],
    path: &'a Path,
    found: &'a RefCell<Option<Path>>,
}

impl Key<'_> {
    fn check<E: de::Error>(self, kind: char, text: String) -> Result<Option<(char, String)>, E> {
        if self
            .seen
            .iter()
            .any(|(seen_kind, seen)| *seen_kind == kind && *seen == text)
        {
            *self.found.borrow_mut() = Some(self.path.key(text));
            return Err(E::custom(FOUND));
        }
        Ok(Some((kind, text)))
    }
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<(char, String)>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<(char, String)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        self.check('s', key.to_owned())
    }
    fn visit_bool<E: de::Error>(self, key: bool) -> Result<Self::Value, E> {
        self.check('b', key.to_string())
    }
    fn visit_i64<E: de::Error>(self, key: i64) -> Result<Self::Value, E> {
        self.check('n', key.to_string())
    }
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<Self::Value, E> {
        self.check('n', key.to_string())
    }
    fn visit_f64<E: de::Error>(self, key: f64) -> Result<Self::Value, E> {
        self.check('f', key.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.check('z', "null".to_owned())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position_of(source: &str) -> (Option<(usize, usize)>, Option<String>) {
        let error = yaml_serde::from_str::<yaml_serde::Value>(source).unwrap_err();
        let (position, path) = position(source, &error);
        (
            position.map(|at| (at.line, at.column)),
            path.map(|path| path.to_string()),
        )
    }

    #[test]
    fn finds_nested_duplicate_keys_with_their_path() {
        let source = "inputs:\n- name: a\n  type: int\n  type: float\n";
        assert_eq!(position_of(source), (Some((4, 3)), Some("inputs[0].type".to_owned())));
        // `1` and `'1'` are different keys in YAML; the second `1` is the duplicate.
        assert_eq!(
            position_of("a: {1: x, '1': y, 1: z}\n"),
            (Some((1, 19)), Some("a.1".to_owned()))
        );
    }

    #[test]
    fn points_at_the_second_document_and_inside_the_text() {
        assert_eq!(position_of("a: 1\n---\nb: 2\n").0, Some((3, 1)));
        let json = r#"{"kind": "operation""#;
        assert_eq!(position_of(json).0, Some((1, json.len() + 1)));
    }
}
