#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! API scenarios over the router, written once and run on SQLite and on PostgreSQL
//! (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; unreachable = failure).

mod support;

use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Backend, CLI_CONTENT, TestApp, cli_run, condition};

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::Backend::Sqlite).await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::support::spawn(super::Backend::Postgres).await).await })*
        }
    };
}

on_both_databases!(
    projects_crud,
    project_bad_input_leaves_nothing,
    runs_create_from_cli_and_sdk,
    run_bad_input_leaves_nothing,
    runs_list_sort_paging_query,
    run_get_patch_delete,
    statuses_follow_the_lifecycle,
    stop_actions,
    clone_resume_and_flags,
    project_delete_removes_runs,
    http_edges,
);

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

async fn projects_crud(t: TestApp) {
    let created = t.project("demo").await;
    for key in [
        "uuid",
        "name",
        "description",
        "tags",
        "user",
        "created_at",
        "updated_at",
        "readme",
    ] {
        assert!(
            created.get(key).is_some(),
            "project_create key {key} missing: {created}"
        );
    }
    assert_eq!(created["uuid"].as_str().unwrap().len(), 32, "32-hex uuid");
    assert_eq!(created["user"], "anonymous");
    assert!(created["description"].is_null() && created["tags"].is_null());

    let r = t.post("/api/v1/default/projects/create", json!({"name": "demo"})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("tracker.project_exists"))
    );

    let r = t
        .request(
            Method::POST,
            "/api/v1/default/projects/create",
            Some(json!({"name": "mine", "tags": ["x"]})),
            Some("alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["user"], "alice", "the request subject is recorded");
    t.project("zeta").await;

    let got = t.get("/api/v1/default/demo").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["uuid"], created["uuid"]);
    assert_eq!(got.body["bookmarked"], false);

    let list = t.get("/api/v1/default/projects/list?sort=name&limit=2").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["count"], 3);
    let names: Vec<_> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("demo"), json!("mine")]);
    assert_eq!(list.body["previous"], Value::Null);
    assert_eq!(
        list.body["next"],
        "/api/v1/default/projects/list?limit=2&offset=2&sort=name"
    );
    let page2 = t.get("/api/v1/default/projects/list?sort=name&limit=2&offset=2").await;
    assert_eq!(page2.body["results"][0]["name"], "zeta");
    assert_eq!(
        page2.body["previous"],
        "/api/v1/default/projects/list?limit=2&sort=name"
    );
    let q = t.get("/api/v1/default/projects/list?query=name:%25et%25").await;
    assert_eq!(q.body["count"], 1);
    assert_eq!(q.body["results"][0]["name"], "zeta");

    let patched = t
        .patch("/api/v1/default/demo", json!({"description": "d", "tags": ["a", "b"]}))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        (patched.body["description"].as_str(), patched.body["tags"].clone()),
        (Some("d"), json!(["a", "b"]))
    );
    let renamed = t.patch("/api/v1/default/zeta", json!({"name": "mine"})).await;
    assert_eq!(renamed.status, StatusCode::CONFLICT);

    let r = t.delete("/api/v1/default/demo").await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::NO_CONTENT, Value::Null));
    let r = t.get("/api/v1/default/demo").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.project_not_found"))
    );
    assert_eq!(
        t.outbox_topics().await,
        [
            "project.created",
            "project.created",
            "project.created",
            "project.updated",
            "project.deleted"
        ]
    );
}

