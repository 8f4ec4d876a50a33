//! The rules on a model read in part: when a file has errors, the typed model is read without
//! its broken nodes (see `crate::de::recover`), and the rules still check what is left, with
//! care not to report what only follows from a node left out:
//! - a check across nodes (params against inputs, refs between the operations of a dag) runs
//!   only when the nodes it reads were all read ([`Skipped::intact`], [`Skipped::list_intact`]);
//! - an issue about a node that holds a node left out, or next to a key that may be its name
//!   misspelt, is dropped ([`Skipped::keeps`]);
//! - list items left out shift the indexes of those after them: issues are moved back to the
//!   item of the file ([`Skipped::original`]).

use crate::path::{Path, Segment};
use crate::validate::fields::{misspelling, snake_to_camel};

/// The nodes left out of the typed model, keys in camelCase as the rules name them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Skipped(Vec<Path>);

impl Skipped {
    /// The nodes at `paths` (keys as written in the file).
    pub fn new(paths: &[Path]) -> Self {
        Self(paths.iter().map(camel_case).collect())
    }

    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether no node left out is one of `scopes` (paths in the typed model), lies within
    /// one or holds one: then a check that reads them sees what the file says.
    pub fn intact(&self, scopes: &[Path]) -> bool {
        self.is_empty()
            || scopes.iter().all(|scope| {
                let scope = camel_case(&self.original(scope));
                !self
                    .0
                    .iter()
                    .any(|skipped| skipped.is_within(&scope) || scope.is_within(skipped))
            })
    }

    /// Whether the list at `list` (a path in the typed model, ending with its key) was read
    /// whole as far as a check that reads the fields `read` of its items goes: neither the list
    /// nor one of its items left out, nor one of the `read` fields of an item, nor a key that
    /// may be one of these misspelt (`ops` for `operations`).
    pub fn list_intact(&self, list: &Path, read: &[&str]) -> bool {
        if self.is_empty() {
            return true;
        }
        let list = camel_case(&self.original(list));
        let Some((Segment::Key(name), parent)) = list.segments().split_last() else {
            return self.intact(std::slice::from_ref(&list));
        };
        let may_be = |key: &str, names: &[&str]| names.contains(&key) || misspelling(key, names).is_some();
        self.0.iter().all(|skipped| {
            if list.is_within(skipped) {
                return false;
            }
            if let Some((Segment::Key(key), beside)) = skipped.segments().split_last()
                && beside == parent
                && may_be(key, &[name.as_str()])
            {
                return false;
            }
            match skipped.segments().strip_prefix(list.segments()) {
                Some([] | [Segment::Index(_)]) => false,
                Some([Segment::Index(_), Segment::Key(field), ..]) => !may_be(field, read),
                _ => true,
            }
        })
    }

    /// The path in the file of the node at `path` in the typed model.
    pub fn original(&self, path: &Path) -> Path {
        if self.is_empty() {
            return path.clone();
        }
        let mut original = Path::root();
        for segment in path.segments() {
            original = match segment {
                Segment::Key(key) => original.key(key.clone()),
                Segment::Index(index) => {
                    let list = camel_case(&original);
                    let left_out = |item: usize| self.0.contains(&list.index(item));
                    let (mut item, mut kept) = (0, 0);
                    while left_out(item) || kept < *index {
                        if !left_out(item) {
                            kept += 1;
                        }
                        item += 1;
                    }
                    original.index(item)
                }
            };
        }
        original
    }

    /// Whether an issue at `at` (a path in the file) stands on its own: it is not about a node
    /// that holds one left out, nor below a key that may be the misspelt name of one left out.
    pub fn keeps(&self, at: &Path) -> bool {
        let at = camel_case(at);
        !self
            .0
            .iter()
            .any(|skipped| skipped.is_within(&at) || misspells(skipped, &at))
    }
}

/// Whether `skipped` is a key that looks like a misspelling of a key on the way to `at`
/// (`run.ops` for `run.operations[0].name`): what `at` says may follow from that mistake.
pub(crate) fn misspells(skipped: &Path, at: &Path) -> bool {
    let [parent @ .., Segment::Key(written)] = skipped.segments() else {
        return false;
    };
    match at.segments().strip_prefix(parent) {
        Some([Segment::Key(field), ..]) => field != written && misspelling(written, &[field.as_str()]).is_some(),
        _ => false,
    }
}

/// `path` with its keys in camelCase (`is_optional` → `isOptional`).
fn camel_case(path: &Path) -> Path {
    let mut camel = Path::root();
    for segment in path.segments() {
        camel = match segment {
            Segment::Key(key) => camel.key(snake_to_camel(key)),
            Segment::Index(index) => camel.index(*index),
        };
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Path {
        let mut path = Path::root();
        for part in text.split('.') {
            path = match part.split_once('[') {
                Some((key, index)) => path.key(key).index(index.trim_end_matches(']').parse().unwrap()),
                None => path.key(part),
            };
        }
        path
    }

    #[test]
    fn moves_issues_back_to_the_items_of_the_file() {
        let skipped = Skipped::new(&[path("inputs[1]"), path("inputs[2]")]);
        assert_eq!(
            skipped.original(&path("inputs[0].value")).to_string(),
            "inputs[0].value"
        );
        assert_eq!(
            skipped.original(&path("inputs[1].value")).to_string(),
            "inputs[3].value"
        );
        assert_eq!(Skipped::default().original(&path("inputs[1]")).to_string(), "inputs[1]");
    }

    #[test]
    fn knows_what_a_check_may_read() {
        let skipped = Skipped::new(&[path("component.inputs[0].is_flag"), path("params.lr.vlaue")]);
        assert!(skipped.list_intact(&path("component.inputs"), &["name", "type"]));
        assert!(!skipped.list_intact(&path("component.inputs"), &["name", "isFlag"]));
        assert!(!skipped.intact(&[path("params.lr")]));
        assert!(skipped.intact(&[path("params.epochs")]));
        let misspelt = Skipped::new(&[path("run.ops")]);
        assert!(!misspelt.list_intact(&path("run.operations"), &["name"]));
        assert!(misspelt.list_intact(&path("run.components"), &["name"]));
        assert!(!misspelt.keeps(&path("run.operations")));
        assert!(misspelt.keeps(&path("run.concurrency")));
        let beside = Skipped::new(&[path("run.concurrency")]);
        assert!(beside.list_intact(&path("run.operations"), &["name"]));
        let dropped = Skipped::new(&[path("run.operations[1]")]);
        assert!(!dropped.list_intact(&path("run.operations"), &[]));
        assert!(!dropped.keeps(&path("run.operations")));
        assert!(dropped.keeps(&path("run.operations[2].name")));
    }
}
