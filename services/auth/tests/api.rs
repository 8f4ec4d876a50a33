#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The HTTP API end to end over the router, on SQLite and on PostgreSQL (`DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; unreachable = failure): sign-up → login → tokens →
//! orgs → members → teams → grants → decisions, escalation attempts, expiry and revocation.

mod support;

use http::{Method, StatusCode};
use myelin_auth::store::entities::token;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::{Backend, TestApp};

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
    accounts_login_and_personal_tokens,
    orgs_members_teams_and_decisions,
    service_accounts_act_with_their_role,
    projects_granted_to_users_directly,
);

async fn accounts_login_and_personal_tokens(app: TestApp) {
    let alice = app.signup("alice").await;
    assert!(alice.starts_with("myl_"), "{alice}");
    let signup = |body: Value| app.call(Method::POST, "/api/v1/auth/signup", None, Some(body));
    let r = signup(json!({"username": "bob", "email": "nope", "password": "long enough"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "auth.invalid_name"));
    assert_eq!(r.body["details"]["field"], "email");
    let r = signup(json!({"username": "bob", "email": "bob@x.io", "password": "short"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "auth.weak_password"));
    let r = signup(json!({"username": "alice", "email": "other@x.io", "password": "long enough"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "auth.user_exists"));

    // Login by username or email; a wrong password and an unknown user answer alike.
    let login = |username: &str, password: &str| {
        let body = json!({"username": username, "password": password});
        app.call(Method::POST, "/api/v1/auth/token", None, Some(body))
    };
    let r = login("alice", "password-alice").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let session = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        login("alice@example.com", "password-alice").await.status,
        StatusCode::OK
    );
    let wrong = login("alice", "password-bob").await;
    let unknown = login("zed", "password-zed").await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "auth.invalid_credentials")
    );
    assert_eq!(
        (unknown.status, unknown.body["message"].clone()),
        (wrong.status, wrong.body["message"].clone())
    );

    let me = app.get("/api/v1/users", &session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["username"].as_str(), me.body["kind"].as_str()),
        (Some("alice"), Some("user"))
    );
    let r = app.call(Method::GET, "/api/v1/users", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "auth.unauthenticated"));
    let mut tampered = session.clone();
    tampered.replace_range(10..11, if &session[10..11] == "A" { "B" } else { "A" });
    assert_eq!(
        app.get("/api/v1/users", &tampered).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Personal tokens: the key is shown once, listed without it, revoked for good.
    let r = app
        .post(
            "/api/v1/users/tokens",
            &session,
            json!({"name": "ci", "expiration": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let uuid = r.body["uuid"].as_str().unwrap().to_owned();
    assert!(r.body["expires_at"].is_string());
    assert_eq!(app.get("/api/v1/users", &key).await.status, StatusCode::OK);
    let listed = app.get("/api/v1/users/tokens", &session).await;
    let ci = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["uuid"] == uuid.as_str())
        .unwrap()
        .clone();
    assert!(ci.get("key").is_none(), "{ci}");
    assert!(ci["last_used_at"].is_string(), "use is recorded: {ci}");
    assert_eq!(
        app.delete(&format!("/api/v1/users/tokens/{uuid}"), &session)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = app.get("/api/v1/users", &key).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "auth.token_revoked"));
    let r = app.delete(&format!("/api/v1/users/tokens/{uuid}"), &session).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "auth.token_not_found"));

    // Expiry: move the session's expiry into the past.
    token::Entity::update_many()
        .col_expr(
            token::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(token::Column::Name.eq("login"))
        .exec(&app.db)
        .await
        .unwrap();
    let r = app.get("/api/v1/users", &session).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "auth.token_expired"));
    let decision = app.authorize(&session, "run.view", json!({"owner": "acme"})).await;
    assert_eq!(
        (decision["allowed"].as_bool(), decision["status"].as_u64()),
        (Some(false), Some(401))
    );

    // Sign-up can be turned off.
    let closed = support::spawn_with(
        Backend::Sqlite,
        myelin_auth::Settings {
            allow_signup: false,
            ..support::settings()
        },
    )
    .await;
    let body = json!({"username": "eve", "email": "eve@x.io", "password": "long enough"});
    let r = closed.call(Method::POST, "/api/v1/auth/signup", None, Some(body)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "auth.signup_disabled"));
}

