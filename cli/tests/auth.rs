#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The auth commands end to end: `myelin server` started with `MYELIN_ADMIN_PASSWORD` (it creates
//! the owner `admin` of org `default`), then `myelin login|whoami|logout`, `token`, `org`, `member`,
//! `team`, `project member`, `sa` and `audit` against it, and what `cli.toml` holds.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use myelin_client::Client;
use support::{Server, fails, myelin_with, ok, ok_json};

const ADMIN_PASSWORD: &str = "admin-pass-for-cli-tests";
const LOGGED_OUT: &str = "not logged in, or the token expired/revoked: run `myelin login`";

fn start(dir: &Path) -> Server {
    Server::start_with_env(&dir.join("data"), &[("MYELIN_ADMIN_PASSWORD", ADMIN_PASSWORD)])
}

/// `myelin <args>` against `server` with `env`.
fn cli(server: &Server, cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    myelin_with(cfg, Some(&server.url), args, env, None)
}

fn login_admin(server: &Server, cfg: &Path) -> String {
    ok(&cli(
        server,
        cfg,
        &["login", "-u", "admin"],
        &[("MYELIN_PASSWORD", ADMIN_PASSWORD)],
    ))
}

#[tokio::test]
async fn login_tokens_and_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let cfg = dir.path().join("config");

    // No token at all: a clear 401 message, exit code 1.
    let stderr = fails(&cli(&server, &cfg, &["whoami"], &[]), 1);
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");

    // A wrong password says so, without the "run myelin login" hint.
    let wrong = myelin_with(
        &cfg,
        Some(&server.url),
        &["login", "-u", "admin", "--password-stdin"],
        &[],
        Some("nope-nope-nope\n"),
    );
    let stderr = fails(&wrong, 1);
    assert!(
        stderr.contains("invalid username or password") && stderr.contains("(auth.invalid_credentials)"),
        "{stderr}"
    );
    assert!(!stderr.contains("myelin login"), "{stderr}");
    assert!(!cfg.join("cli.toml").exists());
    // No password source and no terminal: a usage error, nothing sent.
    let stderr = fails(&cli(&server, &cfg, &["login", "-u", "admin"], &[]), 2);
    assert!(stderr.contains("stdin is not a terminal"), "{stderr}");

    // The right password, from stdin: the token lands in a private cli.toml.
    let right = format!("{ADMIN_PASSWORD}\n");
    let args = ["login", "-u", "admin", "--password-stdin"];
    let out = ok(&myelin_with(&cfg, Some(&server.url), &args, &[], Some(&right)));
    assert!(out.contains("as `admin` (default)"), "{out}");
    let path = cfg.join("cli.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "cli.toml must be private");
    }
    let saved: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let login_token = saved["token"].as_str().unwrap().to_owned();
    assert_eq!(saved["host"].as_str(), Some(server.url.as_str()));

    // `config show` never prints it.
    let shown = ok(&cli(&server, &cfg, &["config", "show"], &[]));
    assert!(!shown.contains(&login_token) && shown.contains("<redacted>"), "{shown}");
    let shown = ok_json(&cli(&server, &cfg, &["config", "show", "--json"], &[]));
    assert_eq!(shown["saved"]["token"], "<redacted>");
    assert_eq!(shown["token_source"], "cli.toml");
    assert!(!shown.to_string().contains(&login_token));

    let me = ok_json(&cli(&server, &cfg, &["whoami", "--json"], &[]));
    assert_eq!(
        (
            me["username"].as_str(),
            me["kind"].as_str(),
            me["organization"].as_str()
        ),
        (Some("admin"), Some("user"), Some("default"))
    );
    let out = ok(&cli(&server, &cfg, &["whoami"], &[]));
    assert!(out.contains("admin") && out.contains("cli.toml"), "{out}");

    // Personal tokens: create (key shown once), list, use, revoke.
    let created = ok_json(&cli(
        &server,
        &cfg,
        &["token", "create", "--name", "ci", "--days", "7", "--json"],
        &[],
    ));
    let (key, uuid) = (created["key"].as_str().unwrap(), created["uuid"].as_str().unwrap());
    assert!(created["expires_at"].is_string());
    let listed = ok_json(&cli(&server, &cfg, &["token", "ls", "--json"], &[]));
    let row = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["uuid"] == uuid)
        .unwrap();
    assert_eq!(row["name"], "ci");
    assert!(row.get("key").is_none(), "listed tokens must not carry their key");
    let out = ok(&cli(&server, &cfg, &["token", "ls"], &[]));
    assert!(out.contains(uuid) && out.contains("active"), "{out}");

    // Resolution order: --token beats MYELIN_TOKEN, which beats cli.toml.
    let with_env = [("MYELIN_TOKEN", key)];
    let me = ok_json(&cli(&server, &cfg, &["whoami", "--json"], &with_env));
    assert_eq!(me["username"], "admin");
    let stderr = fails(&cli(&server, &cfg, &["whoami", "--token", "bogus-token"], &with_env), 1);
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    let stderr = fails(
        &cli(&server, &cfg, &["project", "ls"], &[("MYELIN_TOKEN", "bogus-token")]),
        1,
    );
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    let shown = ok_json(&cli(&server, &cfg, &["config", "show", "--json"], &with_env));
    assert_eq!(shown["token_source"], "MYELIN_TOKEN");

    ok(&cli(&server, &cfg, &["token", "revoke", uuid], &[]));
    // The gateway may serve a cached decision briefly; the revoked token must be refused soon.
    let deadline = Instant::now() + Duration::from_secs(10);
    let stderr = loop {
        let out = cli(&server, &cfg, &["project", "ls"], &with_env);
        if !out.status.success() || Instant::now() > deadline {
            break fails(&out, 1);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    let stderr = fails(&cli(&server, &cfg, &["whoami"], &with_env), 1);
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    let out = ok(&cli(&server, &cfg, &["token", "ls"], &[]));
    assert!(out.contains("revoked"), "{out}");

    // Logout forgets the saved token; the file stays private.
    let out = ok(&cli(&server, &cfg, &["logout"], &[]));
    assert!(out.contains("Logged out"), "{out}");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(!saved.contains(&login_token), "{saved}");
    let stderr = fails(&cli(&server, &cfg, &["whoami"], &[]), 1);
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    server.stop();
}

#[tokio::test]
async fn orgs_members_teams_and_service_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let admin = dir.path().join("admin");
    let ann_cfg = dir.path().join("ann");
    login_admin(&server, &admin);
    // A second user, through the public sign-up.
    let anonymous = Client::new(&server.url, None).unwrap();
    anonymous
        .signup("ann", "ann@example.com", "ann-password-123")
        .await
        .unwrap();
    let args = ["login", "-u", "ann", "--password-stdin"];
    ok(&myelin_with(
        &ann_cfg,
        Some(&server.url),
        &args,
        &[],
        Some("ann-password-123\n"),
    ));
    let run = |cfg: &Path, args: &[&str]| cli(&server, cfg, args, &[]);

    // Orgs.
    let org = ok_json(&run(&admin, &["org", "create", "acme", "--json"]));
    assert_eq!(
        (org["name"].as_str(), org["role"].as_str()),
        (Some("acme"), Some("owner"))
    );
    let out = ok(&run(&admin, &["org", "ls"]));
    assert!(
        out.contains("acme") && out.contains("default") && out.contains("owner"),
        "{out}"
    );
    let shown = ok_json(&run(&admin, &["org", "show", "acme", "--json"]));
    assert_eq!(shown["name"], "acme");

    // Members: add, change the role, list; an outsider gets 404 and the server's code.
    let stderr = fails(&run(&ann_cfg, &["member", "ls", "--org", "acme"]), 1);
    assert!(stderr.contains("(auth."), "{stderr}");
    let out = ok(&run(
        &admin,
        &["member", "--org", "acme", "add", "ann", "--role", "member"],
    ));
    assert!(out.contains("`ann`") && out.contains("member"), "{out}");
    ok(&run(&admin, &["member", "role", "ann", "viewer", "--org", "acme"]));
    let members = ok_json(&run(&admin, &["member", "ls", "--org", "acme", "--json"]));
    let ann = members["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == "ann")
        .unwrap();
    assert_eq!(ann["role"], "viewer");
    // A viewer may not add members: 403 with the server's message and code.
    let stderr = fails(
        &run(
            &ann_cfg,
            &["member", "add", "admin", "--role", "owner", "--org", "acme"],
        ),
        1,
    );
    assert!(stderr.trim_end().ends_with("(auth.forbidden)"), "{stderr}");
    assert!(!stderr.contains("myelin login"), "{stderr}");

    // Teams: create, add ann as team admin, grant a project.
    ok(&run(&admin, &["team", "--org", "acme", "create", "core"]));
    ok(&run(
        &admin,
        &[
            "team", "--org", "acme", "member", "add", "core", "ann", "--role", "admin",
        ],
    ));
    ok(&run(
        &admin,
        &["team", "--org", "acme", "project", "grant", "core", "demo"],
    ));
    let team = ok_json(&run(&admin, &["team", "show", "core", "--org", "acme", "--json"]));
    assert_eq!(team["projects"], serde_json::json!(["demo"]));
    let members = team["members"].as_array().unwrap();
    let ann = members.iter().find(|m| m["user"] == "ann").unwrap();
    assert_eq!(
        (ann["role"].as_str(), ann["org_role"].as_str()),
        (Some("admin"), Some("viewer"))
    );
    // ann, only a viewer of the org, sees the team she administers.
    ok(&run(&ann_cfg, &["team", "member", "ls", "core", "--org", "acme"]));
    let out = ok(&run(&admin, &["team", "project", "ls", "core", "--org", "acme"]));
    assert!(out.contains("demo"), "{out}");
    let out = ok(&run(&admin, &["team", "ls", "--org", "acme"]));
    assert!(out.contains("core") && out.contains("demo"), "{out}");
    let stderr = fails(&run(&admin, &["team", "show", "nope", "--org", "acme"]), 1);
    assert!(stderr.trim_end().ends_with("(auth.team_not_found)"), "{stderr}");
    ok(&run(&admin, &["team", "--org", "acme", "rename", "core", "platform"]));
    ok(&run(
        &admin,
        &["team", "--org", "acme", "project", "revoke", "platform", "demo"],
    ));
    let projects = ok_json(&run(
        &admin,
        &["team", "project", "ls", "platform", "--org", "acme", "--json"],
    ));
    assert_eq!(projects["count"], 0);

    // Project members.
    ok(&run(
        &admin,
        &["project", "member", "add", "-p", "acme/demo", "ann", "--role", "admin"],
    ));
    let members = ok_json(&run(&admin, &["project", "member", "ls", "-p", "acme/demo", "--json"]));
    assert_eq!(members["results"][0]["user"], "ann");
    ok(&run(&admin, &["project", "member", "rm", "-p", "acme/demo", "ann"]));

    // Service accounts and their tokens.
    ok(&run(
        &admin,
        &["sa", "--org", "acme", "create", "bot", "--role", "viewer"],
    ));
    let token = ok_json(&run(
        &admin,
        &["sa", "--org", "acme", "token", "create", "bot", "--json"],
    ));
    let key = token["key"].as_str().unwrap();
    let me = ok_json(&cli(&server, &ann_cfg, &["whoami", "--json"], &[("MYELIN_TOKEN", key)]));
    assert_eq!(
        (me["kind"].as_str(), me["organization"].as_str()),
        (Some("service_account"), Some("acme"))
    );
    let tokens = ok_json(&run(&admin, &["sa", "token", "ls", "bot", "--org", "acme", "--json"]));
    assert_eq!(tokens["count"], 1);
    let uuid = tokens["results"][0]["uuid"].as_str().unwrap();
    ok(&run(&admin, &["sa", "token", "revoke", "bot", uuid, "--org", "acme"]));
    let stderr = fails(&cli(&server, &ann_cfg, &["whoami"], &[("MYELIN_TOKEN", key)]), 1);
    assert!(stderr.contains(LOGGED_OUT), "{stderr}");
    ok(&run(&admin, &["sa", "rm", "bot", "--org", "acme"]));

    // The audit log has the changes above; a viewer cannot read it.
    let audit = ok_json(&run(&admin, &["audit", "--org", "acme", "--limit", "100", "--json"]));
    let actions: Vec<&str> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "member.add",
        "member.change_role",
        "team.create",
        "project.grant",
        "sa.create",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let out = ok(&run(&admin, &["audit", "--org", "acme", "--limit", "2"]));
    assert!(out.contains("2 shown"), "{out}");
    fails(&run(&ann_cfg, &["audit", "--org", "acme"]), 1);

    // Removing a member, then the org.
    ok(&run(&admin, &["member", "rm", "ann", "--org", "acme"]));
    fails(&run(&admin, &["org", "rm", "acme"]), 1);
    ok(&run(&admin, &["org", "rm", "acme", "-y"]));
    let stderr = fails(&run(&admin, &["org", "show", "acme"]), 1);
    assert!(
        stderr.contains("(auth.org_not_found)") || stderr.contains("not_found"),
        "{stderr}"
    );
    server.stop();
}
