#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every test file (Polyaxon's own examples and the documentation examples of each section):
//! it parses with no warning but the known ones, compiles (or needs its referenced component),
//! and parse → serialize (camelCase YAML and JSON) → parse gives the same typed document.

use std::path::PathBuf;

use myelin_spec::{CompileContext, code, compile, parse, to_json, to_yaml};

fn files(folder: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(folder);
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn documentation_examples_parse_and_compile() {
    let docs = files("docs");
    assert!(docs.len() >= 25, "{} documentation examples", docs.len());
    for (name, content) in &docs {
        let document = parse(content).unwrap_or_else(|error| panic!("{name}: {}", error.render()));
        assert!(document.warnings.is_empty(), "{name}: {:?}", document.warnings);
        match compile(&document, &[], &[], &CompileContext::default()) {
            Ok(_) => {}
            Err(errors) if errors.len() == 1 && errors[0].code == code::UNRESOLVED_COMPONENT => {
                let value = &document.value;
                assert!(
                    ["hubRef", "pathRef", "urlRef"]
                        .iter()
                        .any(|key| value.get(key).is_some())
                        || value.get("isPreset").is_some(),
                    "{name}: {errors:?}"
                );
            }
            Err(errors) => panic!(
                "{name}: {}",
                errors.iter().map(|e| e.render()).collect::<Vec<_>>().join("\n")
            ),
        }
    }
}

#[test]
fn parse_serialize_parse_is_the_identity() {
    let all: Vec<(String, String)> = files("polyaxonfiles").into_iter().chain(files("docs")).collect();
    for (name, content) in &all {
        let document = parse(content).unwrap_or_else(|error| panic!("{name}: {error}"));
        let yaml = to_yaml(&document.spec).unwrap();
        let again = parse(&yaml).unwrap_or_else(|error| panic!("{name} serialized: {}\n{yaml}", error.render()));
        assert_eq!(again.spec, document.spec, "{name}\n{yaml}");
        assert_eq!(again.kind, document.kind, "{name}");
        let json = serde_json::to_string(&to_json(&document.spec).unwrap()).unwrap();
        assert_eq!(parse(&json).unwrap().spec, document.spec, "{name} as JSON");
        assert_eq!(to_yaml(&again.spec).unwrap(), yaml, "{name}: serialization is stable");
    }
}

#[test]
fn the_serialized_form_is_camel_case() {
    let content =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/docs/helpers.yaml"))
            .unwrap();
    let yaml = to_yaml(&parse(&content).unwrap().spec).unwrap();
    for camel in ["skipOnUpstreamSkip: true", "maxRetries: 2", "imagePullPolicy: Always"] {
        assert!(yaml.contains(camel), "{camel} in\n{yaml}");
    }
    for snake in ["skip_on_upstream_skip", "max_retries", "image_pull_policy"] {
        assert!(!yaml.contains(snake), "{snake} in\n{yaml}");
    }
    let params = parse("kind: operation\nhubRef: x\nparams:\n  lr: 0.1\n").unwrap();
    assert_eq!(
        to_json(&params.spec).unwrap()["params"]["lr"],
        serde_json::json!({"value": 0.1})
    );
}
