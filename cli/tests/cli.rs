#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `myelin` binary end to end: `myelin server` on a temp data dir and port 0, then the client
//! commands against it.

mod support;

use myelin_client::Client;
use myelin_contracts::{CreateRun, ManagedBy};
use support::{Server, fails, myelin, myelin_with, ok, ok_json};

const POLYAXONFILE: &str = "version: 1.1
kind: component
name: hello
tags: [cli-test]
run:
  kind: job
  container:
    image: python:3.11-slim
    command: [python, -c, \"print('hello')\"]
";

async fn create_run(server: &Server, project: &str) -> String {
    let client = Client::new(&server.url, server.token.clone()).unwrap();
    // Unmanaged (as the SDK creates them): the embedded scheduler leaves them alone, so they stay
    // `created` while the CLI commands below look at them.
    let body = CreateRun {
        content: Some(POLYAXONFILE.into()),
        managed_by: Some(ManagedBy::User),
        is_managed: Some(false),
        ..Default::default()
    };
    client
        .create_run("default", project, &body)
        .await
        .unwrap()
        .uuid
        .to_string()
}

#[tokio::test]
async fn projects_and_ops() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let cfg = dir.path();

    // Projects.
    let out = ok(&server.myelin(
        cfg,
        &[
            "project",
            "create",
            "--name",
            "demo",
            "--description",
            "first",
            "--tags",
            "a,b",
        ],
    ));
    assert!(
        out.contains("Project `default/demo` was created.") && out.contains("first"),
        "{out}"
    );
    let created = ok_json(&server.myelin(cfg, &["project", "create", "--name", "default/other", "--json"]));
    assert_eq!(created["name"], "other");
    let stderr = fails(&server.myelin(cfg, &["project", "create", "--name", "demo"]), 1);
    assert!(
        stderr.starts_with("error: ") && stderr.trim_end().ends_with("(tracker.project_exists)"),
        "{stderr}"
    );
    let out = ok(&server.myelin(cfg, &["project", "ls"]));
    assert!(
        out.contains("demo") && out.contains("other") && out.contains("2 in all"),
        "{out}"
    );
    let list = ok_json(&server.myelin(cfg, &["project", "ls", "--json", "--limit", "1"]));
    assert_eq!(
        (list["count"].as_u64(), list["results"].as_array().unwrap().len()),
        (Some(2), 1)
    );
    let project = ok_json(&server.myelin(cfg, &["project", "get", "-p", "default/demo", "--json"]));
    assert_eq!(
        (project["name"].as_str(), project["description"].as_str()),
        (Some("demo"), Some("first"))
    );
    assert!(ok(&server.myelin(cfg, &["project", "get", "-p", "demo"])).contains("a, b"));

    // Runs, created through the REST client from a Polyaxonfile.
    let first = create_run(&server, "demo").await;
    let second = create_run(&server, "demo").await;
    let out = ok(&server.myelin(cfg, &["ops", "ls", "-p", "demo"]));
    assert!(
        out.contains(&first) && out.contains(&second) && out.contains("created"),
        "{out}"
    );
    let page = ok_json(&server.myelin(
        cfg,
        &[
            "ops",
            "ls",
            "-p",
            "demo",
            "--json",
            "--limit",
            "1",
            "--sort",
            "created_at",
        ],
    ));
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["uuid"], first.as_str());
    let page = ok_json(&server.myelin(
        cfg,
        &[
            "ops",
            "ls",
            "-p",
            "demo",
            "--json",
            "--offset",
            "1",
            "--sort",
            "created_at",
        ],
    ));
    assert_eq!(page["results"][0]["uuid"], second.as_str());
    let run = ok_json(&server.myelin(cfg, &["ops", "get", "-p", "demo", "-uid", &first, "--json"]));
    assert_eq!(
        (run["uuid"].as_str(), run["kind"].as_str(), run["name"].as_str()),
        (Some(first.as_str()), Some("job"), Some("hello"))
    );
    let out = ok(&server.myelin(cfg, &["ops", "get", "-p", "demo", "--uid", &first]));
    assert!(
        out.contains(&first) && out.contains("default/demo") && out.contains("hello"),
        "{out}"
    );
    let statuses = ok_json(&server.myelin(cfg, &["ops", "statuses", "-p", "demo", "-uid", &first, "--json"]));
    assert_eq!(statuses["status"], "created");
    assert_eq!(statuses["status_conditions"][0]["type"], "created");
    assert!(
        ok(&server.myelin(cfg, &["ops", "statuses", "-p", "demo", "-uid", &first])).contains("Run status: created")
    );

    // Stop: refused without --yes when stdin is not a terminal, done with -y.
    let stderr = fails(&server.myelin(cfg, &["ops", "stop", "-p", "demo", "-uid", &first]), 1);
    assert!(stderr.contains("(cli.confirmation_required)"), "{stderr}");
    assert!(ok(&server.myelin(cfg, &["ops", "stop", "-p", "demo", "-uid", &first, "-y"])).contains("being stopped"));
    let statuses = ok_json(&server.myelin(cfg, &["ops", "statuses", "-p", "demo", "-uid", &first, "--json"]));
    assert!(
        matches!(statuses["status"].as_str(), Some("stopping" | "stopped")),
        "{statuses}"
    );
    let query = ok_json(&server.myelin(cfg, &["ops", "ls", "-p", "demo", "--json", "-q", "status:created"]));
    assert_eq!(query["count"], 1, "{query}");

    // Delete a run, then the project.
    ok(&server.myelin(cfg, &["ops", "delete", "-p", "demo", "-uid", &second, "--yes"]));
    let stderr = fails(&server.myelin(cfg, &["ops", "get", "-p", "demo", "-uid", &second]), 1);
    assert!(stderr.contains("(tracker.run_not_found)"), "{stderr}");
    ok(&server.myelin(cfg, &["project", "delete", "-p", "demo", "-y"]));
    let stderr = fails(&server.myelin(cfg, &["project", "get", "-p", "demo"]), 1);
    assert!(stderr.contains("(tracker.project_not_found)"), "{stderr}");

    // Usage errors exit 2.
    fails(&server.myelin(cfg, &["ops", "get", "-p", "demo"]), 2);
    fails(
        &server.myelin(cfg, &["ops", "get", "-p", "demo", "-uid", "not-a-uuid"]),
        2,
    );
    fails(&server.myelin(cfg, &["ops", "ls"]), 2);
    fails(&server.myelin(cfg, &["project", "get", "-p", "a/b/c"]), 2);
    fails(&server.myelin(cfg, &["bogus"]), 2);
    server.stop();
}

