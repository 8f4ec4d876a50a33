#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests pinning the wire shapes.
//!
//! Each case reads a body recorded from Polyaxon's reference server (`golden/polyaxon/*.json`),
//! deserializes it into our type, serializes it back and checks:
//! 1. every key Polyaxon sent is still there (and, for `exact` cases, no key was added), recursively;
//! 2. our output equals the pinned file `golden/<name>` (regenerate with `MYELIN_UPDATE_GOLDEN=1`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use myelin_contracts::events::{Envelope, RUN_CREATED, RunEvent};
use myelin_contracts::installation::Installation;
use myelin_contracts::{
    CreateProject, CreateRun, ListResponse, PatchRun, Project, Run, RunStatus, StatusBody, Statuses,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Checks that `ours` keeps every key of `theirs` (and adds none when `exact`), recursively.
fn check_keys(theirs: &Value, ours: &Value, exact: bool, at: &str) {
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            let tk: BTreeSet<_> = t.keys().collect();
            let ok: BTreeSet<_> = o.keys().collect();
            let missing: Vec<_> = tk.difference(&ok).collect();
            assert!(missing.is_empty(), "{at}: keys lost in the round trip: {missing:?}");
            if exact {
                let added: Vec<_> = ok.difference(&tk).collect();
                assert!(added.is_empty(), "{at}: keys Polyaxon does not send: {added:?}");
            }
            for (k, tv) in t {
                check_keys(tv, &o[k], exact, &format!("{at}.{k}"));
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            assert_eq!(t.len(), o.len(), "{at}: array length changed");
            for (i, (tv, ov)) in t.iter().zip(o).enumerate() {
                check_keys(tv, ov, exact, &format!("{at}[{i}]"));
            }
        }
        (Value::Null, o) => assert!(o.is_null(), "{at}: null became {o}"),
        (t, Value::Null) => panic!("{at}: {t} became null"),
        _ => {}
    }
}

fn case<T: DeserializeOwned + Serialize>(name: &str, exact: bool) -> (Value, Value) {
    let theirs = read(dir().join("polyaxon").join(name));
    let typed: T = serde_json::from_value(theirs.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ours = serde_json::to_value(&typed).unwrap();
    check_keys(&theirs, &ours, exact, name);
    pin(name, &ours);
    (theirs, ours)
}

fn pin(name: &str, ours: &Value) {
    let path = dir().join(name);
    if std::env::var_os("MYELIN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(ours).unwrap() + "\n").unwrap();
    }
    assert_eq!(&read(path), ours, "{name}: output differs from the pinned golden file");
}

#[test]
fn run_get_keeps_polyaxon_keys_and_values() {
    let (theirs, ours) = case::<Run>("run_get.json", true);
    for k in [
        "uuid",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
        "wait_time",
        "duration",
        "content",
    ] {
        assert_eq!(theirs[k], ours[k], "{k}");
    }
}

#[test]
fn run_variants() {
    let (_, ours) = case::<Run>("run_restart.json", false);
    assert_eq!(ours["original"]["kind"], "restart");
    case::<Run>("run_patch_sdk.json", true);
    let (_, list) = case::<ListResponse<Run>>("run_list.json", false);
    assert_eq!(list["count"], 3);
    assert!(list["next"].as_str().unwrap().contains("offset=2"));
}

#[test]
fn projects() {
    case::<Project>("project_create.json", true);
    case::<Project>("project_get.json", true);
    case::<ListResponse<Project>>("project_list.json", false);
}

#[test]
fn statuses() {
    let (_, ours) = case::<RunStatus>("run_statuses.json", true);
    // Booleans sent by the agent are normalized to Polyaxon's "True".
    assert!(
        ours["status_conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "True")
    );
    let (_, empty) = case::<RunStatus>("status_post_response.json", true);
    assert_eq!(
        empty,
        serde_json::json!({"status": null, "status_conditions": null, "meta_info": null})
    );
    let body: StatusBody = serde_json::from_value(read(dir().join("polyaxon/status_post_body.json"))).unwrap();
    assert_eq!(body.condition.type_, Statuses::Scheduled);
    case::<StatusBody>("status_post_body.json", true);
}

#[test]
fn request_bodies() {
    case::<CreateRun>("create_run_cli.json", true);
    case::<CreateRun>("create_run_sdk.json", true);
    case::<PatchRun>("patch_run_sdk.json", true);
    case::<CreateProject>("create_project_cli.json", true);
    case::<Installation>("installation.json", true);
}

#[test]
fn envelope_shape_is_pinned() {
    let env: Envelope = serde_json::from_value(read(dir().join("envelope_run_created.json"))).unwrap();
    assert_eq!(env.type_, RUN_CREATED);
    let payload: RunEvent = env.payload_as().unwrap();
    assert_eq!(payload.status, Statuses::Created);
    let keys: BTreeSet<String> = serde_json::to_value(&env)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let expected: BTreeSet<String> = ["type", "version", "id", "occurred_at", "correlation_id", "payload"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(keys, expected);
    pin("envelope_run_created.json", &serde_json::to_value(&env).unwrap());
}
