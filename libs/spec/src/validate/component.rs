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

/// Validates the component at `path`.
pub(crate) fn validate(value: &Yaml, path: &Path, level: Level) -> Result<Summary, Issue> {
    let fields = Fields::read(value, path, &COMPONENT)?;
    if level == Level::Nested {
        doc_kind(value, path, Some(DocKind::Component))?;
    }
    let version = common::version(&fields)?;
    let name = common::name(&fields, NameRule::Qualified)?;
    let description = common::string(&fields, "description")?;
    let tags = common::string_list(&fields, "tags")?;
    common::string_list(&fields, "presets")?;
    common::string(&fields, "queue")?;
    common::string(&fields, "namespace")?;
    io::validate(&fields, "inputs")?;
    io::validate(&fields, "outputs")?;
    let run_kind = run::validate(&fields)?;
    Ok(Summary {
        version,
        name,
        description,
        tags,
        run_kind: Some(run_kind),
    })
}
