#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The negative corpus: every `tests/data/invalid/NAME.yaml` is rejected by `check` with
//! exactly the errors written in `NAME.expected`, in file order (code, position and path,
//! message, hint; one block per error, blocks separated by a blank line). Files named
//! `multi_*` hold several independent mistakes, all of which must be reported.
//! A file may start with `# params: a=1 b=2` and `# hparams: lr=choice:[1,2]` lines, passed as
//! `-P` / `-HP`. `MYELIN_BLESS=1 cargo test -p myelin-spec --test invalid` rewrites the
//! expectations (review them before committing).

use std::path::PathBuf;

use myelin_spec::{Error, check, split_param};

fn pairs(content: &str, header: &str) -> Vec<(String, String)> {
    content
        .lines()
        .filter_map(|line| line.strip_prefix(header))
        .flat_map(|rest| {
            rest.split_whitespace()
                .map(|pair| split_param(pair).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn expectation(error: &Error) -> String {
    let at = match (error.line, error.column) {
        (Some(line), Some(column)) => format!("{line}:{column}"),
        _ => "-".to_owned(),
    };
    let path = if error.path.is_empty() { "document" } else { &error.path };
    format!(
        "code: {}\nat: {at} {path}\nmessage: {}\nhint: {}\n",
        error.code,
        error.message,
        error.hint.as_deref().unwrap_or("-")
    )
}

#[test]
fn every_broken_file_fails_with_its_expected_error() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/invalid");
    let bless = std::env::var_os("MYELIN_BLESS").is_some();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 60, "{} broken files", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let content = std::fs::read_to_string(path).unwrap();
        let files = vec![(format!("{name}.yaml"), content.clone())];
        let report = check(
            &files,
            &pairs(&content, "# params:"),
            &pairs(&content, "# hparams:"),
            false,
        );
        if report.errors.is_empty() {
            failures.push(format!("{name}: accepted\n{report}"));
            continue;
        }
        let got = report.errors.iter().map(expectation).collect::<Vec<_>>().join("\n");
        if name.starts_with("multi_") && report.errors.len() < 3 {
            failures.push(format!("{name}: only {} error(s)\n{report}", report.errors.len()));
        }
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}--- got\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files wrong:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
