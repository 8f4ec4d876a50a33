#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The compiler end to end: params (`-P`, required inputs, types, validation), `-HP`,
//! presets and `-f` overrides with their patch strategies, templating with the globals and
//! `params.<x>.as_arg`, dags (refs, cycles, upstream), and `check` with its summary and lint.

use std::path::PathBuf;

use myelin_spec::model::Run;
use myelin_spec::{CompileContext, Document, check, code, compile, compile_with, inline_component, parse};

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn doc(content: &str) -> Document {
    parse(content).unwrap_or_else(|error| panic!("{error}\n{content}"))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

const TRAIN: &str = r#"
version: 1.1
kind: component
name: train
inputs:
- {name: lr, type: float, value: 0.01, validation: {gt: 0, lt: 1}}
- {name: epochs, type: int}
- {name: check, type: bool, isFlag: true, value: false}
- {name: loss, type: str, value: mse, argFormat: "loss={{ loss }}"}
outputs:
- {name: accuracy, type: float}
run:
  kind: job
  container:
    image: "python:{{ globals.project_name }}"
    command: [python, train.py]
    args: ["--lr={{ lr }}", "{{ params.epochs.as_arg }}", "{{ params.check.as_arg }}", "{{ params.loss.as_arg }}", "--out={{ globals.run_outputs_path }}"]
"#;

fn args(run: &Run) -> Vec<String> {
    let Run::Job(job) = run else {
        panic!("not a job: {run:?}")
    };
    job.container.as_ref().unwrap().args.clone().unwrap()
}

#[test]
fn params_fill_inputs_and_templates_render() {
    let ctx = CompileContext {
        project_name: "mnist".into(),
        ..CompileContext::default()
    };
    let compiled = compile(&doc(TRAIN), &[], &pairs(&[("epochs", "5"), ("check", "true")]), &ctx).unwrap();
    assert!(compiled.resolved);
    assert_eq!(
        args(&compiled.run),
        [
            "--lr=0.01",
            "--epochs=5",
            "--check",
            "loss=mse",
            "--out=/plx-context/artifacts/00000000000000000000000000000000/outputs"
        ]
    );
    let Run::Job(job) = &compiled.run else { panic!() };
    assert_eq!(job.container.as_ref().unwrap().image.as_deref(), Some("python:mnist"));
    let epochs = compiled
        .inputs
        .as_ref()
        .unwrap()
        .iter()
        .find(|io| io.name == "epochs")
        .unwrap();
    assert_eq!(epochs.value, Some(serde_json::json!(5)));
    let json = myelin_spec::to_json(&compiled).unwrap();
    assert_eq!(json["kind"], "compiled_operation");
}

#[test]
fn param_errors_name_the_input() {
    let ctx = CompileContext::default();
    let errors = compile(&doc(TRAIN), &[], &[], &ctx).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].code, errors[0].path.as_str(), errors[0].line),
        (code::MISSING_PARAM, "inputs[1].name", Some(7))
    );
    assert_eq!(errors[0].message, "input `epochs` is required and has no value");

    let errors = compile(&doc(TRAIN), &[], &pairs(&[("epoch", "5"), ("lr", "x")]), &ctx).unwrap_err();
    assert_eq!(errors.len(), 1, "unknown -P comes before anything else: {errors:?}");
    assert_eq!((errors[0].code, errors[0].line), (code::UNKNOWN_PARAM, None));
    assert_eq!(errors[0].hint.as_deref(), Some("did you mean `epochs`?"));

    let errors = compile(&doc(TRAIN), &[], &pairs(&[("epochs", "five"), ("lr", "2")]), &ctx).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|error| error.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "-P lr: `2.0` must be less than 1",
            "-P epochs: not a valid `int`: expected an integer, found `five`"
        ]
    );
}

#[test]
fn presets_and_overrides_patch_in_order() {
    let main = doc(&format!(
        "version: 1.1\nkind: operation\nqueue: cpu\ntags: [a]\nparams:\n  epochs: 3\ncomponent:{}",
        indent(TRAIN)
    ));
    let preset = doc(
        "kind: operation\nisPreset: true\nqueue: gpu\ntags: [b]\nrunPatch:\n  container:\n    resources: {limits: {nvidia.com/gpu: 1}}\n",
    );
    let replace = doc("kind: operation\nisPreset: true\npatchStrategy: replace\ntags: [c]\n");
    let compiled = compile(&main, std::slice::from_ref(&preset), &[], &CompileContext::default()).unwrap();
    assert_eq!(compiled.queue.as_deref(), Some("gpu"));
    assert_eq!(compiled.tags.as_deref(), Some(&["a".to_owned(), "b".to_owned()][..]));
    let Run::Job(job) = &compiled.run else { panic!() };
    let limits = job
        .container
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .limits
        .as_ref()
        .unwrap();
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    let compiled = compile(&main, &[preset, replace], &[], &CompileContext::default()).unwrap();
    assert_eq!(compiled.tags.as_deref(), Some(&["c".to_owned()][..]));
    let component = doc(TRAIN);
    let errors = compile(&main, &[component], &[], &CompileContext::default()).unwrap_err();
    assert_eq!(errors[0].code, code::INVALID_DOCUMENT);
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("\n  {line}")).collect()
}

