#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Repository functions on SQLite and on PostgreSQL (`DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; unreachable = failure), a fresh database per test.

mod support;

use chrono::Duration;
use myelin_auth::domain::names::{Email, OrgName, ServiceAccountName, TeamName, Username};
use myelin_auth::domain::rbac::{OrgRole, TeamMembership, TeamRole};
use myelin_auth::domain::token;
use myelin_auth::error::Error;
use myelin_auth::store::facts::{self, Subject};
use myelin_auth::store::tokens::TokenOwner;
use myelin_auth::store::{Store, audit, now, orgs, service_accounts, teams, tokens, users};
use secrecy::SecretString;
use support::Backend;

macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::store(super::Backend::Sqlite).await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::store(super::Backend::Postgres).await).await })*
        }
    };
}

on_both_databases!(
    users_orgs_and_members,
    teams_grants_and_facts,
    tokens_and_service_accounts,
    audit_log
);

struct Db {
    store: Store,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn store(backend: Backend) -> Db {
    let (db, guard) = support::database(backend).await;
    Db {
        store: Store::new(db),
        _guard: guard,
    }
}

async fn user(store: &Store, name: &str) -> myelin_auth::store::entities::user::Model {
    let username: Username = name.parse().unwrap();
    let email: Email = format!("{name}@Example.com").parse().unwrap();
    users::create(store, &username, &email, "$argon2id$fake".into())
        .await
        .unwrap()
}

async fn users_orgs_and_members(db: Db) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    assert_eq!(alice.email, "alice@example.com", "emails are stored lower-cased");
    let dup = users::create(s, &"alice".parse().unwrap(), &"x@y.io".parse().unwrap(), "h".into()).await;
    assert!(matches!(dup, Err(Error::Exists { what: "user", .. })), "{dup:?}");
    let dup = users::create(
        s,
        &"alice2".parse().unwrap(),
        &"ALICE@example.com".parse().unwrap(),
        "h".into(),
    )
    .await;
    assert!(matches!(dup, Err(Error::Exists { what: "email", .. })), "{dup:?}");
    let bob = user(s, "bob").await;

    let name: OrgName = "acme".parse().unwrap();
    let acme = orgs::create(s, &name, &alice).await.unwrap();
    assert!(matches!(
        orgs::create(s, &name, &bob).await,
        Err(Error::Exists { what: "org", .. })
    ));
    assert_eq!(
        orgs::member_role(s, acme.id, alice.id).await.unwrap(),
        Some(OrgRole::Owner)
    );
    assert_eq!(orgs::member_role(s, acme.id, bob.id).await.unwrap(), None);

    orgs::add_member(s, acme.id, &bob, OrgRole::Viewer).await.unwrap();
    let again = orgs::add_member(s, acme.id, &bob, OrgRole::Member).await;
    assert!(
        matches!(again, Err(Error::Exists { what: "member", ref name }) if name == "bob"),
        "{again:?}"
    );
    let members = orgs::members(s, acme.id).await.unwrap();
    let names: Vec<_> = members
        .iter()
        .map(|(m, u)| (u.username.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(names, [("alice", "owner"), ("bob", "viewer")]);

    // The last owner stays.
    assert!(matches!(
        orgs::set_role(s, acme.id, &alice, OrgRole::Manager).await,
        Err(Error::LastOwner)
    ));
    assert!(matches!(
        orgs::remove_member(s, acme.id, &alice).await,
        Err(Error::LastOwner)
    ));
    orgs::set_role(s, acme.id, &bob, OrgRole::Owner).await.unwrap();
    orgs::set_role(s, acme.id, &alice, OrgRole::Manager).await.unwrap();
    assert_eq!(
        orgs::member_role(s, acme.id, alice.id).await.unwrap(),
        Some(OrgRole::Manager)
    );
    let listed: Vec<_> = orgs::of_user(s, bob.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, r)| (o.name, r))
        .collect();
    assert_eq!(listed, [("acme".to_owned(), OrgRole::Owner)]);

    orgs::delete(s, acme.id).await.unwrap();
    assert!(orgs::by_name(s, "acme").await.unwrap().is_none());
    assert_eq!(
        orgs::member_role(s, acme.id, bob.id).await.unwrap(),
        None,
        "members go with the org"
    );
}

async fn teams_grants_and_facts(db: Db) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let carol = user(s, "carol").await;
    let acme = orgs::create(s, &"acme".parse().unwrap(), &alice).await.unwrap();
    let ml: TeamName = "ml".parse().unwrap();
    let team = teams::create(s, acme.id, &ml, "alice", Some(&alice)).await.unwrap();
    assert!(matches!(
        teams::create(s, acme.id, &ml, "alice", None).await,
        Err(Error::Exists { what: "team", .. })
    ));
    teams::set_member(s, team.id, &carol, TeamRole::Member).await.unwrap();
    teams::set_member(s, team.id, &carol, TeamRole::Admin).await.unwrap();
    let members: Vec<_> = teams::members(s, team.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, u)| (u.username, r))
        .collect();
    assert_eq!(
        members,
        [
            ("alice".to_owned(), TeamRole::Admin),
            ("carol".to_owned(), TeamRole::Admin)
        ]
    );

    teams::grant(s, team.id, "vision", "alice").await.unwrap();
    teams::grant(s, team.id, "vision", "alice").await.unwrap();
    assert_eq!(teams::projects(s, team.id).await.unwrap(), ["vision"]);
    assert_eq!(teams::project_teams(s, acme.id, "vision").await.unwrap(), ["ml"]);

    // Carol is an outsider in a team: facts carry the team, not an org role.
    let subject = Subject::User(carol.clone());
    let facts = facts::subject_facts(s, &acme, &subject).await.unwrap();
    assert_eq!(facts.org_role, None);
    assert_eq!(
        facts.teams,
        [TeamMembership {
            team: "ml".into(),
            role: TeamRole::Admin
        }]
    );
    let resource = facts::resource_facts(s, &acme, None, Some("vision")).await.unwrap();
    assert_eq!(resource.project_teams, ["ml"]);

    let renamed = teams::rename(s, &team, &"vision-team".parse().unwrap()).await.unwrap();
    assert_eq!(renamed.name, "vision-team");
    teams::remove_member(s, team.id, &carol).await.unwrap();
    assert!(matches!(
        teams::remove_member(s, team.id, &carol).await,
        Err(Error::NotFound {
            what: "team_member",
            ..
        })
    ));
    teams::revoke(s, team.id, "vision").await.unwrap();
    assert!(teams::project_teams(s, acme.id, "vision").await.unwrap().is_empty());
    teams::delete(s, team.id).await.unwrap();
    assert!(teams::list(s, acme.id).await.unwrap().is_empty());
}

