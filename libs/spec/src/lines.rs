//! Path → line/column locator.
//!
//! `yaml_serde::Value` keeps no positions, but `yaml_serde`'s deserializer stamps every error
//! raised while deserializing a node with that node's start mark (`Error::location`). So to
//! locate `inputs[2].type` we deserialize the source again with a seed that walks down the
//! path, skipping everything else, and fails on purpose at the target node (or at its key). The
//! position comes from the real YAML parser, so it is exact for block style, flow style
//! (`- {name: lr, type: float}`) and one-line JSON alike. This only runs once, to report an
//! error.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Anchor;
use crate::path::{Path, Segment};

/// Marks the deliberate error, to tell it from anything else the deserializer could say.
const FOUND: &str = "myelin-spec:located-node";

/// A 1-based position in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub column: usize,
}

/// The position of the node at `path` (of its key with [`Anchor::Key`], when the last step is
/// a mapping key), or `None` when the path does not exist in `source`.
pub(crate) fn locate(source: &str, path: &Path, anchor: Anchor) -> Option<Position> {
    locate_in(yaml_serde::Deserializer::from_str(source), path, anchor)
}

/// [`locate`] in one document of a stream (positions count from the start of the stream).
pub(crate) fn locate_in(document: yaml_serde::Deserializer<'_>, path: &Path, anchor: Anchor) -> Option<Position> {
    if anchor == Anchor::Nowhere {
        return None;
    }
    let seek = Seek {
        rest: path.segments(),
        anchor,
    };
    match seek.deserialize(document) {
        Ok(()) => None,
        Err(error) if error.to_string().contains(FOUND) => error.location().map(|at| Position {
            line: at.line(),
            column: at.column(),
        }),
        Err(_) => None,
    }
}

/// The position of `path`, or of its nearest ancestor that exists (a missing field is reported
/// at the key of the mapping that lacks it; the root at the document's first node).
pub(crate) fn locate_nearest(source: &str, path: &Path, anchor: Anchor) -> Option<Position> {
    if anchor == Anchor::Nowhere {
        return None;
    }
    let mut path = path.clone();
    let mut anchor = anchor;
    loop {
        if let Some(position) = locate(source, &path, anchor) {
            return Some(position);
        }
        if !path.pop() {
            return None;
        }
        anchor = Anchor::Key;
    }
}

/// Walks `rest` down from the current node.
struct Seek<'a> {
    rest: &'a [Segment],
    anchor: Anchor,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.rest.is_empty() {
            deserializer.deserialize_any(Found)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (Some(Segment::Key(target)), rest) = (self.rest.first(), &self.rest[1..]) else {
            return Ok(());
        };
        let fail_on_key = rest.is_empty() && self.anchor == Anchor::Key;
        while let Some(hit) = map.next_key_seed(KeySeed { target, fail_on_key })? {
            if hit {
                return map.next_value_seed(Seek {
                    rest,
                    anchor: self.anchor,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (Some(Segment::Index(index)), rest) = (self.rest.first(), &self.rest[1..]) else {
            return Ok(());
        };
        for _ in 0..*index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek {
            rest,
            anchor: self.anchor,
        })
        .map(|_| ())
    }

    // Scalars have no children: the path does not exist.
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

/// Every visit fails: the message carries [`FOUND`] through `expecting`, and the
/// deserializer adds the node's position.
struct Found;

impl<'de> Visitor<'de> for Found {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FOUND)
    }
}

/// Reads one mapping key: `true` when it is the target. Fails on the target key itself when
/// the key is what we locate.
struct KeySeed<'a> {
    target: &'a str,
    fail_on_key: bool,
}

impl KeySeed<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        match key == self.target {
            true if self.fail_on_key => Err(E::custom(FOUND)),
            hit => Ok(hit),
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        self.check(key)
    }
    fn visit_bool<E: de::Error>(self, key: bool) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_i64<E: de::Error>(self, key: i64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_f64<E: de::Error>(self, key: f64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.check("null")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(source: &str, path: &Path, anchor: Anchor) -> Option<(usize, usize)> {
        locate(source, path, anchor).map(|p| (p.line, p.column))
    }

    const YAML: &str = "---\nversion: 1.1\nkind: component\ninputs:\n- name: a\n  type: int\n- {name: b, type: float}\nrun:\n  kind:\n    job\n";

    #[test]
    fn locates_block_and_flow_nodes() {
        let root = Path::root();
        assert_eq!(at(YAML, &root, Anchor::Value), Some((2, 1)));
        assert_eq!(at(YAML, &root.key("kind"), Anchor::Value), Some((3, 7)));
        assert_eq!(
            at(YAML, &root.key("inputs").index(0).key("type"), Anchor::Value),
            Some((6, 9))
        );
        assert_eq!(
            at(YAML, &root.key("inputs").index(1).key("type"), Anchor::Value),
            Some((7, 19))
        );
        assert_eq!(
            at(YAML, &root.key("inputs").index(1).key("type"), Anchor::Key),
            Some((7, 13))
        );
        assert_eq!(at(YAML, &root.key("run").key("kind"), Anchor::Value), Some((10, 5)));
        assert_eq!(at(YAML, &root.key("run").key("kind"), Anchor::Key), Some((9, 3)));
        assert_eq!(at(YAML, &root.key("inputs").index(5), Anchor::Value), None);
        assert_eq!(at(YAML, &root.key("kind").key("deeper"), Anchor::Value), None);
    }

    #[test]
    fn locates_in_one_line_json() {
        let json = r#"{"kind":"operation","component":{"run":{"kind":"jobb"},"tags":["a",3]}}"#;
        let root = Path::root();
        assert_eq!(
            at(json, &root.key("component").key("run").key("kind"), Anchor::Value),
            Some((1, 48))
        );
        assert_eq!(
            at(json, &root.key("component").key("tags").index(1), Anchor::Value),
            Some((1, 68))
        );
    }

    #[test]
    fn nearest_falls_back_to_the_parent_key() {
        let path = Path::root().key("run").key("container").key("image");
        assert_eq!(locate_nearest(YAML, &path, Anchor::Value).map(|p| p.line), Some(8));
        assert_eq!(
            locate_nearest("a: 1\n", &Path::root().key("b"), Anchor::Value).map(|p| p.line),
            Some(1)
        );
    }
}
