#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Table of rejected Polyaxonfiles: exact code, path and line of each error, on block YAML,
//! flow YAML, one-line JSON (as the CLI sends it) and pretty-printed JSON.

use myelin_spec::{code, parse, parse_all, parse_overlay};

struct Case {
    name: &'static str,
    content: &'static str,
    code: &'static str,
    path: &'static str,
    line: u32,
    /// A part of the message that must be there.
    says: &'static str,
}

const JOB: &str = "run: {kind: job}";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Not a Polyaxonfile at all.
    Case { name: "yaml syntax", content: "version: 1.1\nkind: component\nrun:\n  kind: job\n   image: x\n", code: code::INVALID_YAML, path: "", line: 5, says: "invalid YAML/JSON" },
    Case { name: "unclosed flow sequence", content: "kind: component\ntags: [a, b\nrun: {kind: job}\n", code: code::INVALID_YAML, path: "", line: 3, says: "invalid YAML/JSON" },
    Case { name: "json syntax", content: r#"{"kind": "operation", "component": {"run": {"kind": "job"}}"#, code: code::INVALID_YAML, path: "", line: 1, says: "invalid YAML/JSON" },
    Case { name: "duplicate key", content: "kind: component\nname: a\nname: b\nrun: {kind: job}\n", code: code::INVALID_YAML, path: "name", line: 3, says: "duplicate" },
    Case { name: "two documents", content: "kind: component\n---\nkind: operation\n", code: code::INVALID_YAML, path: "", line: 3, says: "more than one document" },
    Case { name: "yaml tag", content: "kind: component\nrun: !job {kind: job}\n", code: code::INVALID_YAML, path: "run", line: 2, says: "tags are not supported" },
    Case { name: "empty", content: "", code: code::INVALID_DOCUMENT, path: "", line: 1, says: "empty" },
    Case { name: "only a comment", content: "# nothing here\n", code: code::INVALID_DOCUMENT, path: "", line: 1, says: "empty" },
    Case { name: "top level list", content: "\n- kind: component\n", code: code::INVALID_DOCUMENT, path: "", line: 2, says: "found a list" },
    Case { name: "top level string", content: "\"kind: component\"", code: code::INVALID_DOCUMENT, path: "", line: 1, says: "found a string" },
    // kind and version.
    Case { name: "missing kind", content: "---\nversion: 1.1\nname: x\n", code: code::MISSING_FIELD, path: "kind", line: 2, says: "one of component, operation" },
    Case { name: "unknown kind", content: "version: 1.1\nkind: experiment\n", code: code::UNKNOWN_KIND, path: "kind", line: 2, says: "unknown kind `experiment`: expected component, operation" },
    Case { name: "kind not a string", content: "kind: [component]\n", code: code::UNKNOWN_KIND, path: "kind", line: 1, says: "unknown kind a list" },
    Case { name: "wrong version", content: "version: 2\nkind: component\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "version", line: 1, says: "unsupported version `2`" },
    Case { name: "version not a number", content: "kind: component\nversion: v1\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "version", line: 2, says: "expected 1.1" },
    // Components and their run.
    Case { name: "component without run", content: "version: 1.1\nkind: component\nname: x\n", code: code::MISSING_FIELD, path: "run", line: 1, says: "needs a `run` section" },
    Case { name: "run without kind", content: "kind: component\nrun:\n  container:\n    image: x\n", code: code::MISSING_FIELD, path: "run.kind", line: 2, says: "`run.kind` is required" },
    Case { name: "unknown run kind", content: "kind: component\nrun:\n  kind: jobb\n", code: code::UNKNOWN_KIND, path: "run.kind", line: 3, says: "unknown run kind `jobb`: expected one of job" },
    Case { name: "run not a mapping", content: "kind: component\nrun: job\n", code: code::INVALID_FIELD, path: "run", line: 2, says: "must be a mapping" },
    // Operations and their component.
    Case { name: "operation without component", content: "version: 1.1\nkind: operation\nname: x\n", code: code::MISSING_FIELD, path: "component", line: 1, says: "one of `hubRef`" },
    Case { name: "two references", content: "kind: operation\nhubRef: tensorboard\npathRef: ./polyaxonfile.yml\n", code: code::CONFLICTING_FIELDS, path: "pathRef", line: 3, says: "`hubRef` and `pathRef`" },
    Case { name: "empty reference", content: "kind: operation\nurlRef: ''\n", code: code::INVALID_FIELD, path: "urlRef", line: 2, says: "must not be empty" },
    Case { name: "inline kind mismatch", content: "kind: operation\ncomponent:\n  kind: operation\n  run: {kind: job}\n", code: code::UNKNOWN_KIND, path: "component.kind", line: 3, says: "expected component" },
    Case { name: "cli json, bad run kind", content: r#"{"kind":"operation","component":{"kind":"component","run":{"kind":"jobs","container":{"image":"x"}}}}"#, code: code::UNKNOWN_KIND, path: "component.run.kind", line: 1, says: "did you mean `job`" },
    Case { name: "pretty json, bad run kind", content: "{\n  \"kind\": \"operation\",\n  \"component\": {\n    \"run\": {\n      \"kind\": \"spark\"\n    }\n  }\n}\n", code: code::UNKNOWN_KIND, path: "component.run.kind", line: 5, says: "expected one of job, service, dag" },
    Case { name: "run patch not a mapping", content: "kind: operation\nhubRef: x\nrunPatch: [a]\n", code: code::INVALID_FIELD, path: "runPatch", line: 3, says: "must be a mapping" },
    // name, description, tags.
    Case { name: "operation name with a space", content: "kind: operation\nname: my run\nhubRef: x\n", code: code::INVALID_FIELD, path: "name", line: 2, says: "invalid name `my run`" },
    Case { name: "operation name with a dot", content: "kind: operation\nname: a.b\nhubRef: x\n", code: code::INVALID_FIELD, path: "name", line: 2, says: "letters, digits" },
    Case { name: "name not a string", content: "kind: component\nname: 12\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "name", line: 2, says: "must be a string, found a number" },
    Case { name: "description not a string", content: "kind: component\ndescription:\n  - a\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "description", line: 3, says: "found a list" },
    Case { name: "tags a mapping", content: "kind: component\ntags: {a: b}\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "tags", line: 2, says: "list of strings" },
    Case { name: "tags item not a string", content: "kind: component\ntags:\n  - a\n  - 3\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "tags[1]", line: 4, says: "items must be strings" },
    // inputs / outputs.
    Case { name: "inputs not a list", content: "kind: component\ninputs: {name: lr}\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "inputs", line: 2, says: "must be a list" },
    Case { name: "input without name", content: "kind: component\ninputs:\n- type: int\nrun: {kind: job}\n", code: code::MISSING_FIELD, path: "inputs[0].name", line: 3, says: "needs a `name`" },
    Case { name: "unknown input type", content: "kind: component\ninputs:\n- name: a\n  type: int\n- {name: b, type: float}\n- name: c\n  value: 3\n  type: integer\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "inputs[2].type", line: 8, says: "unknown type `integer`" },
    Case { name: "duplicate input name", content: "kind: component\ninputs:\n- {name: lr, type: float}\n- {name: lr, type: int}\nrun: {kind: job}\n", code: code::CONFLICTING_FIELDS, path: "inputs[1].name", line: 4, says: "first at inputs[0].name" },
    Case { name: "reserved output name", content: "kind: component\noutputs:\n- name: globals\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "outputs[0].name", line: 3, says: "reserved" },
    Case { name: "flag not bool", content: "kind: component\ninputs:\n- name: check\n  type: str\n  isFlag: true\nrun: {kind: job}\n", code: code::INVALID_FIELD, path: "inputs[0].isFlag", line: 5, says: "type `bool`" },
    Case { name: "unknown input field", content: "kind: component\ninputs:\n- name: lr\n  isOptionnal: true\nrun: {kind: job}\n", code: code::UNKNOWN_FIELD, path: "inputs[0].isOptionnal", line: 4, says: "did you mean `isOptional`?" },
    // params.
    Case { name: "params not a mapping", content: "kind: operation\nhubRef: x\nparams: [lr]\n", code: code::INVALID_FIELD, path: "params", line: 3, says: "mapping of names" },
    Case { name: "param without value", content: "kind: operation\nhubRef: x\nparams:\n  lr:\n    connection: s3\n", code: code::MISSING_FIELD, path: "params.lr.value", line: 4, says: "needs a `value` or a `ref`" },
    Case { name: "param unknown field", content: "kind: operation\nhubRef: x\nparams:\n  lr: {vlaue: 0.1}\n", code: code::UNKNOWN_FIELD, path: "params.lr.vlaue", line: 4, says: "did you mean `value`?" },
    // Unknown fields.
    Case { name: "near miss", content: "kind: component\ninptus: []\nrun: {kind: job}\n", code: code::UNKNOWN_FIELD, path: "inptus", line: 2, says: "did you mean `inputs`?" },
    Case { name: "snake near miss", content: "kind: operation\nhub_reff: x\n", code: code::UNKNOWN_FIELD, path: "hub_reff", line: 2, says: "did you mean `hubRef`?" },
    Case { name: "far miss", content: "kind: operation\nhubRef: x\nresources: {cpu: 1}\n", code: code::UNKNOWN_FIELD, path: "resources", line: 3, says: "unknown field `resources` in an operation" },
    Case { name: "operation field in a component", content: "kind: component\nrun: {kind: job}\nparams: {}\n", code: code::UNKNOWN_FIELD, path: "params", line: 3, says: "belongs to an operation" },
    Case { name: "component field in an operation", content: "kind: operation\nhubRef: x\ninputs: []\n", code: code::UNKNOWN_FIELD, path: "inputs", line: 3, says: "belongs to a component" },
    Case { name: "both spellings", content: "kind: operation\nhubRef: a\nhub_ref: b\n", code: code::CONFLICTING_FIELDS, path: "hub_ref", line: 3, says: "repeats `hubRef`" },
    // Inside a dag.
    Case { name: "dag operation field", content: "kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a\n    dagRef: t\n  - name: b\n    dagRef: t\n    dependecies: [a]\n", code: code::UNKNOWN_FIELD, path: "run.operations[1].dependecies", line: 9, says: "did you mean `dependencies`?" },
    Case { name: "dag component run kind", content: "kind: component\nrun:\n  kind: dag\n  components:\n  - name: t\n    run:\n      kind: jbo\n", code: code::UNKNOWN_KIND, path: "run.components[0].run.kind", line: 7, says: "did you mean `job`?" },
];

#[test]
fn each_bad_polyaxonfile_is_rejected_with_code_path_and_line() {
    let mut failures = Vec::new();
    for case in CASES {
        let error = match parse(case.content) {
            Ok(document) => {
                failures.push(format!("{}: accepted as {:?}", case.name, document.kind));
                continue;
            }
            Err(error) => error,
        };
        let got = (error.code, error.path.as_str(), error.line);
        if got != (case.code, case.path, Some(case.line)) || !error.to_string().contains(case.says) {
            failures.push(format!(
                "{}: got {got:?} `{}`, want {:?} saying `{}`",
                case.name,
                error.message,
                (case.code, case.path, case.line),
                case.says
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_display_with_path_and_line() {
    let error = parse("kind: component\nrun:\n  kind: jobb\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "run.kind (line 3): unknown run kind `jobb`: expected one of {} (did you mean `job`?)",
            all_run_kinds()
        )
    );
    assert_eq!(error.column, Some(9));
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert!(boxed.to_string().starts_with("run.kind (line 3)"));
}

#[test]
fn parse_all_reports_every_error_once_in_file_order_and_parse_the_first() {
    // A misspelt field, a bad type, an unknown field of a container read by the typed model,
    // and a misspelt `run` field that would otherwise also read as a missing `run`.
    let content = "kind: component\ntgas: [a]\ninputs:\n- {name: lr, type: flaot}\n- {name: lr, type: int}\n\
                   rnu: {kind: job}\n";
    let errors = parse_all(content).unwrap_err();
    let found: Vec<(&str, &str, Option<u32>)> = errors
        .iter()
        .map(|error| (error.code, error.path.as_str(), error.line))
        .collect();
    assert_eq!(
        found,
        [
            (code::UNKNOWN_FIELD, "tgas", Some(2)),
            (code::INVALID_FIELD, "inputs[0].type", Some(4)),
            (code::CONFLICTING_FIELDS, "inputs[1].name", Some(5)),
            (code::UNKNOWN_FIELD, "rnu", Some(6)),
        ]
    );
    assert_eq!(errors[3].hint.as_deref(), Some("did you mean `run`?"));
    assert_eq!(parse(content).unwrap_err(), errors[0]);

    // Errors of the shape and of the typed model together, none repeated.
    let content = "kind: component\nname: a b\nrun:\n  kind: job\n  container: {image: x, comand: [a]}\n  \
                   environment: {nodeSelector: 3}\n";
    let errors = parse_all(content).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(paths, ["name", "run.container.comand", "run.environment.nodeSelector"]);
}

#[test]
fn an_overlay_is_read_as_a_preset() {
    let overlay = "kind: operation\nparams:\n  epochs: {value: 7}\n";
    let errors = parse_all(overlay).unwrap_err();
    assert_eq!(errors[0].code, code::MISSING_FIELD);
    assert_eq!(errors[0].path, "component");
    let document = parse_overlay(overlay).unwrap();
    assert_eq!(document.value["isPreset"], true);
    let explicit = parse_overlay("kind: operation\nisPreset: false\nqueue: gpu\n").unwrap_err();
    assert_eq!(explicit[0].path, "component");
}

fn all_run_kinds() -> String {
    myelin_spec::RunKind::ALL.map(|kind| kind.as_str()).join(", ")
}

#[test]
fn lenient_forms_polyaxon_accepts() {
    let cases = [
        format!("kind: component\nversion: 1\n{JOB}\n"),
        format!("kind: component\nversion: '1.1'\n{JOB}\n"),
        format!("kind: component\nversion: 1.0\n{JOB}\n"),
        format!("kind: component\nversion: null\nname: null\n{JOB}\n"),
        "kind: operation\nhub_ref: tensorboard\nskip_on_upstream_skip: true\nis_approved: false\n".to_owned(),
        "kind: operation\nisPreset: true\nqueue: agent/gpu\n".to_owned(),
        "kind: operation\nhubRef: tensorboard\ncomponent: {run: {kind: service}}\n".to_owned(),
        "kind: operation\nname: '{{ globals.uuid }}'\nparams: {lr: {value: null}, data: {ref: ops.prep, value: outputs.path}}\nhubRef: x\n".to_owned(),
        format!("kind: component\nname: org/tensorboard:v2.1\ninputs:\n- {{name: lrs, type: 'List[float]'}}\n- {{name: x}}\n{JOB}\n"),
        "kind: operation\nhubRef: x\nparams:\n  lr: 0.1\n  layers: [1, 2]\n  config: {optimizer: adam}\n".to_owned(),
        "base: &base\n  kind: job\nkind: component\nrun:\n  <<: *base\n".to_owned(),
    ];
    for content in &cases[..cases.len() - 1] {
        parse(content).unwrap_or_else(|error| panic!("{error}\n{content}"));
    }
    // A merge key is applied, but `base` stays an unknown top-level field.
    let error = parse(&cases[cases.len() - 1]).unwrap_err();
    assert_eq!(
        (error.code, error.path.as_str(), error.line),
        (code::UNKNOWN_FIELD, "base", Some(1))
    );

    let document = parse(&format!("\u{feff}kind: component\ntags: 'a, b,,c '\n{JOB}\n")).unwrap();
    assert_eq!(document.tags, ["a", "b", "c"]);
    let document =
        parse("kind: operation\nname: override\ncomponent: {name: inner, description: d, run: {kind: tfjob}}\n")
            .unwrap();
    assert_eq!(document.name.as_deref(), Some("override"));
    assert_eq!(document.description.as_deref(), Some("d"));
    assert_eq!(document.run_kind, Some(myelin_spec::RunKind::Tfjob));
}
