#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The whole permission matrix through the service: real users, memberships, a team and a grant
//! and direct project grants made over HTTP, every (role × situation × action) cell asked of `POST /internal/v1/authorize`
//! and compared with `tests/rbac_matrix.txt`. On SQLite and on PostgreSQL.

mod support;

use serde_json::json;
use support::{Backend, TestApp};

const ROLES: [&str; 6] = ["outsider", "viewer", "member", "admin", "manager", "owner"];
const SITUATIONS: [&str; 5] = ["alone", "tmember", "tadmin", "pmember", "padmin"];

#[tokio::test]
async fn every_cell_through_the_decision_endpoint_sqlite() {
    every_cell(support::spawn(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn every_cell_through_the_decision_endpoint_postgres() {
    every_cell(support::spawn(Backend::Postgres).await).await;
}

async fn every_cell(app: TestApp) {
    // The founder owns the org and administers team `ml` (the `t` of the table) (granted project `p`); they are not a subject.
    let founder = app.signup("founder").await;
    assert_eq!(
        app.post("/api/v1/orgs/create", &founder, json!({"name": "acme"}))
            .await
            .status,
        201
    );
    assert_eq!(
        app.post("/api/v1/orgs/acme/teams", &founder, json!({"name": "ml"}))
            .await
            .status,
        201
    );
    let grant = app
        .post("/api/v1/orgs/acme/teams/ml/projects", &founder, json!({"project": "p"}))
        .await;
    assert_eq!(grant.status, 201);

    let mut tokens = Vec::new();
    for situation in SITUATIONS {
        let mut row = Vec::new();
        for role in ROLES {
            let name = format!("{role}-{situation}");
            let token = app.signup(&name).await;
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
                let r = app.post(uri, &founder, json!({"user": name, "role": role})).await;
                assert_eq!(r.status, 201, "{uri}: {:?}", r.body);
            }
            row.push(token);
        }
        tokens.push(row);
    }

    let resource = json!({"owner": "acme", "team": "ml", "project": "p"});
    let mut wrong = Vec::new();
    let mut cells = 0;
    for line in include_str!("rbac_matrix.txt").lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let action = fields[0];
        for (s, situation) in SITUATIONS.iter().enumerate() {
            for (r, want) in fields[s + 1].chars().enumerate() {
                let decision = app.authorize(&tokens[s][r], action, resource.clone()).await;
                let got = match (decision["allowed"].as_bool(), decision["status"].as_u64()) {
                    (Some(true), Some(200)) => 'A',
                    (Some(false), Some(403)) => 'F',
                    (Some(false), Some(404)) => 'N',
                    other => panic!("unexpected decision {other:?}: {decision}"),
                };
                cells += 1;
                if got != want {
                    wrong.push(format!("{action} / {} / {situation}: want {want}, got {got}", ROLES[r]));
                }
            }
        }
    }
    let actions = myelin_auth::domain::rbac::Action::ALL.len();
    assert_eq!(
        cells,
        actions * ROLES.len() * SITUATIONS.len(),
        "every action, role and situation"
    );
    assert!(wrong.is_empty(), "{} wrong cells:\n{}", wrong.len(), wrong.join("\n"));
}
