#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The permission matrix through the gateway: for every route of the table that needs an action,
//! every org role and every situation of `services/auth/tests/rbac_matrix.txt` (no team, team
//! member/admin, project member/admin), a real request with a real user's token must be forwarded
//! (A), refused 403 (F) or answered 404 (N) exactly as the hand-written table says. Embedded
//! (SQLite, in-process cache) and distributed (PostgreSQL, Redis).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use http::{Method, StatusCode};
use myelin_gateway::routes::{ROUTES, Rule};
use serde_json::json;
use support::access::{Db, Harness, Store, echo_tracker, harness_with};

const ROLES: [&str; 6] = ["outsider", "viewer", "member", "admin", "manager", "owner"];
const SITUATIONS: [&str; 5] = ["alone", "tmember", "tadmin", "pmember", "padmin"];

/// The table's expected letters by action name: `[situation][role]`.
fn expected() -> HashMap<String, Vec<Vec<char>>> {
    include_str!("../../auth/tests/rbac_matrix.txt")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let cells = fields[1..].iter().map(|f| f.chars().collect()).collect();
            (fields[0].to_owned(), cells)
        })
        .collect()
}

/// A concrete path for a pattern: org `acme`, project `p`, anything else `x`.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment {
            "{owner}" => "acme",
            "{project}" => "p",
            "{namespace}" => "polyaxon",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn users(h: &Harness) -> Vec<Vec<String>> {
    let founder = h.signup("founder").await;
    h.org(&founder, &[]).await;
    for (uri, body) in [
        ("/api/v1/orgs/acme/teams", json!({"name": "ml"})),
        ("/api/v1/orgs/acme/teams/ml/projects", json!({"project": "p"})),
    ] {
        let (status, body) = h.post(uri, &founder, body).await;
        assert!(status.is_success(), "{uri}: {body}");
    }
    let mut tokens = Vec::new();
    for situation in SITUATIONS {
        let mut row = Vec::new();
        for role in ROLES {
            let name = format!("{role}-{situation}");
            let token = h.signup(&name).await;
            let mut grants = Vec::new();
            if role != "outsider" {
                grants.push(("/api/v1/orgs/acme/members", role));
            }
            match situation {
                "tmember" => grants.push(("/api/v1/orgs/acme/teams/ml/members", "member")),
                "tadmin" => grants.push(("/api/v1/orgs/acme/teams/ml/members", "admin")),
                "pmember" => grants.push(("/api/v1/orgs/acme/projects/p/members", "member")),
                "padmin" => grants.push(("/api/v1/orgs/acme/projects/p/members", "admin")),
                _ => {}
            }
            for (uri, role) in grants {
                let (status, body) = h.post(uri, &founder, json!({"user": name, "role": role})).await;
                assert!(status.is_success(), "{uri}: {body}");
            }
            row.push(token);
        }
        tokens.push(row);
    }
    tokens
}

/// The echo tracker, except that deleting a project "fails" (409): a forwarded delete would make
/// the gateway tell auth the project is gone, withdrawing the grants the later cells rely on. A
/// forwarded request is an allowed cell whatever the upstream answers.
fn tracker() -> axum::Router {
    echo_tracker().layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let project_delete = request.method() == Method::DELETE
                && request.uri().path().trim_end_matches('/').split('/').count() == 5;
            let mut response = next.run(request).await;
            if project_delete {
                *response.status_mut() = StatusCode::CONFLICT;
            }
            response
        },
    ))
}

async fn every_route_and_cell(store: Store, db: Db) {
    let h = harness_with(store, db, Duration::from_secs(10), tracker()).await;
    let tokens = users(&h).await;
    let expected = expected();
    let (mut wrong, mut cells) = (Vec::new(), 0);
    for route in ROUTES {
        let Rule::Require(action) = route.rule else { continue };
        let want_row = expected
            .get(action.name())
            .unwrap_or_else(|| panic!("{action} is not in rbac_matrix.txt"));
        let path = concrete(route.pattern);
        for method in route.methods.split('|') {
            let method: Method = method.parse().unwrap();
            for (s, situation) in SITUATIONS.iter().enumerate() {
                for (r, role) in ROLES.iter().enumerate() {
                    let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
                    let (status, answer) = h.call(method.clone(), &path, Some(&tokens[s][r]), body).await;
                    let got = match status {
                        // Forwarded, with the caller as subject (the echo upstream says so).
                        _ if answer["subject"] == format!("{role}-{situation}") => 'A',
                        StatusCode::FORBIDDEN if answer["code"] == "auth.forbidden" => 'F',
                        StatusCode::NOT_FOUND if answer["code"] == "auth.not_found" => 'N',
                        _ => '?',
                    };
                    let want = want_row[s][r];
                    cells += 1;
                    if got != want {
                        wrong.push(format!(
                            "{method} {} ({action}) as {role}/{situation}: want {want}, got {got} ({status} {answer})",
                            route.pattern
                        ));
                    }
                }
            }
        }
    }
    assert!(cells >= 1200, "only {cells} cells");
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn every_route_and_cell_embedded() {
    every_route_and_cell(Store::Memory, Db::Sqlite).await;
}

#[tokio::test]
async fn every_route_and_cell_on_postgres_and_redis() {
    every_route_and_cell(Store::Redis, Db::Postgres).await;
}
