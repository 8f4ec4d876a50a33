#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Saved views (Polyaxon's project searches) over the router, on SQLite and on PostgreSQL: CRUD,
//! the caller as `user`, scoping to `owner/project`, validation codes, and removal with the project.

mod support;

use http::{Method, StatusCode};
use serde_json::json;
use support::TestApp;

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::support::Backend::Sqlite).await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::support::Backend::Postgres).await).await })*
        }
    };
}

on_both_databases!(views_crud_and_scope, views_bad_input_leaves_nothing);

const VIEWS: &str = "/api/v1/default/demo/searches";

async fn views_crud_and_scope(t: TestApp) {
    t.project("demo").await;
    t.project("other").await;
    let body = json!({
        "name": "best runs",
        "description": "low loss",
        "tags": ["shared"],
        "spec": {"query": "metrics.loss:<0.2, status:succeeded", "sort": "-metrics.loss", "limit": 20,
                 "columns": "inputs.lr,metrics.loss,metrics.loss.min"},
    });
    let created = t.request(Method::POST, VIEWS, Some(body), Some("alice")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let v = created.body;
    let uuid = v["uuid"].as_str().unwrap().to_owned();
    assert_eq!(uuid.len(), 32, "32-hex uuid: {v}");
    assert_eq!(v["name"], "best runs");
    assert_eq!(v["user"], "alice");
    assert_eq!(v["tags"], json!(["shared"]));
    assert_eq!(v["spec"]["query"], "metrics.loss:<0.2, status:succeeded");
    assert_eq!(v["spec"]["sort"], "-metrics.loss");
    assert_eq!(v["spec"]["limit"], 20);
    assert_eq!(v["spec"]["columns"], "inputs.lr,metrics.loss,metrics.loss.min");
    assert_eq!(v["org_level"], false);

    let second = t.post(VIEWS, json!({"name": "all", "spec": {}})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
    assert_eq!(second.body["user"], "anonymous");

    let one = t.get(&format!("{VIEWS}/{uuid}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, v);

    let list = t.get(VIEWS).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["count"], 2);
    let names: Vec<_> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("all"), json!("best runs")], "newest first");
    let by_name = t.get(&format!("{VIEWS}?sort=name&limit=1")).await;
    assert_eq!(by_name.body["count"], 2);
    assert_eq!(by_name.body["results"][0]["name"], "all");
    assert!(by_name.body["next"].as_str().unwrap().contains("offset=1"));
    let filtered = t.get(&format!("{VIEWS}?query=name:best%25")).await;
    assert_eq!(filtered.body["count"], 1, "{:?}", filtered.body);

    // Another project (or owner) never sees it.
    let elsewhere = t.get(&format!("/api/v1/default/other/searches/{uuid}")).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(elsewhere.body["code"], "tracker.view_not_found");
    assert_eq!(t.get("/api/v1/default/other/searches").await.body["count"], 0);
    let gone_project = t.get("/api/v1/default/nope/searches").await;
    assert_eq!(gone_project.body["code"], "tracker.project_not_found");
    let patch_elsewhere = t
        .patch(&format!("/api/v1/default/other/searches/{uuid}"), json!({"name": "x"}))
        .await;
    assert_eq!(patch_elsewhere.status, StatusCode::NOT_FOUND);
    let delete_elsewhere = t.delete(&format!("/api/v1/default/other/searches/{uuid}")).await;
    assert_eq!(delete_elsewhere.status, StatusCode::NOT_FOUND);
    let bad_uuid = t.get(&format!("{VIEWS}/not-a-uuid")).await;
    assert_eq!(bad_uuid.body["code"], "tracker.view_not_found");

    // PATCH replaces what it names; the spec as a whole.
    let patched = t
        .patch(
            &format!("{VIEWS}/{uuid}"),
            json!({"name": "best", "spec": {"query": "status:failed"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["name"], "best");
    assert_eq!(patched.body["description"], "low loss");
    assert_eq!(patched.body["spec"], json!({"query": "status:failed"}));
    assert_eq!(patched.body["user"], "alice");
    assert_eq!(t.get(&format!("{VIEWS}/{uuid}")).await.body, patched.body);

    let deleted = t.delete(&format!("{VIEWS}/{uuid}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&format!("{VIEWS}/{uuid}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(VIEWS).await.body["count"], 1);

    // Deleting the project deletes its views.
    assert_eq!(t.delete("/api/v1/default/demo").await.status, StatusCode::NO_CONTENT);
    t.project("demo").await;
    assert_eq!(t.get(VIEWS).await.body["count"], 0);
}

async fn views_bad_input_leaves_nothing(t: TestApp) {
    t.project("demo").await;
    let cases = [
        (json!({"name": "  "}), "tracker.invalid_view", "name"),
        (json!({"name": "x".repeat(129)}), "tracker.invalid_view", "name"),
        (
            json!({"name": "v", "spec": {"limit": 0}}),
            "tracker.invalid_view",
            "spec.limit",
        ),
        (
            json!({"name": "v", "spec": {"query": "metrics.loss:<<"}}),
            "tracker.invalid_query",
            "query",
        ),
        (
            json!({"name": "v", "spec": {"sort": "nope"}}),
            "tracker.invalid_sort",
            "sort",
        ),
        (json!({"spec": {}}), "tracker.invalid_body", ""),
    ];
    for (body, code, field) in cases {
        let r = t.post(VIEWS, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
        assert_eq!(r.body["code"], code, "{body}: {:?}", r.body);
        if !field.is_empty() {
            assert_eq!(r.body["details"]["field"], field, "{body}: {:?}", r.body);
        }
    }
    assert_eq!(t.get(VIEWS).await.body["count"], 0);
    let created = t.post(VIEWS, json!({"name": "v"})).await;
    let uuid = created.body["uuid"].as_str().unwrap();
    let bad = t
        .patch(&format!("{VIEWS}/{uuid}"), json!({"spec": {"query": "status:"}}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
    assert_eq!(t.get(&format!("{VIEWS}/{uuid}")).await.body, created.body);
    let missing = t.post("/api/v1/default/nope/searches", json!({"name": "v"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["code"], "tracker.project_not_found");
}
