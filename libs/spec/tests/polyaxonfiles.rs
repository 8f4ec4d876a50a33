#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Real Polyaxonfiles: the shared test data (Polyaxon's own examples) and the operations the
//! official CLI posted to Polyaxon's server (recorded in the shared API transcripts).

use std::path::PathBuf;

use myelin_spec::{DocKind, RunKind, parse};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/polyaxonfiles")
}

struct Expected {
    file: &'static str,
    kind: DocKind,
    run_kind: Option<RunKind>,
    name: Option<&'static str>,
    tags: &'static [&'static str],
}

const FILES: &[Expected] = &[
    Expected {
        file: "job_file_with_init.yml",
        kind: DocKind::Component,
        run_kind: Some(RunKind::Job),
        name: None,
        tags: &["tensorflow"],
    },
    Expected {
        file: "keras_mnist_grid.yml",
        kind: DocKind::Operation,
        run_kind: None,
        name: None,
        tags: &[],
    },
    Expected {
        file: "keras_mnist_job.yml",
        kind: DocKind::Component,
        run_kind: Some(RunKind::Job),
        name: None,
        tags: &["examples", "keras"],
    },
    Expected {
        file: "keras_mnist_random.yml",
        kind: DocKind::Operation,
        run_kind: None,
        name: None,
        tags: &[],
    },
    Expected {
        file: "simple_cron_pipeline.yml",
        kind: DocKind::Operation,
        run_kind: Some(RunKind::Dag),
        name: Some("test-pipeline"),
        tags: &["native"],
    },
    Expected {
        file: "simple_dag_pipeline.yml",
        kind: DocKind::Component,
        run_kind: Some(RunKind::Dag),
        name: Some("test-pipeline"),
        tags: &["native"],
    },
];

#[test]
fn every_shared_polyaxonfile_parses_with_its_kind_run_kind_and_name() {
    let dir = testdata();
    let listing = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("shared Polyaxonfiles missing at {}: {error}", dir.display()));
    let mut on_disk: Vec<String> = listing
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.retain(|name| name != "NOTICE");
    on_disk.sort();
    let listed: Vec<&str> = FILES.iter().map(|expected| expected.file).collect();
    assert_eq!(on_disk, listed, "every shared file has an expectation here");

    for expected in FILES {
        let content = std::fs::read_to_string(dir.join(expected.file)).unwrap();
        let document = parse(&content).unwrap_or_else(|error| panic!("{}: {error}", expected.file));
        assert_eq!(document.kind, expected.kind, "{}", expected.file);
        assert_eq!(document.run_kind, expected.run_kind, "{}", expected.file);
        assert_eq!(document.name.as_deref(), expected.name, "{}", expected.file);
        assert_eq!(document.tags, expected.tags, "{}", expected.file);
        assert_eq!(document.version, Some(1.1), "{}", expected.file);
        assert_eq!(document.value["kind"], expected.kind.as_str(), "{}", expected.file);

        // The same document sent as JSON (as the CLI does) parses to the same result.
        let json = serde_json::to_string(&document.value).unwrap();
        let from_json = parse(&json).unwrap();
        assert_eq!(from_json.spec, document.spec, "{} as JSON", expected.file);
        assert_eq!(from_json.value, document.value, "{} as JSON", expected.file);
    }
}

#[test]
fn shared_files_keep_their_content_in_value() {
    let content = std::fs::read_to_string(testdata().join("simple_dag_pipeline.yml")).unwrap();
    let document = parse(&content).unwrap();
    let operations = document.value["run"]["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 5);
    assert_eq!(
        operations[4]["dependencies"],
        serde_json::json!(["experiment1", "experiment2", "experiment3"])
    );
    assert_eq!(document.value["run"]["components"][1]["inputs"][0]["type"], "s3");
}

/// Request bodies' `content` of `POST /api/v1/{owner}/{project}/runs` as the polyaxon 2.18 CLI
/// sent them (from the shared transcripts): no `version` in two of them.
const CLI_CONTENTS: &[&str] = &[
    r#"{"kind":"operation","component":{"kind":"component","name":"hello","tags":["blackbox","cli"],"inputs":[{"name":"msg","type":"str","isOptional":true,"value":"hello-from-polyaxon"}],"run":{"kind":"job","container":{"args":["import sys; print('{{ msg }}'); print('stderr-line', file=sys.stderr)"],"command":["python","-c"],"image":"python:3.11-slim"}}}}"#,
    r#"{"kind":"operation","component":{"kind":"component","name":"sleeper","run":{"kind":"job","container":{"args":["import time; print('sleeping'); time.sleep(600)"],"command":["python","-c"],"image":"python:3.11-slim"}}}}"#,
    r#"{"version":1.1,"kind":"operation","params":{"msg":{"value":"override"}},"component":{"version":1.1,"kind":"component","name":"hello","tags":["demo","cli"],"inputs":[{"name":"msg","type":"str","isOptional":true,"value":"hello-from-polyaxon"}],"run":{"kind":"job","container":{"args":["import sys,time; print('{{ msg }}'); print('line2', file=sys.stderr); time.sleep(1)"],"command":["python","-c"],"image":"python:3.11-slim"}}}}"#,
];

#[test]
fn operations_sent_by_the_polyaxon_cli_parse() {
    let expected = [
        ("hello", None, &["blackbox", "cli"][..]),
        ("sleeper", None, &[]),
        ("hello", Some(1.1), &["demo", "cli"]),
    ];
    for (content, (name, version, tags)) in CLI_CONTENTS.iter().zip(expected) {
        let document = parse(content).unwrap_or_else(|error| panic!("{error}\n{content}"));
        assert_eq!(document.kind, DocKind::Operation);
        assert_eq!(document.run_kind, Some(RunKind::Job));
        assert_eq!(document.name.as_deref(), Some(name));
        assert_eq!(document.version, version);
        assert_eq!(document.tags, tags);
        assert_eq!(
            document.value,
            serde_json::from_str::<serde_json::Value>(content).unwrap()
        );
    }
}
