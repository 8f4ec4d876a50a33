//! A component (Polyaxon's `V1Component`): shared fields, `inputs`/`outputs` and the required
//! `run` section. Used for `kind: component` documents, an operation's inline `component:`,
//! and the `components` of a dag.

use yaml_serde::Value as Yaml;

use super::common::{self, NameRule};
use super::fields::{COMPONENT, Fields};
use super::{Level, Summary, doc_kind, run};
use crate::kinds::DocKind;
use crate::path::Path;
use crate::{error::Issue, io};

/// Validates the component at `path`, recording every problem in `issues`; `None` when it is
/// not a mapping at all.
pub(crate) fn validate(value: &Yaml, path: &Path, level: Level, issues: &mut Vec<Issue>) -> Option<Summary> {
    let fields = Fields::read(value, path, &COMPONENT, issues)?;
    if level == Level::Nested
        && let Err(issue) = doc_kind(value, path, Some(DocKind::Component))
    {
        issues.push(issue);
    }
    let version = common::version(&fields, issues);
    let name = common::name(&fields, NameRule::Qualified, issues);
    let description = common::string(&fields, "description", issues);
    let tags = common::string_list(&fields, "tags", issues);
    common::string_list(&fields, "presets", issues);
    common::string(&fields, "queue", issues);
    common::string(&fields, "namespace", issues);
    io::validate(&fields, "inputs", issues);
    io::validate(&fields, "outputs", issues);
    let run_kind = run::validate(&fields, issues);
    Some(Summary {
        version,
        name,
        description,
        tags,
        run_kind,
    })
}
