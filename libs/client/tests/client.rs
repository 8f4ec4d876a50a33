#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The client against a small recording server on port 0: what it sends (method, path, query,
//! body, token) and how it reads answers and error envelopes. The CLI tests run it against a real
//! `myelin server`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use myelin_client::{Client, Error};
use myelin_contracts::{CreateProject, ListQuery, RunUuid};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(String, String, Option<String>, String)>>>;

async fn record(State(seen): State<Seen>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(body.to_vec()).unwrap();
    seen.lock()
        .unwrap()
        .push((method.to_string(), uri.to_string(), auth, body));
    let now = "2026-01-01T00:00:00Z";
    match (method.as_str(), uri.path()) {
        ("POST", "/api/v1/default/projects/create") => (
            StatusCode::CREATED,
            axum::Json(
                json!({"uuid": "c49993accb5c46f481c7be3c0eac01f0", "name": "demo", "description": null,
                "tags": null, "user": null, "created_at": now, "updated_at": now, "readme": null}),
            ),
        )
            .into_response(),
        ("GET", "/api/v1/default/projects/list") => {
            axum::Json(json!({"count": 0, "results": [], "previous": null, "next": null})).into_response()
        }
        ("GET", "/api/v1/default/nope") => (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"code": "tracker.project_not_found", "message": "project default/nope does not exist",
                "request_id": "rid-9"}),
            ),
        )
            .into_response(),
        ("POST", p) if p.ends_with("/stop") => axum::Json(json!({})).into_response(),
        ("DELETE", _) => StatusCode::NO_CONTENT.into_response(),
        ("GET", "/api/v1/installation") => {
            axum::Json(json!({"key": "k", "version": "2", "dist": "ce"})).into_response()
        }
        _ => (StatusCode::BAD_GATEWAY, "upstream exploded").into_response(),
    }
}

async fn server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(record).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn sends_polyaxon_paths_and_reads_answers() {
    let (host, seen) = server().await;
    let client = Client::new(&host, Some("secret".into())).unwrap();

    let body = CreateProject {
        name: "demo".into(),
        is_public: Some(true),
        ..Default::default()
    };
    let project = client.create_project("default", &body).await.unwrap();
    assert_eq!(project.name, "demo");
    let query = ListQuery {
        limit: Some(5),
        sort: Some("-created_at".into()),
        ..Default::default()
    };
    let page = client.list_projects("default", &query).await.unwrap();
    assert_eq!(page.count, 0);
    let uuid: RunUuid = "c49993accb5c46f481c7be3c0eac01f0".parse().unwrap();
    client.stop_run("default", "demo", &uuid).await.unwrap();
    client.delete_run("default", "demo", &uuid).await.unwrap();
    assert_eq!(client.installation().await.unwrap().dist, "ce");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "POST");
    assert_eq!(seen[0].1, "/api/v1/default/projects/create");
    assert_eq!(seen[0].2.as_deref(), Some("token secret"));
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].3).unwrap(),
        json!({"name": "demo", "is_public": true})
    );
    assert_eq!(seen[1].1, "/api/v1/default/projects/list?limit=5&sort=-created_at");
    assert_eq!(
        seen[2].1,
        "/api/v1/default/demo/runs/c49993accb5c46f481c7be3c0eac01f0/stop"
    );
    assert_eq!(
        (seen[3].0.as_str(), seen[3].1.as_str()),
        ("DELETE", "/api/v1/default/demo/runs/c49993accb5c46f481c7be3c0eac01f0")
    );
}

#[tokio::test]
async fn errors_carry_the_envelope_and_the_status() {
    let (host, _) = server().await;
    let client = Client::new(&host, None).unwrap();
    match client.get_project("default", "nope").await {
        Err(Error::Api {
            status,
            code,
            message,
            request_id,
        }) => {
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_eq!(code, "tracker.project_not_found");
            assert_eq!(message, "project default/nope does not exist");
            assert_eq!(request_id.as_deref(), Some("rid-9"));
        }
        other => panic!("{other:?}"),
    }
    // A non-envelope error body still gives a status and a code.
    let error = client.get_run("default", "x", &RunUuid::new()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(error.code(), Some("http.502"));
    assert_eq!(error.to_string(), "upstream exploded");
    // Nothing listening.
    let client = Client::new("http://127.0.0.1:9", None).unwrap();
    assert!(matches!(client.installation().await, Err(Error::Transport { .. })));
}