#[tokio::test]
async fn config_host_and_completion() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let cfg = dir.path().join("config");

    // Nothing saved, nothing in the environment: the default host (where nothing listens here).
    let shown = ok_json(&myelin(&cfg, None, &["config", "show", "--json"]));
    assert_eq!(
        (shown["host"].as_str(), shown["host_source"].as_str()),
        (Some("http://127.0.0.1:8000"), Some("default"))
    );

    ok(&myelin(&cfg, None, &["config", "set", &format!("host={}", server.url)]));
    let saved = std::fs::read_to_string(cfg.join("cli.toml")).unwrap();
    assert!(saved.contains(&server.url), "{saved}");
    let out = ok(&myelin(&cfg, None, &["config", "show"]));
    assert!(
        out.contains(&format!("host = {}", server.url)) && out.contains("cli.toml"),
        "{out}"
    );

    // The saved host is used when neither --host nor MYELIN_HOST is given...
    let token = server.token.clone().unwrap();
    let authed = |args: &[&str]| myelin_with(&cfg, None, args, &[("MYELIN_TOKEN", &token)], None);
    ok(&authed(&["project", "create", "--name", "saved-host"]));
    // ...and --host wins over it.
    let stderr = fails(&authed(&["project", "ls", "--host", "http://127.0.0.1:9"]), 1);
    assert!(stderr.contains("(cli.unreachable)"), "{stderr}");
    let out = ok(&authed(&["project", "ls", "--host", &server.url]));
    assert!(out.contains("saved-host"), "{out}");

    fails(&myelin(&cfg, None, &["config", "set", "colour=red"]), 2);
    fails(&myelin(&cfg, None, &["config", "set", "host=not a url"]), 1);

    let script = ok(&myelin(&cfg, None, &["completion", "bash"]));
    assert!(
        script.contains("myelin") && script.contains("complete"),
        "{}",
        &script[..200.min(script.len())]
    );
    server.stop();
}

#[tokio::test]
async fn restart_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path();
    let server = Server::start(&data);
    assert!(data.join("tracker.db").is_file());
    ok(&server.myelin(cfg, &["project", "create", "--name", "kept"]));
    let uuid = create_run(&server, "kept").await;
    server.stop();

    let server = Server::start(&data);
    let project = ok_json(&server.myelin(cfg, &["project", "get", "-p", "kept", "--json"]));
    assert_eq!(project["name"], "kept");
    let run = ok_json(&server.myelin(cfg, &["ops", "get", "-p", "kept", "-uid", &uuid, "--json"]));
    assert_eq!(run["uuid"], uuid.as_str());
    assert!(server.ready_in < std::time::Duration::from_secs(10));
    server.stop();
}