async fn project_bad_input_leaves_nothing(t: TestApp) {
    let before = t.counts().await;
    let cases: [(&str, Value, StatusCode, &str); 5] = [
        (
            "/api/v1/default/projects/create",
            json!({"name": "has space"}),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_name",
        ),
        (
            "/api/v1/default/projects/create",
            json!({"name": "ok", "is_public": "yes"}),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_body",
        ),
        (
            "/api/v1/default/projects/create",
            json!({"description": "no name"}),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_body",
        ),
        // A bad name under an owner the tracker has not seen yet creates neither.
        (
            "/api/v1/newcomer/projects/create",
            json!({"name": "bad name"}),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_name",
        ),
        (
            "/api/v1/default/projects/create",
            json!({"name": "projects"}),
            StatusCode::BAD_REQUEST,
            "tracker.invalid_name",
        ),
    ];
    for (uri, body, status, code) in cases {
        let r = t.post(uri, body.clone()).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            r.body
        );
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // The message names the offending field.
    let r = t
        .post(
            "/api/v1/default/projects/create",
            json!({"name": "ok", "is_public": "yes"}),
        )
        .await;
    assert!(r.body["message"].as_str().unwrap().contains("is_public"), "{}", r.body);
    let r = t
        .post("/api/v1/default/projects/create", json!({"name": "has space"}))
        .await;
    assert_eq!(r.body["details"]["field"], "name");
    let r = t
        .request(Method::POST, "/api/v1/default/projects/create", None, None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.counts().await, before, "no partial rows");
    let r = t.get("/api/v1/newcomer/projects/list").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Owners are the orgs of the auth service (the gateway checked the org): the tracker learns
    // an owner with its first project.
    let r = t.post("/api/v1/newcomer/projects/create", json!({"name": "ok"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t.get("/api/v1/newcomer/projects/list").await;
    assert_eq!(
        (r.status, r.body["count"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{}",
        r.body
    );
    let r = t.get("/api/v1/default/nope").await;
    assert_eq!(r.body["code"], "tracker.project_not_found");
    let r = t.get("/api/v1/default/projects/list?limit=abc").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_query"))
    );
}

async fn runs_create_from_cli_and_sdk(t: TestApp) {
    t.project("demo").await;
    let run = t.run("demo", cli_run()).await;
    assert_eq!(run["name"], "hello");
    assert_eq!(run["kind"], "job");
    assert_eq!(run["runtime"], "job");
    assert_eq!(run["status"], "created");
    assert_eq!(run["managed_by"], "agent");
    assert_eq!(run["is_managed"], true);
    assert_eq!(run["tags"], json!(["demo", "cli"]));
    assert_eq!(run["inputs"], json!({"msg": "override"}));
    assert_eq!(run["content"], CLI_CONTENT);
    assert_eq!(run["raw_content"], CLI_CONTENT);
    assert_eq!(run["meta_info"], json!({}));
    assert_eq!(
        (run["owner"].as_str(), run["project"].as_str()),
        (Some("default"), Some("demo"))
    );
    assert_eq!(run["settings"]["namespace"], "myelin");
    for key in [
        "started_at",
        "finished_at",
        "schedule_at",
        "wait_time",
        "duration",
        "pipeline",
        "original",
        "pending",
        "outputs",
        "readme",
    ] {
        assert_eq!(run[key], Value::Null, "{key}");
    }
    // Body values override the file's.
    let named = t
        .run("demo", json!({"content": CLI_CONTENT, "managed_by": "agent", "name": "named-run", "description": "d", "tags": ["a", "b"]}))
        .await;
    assert_eq!(
        (named["name"].as_str(), named["description"].as_str()),
        (Some("named-run"), Some("d"))
    );
    assert_eq!(named["tags"], json!(["a", "b"]));
    // YAML works too.
    let yaml = "version: 1.1\nkind: component\nname: yml\nrun:\n  kind: service\n  container:\n    image: nginx\n";
    let svc = t.run("demo", json!({"content": yaml})).await;
    assert_eq!(
        (svc["name"].as_str(), svc["kind"].as_str()),
        (Some("yml"), Some("service"))
    );
    // The SDK's unmanaged run.
    let sdk = t.run("demo", json!({"is_managed": false, "managed_by": "user", "name": "sdk-run", "description": "sdk", "tags": ["sdk"]})).await;
    assert_eq!(
        (sdk["kind"].as_str(), sdk["runtime"].clone(), sdk["content"].clone()),
        (Some("job"), Value::Null, Value::Null)
    );
    assert_eq!(
        (sdk["is_managed"].as_bool(), sdk["managed_by"].as_str()),
        (Some(false), Some("user"))
    );
    let r = t
        .request(
            Method::POST,
            "/api/v1/default/demo/runs",
            Some(json!({"name": "x"})),
            Some("bob"),
        )
        .await;
    assert_eq!(r.body["user"], "bob");
    let created = t.outbox_of("run.created").await;
    assert_eq!(created.len(), 5);
    assert_eq!(created[0]["payload"]["project"], "demo");
    assert_eq!(created[0]["version"], 1);
}

async fn run_bad_input_leaves_nothing(t: TestApp) {
    t.project("demo").await;
    let before = t.counts().await;
    let r = t
        .post(
            "/api/v1/default/demo/runs",
            json!({"content": "kind: operation\nrun: [1, 2\n"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_polyaxonfile"))
    );
    assert_eq!(r.body["details"]["field"], "content");
    assert!(r.body["details"]["line"].as_u64().is_some(), "{}", r.body);
    let bad_kind = "version: 1.1\nkind: component\nrun:\n  kind: teleport\n";
    let r = t.post("/api/v1/default/demo/runs", json!({"content": bad_kind})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"]["path"], "run.kind", "{}", r.body);
    assert_eq!(r.body["details"]["line"], 4);
    let r = t
        .post("/api/v1/default/demo/runs", json!({"content": "kind: spaceship\n"}))
        .await;
    assert_eq!(
        (r.status, r.body["details"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("kind"))
    );
    let r = t
        .post("/api/v1/default/demo/runs", json!({"managed_by": "robot"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("managed_by"), "{}", r.body);
    let r = t.post("/api/v1/default/demo/runs", json!({"inputs": [1]})).await;
    assert_eq!(
        (r.status, r.body["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("inputs"))
    );
    let r = t.post("/api/v1/default/nope/runs", cli_run()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.project_not_found"))
    );
    assert_eq!(t.counts().await, before, "no partial rows");
}

async fn runs_list_sort_paging_query(t: TestApp) {
    t.project("demo").await;
    let mut uuids = Vec::new();
    for name in ["b", "a", "c"] {
        uuids.push(
            t.run("demo", json!({"name": name, "is_managed": false})).await["uuid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let names = |v: &Value| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = t.get("/api/v1/default/demo/runs").await;
    assert_eq!((all.status, all.body["count"].clone()), (StatusCode::OK, json!(3)));
    assert_eq!(names(&all.body), ["c", "a", "b"], "newest first by default");
    assert_eq!(
        names(&t.get("/api/v1/default/demo/runs?sort=created_at").await.body),
        ["b", "a", "c"]
    );
    assert_eq!(
        names(&t.get("/api/v1/default/demo/runs?sort=name").await.body),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(&t.get("/api/v1/default/demo/runs?sort=-name").await.body),
        ["c", "b", "a"]
    );

    let first = t.get("/api/v1/default/demo/runs?limit=1&sort=created_at").await;
    assert_eq!(names(&first.body), ["b"]);
    assert_eq!(
        first.body["next"],
        "/api/v1/default/demo/runs?limit=1&offset=1&sort=created_at"
    );
    assert_eq!(first.body["previous"], Value::Null);
    let mid = t
        .get("/api/v1/default/demo/runs?offset=1&limit=1&sort=-created_at")
        .await;
    assert_eq!(names(&mid.body), ["a"]);
    assert_eq!(
        mid.body["next"],
        "/api/v1/default/demo/runs?limit=1&offset=2&sort=-created_at"
    );
    assert_eq!(
        mid.body["previous"],
        "/api/v1/default/demo/runs?limit=1&sort=-created_at"
    );
    let last = t.get(mid.body["next"].as_str().unwrap()).await;
    assert_eq!(
        (names(&last.body), last.body["next"].clone()),
        (vec!["b".to_owned()], Value::Null)
    );

    let r = t.get("/api/v1/default/demo/runs?sort=-bogus").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_sort"))
    );
    assert_eq!(r.body["details"]["field"], "sort");

    t.post(
        &format!("/api/v1/default/demo/runs/{}/statuses", uuids[0]),
        condition("running"),
    )
    .await;
    let q = t.get("/api/v1/default/demo/runs?query=status:running").await;
    assert_eq!(names(&q.body), ["b"]);
    let q = t.get("/api/v1/default/demo/runs?query=status:~running").await;
    assert_eq!(q.body["count"], 2);
    let q = t.get("/api/v1/default/demo/runs?query=name:a%7Cc&sort=name").await;
    assert_eq!(names(&q.body), ["a", "c"]);
    let r = t.get("/api/v1/default/demo/runs?query=status:flying").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t.get("/api/v1/default/demo/runs?query=color:red").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_query"))
    );
}

async fn run_get_patch_delete(t: TestApp) {
    t.project("demo").await;
    t.project("other").await;
    let sdk = t
        .run(
            "demo",
            json!({"is_managed": false, "managed_by": "user", "name": "sdk-run", "tags": ["sdk"]}),
        )
        .await;
    let uuid = sdk["uuid"].as_str().unwrap();
    let url = format!("/api/v1/default/demo/runs/{uuid}");
    let got = t.get(&url).await;
    assert_eq!((got.status, got.body["uuid"].as_str()), (StatusCode::OK, Some(uuid)));
    let dashed = uuid::Uuid::parse_str(uuid).unwrap().hyphenated().to_string();
    assert_eq!(
        t.get(&format!("/api/v1/default/demo/runs/{dashed}")).await.status,
        StatusCode::OK
    );

    // The SDK's merges (transcript sdk_runclient).
    let r = t
        .patch(&url, json!({"inputs": {"lr": 0.01, "batch": 32}, "merge": true}))
        .await;
    assert_eq!(r.body["inputs"], json!({"lr": 0.01, "batch": 32}));
    let r = t
        .patch(&url, json!({"outputs": {"accuracy": 0.9}, "merge": true}))
        .await;
    assert_eq!(
        (r.body["inputs"]["lr"].clone(), r.body["outputs"].clone()),
        (json!(0.01), json!({"accuracy": 0.9}))
    );
    let r = t.patch(&url, json!({"outputs": {"loss": 0.1}, "merge": true})).await;
    assert_eq!(r.body["outputs"], json!({"accuracy": 0.9, "loss": 0.1}));
    let r = t.patch(&url, json!({"tags": ["extra"], "merge": true})).await;
    assert_eq!(r.body["tags"], json!(["sdk", "extra"]));
    let r = t
        .patch(&url, json!({"meta_info": {"has_events": true}, "merge": true}))
        .await;
    assert_eq!(r.body["meta_info"], json!({"has_events": true}));
    // Without merge, fields are replaced.
    let r = t
        .patch(
            &url,
            json!({"tags": ["only"], "outputs": {"x": 1}, "description": "new"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["tags"].clone(), r.body["outputs"].clone()),
        (json!(["only"]), json!({"x": 1}))
    );
    assert_eq!(
        (r.body["description"].as_str(), r.body["inputs"]["batch"].clone()),
        (Some("new"), json!(32))
    );
    assert!(r.body["updated_at"].as_str().unwrap() > sdk["updated_at"].as_str().unwrap());
    let r = t.patch(&url, json!({"outputs": "nope"})).await;
    assert_eq!(
        (r.status, r.body["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("outputs"))
    );

    let r = t.get("/api/v1/default/demo/runs/not-a-uuid").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_uuid"))
    );
    let r = t
        .get(&format!("/api/v1/default/demo/runs/{}", uuid::Uuid::new_v4().simple()))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.run_not_found"))
    );
    let r = t.get(&format!("/api/v1/default/other/runs/{uuid}")).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a run is only found in its own project"
    );

    assert_eq!(t.delete(&url).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.delete(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.outbox_of("run.updated").await.len(), 6);
    assert_eq!(t.outbox_of("run.deleted").await.len(), 1);
}

async fn statuses_follow_the_lifecycle(t: TestApp) {
    t.project("demo").await;
    let run = t.run("demo", cli_run()).await;
    let base = format!("/api/v1/default/demo/runs/{}", run["uuid"].as_str().unwrap());
    let statuses = format!("{base}/statuses");
    for s in ["scheduled", "starting", "running"] {
        let r = t.post(&statuses, condition(s)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{s}: {}", r.body);
        assert_eq!(
            r.body,
            json!({"status": null, "status_conditions": null, "meta_info": null})
        );
    }
    let got = t.get(&base).await.body;
    assert_eq!(got["status"], "running");
    assert!(got["started_at"].is_string() && got["wait_time"].is_number());
    assert!(got["finished_at"].is_null() && got["duration"].is_null());

    // A duplicate replaces the last condition; nothing is appended and no event is written.
    let events_before = t.outbox_of("run.status.changed").await.len();
    assert_eq!(
        t.post(&statuses, condition("running")).await.status,
        StatusCode::CREATED
    );
    let st = t.get(&statuses).await.body;
    assert_eq!(st["status"], "running");
    let types: Vec<_> = st["status_conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("created"),
            json!("scheduled"),
            json!("starting"),
            json!("running")
        ]
    );
    assert!(
        st["status_conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "True")
    );
    assert_eq!(st["uuid"], run["uuid"]);
    assert_eq!(t.outbox_of("run.status.changed").await.len(), events_before);

    let r = t.post(&statuses, condition("created")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("tracker.invalid_transition"))
    );
    assert_eq!(
        (
            r.body["details"]["current_status"].as_str(),
            r.body["details"]["requested"].as_str()
        ),
        (Some("running"), Some("created"))
    );
    assert_eq!(t.post(&statuses, condition("done")).await.status, StatusCode::CONFLICT);
    assert_eq!(
        t.post(&statuses, condition("succeeded")).await.status,
        StatusCode::CREATED
    );
    let done = t.get(&base).await.body;
    assert!(done["finished_at"].is_string() && done["duration"].is_number());
    let r = t.post(&statuses, condition("running")).await;
    assert_eq!(
        (r.status, r.body["details"]["current_status"].as_str()),
        (StatusCode::CONFLICT, Some("succeeded"))
    );
    let mut forced = condition("resuming");
    forced["force"] = json!(true);
    assert_eq!(t.post(&statuses, forced).await.status, StatusCode::CREATED);
    let resumed = t.get(&base).await.body;
    assert_eq!(
        (resumed["status"].as_str(), resumed["finished_at"].clone()),
        (Some("resuming"), Value::Null)
    );

    let r = t.post(&statuses, json!({"condition": {"type": "flying"}})).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tracker.invalid_body"))
    );
    let r = t.post(&statuses, json!({})).await;
    assert!(r.body["message"].as_str().unwrap().contains("condition"), "{}", r.body);
    let changed = t.outbox_of("run.status.changed").await;
    let last = &changed.last().unwrap()["payload"];
    assert_eq!(
        (last["status"].as_str(), last["previous_status"].as_str()),
        (Some("resuming"), Some("succeeded"))
    );
}

async fn stop_actions(t: TestApp) {
    t.project("demo").await;
    let queued = t.run("demo", cli_run()).await;
    let url =
        |run: &Value, action: &str| format!("/api/v1/default/demo/runs/{}/{action}", run["uuid"].as_str().unwrap());
    // Not executing yet: stopped at once.
    let r = t.post_empty(&url(&queued, "stop")).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({})));
    let got = t.get(&url(&queued, "statuses")).await.body;
    assert_eq!(got["status"], "stopped");
    assert!(t.outbox_of("run.stop.requested").await.is_empty());
    // Stopping a done run changes nothing.
    assert_eq!(t.post_empty(&url(&queued, "stop")).await.status, StatusCode::OK);

    // Executing: stopping + run.stop.requested, then only done statuses are accepted.
    let running = t.run("demo", cli_run()).await;
    for s in ["scheduled", "starting", "running"] {
        t.post(&url(&running, "statuses"), condition(s)).await;
    }
    assert_eq!(t.post_empty(&url(&running, "stop")).await.status, StatusCode::OK);
    assert_eq!(t.get(&url(&running, "statuses")).await.body["status"], "stopping");
    let requested = t.outbox_of("run.stop.requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["payload"]["run"], running["uuid"]);
    assert_eq!(
        t.post_empty(&url(&running, "stop")).await.status,
        StatusCode::OK,
        "idempotent"
    );
    assert_eq!(t.outbox_of("run.stop.requested").await.len(), 1);
    let r = t.post(&url(&running, "statuses"), condition("running")).await;
    assert_eq!(
        (r.status, r.body["details"]["current_status"].as_str()),
        (StatusCode::CONFLICT, Some("stopping"))
    );
    assert_eq!(
        t.post(&url(&running, "statuses"), condition("stopped")).await.status,
        StatusCode::CREATED
    );
    let done = t
        .get(&format!(
            "/api/v1/default/demo/runs/{}",
            running["uuid"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(done["status"], "stopped");
    assert!(done["duration"].is_number());

    let r = t
        .post_empty("/api/v1/default/demo/runs/0123456789abcdef0123456789abcdef/stop")
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tracker.run_not_found"))
    );
}

async fn clone_resume_and_flags(t: TestApp) {
    t.project("demo").await;
    let run = t.run("demo", cli_run()).await;
    let uuid = run["uuid"].as_str().unwrap();
    let url = |action: &str| format!("/api/v1/default/demo/runs/{uuid}/{action}");

    // restart (the CLI posts `{}`) and copy (no body) make new runs pointing back.
    let restarted = t.post(&url("restart"), json!({})).await;
    assert_eq!(restarted.status, StatusCode::CREATED, "{}", restarted.body);
    let new = &restarted.body;
    assert_ne!(new["uuid"], run["uuid"]);
    assert_eq!(
        new["original"],
        json!({"uuid": uuid, "name": "hello", "kind": "restart"})
    );
    assert_eq!(
        (new["status"].as_str(), new["inputs"].clone()),
        (Some("created"), run["inputs"].clone())
    );
    assert_eq!(
        (new["content"].clone(), new["tags"].clone()),
        (run["content"].clone(), run["tags"].clone())
    );
    let copied = t.post_empty(&url("copy")).await;
    assert_eq!(
        (copied.status, copied.body["original"]["kind"].as_str()),
        (StatusCode::CREATED, Some("copy"))
    );
    let renamed = t.post(&url("copy"), json!({"name": "renamed"})).await;
    assert_eq!(renamed.body["name"], "renamed");

    // resume: only a done run.
    let r = t.post_empty(&url("resume")).await;
    assert_eq!(
        (r.status, r.body["details"]["current_status"].as_str()),
        (StatusCode::CONFLICT, Some("created"))
    );
    t.post(&url("statuses"), condition("failed")).await;
    let r = t.post(&url("resume"), json!({})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str(), r.body["uuid"].as_str()),
        (StatusCode::CREATED, Some("resuming"), Some(uuid))
    );

    // skip
    let other = t.run("demo", cli_run()).await;
    let skip = format!("/api/v1/default/demo/runs/{}/skip", other["uuid"].as_str().unwrap());
    assert_eq!(t.post_empty(&skip).await.body, json!({}));
    assert_eq!(
        t.get(&format!(
            "/api/v1/default/demo/runs/{}",
            other["uuid"].as_str().unwrap()
        ))
        .await
        .body["status"],
        "skipped"
    );

    // approve
    let pending = t.run("demo", json!({"name": "p", "pending": "approval"})).await;
    assert_eq!(
        (pending["pending"].as_str(), pending["is_approved"].as_bool()),
        (Some("approval"), Some(false))
    );
    let purl = format!("/api/v1/default/demo/runs/{}", pending["uuid"].as_str().unwrap());
    assert_eq!(t.post_empty(&format!("{purl}/approve")).await.status, StatusCode::OK);
    let approved = t.get(&purl).await.body;
    assert_eq!(
        (approved["pending"].clone(), approved["is_approved"].as_bool()),
        (Value::Null, Some(true))
    );

    // archive hides from lists unless asked; restore brings it back.
    let count = |v: &Value| v["count"].as_u64().unwrap();
    let before = count(&t.get("/api/v1/default/demo/runs").await.body);
    assert_eq!(t.post_empty(&url("archive")).await.body, json!({}));
    assert_eq!(count(&t.get("/api/v1/default/demo/runs").await.body), before - 1);
    let archived = t.get("/api/v1/default/demo/runs?query=archived:true").await.body;
    assert_eq!(
        (count(&archived), archived["results"][0]["uuid"].as_str()),
        (1, Some(uuid))
    );
    assert_eq!(
        t.get(&format!("/api/v1/default/demo/runs/{uuid}")).await.status,
        StatusCode::OK
    );
    t.post_empty(&url("restore")).await;
    assert_eq!(count(&t.get("/api/v1/default/demo/runs").await.body), before);
    let changes: Vec<_> = t
        .outbox_of("run.updated")
        .await
        .iter()
        .map(|e| e["payload"]["change"].clone())
        .collect();
    assert_eq!(changes, [json!("approve"), json!("archive"), json!("restore")]);
}

async fn project_delete_removes_runs(t: TestApp) {
    t.project("demo").await;
    t.project("keep").await;
    let a = t.run("demo", cli_run()).await;
    t.run("demo", json!({"name": "b"})).await;
    t.run("keep", json!({"name": "k"})).await;
    assert_eq!(t.counts().await.1, 3);
    assert_eq!(t.delete("/api/v1/default/demo").await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.counts().await.0, 1);
    assert_eq!(t.counts().await.1, 1, "only the other project's run is left");
    assert_eq!(
        t.get(&format!("/api/v1/default/demo/runs/{}", a["uuid"].as_str().unwrap()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let topics = t.outbox_topics().await;
    assert_eq!(
        &topics[topics.len() - 3..],
        ["run.deleted", "run.deleted", "project.deleted"]
    );
    assert_eq!(keys(&t.get("/api/v1/default/keep").await.body).len(), 12);
}

async fn http_edges(t: TestApp) {
    // The request id travels into the error body and into the events' correlation id.
    let req = Request::post("/api/v1/default/projects/create")
        .header("content-type", "application/json")
        .header("x-request-id", "req-123")
        .header("x-myelin-org", "acme")
        .body(axum::body::Body::from(json!({"name": "demo"}).to_string()))
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::CREATED);
    assert_eq!(t.outbox_of("project.created").await[0]["correlation_id"], "req-123");
    let req = Request::get("/api/v1/default/nope")
        .header("x-request-id", "req-404")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(
        (r.body["code"].as_str(), r.body["request_id"].as_str()),
        (Some("tracker.project_not_found"), Some("req-404"))
    );

    let doc = t.get("/internal/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/api/v1/{owner}/projects/create",
        "/api/v1/{owner}/{project}/runs/{uuid}/statuses",
        "/api/v1/{owner}/{project}/runs/{uuid}/restart",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc.body["components"]["schemas"].get("Run").is_some());
    assert_eq!(t.get("/healthz").await.status, StatusCode::OK);
    let ready = t.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body["database"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let r = t
        .request(Method::PUT, "/api/v1/default/projects/list", None, None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// A body over the limit is refused by the common layers (413) and writes nothing.
#[tokio::test]
async fn body_over_the_limit_is_413() {
    let mut settings = myelin_tracker::Settings::default();
    settings.http.body_limit_bytes = 2048;
    let t = support::spawn_with(Backend::Sqlite, settings).await;
    t.project("demo").await;
    let before = t.counts().await;
    let big = json!({"content": CLI_CONTENT, "description": "x".repeat(4096)});
    let r = t.post("/api/v1/default/demo/runs", big).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("http.payload_too_large"))
    );
    assert_eq!(t.counts().await, before);
    assert_eq!(
        t.post("/api/v1/default/demo/runs", cli_run()).await.status,
        StatusCode::CREATED
    );
}