async fn tokens_and_service_accounts(db: Db) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    let (secret, hash) = token::generate();
    let row = tokens::create(s, TokenOwner::User(alice.id), "laptop", &hash, None)
        .await
        .unwrap();
    assert_ne!(
        row.hash,
        secrecy::ExposeSecret::expose_secret(&secret),
        "only the hash is stored"
    );
    let subject = facts::authenticate(s, &secret).await.unwrap();
    assert_eq!(subject.name(), "alice");
    let used = tokens::list(s, TokenOwner::User(alice.id)).await.unwrap();
    assert!(used[0].last_used_at.is_some(), "use is recorded");

    assert!(matches!(
        facts::authenticate(s, &SecretString::from("myl_nope")).await,
        Err(Error::Unauthenticated)
    ));
    tokens::revoke(s, TokenOwner::User(alice.id), row.uuid).await.unwrap();
    assert!(matches!(
        facts::authenticate(s, &secret).await,
        Err(Error::TokenRevoked)
    ));
    assert!(matches!(
        tokens::revoke(s, TokenOwner::User(alice.id), row.uuid).await,
        Err(Error::NotFound { .. })
    ));

    let (expired, hash) = token::generate();
    tokens::create(
        s,
        TokenOwner::User(alice.id),
        "old",
        &hash,
        Some(now() - Duration::seconds(1)),
    )
    .await
    .unwrap();
    assert!(matches!(
        facts::authenticate(s, &expired).await,
        Err(Error::TokenExpired)
    ));

    let acme = orgs::create(s, &"acme".parse().unwrap(), &alice).await.unwrap();
    let name: ServiceAccountName = "ci".parse().unwrap();
    let sa = service_accounts::create(s, acme.id, &name, OrgRole::Member, None, "alice")
        .await
        .unwrap();
    let dup = service_accounts::create(s, acme.id, &name, OrgRole::Member, None, "alice").await;
    assert!(matches!(
        dup,
        Err(Error::Exists {
            what: "service_account",
            ..
        })
    ));
    let (sa_token, hash) = token::generate();
    tokens::create(s, TokenOwner::ServiceAccount(sa.id), "ci", &hash, None)
        .await
        .unwrap();
    let subject = facts::authenticate(s, &sa_token).await.unwrap();
    assert_eq!(subject.name(), "sa:ci");
    let facts = facts::subject_facts(s, &acme, &subject).await.unwrap();
    assert_eq!(facts.org_role, Some(OrgRole::Member));
    service_accounts::delete(s, sa.id).await.unwrap();
    assert!(
        matches!(facts::authenticate(s, &sa_token).await, Err(Error::Unauthenticated)),
        "tokens go with it"
    );
}

async fn audit_log(db: Db) {
    let s = &db.store;
    for (i, result) in ["ok", "auth.forbidden", "ok"].into_iter().enumerate() {
        let entry = audit::Entry {
            org: Some("acme".into()),
            actor: "alice".into(),
            action: "team.create".into(),
            resource: format!("acme/teams/t{i}"),
            result: result.into(),
            status: if result == "ok" { 201 } else { 403 },
        };
        audit::record(s, entry).await.unwrap();
    }
    let other = audit::Entry {
        org: Some("other".into()),
        actor: "bob".into(),
        action: "org.delete".into(),
        resource: "other".into(),
        result: "ok".into(),
        status: 204,
    };
    audit::record(s, other).await.unwrap();
    let (count, page) = audit::list(s, "acme", 0, 2).await.unwrap();
    assert_eq!(count, 3);
    let resources: Vec<_> = page.iter().map(|e| e.resource.as_str()).collect();
    assert_eq!(resources, ["acme/teams/t2", "acme/teams/t1"], "newest first");
    assert_eq!(page[1].status, 403);
}