#[test]
fn hparams_add_a_matrix_and_its_size_is_known() {
    let compiled = compile_with(
        &doc(TRAIN),
        &[],
        &[],
        &pairs(&[("epochs", "choice:[1, 2, 3]"), ("lr", "linspace:0.01:0.1:5")]),
        &CompileContext::default(),
    )
    .unwrap();
    assert!(!compiled.resolved, "matrix values are known per run");
    let matrix = compiled.matrix.as_ref().unwrap();
    assert_eq!(matrix.kind(), "grid");
    assert_eq!(myelin_spec::matrix_size(matrix), Some(15));
    let errors = compile_with(
        &doc(TRAIN),
        &[],
        &[],
        &pairs(&[("lr", "unifrom:0:1")]),
        &CompileContext::default(),
    )
    .unwrap_err();
    assert_eq!(
        (errors[0].code, errors[0].hint.as_deref()),
        (code::UNKNOWN_KIND, Some("did you mean `uniform`?"))
    );
}

#[test]
fn shared_files_compile() {
    let job = doc(&data("polyaxonfiles/keras_mnist_job.yml"));
    let compiled = compile(&job, &[], &[], &CompileContext::default()).unwrap();
    assert!(compiled.resolved);
    for (sweep, size) in [("keras_mnist_grid.yml", Some(20)), ("keras_mnist_random.yml", Some(20))] {
        let operation = doc(&data(&format!("polyaxonfiles/{sweep}")));
        let errors = compile(&operation, &[], &[], &CompileContext::default()).unwrap_err();
        assert_eq!(errors[0].code, code::UNRESOLVED_COMPONENT, "{sweep}");
        let inlined = inline_component(&operation, &job).unwrap();
        let compiled = compile(&inlined, &[], &[], &CompileContext::default()).unwrap();
        assert_eq!(
            myelin_spec::matrix_size(compiled.matrix.as_ref().unwrap()),
            size,
            "{sweep}"
        );
    }
    for file in [
        "job_file_with_init.yml",
        "simple_dag_pipeline.yml",
        "simple_cron_pipeline.yml",
    ] {
        compile(
            &doc(&data(&format!("polyaxonfiles/{file}"))),
            &[],
            &[],
            &CompileContext::default(),
        )
        .unwrap_or_else(|errors| panic!("{file}: {errors:?}"));
    }
}

#[test]
fn check_reports_summary_errors_and_lint() {
    let files = vec![("train.yaml".to_owned(), TRAIN.to_owned())];
    let report = check(&files, &pairs(&[("epochs", "2")]), &[], true);
    assert!(report.ok, "{report}");
    let summary = report.summary.as_ref().unwrap();
    assert_eq!(summary.name.as_deref(), Some("train"));
    assert_eq!(summary.inputs.len(), 4);
    assert!(report.warnings.is_empty(), "{report}");
    let text = report.to_string();
    assert!(
        text.starts_with("valid component `train`: run job\ninputs: lr: float = 0.01, epochs: int = 2"),
        "{text}"
    );

    let report = check(&files, &[], &[], false);
    assert!(!report.ok);
    assert_eq!(
        report.to_string(),
        "error: train.yaml:7:4 inputs[1].name: input `epochs` is required and has no value (pass `-P epochs=...` or set `params.epochs`)\n1 error(s)\n"
    );

    let lint = "kind: component\ninputs:\n- {name: unused, type: int, value: 1}\n- {name: used, type: int, value: 1}\nrun:\n  kind: job\n  container: {image: x, args: ['{{ used }}', '{{ usd }}']}\n";
    let report = check(&[("l.yaml".to_owned(), lint.to_owned())], &[], &[], true);
    let warnings: Vec<String> = report.warnings.iter().map(|warning| warning.render()).collect();
    assert!(!report.ok, "an unknown name fails compilation: {report}");
    assert_eq!(report.errors[0].code, code::INVALID_TEMPLATE);
    assert!(warnings.is_empty(), "lint runs on files that compile: {warnings:?}");
}

#[test]
fn lint_finds_unused_inputs_unknown_names_and_oversized_searches() {
    let content = r#"
kind: operation
matrix:
  kind: random
  numRuns: 10
  params:
    lr: {kind: choice, value: [0.1, 0.2]}
    units: {kind: range, value: "16:64:16"}
params:
  extra: 1
component:
  inputs:
  - {name: lr, type: float}
  - {name: units, type: int}
  - {name: unused, type: int, value: 1}
  - {name: listed, type: float, value: 0.1, isList: true}
  run:
    kind: job
    container: {image: x, args: ["--lr={{ lr }}", "--units={{ params.units.as_arg }}", "{{ listed }}", "{{ unit }}"]}
"#;
    let report = check(&[("op.yaml".to_owned(), content.to_owned())], &[], &[], true);
    assert!(report.ok, "{report}");
    assert_eq!(report.summary.as_ref().unwrap().matrix_size, Some(10));
    let warnings: Vec<String> = report.warnings.iter().map(|warning| warning.render()).collect();
    assert_eq!(
        warnings,
        [
            "op.yaml:5:12 matrix.numRuns: `numRuns` is 10 but the search space has only 6 combinations",
            "op.yaml:10:3 params.extra: param `extra` declares no input or output: it is only a context value",
            "op.yaml:15:12 component.inputs[2].name: input `unused` is never used: no template reads it (use `{{ unused }}` or `{{ params.unused.as_arg }}`, or `toEnv`)",
            "op.yaml:16:53 component.inputs[3].isList: `isList` is deprecated (use `type: List[...]`)",
            "op.yaml:19:104 component.run.container.args[3]: the template reads `unit`, which is not an input, output, param or global (did you mean `units`?)",
        ],
        "{report}"
    );
}
