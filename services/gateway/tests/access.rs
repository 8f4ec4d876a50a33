#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Access control through the gateway, with the real auth service in-process and an echo upstream
//! standing in for the tracker: tokens, the decision per role, deny-by-default, the decision cache
//! and its invalidation (on the in-process store and on Redis), run tokens.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use chrono::Utc;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use myelin_common::run_token::{RunClaims, RunTokenKey};
use myelin_gateway::{App, Deps, Upstream};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::access::{Db, RUN_KEY, Store, harness};
use tower::ServiceExt;

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn decisions_per_role_reach_the_upstream_with_the_subject() {
    let h = harness(Store::Memory, Db::Sqlite, Duration::from_secs(10)).await;
    let owner = h.signup("olivia").await;
    let viewer = h.signup("victor").await;
    let outsider = h.signup("oscar").await;
    h.org(&owner, &[("victor", "viewer")]).await;
    let runs = "/api/v1/acme/demo/runs";

    // No token, a malformed one, an unknown one: 401, nothing forwarded.
    let (status, body) = h.call(Method::GET, runs, None, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "auth.unauthenticated"),
        "{body}"
    );
    let (status, _) = h.get(runs, "myl_not-a-real-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The owner may; the upstream sees who, and never the token.
    let (status, body) = h.post(runs, &owner, json!({"name": "r"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["subject"].as_str(), body["org"].as_str()),
        (Some("olivia"), Some("acme"))
    );
    // A viewer views but does not create.
    let (status, body) = h.get(runs, &viewer).await;
    assert_eq!((status, body["subject"].as_str()), (StatusCode::OK, Some("victor")));
    let (status, body) = h.post(runs, &viewer, json!({"name": "r"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "auth.forbidden"),
        "{body}"
    );
    // An outsider learns nothing: 404, as for an org that does not exist.
    let (status, body) = h.get(runs, &outsider).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "auth.not_found"),
        "{body}"
    );
    let (status, _) = h.get("/api/v1/nowhere/demo/runs", &owner).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Spoofed context headers are replaced.
    let request = Request::get(runs)
        .header("authorization", format!("Bearer {viewer}"))
        .header("x-myelin-subject", "olivia")
        .body(Body::empty())
        .unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["subject"], "victor");
    // Deny by default: a path outside the table never reaches a service, token or not.
    let (status, body) = h.get("/internal/v1/authorize", &owner).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "gateway.route_not_found")
    );
}

