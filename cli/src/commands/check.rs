//! `myelin check -f FILE [-f FILE]... [-P k=v]... [-HP k=v]... [--lint] [--json]`: validates and
//! compiles Polyaxonfiles locally (no server), printing every error with its file, line:column,
//! field path and a hint, or a short summary of what the file runs.

use std::path::PathBuf;

use crate::args::CheckArgs;
use crate::error::Error;
use crate::output;

/// Runs `myelin check`; a file with errors exits non-zero.
pub fn run(args: CheckArgs) -> Result<(), Error> {
    let files = args
        .files
        .iter()
        .map(|path| read(path).map(|content| (path.display().to_string(), content)))
        .collect::<Result<Vec<_>, _>>()?;
    let params = pairs(&args.params, "-P")?;
    let hparams = pairs(&args.hparams, "-HP")?;
    let report = myelin_spec::check(&files, &params, &hparams, args.lint);
    if args.json {
        output::json(&report)?;
    } else {
        output::line(report.to_string().trim_end())?;
    }
    if report.ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{} error(s) in {}",
            report.errors.len(),
            args.files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

fn read(path: &PathBuf) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|error| Error::Usage(format!("cannot read Polyaxonfile `{}`: {error}", path.display())))
}

fn pairs(raw: &[String], flag: &str) -> Result<Vec<(String, String)>, Error> {
    raw.iter()
        .map(|pair| {
            myelin_spec::split_param(pair).ok_or_else(|| Error::Usage(format!("`{flag} {pair}` is not `name=value`")))
        })
        .collect()
}
