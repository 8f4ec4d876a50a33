//! The path of a node inside a Polyaxonfile: a list of mapping keys and sequence indexes,
//! rendered the way users read it: `run.kind`, `inputs[2].type`, `params["my.lr"].value`.

use std::fmt;

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// The value of a mapping entry, by key as written in the document.
    Key(String),
    /// An item of a sequence, 0-based.
    Index(usize),
}

/// A path from the document root; empty for the root itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Path(Vec<Segment>);

impl Path {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// The child of this node under mapping key `key`.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// The `index`-th item of this sequence node.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// Drops the last step; `false` when already at the root.
    pub fn pop(&mut self) -> bool {
        self.0.pop().is_some()
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this node is `other` or lies below it.
    pub fn is_within(&self, other: &Path) -> bool {
        self.0.starts_with(&other.0)
    }

    /// Whether this node is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// Keys made only of these characters are written bare (`run.kind`), others quoted (`["a.b"]`).
fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain_key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_indexes_and_odd_keys() {
        assert_eq!(Path::root().to_string(), "");
        assert_eq!(Path::root().key("run").key("kind").to_string(), "run.kind");
        assert_eq!(
            Path::root().key("inputs").index(2).key("type").to_string(),
            "inputs[2].type"
        );
        assert_eq!(
            Path::root().key("params").key("my.lr").key("value").to_string(),
            "params[\"my.lr\"].value"
        );
        let mut path = Path::root().key("a");
        assert!(path.key("b").index(0).is_within(&path));
        assert!(path.is_within(&path));
        assert!(!Path::root().is_within(&path));
        assert!(path.pop());
        assert!(path.is_root());
        assert!(!path.pop());
    }
}