async fn cache_and_invalidation(store: Store, db: Db) {
    // A long TTL: only invalidation can make a change visible within the test.
    let h = harness(store, db, Duration::from_secs(300)).await;
    let owner = h.signup("olivia").await;
    let member = h.signup("mia").await;
    h.org(&owner, &[("mia", "member")]).await;
    let runs = "/api/v1/acme/demo/runs";

    // The invalidations of the org's creation may still be on their way: let them land first.
    assert_eq!(h.get(runs, &member).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.get(runs, &member).await.0, StatusCode::OK);
    let asked = h.asked.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(h.get(runs, &member).await.0, StatusCode::OK);
    }
    assert_eq!(
        h.asked.load(Ordering::SeqCst),
        asked,
        "repeated decisions come from the cache"
    );

    // Demoted to viewer: creating is refused at once.
    let (status, body) = h
        .call(
            Method::PATCH,
            "/api/v1/orgs/acme/members/mia",
            Some(&owner),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let refused = async {
        for _ in 0..100 {
            if h.post(runs, &member, json!({})).await.0 == StatusCode::FORBIDDEN {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    };
    assert!(refused.await, "the role change never reached the cache");
    assert!(h.get(runs, &member).await.0 == StatusCode::OK);

    // Removed: 404 at once (no relation to the org any more).
    let (status, _) = h
        .call(Method::DELETE, "/api/v1/orgs/acme/members/mia", Some(&owner), None)
        .await;
    assert!(status.is_success());
    let mut last = StatusCode::OK;
    for _ in 0..100 {
        last = h.get(runs, &member).await.0;
        if last == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last, StatusCode::NOT_FOUND);

    // A revoked personal token stops working at once, though its decisions were cached.
    let (status, created) = h.post("/api/v1/users/tokens", &owner, json!({"name": "ci"})).await;
    assert!(status.is_success(), "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(h.get(runs, &key).await.0, StatusCode::OK);
    assert_eq!(h.get(runs, &key).await.0, StatusCode::OK);
    let uuid = created["uuid"].as_str().unwrap();
    let (status, _) = h
        .call(
            Method::DELETE,
            &format!("/api/v1/users/tokens/{uuid}"),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success());
    let mut last = StatusCode::OK;
    for _ in 0..100 {
        last = h.get(runs, &key).await.0;
        if last == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cached_decisions_are_invalidated_in_process() {
    cache_and_invalidation(Store::Memory, Db::Sqlite).await;
}

#[tokio::test]
async fn cached_decisions_are_invalidated_on_redis_and_postgres() {
    cache_and_invalidation(Store::Redis, Db::Postgres).await;
}

#[tokio::test]
async fn run_tokens_reach_their_own_project_only() {
    let h = harness(Store::Memory, Db::Sqlite, Duration::from_secs(10)).await;
    let key = RunTokenKey::new(&SecretString::from(RUN_KEY));
    let uuid = "0123456789abcdef0123456789abcdef";
    let claims = |project: &str, exp: i64| RunClaims {
        run: uuid.into(),
        owner: "acme".into(),
        project: project.into(),
        exp,
    };
    let later = Utc::now().timestamp() + 600;
    let token = key.sign(&claims("demo", later));

    let (status, body) = h
        .call(
            Method::PATCH,
            &format!("/api/v1/acme/demo/runs/{uuid}"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"], format!("run:{uuid}"));
    assert_eq!(h.get("/api/v1/acme/demo/runs", &token).await.0, StatusCode::OK);
    // Not another project, not another org, not creating runs, not deleting.
    let (status, body) = h.get("/api/v1/acme/other/runs", &token).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "auth.not_found"));
    assert_eq!(h.get("/api/v1/evil/demo/runs", &token).await.0, StatusCode::NOT_FOUND);
    let (status, body) = h.post("/api/v1/acme/demo/runs", &token, json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "auth.forbidden"));
    let (status, _) = h
        .call(
            Method::DELETE,
            &format!("/api/v1/acme/demo/runs/{uuid}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get("/api/v1/acme/projects/list", &token).await.0,
        StatusCode::FORBIDDEN
    );
    // Expired, forged, or signed with another key: 401.
    let expired = key.sign(&claims("demo", Utc::now().timestamp() - 1));
    assert_eq!(
        h.get("/api/v1/acme/demo/runs", &expired).await.0,
        StatusCode::UNAUTHORIZED
    );
    let other = RunTokenKey::new(&SecretString::from("another key")).sign(&claims("demo", later));
    assert_eq!(
        h.get("/api/v1/acme/demo/runs", &other).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut forged = token.clone();
    forged.insert(6, 'x');
    assert_eq!(
        h.get("/api/v1/acme/demo/runs", &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn without_access_control_everyone_is_anonymous() {
    let app = App::build(
        support::settings(),
        Deps {
            tracker: Upstream::InProcess(support::upstream_app("tracker")),
            logs: Upstream::InProcess(Router::new()),
            auth: None,
        },
    )
    .await
    .unwrap();
    let request = Request::post("/api/v1/acme/demo/runs").body(Body::empty()).unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The auth API is not there, and says why.
    let request = Request::post("/api/v1/auth/token").body(Body::empty()).unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(code(&body), "gateway.auth_disabled");
}

#[tokio::test]
async fn mutating_requests_are_audited_and_creators_administer_their_projects() {
    let h = harness(Store::Memory, Db::Sqlite, Duration::from_secs(10)).await;
    let owner = h.signup("olivia").await;
    let viewer = h.signup("victor").await;
    let admin = h.signup("ada").await;
    h.org(&owner, &[("victor", "viewer"), ("ada", "admin")]).await;

    assert_eq!(
        h.post("/api/v1/acme/demo/runs", &owner, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.post("/api/v1/acme/demo/runs", &viewer, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    // Reads are not audited.
    assert_eq!(h.get("/api/v1/acme/demo/runs", &viewer).await.0, StatusCode::OK);
    let mut entries = Vec::new();
    for _ in 0..100 {
        let (status, body) = h.get("/api/v1/orgs/acme/audit", &owner).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        entries = body["results"].as_array().cloned().unwrap_or_default();
        entries.retain(|e| e["action"] == "run.create");
        if entries.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen: Vec<(String, String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(seen.contains(&("olivia".into(), "ok".into(), 200)), "{entries:?}");
    assert!(
        seen.contains(&("victor".into(), "auth.forbidden".into(), 403)),
        "{entries:?}"
    );
    assert!(entries.iter().all(|e| e["resource"] == "POST /api/v1/acme/demo/runs"));
    // The audit log is for owners and managers.
    assert_eq!(h.get("/api/v1/orgs/acme/audit", &viewer).await.0, StatusCode::FORBIDDEN);

    // An org admin may create projects but only delete those they administer: theirs.
    let (status, body) = h
        .post("/api/v1/acme/projects/create", &admin, json!({"name": "made"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = h.call(Method::DELETE, "/api/v1/acme/made", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = h.call(Method::DELETE, "/api/v1/acme/theirs", Some(&admin), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Deleted, the project's grants are gone: a project created again under that name by someone
    // else is not theirs.
    let mut last = StatusCode::OK;
    for _ in 0..100 {
        last = h.call(Method::DELETE, "/api/v1/acme/made", Some(&admin), None).await.0;
        if last == StatusCode::FORBIDDEN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last, StatusCode::FORBIDDEN, "the creator's grant outlived the project");
}