async fn add(app: &TestApp, token: &str, user: &str, role: &str) -> support::Resp {
    app.post("/api/v1/orgs/acme/members", token, json!({"user": user, "role": role}))
        .await
}

fn assert_decision(decision: &Value, allowed: bool, status: u64) {
    assert_eq!(
        (decision["allowed"].as_bool(), decision["status"].as_u64()),
        (Some(allowed), Some(status)),
        "{decision}"
    );
}

async fn orgs_members_teams_and_decisions(app: TestApp) {
    let [alice, bob, carol, dave] = [
        app.signup("alice").await,
        app.signup("bob").await,
        app.signup("carol").await,
        app.signup("dave").await,
    ];
    let r = app.post("/api/v1/orgs/create", &alice, json!({"name": "acme"})).await;
    assert_eq!(
        (r.status, r.body["role"].as_str()),
        (StatusCode::CREATED, Some("owner")),
        "{:?}",
        r.body
    );
    let r = app.post("/api/v1/orgs/create", &bob, json!({"name": "acme"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "auth.org_exists"));
    assert_eq!(add(&app, &alice, "bob", "member").await.status, StatusCode::CREATED);
    assert_eq!(add(&app, &alice, "carol", "viewer").await.status, StatusCode::CREATED);

    // An outsider learns nothing: 404, never 403.
    let r = app.get("/api/v1/orgs/acme", &dave).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "auth.org_not_found"));
    let ghost = app.get("/api/v1/orgs/ghost", &dave).await;
    assert_eq!((ghost.status, ghost.code()), (r.status, r.code()));
    assert_eq!(
        app.get("/api/v1/orgs/acme/members", &dave).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch("/api/v1/orgs/acme/members/bob", &dave, json!({"role": "viewer"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_decision(
        &app.authorize(&dave, "project.list", json!({"owner": "acme"})).await,
        false,
        404,
    );

    // A member cannot make themselves owner.
    let r = app
        .patch("/api/v1/orgs/acme/members/bob", &bob, json!({"role": "owner"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "auth.forbidden"));
    assert_decision(
        &app.authorize(&bob, "run.create", json!({"owner": "acme", "project": "x"}))
            .await,
        true,
        200,
    );
    assert_decision(
        &app.authorize(&carol, "run.create", json!({"owner": "acme", "project": "x"}))
            .await,
        false,
        403,
    );

    // Teams and grants: carol (viewer) is promoted on the projects granted to her team.
    let r = app.post("/api/v1/orgs/acme/teams", &alice, json!({"name": "ml"})).await;
    assert_eq!(
        (r.status, r.body["role"].as_str()),
        (StatusCode::CREATED, Some("admin")),
        "{:?}",
        r.body
    );
    let r = app.post("/api/v1/orgs/acme/teams", &bob, json!({"name": "bobs"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "members do not create teams");
    let r = app
        .post("/api/v1/orgs/acme/teams/ml/members", &alice, json!({"user": "carol"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .post(
            "/api/v1/orgs/acme/teams/ml/projects",
            &alice,
            json!({"project": "vision"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let team = app.get("/api/v1/orgs/acme/teams/ml", &carol).await;
    assert_eq!(
        (team.body["projects"].clone(), team.body["role"].as_str()),
        (json!(["vision"]), Some("member"))
    );
    let vision = json!({"owner": "acme", "project": "vision"});
    assert_decision(&app.authorize(&carol, "run.create", vision.clone()).await, true, 200);
    assert_decision(
        &app.authorize(&carol, "project.delete", vision.clone()).await,
        false,
        403,
    );
    assert_decision(
        &app.authorize(&carol, "run.create", json!({"owner": "acme", "project": "x"}))
            .await,
        false,
        403,
    );
    // An outsider in the team gets the team's rights on granted projects, and only there.
    assert_eq!(
        app.post("/api/v1/orgs/acme/teams/ml/members", &alice, json!({"user": "dave"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_decision(&app.authorize(&dave, "run.create", vision.clone()).await, true, 200);
    assert_decision(
        &app.authorize(&dave, "project.list", json!({"owner": "acme"})).await,
        false,
        403,
    );

    // A team admin administers their team, not the others.
    assert_eq!(
        app.post("/api/v1/orgs/acme/teams", &alice, json!({"name": "infra"}))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = app
        .post(
            "/api/v1/orgs/acme/teams/ml/members",
            &alice,
            json!({"user": "carol", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .patch("/api/v1/orgs/acme/teams/infra", &carol, json!({"name": "mine"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "auth.forbidden"));
    let r = app
        .post(
            "/api/v1/orgs/acme/teams/infra/projects",
            &carol,
            json!({"project": "vision"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "cannot grant to a team she does not administer"
    );
    let r = app
        .post("/api/v1/orgs/acme/teams/ml/members", &carol, json!({"user": "bob"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "a team admin manages her team: {:?}",
        r.body
    );
    let members = app.get("/api/v1/orgs/acme/teams/ml/members", &carol).await;
    assert_eq!(members.body["count"], 4, "{:?}", members.body);

    // Managers manage members, but never owners, and give no role above their own.
    assert_eq!(
        app.patch("/api/v1/orgs/acme/members/bob", &alice, json!({"role": "manager"}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.patch("/api/v1/orgs/acme/members/alice", &bob, json!({"role": "viewer"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete("/api/v1/orgs/acme/members/alice", &bob).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(add(&app, &bob, "dave", "owner").await.status, StatusCode::FORBIDDEN);
    assert_eq!(add(&app, &bob, "dave", "viewer").await.status, StatusCode::CREATED);
    let r = app
        .patch("/api/v1/orgs/acme/members/alice", &alice, json!({"role": "manager"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "auth.last_owner"));
    let members = app.get("/api/v1/orgs/acme/members", &carol).await;
    let roles: Vec<_> = members.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}:{}", m["user"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, ["alice:owner", "bob:manager", "carol:viewer", "dave:viewer"]);

    // The audit log: owners and managers read it; it holds the refusals too.
    let r = app.get("/api/v1/orgs/acme/audit", &carol).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let log = app.get("/api/v1/orgs/acme/audit?limit=1000", &bob).await;
    assert_eq!(log.status, StatusCode::OK);
    let entries = log.body["results"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["actor"] == "bob"
            && e["action"] == "member.change_role"
            && e["result"] == "auth.forbidden"
            && e["status"] == 403),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "alice" && e["action"] == "team.create" && e["result"] == "ok")
    );
    assert!(
        !entries.iter().any(|e| e["actor"] == "dave" && e["status"] == 404),
        "hidden probes stay out of the org's log"
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["actor"] == "bob" && e["action"] == "org.create"),
        "a failed attempt to take the name stays out of the org's log"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "alice" && e["action"] == "org.create" && e["status"] == 201)
    );

    // Only owners delete the org; then it is gone for everyone.
    assert_eq!(
        app.delete("/api/v1/orgs/acme", &bob).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete("/api/v1/orgs/acme", &alice).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("/api/v1/orgs/acme", &alice).await.status, StatusCode::NOT_FOUND);
    assert_decision(&app.authorize(&carol, "run.view", vision).await, false, 404);
}

async fn service_accounts_act_with_their_role(app: TestApp) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    app.post("/api/v1/orgs/create", &alice, json!({"name": "acme"})).await;
    app.post("/api/v1/orgs/create", &bob, json!({"name": "other"})).await;
    app.post(
        "/api/v1/orgs/acme/members",
        &alice,
        json!({"user": "bob", "role": "manager"}),
    )
    .await;

    let r = app
        .post("/api/v1/orgs/acme/sa", &bob, json!({"name": "root", "role": "owner"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a manager cannot create an owner account"
    );
    let r = app
        .post("/api/v1/orgs/acme/sa", &alice, json!({"name": "ci", "role": "member"}))
        .await;
    assert_eq!(
        (r.status, r.body["role"].as_str()),
        (StatusCode::CREATED, Some("member")),
        "{:?}",
        r.body
    );
    let r = app
        .post("/api/v1/orgs/acme/sa/ci/tokens", &bob, json!({"expiration": 7}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let uuid = r.body["uuid"].as_str().unwrap().to_owned();

    let me = app.get("/api/v1/users", &key).await;
    assert_eq!(
        (me.body["username"].as_str(), me.body["organization"].as_str()),
        (Some("sa:ci"), Some("acme"))
    );
    let run = app
        .authorize(&key, "run.create", json!({"owner": "acme", "project": "p"}))
        .await;
    assert_decision(&run, true, 200);
    assert_eq!(run["subject"], "sa:ci");
    assert_decision(
        &app.authorize(&key, "org.delete", json!({"owner": "acme"})).await,
        false,
        403,
    );
    assert_decision(
        &app.authorize(&key, "run.view", json!({"owner": "other"})).await,
        false,
        404,
    );
    let r = app.post("/api/v1/orgs/create", &key, json!({"name": "sa-org"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "auth.users_only"));

    let listed = app.get("/api/v1/orgs/acme/sa/ci/tokens", &alice).await;
    assert_eq!(listed.body["count"], 1);
    let r = app
        .delete(&format!("/api/v1/orgs/acme/sa/ci/tokens/{uuid}"), &bob)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_decision(
        &app.authorize(&key, "run.view", json!({"owner": "acme"})).await,
        false,
        401,
    );
    assert_eq!(
        app.delete("/api/v1/orgs/acme/sa/ci", &bob).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("/api/v1/orgs/acme/sa", &alice).await.body["count"], 0);
}

#[tokio::test]
async fn decision_endpoint_rejects_unknown_actions_and_bad_tokens() {
    let app = support::spawn(Backend::Sqlite).await;
    let body = json!({"token": "myl_x", "action": "run.fly", "resource": {"owner": "acme"}});
    let r = app.call(Method::POST, "/internal/v1/authorize", None, Some(body)).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "auth.invalid_body"));
    assert!(r.body["message"].as_str().unwrap().contains("run.fly"), "{:?}", r.body);
    assert_decision(
        &app.authorize("garbage", "run.view", json!({"owner": "acme"})).await,
        false,
        401,
    );
    let health = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn bootstrap_admin_org_list_and_internal_token() {
    let settings = myelin_auth::Settings {
        internal_token: Some(secrecy::SecretString::from("between-services")),
        ..support::settings()
    };
    let app = support::spawn_with(Backend::Sqlite, settings).await;
    let password = secrecy::SecretString::from("first-start-secret");
    assert!(
        app.app
            .ensure_admin("admin", "admin@localhost.localdomain", &password, "default")
            .await
            .unwrap()
    );
    assert!(
        !app.app
            .ensure_admin("admin", "admin@localhost.localdomain", &password, "default")
            .await
            .unwrap()
    );
    let body = json!({"username": "admin", "password": "first-start-secret"});
    let r = app.call(Method::POST, "/api/v1/auth/token", None, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let admin = r.body["token"].as_str().unwrap().to_owned();
    let orgs = app.get("/api/v1/orgs/list", &admin).await;
    assert_eq!(orgs.body["results"][0]["name"], "default");
    assert_eq!(orgs.body["results"][0]["role"], "owner");
    let r = app.post("/api/v1/orgs/create", &admin, json!({"name": "list"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "auth.invalid_name"));

    // With `internal_token`, the decision endpoint wants it.
    let ask = json!({"token": admin, "action": "org.delete", "resource": {"owner": "default"}});
    let r = app
        .call(Method::POST, "/internal/v1/authorize", None, Some(ask.clone()))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "auth.forbidden"));
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/internal/v1/authorize")
        .header("content-type", "application/json")
        .header("x-myelin-internal-token", "between-services")
        .body(axum::body::Body::from(ask.to_string()))
        .unwrap();
    let r = app.send(request).await;
    assert_decision(&r.body, true, 200);
    let decision = app
        .app
        .authorize(
            &secrecy::SecretString::from(admin.clone()),
            myelin_auth::domain::rbac::Action::OrgDelete,
            &myelin_auth::http::dto::ResourceRef {
                owner: "default".into(),
                project: None,
                team: None,
            },
        )
        .await
        .unwrap();
    assert!(decision.allowed, "{decision:?}");
}

#[tokio::test]
async fn logins_are_limited_and_changes_are_published() {
    let settings = myelin_auth::Settings {
        login: myelin_auth::limits::LoginLimits {
            max_failures: 3,
            window_secs: 300,
        },
        ..support::settings()
    };
    let app = support::spawn_with(Backend::Sqlite, settings).await;
    let mut invalidations = app.coord.subscribe(myelin_auth::invalidation::CHANNEL).await.unwrap();
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let login = |username: &str, password: &str| {
        let body = json!({"username": username, "password": password});
        app.call(Method::POST, "/api/v1/auth/token", None, Some(body))
    };
    for _ in 0..3 {
        assert_eq!(login("alice", "wrong-password").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = login("alice", "password-alice").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "auth.too_many_attempts")
    );
    assert!(r.body["details"]["retry_after_secs"].as_u64().unwrap() > 0);
    assert_eq!(
        login("bob", "password-bob").await.status,
        StatusCode::OK,
        "other users are not affected"
    );

    assert_eq!(
        app.post("/api/v1/orgs/create", &alice, json!({"name": "acme"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(next(&mut invalidations).await, json!({"org": "acme"}));
    assert_eq!(
        app.post(
            "/api/v1/orgs/acme/members",
            &alice,
            json!({"user": "bob", "role": "viewer"})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(next(&mut invalidations).await, json!({"org": "acme"}));
    let r = app
        .post("/api/v1/users/tokens", &alice, json!({"name": "laptop"}))
        .await;
    let (key, uuid) = (
        r.body["key"].as_str().unwrap().to_owned(),
        r.body["uuid"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        app.delete(&format!("/api/v1/users/tokens/{uuid}"), &alice).await.status,
        StatusCode::NO_CONTENT
    );
    let hash = myelin_auth::domain::token::TokenHash::of(&key).0;
    assert_eq!(next(&mut invalidations).await, json!({"token_hash": hash}));
}

async fn next(stream: &mut futures::stream::BoxStream<'static, bytes::Bytes>) -> Value {
    use futures::StreamExt;
    let bytes = tokio::time::timeout(std::time::Duration::from_secs(5), stream.next())
        .await
        .expect("no invalidation within 5 s")
        .expect("the channel closed");
    serde_json::from_slice(&bytes).unwrap()
}

async fn projects_granted_to_users_directly(app: TestApp) {
    let [alice, carol, dave] = [
        app.signup("alice").await,
        app.signup("carol").await,
        app.signup("dave").await,
    ];
    app.post("/api/v1/orgs/create", &alice, json!({"name": "acme"})).await;
    app.post(
        "/api/v1/orgs/acme/members",
        &alice,
        json!({"user": "carol", "role": "viewer"}),
    )
    .await;
    let vision = json!({"owner": "acme", "project": "vision"});
    assert_decision(
        &app.authorize(&carol, "project.update", vision.clone()).await,
        false,
        403,
    );

    // Carol, a viewer, is made admin of one project; she then gives dave, an outsider, a role on it.
    let members = "/api/v1/orgs/acme/projects/vision/members";
    let r = app
        .post(members, &alice, json!({"user": "carol", "role": "admin"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_decision(
        &app.authorize(&carol, "project.update", vision.clone()).await,
        true,
        200,
    );
    assert_decision(
        &app.authorize(&carol, "project.delete", vision.clone()).await,
        false,
        403,
    );
    let r = app.post(members, &dave, json!({"user": "dave", "role": "admin"})).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an outsider cannot grant himself anything"
    );
    assert_eq!(
        app.post(members, &carol, json!({"user": "dave"})).await.status,
        StatusCode::CREATED
    );
    assert_decision(&app.authorize(&dave, "run.create", vision.clone()).await, true, 200);
    assert_decision(
        &app.authorize(&dave, "run.create", json!({"owner": "acme", "project": "x"}))
            .await,
        false,
        403,
    );
    assert_decision(
        &app.authorize(&dave, "project.member.add", vision.clone()).await,
        false,
        403,
    );
    let listed = app.get(members, &dave).await;
    let roles: Vec<_> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [("carol".into(), "admin".into()), ("dave".into(), "member".into())]
    );

    // Withdrawn, dave has no relation left: 404 again.
    assert_eq!(
        app.delete(&format!("{members}/dave"), &carol).await.status,
        StatusCode::NO_CONTENT
    );
    assert_decision(&app.authorize(&dave, "run.view", vision.clone()).await, false, 404);
    // Removing carol from the org takes her project role too.
    assert_eq!(
        app.delete("/api/v1/orgs/acme/members/carol", &alice).await.status,
        StatusCode::NO_CONTENT
    );
    assert_decision(&app.authorize(&carol, "run.view", vision).await, false, 404);
}
