//! `myelin check`: parse the files (`-f a.yaml -f b.yaml`, later ones patching earlier ones as
//! presets, see [`crate::parse_overlay`]),
//! compile them with `-P`/`-HP`, and report every error (and, with `lint`, likely mistakes)
//! with a short summary; [`CheckReport`] renders as `file:line:column path: message (hint)`.

use std::fmt;

use serde::Serialize;

use crate::compile::{CompileContext, CompiledOperation, compile_with};
use crate::error::{Error, code};
use crate::kinds::{DocKind, RunKind};
use crate::model::{Component, Json, Spec};
use crate::rules::matrix::size;
use crate::{Document, parse_all, parse_overlay};

/// What `myelin check` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// No error (warnings allowed).
    pub ok: bool,
    /// What the file runs, when it parsed.
    pub summary: Option<Summary>,
    /// Every error, in file order.
    pub errors: Vec<Error>,
    /// Likely mistakes Polyaxon accepts, and lint findings.
    pub warnings: Vec<Error>,
}

/// The short description of a valid file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `component` or `operation`.
    pub kind: DocKind,
    /// The runtime, when known.
    pub run_kind: Option<RunKind>,
    /// The effective name.
    pub name: Option<String>,
    /// The inputs and their values.
    pub inputs: Vec<IoSummary>,
    /// The outputs.
    pub outputs: Vec<IoSummary>,
    /// `grid`, `random`, ... when the operation has a matrix.
    pub matrix_kind: Option<String>,
    /// How many runs the matrix starts, when known in advance.
    pub matrix_size: Option<u64>,
}

/// One input or output in a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IoSummary {
    /// The name.
    pub name: String,
    /// The type (`any` when not declared).
    pub r#type: String,
    /// The resolved value, when known.
    pub value: Option<Json>,
    /// Whether it needs a value to start the run (never for an output).
    pub required: bool,
}

/// Checks `files` (display name, content), the first being the main file.
pub fn check(
    files: &[(String, String)],
    params: &[(String, String)],
    hparams: &[(String, String)],
    lint: bool,
) -> CheckReport {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut documents: Vec<Document> = Vec::new();
    for (index, (name, content)) in files.iter().enumerate() {
        // The files after the first patch it: Polyaxon reads them as presets.
        let parsed = if index == 0 {
            parse_all(content)
        } else {
            parse_overlay(content)
        };
        match parsed {
            Ok(document) => {
                warnings.extend(named(document.warnings.clone(), name));
                documents.push(document);
            }
            Err(found) => errors.extend(named(found, name)),
        }
    }
    let (Some(main), Some(main_name)) = (documents.first(), files.first().map(|(name, _)| name.as_str())) else {
        return report(None, errors, warnings);
    };
    if !errors.is_empty() {
        return report(None, errors, warnings);
    }
    let compiled = compile_with(main, &documents[1..], params, hparams, &CompileContext::default());
    let compiled = match compiled {
        Ok(compiled) => Some(compiled),
        Err(found) => {
            let (unresolved, others): (Vec<Error>, Vec<Error>) = found
                .into_iter()
                .partition(|error| error.code == code::UNRESOLVED_COMPONENT);
            warnings.extend(named(unresolved, main_name));
            errors.extend(others.into_iter().map(|error| name_if_located(error, main_name)));
            None
        }
    };
    if lint && errors.is_empty() {
        warnings.extend(named(crate::lint::document(main), main_name));
    }
    let summary = errors.is_empty().then(|| summarize(main, compiled.as_ref()));
    report(summary, errors, warnings)
}

fn report(summary: Option<Summary>, errors: Vec<Error>, warnings: Vec<Error>) -> CheckReport {
    CheckReport {
        ok: errors.is_empty(),
        summary,
        errors,
        warnings,
    }
}

fn named(errors: Vec<Error>, name: &str) -> Vec<Error> {
    errors
        .into_iter()
        .map(|error| Error {
            file: Some(name.into()),
            ..error
        })
        .collect()
}

/// Errors about the command line (no position) keep no file.
fn name_if_located(error: Error, name: &str) -> Error {
    if error.line.is_some() {
        Error {
            file: Some(name.into()),
            ..error
        }
    } else {
        error
    }
}

fn summarize(document: &Document, compiled: Option<&CompiledOperation>) -> Summary {
    // Outputs are written by the run: none needs a value to start it.
    let ios = |ios: Option<&Vec<crate::model::Io>>, outputs: bool| -> Vec<IoSummary> {
        ios.into_iter()
            .flatten()
            .map(|io| IoSummary {
                name: io.name.clone(),
                r#type: io.type_name().to_owned(),
                value: io.value.clone(),
                required: !outputs && !io.optional(),
            })
            .collect()
    };
    let matrix = match &document.spec {
        Spec::Operation(operation) => operation.matrix.as_ref(),
        Spec::Component(_) => None,
    };
    let matrix = compiled.and_then(|compiled| compiled.matrix.as_ref()).or(matrix);
    let component = component_of(&document.spec);
    Summary {
        kind: document.kind,
        run_kind: compiled.map(|compiled| compiled.run.run_kind()).or(document.run_kind),
        name: compiled
            .and_then(|compiled| compiled.name.clone())
            .or_else(|| document.name.clone()),
        inputs: ios(
            compiled
                .and_then(|c| c.inputs.as_ref())
                .or(component.and_then(|c| c.inputs.as_ref())),
            false,
        ),
        outputs: ios(
            compiled
                .and_then(|c| c.outputs.as_ref())
                .or(component.and_then(|c| c.outputs.as_ref())),
            true,
        ),
        matrix_kind: matrix.map(|matrix| matrix.kind().to_owned()),
        matrix_size: matrix.and_then(size),
    }
}

fn component_of(spec: &Spec) -> Option<&Component> {
    match spec {
        Spec::Component(component) => Some(component),
        Spec::Operation(operation) => operation.component.as_deref(),
    }
}

impl fmt::Display for CheckReport {
    /// The errors and warnings one per line, then the summary (or the count of errors).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            writeln!(f, "error: {}", error.render())?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {}", warning.render())?;
        }
        let Some(summary) = &self.summary else {
            return writeln!(f, "{} error(s)", self.errors.len());
        };
        let run = summary
            .run_kind
            .map(|kind| kind.to_string())
            .unwrap_or_else(|| "referenced component".to_owned());
        let name = summary
            .name
            .as_deref()
            .map(|name| format!(" `{name}`"))
            .unwrap_or_default();
        writeln!(f, "valid {}{name}: run {run}", summary.kind)?;
        for (label, ios) in [("inputs", &summary.inputs), ("outputs", &summary.outputs)] {
            if ios.is_empty() {
                continue;
            }
            let listed: Vec<String> = ios
                .iter()
                .map(|io| match (&io.value, io.required) {
                    (Some(value), _) => format!("{}: {} = {value}", io.name, io.r#type),
                    (None, true) => format!("{}: {} (required)", io.name, io.r#type),
                    (None, false) => format!("{}: {}", io.name, io.r#type),
                })
                .collect();
            writeln!(f, "{label}: {}", listed.join(", "))?;
        }
        if let Some(kind) = &summary.matrix_kind {
            match summary.matrix_size {
                Some(size) => writeln!(f, "matrix: {kind}, {size} runs")?,
                None => writeln!(f, "matrix: {kind}")?,
            }
        }
        Ok(())
    }
}
