#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `myelin check` end to end: the built binary on Polyaxonfiles written to a temp dir, its
//! exit code, its report (summary, or every error as `file:line:column path: message (hint)`),
//! `-P`, `-HP`, `-f base -f override`, `--lint` and `--json`.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_myelin");

/// An operation running a component with three inputs, searched over a 2 × 2 grid.
const SEARCH: &str = "\
version: 1.1
kind: operation
name: search
matrix:
  kind: grid
  params:
    lr: {kind: choice, value: [0.1, 0.2]}
    batch: {kind: choice, value: [16, 32]}
component:
  name: train
  inputs:
  - {name: lr, type: float}
  - {name: batch, type: int}
  - {name: epochs, type: int, value: 3}
  run:
    kind: job
    container:
      image: python:3.11
      args: ['--lr={{ lr }}', '--batch={{ batch }}', '--epochs={{ epochs }}']
";

/// Three independent mistakes: an unknown type, `ops` for `operations`, a zero concurrency.
const BROKEN: &str = "\
version: 1.1
kind: component
inputs:
- name: lr
  type: flaot
run:
  kind: dag
  ops:
  - name: a
    hubRef: x
  concurrency: 0
";

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Writes `files` (name, content) into a fresh temp dir.
fn write(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = files
        .iter()
        .map(|(name, content)| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

/// Runs `myelin check -f FILE... ARGS...`.
fn check(files: &[&Path], args: &[&str]) -> Outcome {
    let mut command = Command::new(BIN);
    command.arg("check");
    for file in files {
        command.arg("-f").arg(file);
    }
    let output = command.args(args).env_remove("MYELIN_HOST").output().unwrap();
    Outcome {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn a_valid_file_exits_0_with_its_summary() {
    let (_dir, paths) = write(&[("search.yaml", SEARCH)]);
    let outcome = check(&[&paths[0]], &[]);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(
        outcome.stdout,
        "valid operation `search`: run job\n\
         inputs: lr: float (required), batch: int (required), epochs: int = 3\n\
         matrix: grid, 4 runs\n"
    );
    assert_eq!(outcome.stderr, "");

    let component = "kind: component\nname: hello\ninputs: [{name: who, type: str, value: world}]\n\
                     outputs: [{name: loss, type: float}]\nrun: {kind: job, container: {image: x, args: ['{{ who }}']}}\n";
    let (_dir, paths) = write(&[("hello.yaml", component)]);
    let outcome = check(&[&paths[0]], &[]);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(
        outcome.stdout,
        "valid component `hello`: run job\ninputs: who: str = \"world\"\noutputs: loss: float\n"
    );
}

#[test]
fn a_broken_file_exits_1_with_every_error_in_file_order() {
    let (_dir, paths) = write(&[("broken.yaml", BROKEN)]);
    let file = paths[0].display().to_string();
    let outcome = check(&[&paths[0]], &[]);
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", outcome.stdout);
    assert!(
        lines[0].starts_with(&format!(
            "error: {file}:5:9 inputs[0].type: invalid type `flaot`: unknown type `flaot`; use one of any, int, float,"
        )),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        format!("error: {file}:8:3 run.ops: unknown field `ops` in a dag run (did you mean `operations`?)")
    );
    assert_eq!(
        lines[2],
        format!("error: {file}:11:16 run.concurrency: `concurrency` must be at least 1")
    );
    assert_eq!(lines[3], "3 error(s)");
    assert_eq!(outcome.stderr, format!("error: 3 error(s) in {file} (spec.invalid)\n"));
}

#[test]
fn params_are_checked_against_the_inputs() {
    let (_dir, paths) = write(&[("search.yaml", SEARCH)]);
    let unknown = check(&[&paths[0]], &["-P", "epoch=5"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stdout);
    assert_eq!(
        unknown.stdout,
        "error: params.epoch: `-P epoch` names no input or output of the component (did you mean `epochs`?)\n\
         1 error(s)\n"
    );
    let mistyped = check(&[&paths[0]], &["-P", "epochs=five"]);
    assert_eq!(mistyped.code, 1, "{}", mistyped.stdout);
    assert_eq!(
        mistyped.stdout,
        "error: params.epochs: -P epochs: not a valid `int`: expected an integer, found `five`\n1 error(s)\n"
    );
    let valid = check(&[&paths[0]], &["-P", "epochs=5"]);
    assert_eq!(valid.code, 0, "{}", valid.stdout);
    assert!(valid.stdout.contains("epochs: int = 5\n"), "{}", valid.stdout);
    let not_a_pair = check(&[&paths[0]], &["-P", "epochs"]);
    assert_eq!(not_a_pair.code, 2, "{}", not_a_pair.stderr);
    assert!(
        not_a_pair.stderr.contains("`-P epochs` is not `name=value`"),
        "{}",
        not_a_pair.stderr
    );
}

#[test]
fn hp_replaces_a_matrix_param_and_changes_the_size() {
    let (_dir, paths) = write(&[("search.yaml", SEARCH)]);
    let outcome = check(&[&paths[0]], &["-HP", "lr=linspace:0.01:0.1:5"]);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stdout.ends_with("matrix: grid, 10 runs\n"),
        "{}",
        outcome.stdout
    );
    let broken = check(&[&paths[0]], &["-HP", "lr=linspace:0.1:0.01:5"]);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    assert!(
        broken
            .stdout
            .contains("`stop` (0.01) must be greater than `start` (0.1)"),
        "{}",
        broken.stdout
    );
}

#[test]
fn later_files_override_earlier_ones() {
    let overlay = "kind: operation\nparams:\n  epochs: {value: 7}\nmatrix:\n  kind: grid\n  params:\n    \
                   lr: {kind: choice, value: [0.1, 0.2, 0.3]}\n";
    let (_dir, paths) = write(&[("search.yaml", SEARCH), ("override.yaml", overlay)]);
    let outcome = check(&[&paths[0], &paths[1]], &[]);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(
        outcome.stdout,
        "valid operation `search`: run job\n\
         inputs: lr: float (required), batch: int (required), epochs: int = 7\n\
         matrix: grid, 6 runs\n"
    );
    // An error in the override names the override.
    let (_dir, paths) = write(&[
        ("search.yaml", SEARCH),
        ("override.yaml", "kind: operation\nqeue: gpu\n"),
    ]);
    let outcome = check(&[&paths[0], &paths[1]], &[]);
    assert_eq!(outcome.code, 1);
    assert_eq!(
        outcome.stdout,
        format!(
            "error: {}:2:1 qeue: unknown field `qeue` in an operation (did you mean `queue`?)\n1 error(s)\n",
            paths[1].display()
        )
    );
}

#[test]
fn lint_reports_likely_mistakes_as_warnings() {
    let content = "kind: component\ninputs:\n- {name: used, type: int, value: 1}\n- {name: unused, type: int, value: 2}\n\
                   run: {kind: job, container: {image: x, args: ['{{ used }}']}}\n";
    let (_dir, paths) = write(&[("lint.yaml", content)]);
    let file = paths[0].display().to_string();
    let quiet = check(&[&paths[0]], &[]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    assert!(!quiet.stdout.contains("warning:"), "{}", quiet.stdout);
    let outcome = check(&[&paths[0]], &["--lint"]);
    assert_eq!(outcome.code, 0, "warnings do not fail: {}", outcome.stdout);
    assert_eq!(
        outcome.stdout.lines().next().unwrap(),
        format!(
            "warning: {file}:4:10 inputs[1].name: input `unused` is never used: no template reads it \
             (use `{{{{ unused }}}}` or `{{{{ params.unused.as_arg }}}}`, or `toEnv`)"
        )
    );
}

#[test]
fn json_reports_ok_errors_warnings_and_summary() {
    let (_dir, paths) = write(&[("search.yaml", SEARCH), ("broken.yaml", BROKEN)]);
    let outcome = check(&[&paths[0]], &["--json"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert_eq!(report["summary"]["kind"], "operation");
    assert_eq!(report["summary"]["run_kind"], "job");
    assert_eq!(report["summary"]["matrix_kind"], "grid");
    assert_eq!(report["summary"]["matrix_size"], 4);
    assert_eq!(report["summary"]["inputs"].as_array().unwrap().len(), 3);

    let outcome = check(&[&paths[1]], &["--json"]);
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["summary"], serde_json::Value::Null);
    assert_eq!(report["warnings"], serde_json::json!([]));
    let errors = report["errors"].as_array().unwrap();
    let located: Vec<(&str, &str, u64, u64)> = errors
        .iter()
        .map(|error| {
            (
                error["code"].as_str().unwrap(),
                error["path"].as_str().unwrap(),
                error["line"].as_u64().unwrap(),
                error["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("spec.invalid_field", "inputs[0].type", 5, 9),
            ("spec.unknown_field", "run.ops", 8, 3),
            ("spec.invalid_field", "run.concurrency", 11, 16),
        ]
    );
    assert_eq!(errors[1]["hint"], "did you mean `operations`?");
    assert_eq!(errors[1]["file"], paths[1].display().to_string());
}
