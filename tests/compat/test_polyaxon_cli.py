"""The OFFICIAL polyaxon CLI and SDK (PyPI `polyaxon==2.18.0`) work against `myelin server`.

Run with the venv made by scripts/python-venv.sh:

    MYELIN_BIN=target/debug/myelin .venv/bin/python -m pytest tests/compat -v
"""

from __future__ import annotations

import json
import textwrap
import time

POLYAXONFILE = textwrap.dedent(
    """\
    version: 1.1
    kind: component
    name: compat
    run:
      kind: job
      container:
        image: busybox
        command: [echo, hi]
    """
)

# A run that keeps running until it is stopped.
LONG_POLYAXONFILE = POLYAXONFILE.replace("command: [echo, hi]", "command: [sleep, '600']")

PENDING_OR_RUNNING = ("created", "compiled", "queued", "scheduled", "starting", "running")


def create_run(server, project: str, content: str = POLYAXONFILE) -> dict:
    status, run = server.request("POST", f"/api/v1/default/{project}/runs", {"content": content})
    assert status == 201, f"create run: HTTP {status}: {run}"
    assert run["uuid"], run
    return run


def get_run(server, project: str, uuid: str) -> dict:
    status, run = server.request("GET", f"/api/v1/default/{project}/runs/{uuid}")
    assert status == 200, f"get run: HTTP {status}: {run}"
    return run


def wait_status(server, project: str, uuid: str, wanted: tuple, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(server, project, uuid)
        if run["status"] in wanted:
            return run
        assert time.monotonic() < deadline, f"run {uuid} never reached {wanted}: {run['status']}"
        time.sleep(0.2)


def test_cli_project_and_ops_commands(server, polyaxon, tmp_path):
    out = polyaxon.run("project", "create", "--name", "demo")
    assert "demo" in out.stdout, out.stdout
    status, project = server.request("GET", "/api/v1/default/demo")
    assert status == 200 and project["name"] == "demo", project

    out = polyaxon.run("project", "get", "-p", "demo")
    assert "demo" in out.stdout, out.stdout
    out = polyaxon.run("project", "ls")
    assert "demo" in out.stdout, out.stdout

    run = create_run(server, "demo", LONG_POLYAXONFILE)
    uid = run["uuid"]
    wait_status(server, "demo", uid, ("running",))

    out = polyaxon.run("ops", "ls", "-p", "demo")
    assert uid in out.stdout, out.stdout
    assert "running" in out.stdout, out.stdout
    listing = tmp_path / "ls.json"
    polyaxon.run("ops", "ls", "-p", "demo", "-o", f"path={listing}")
    page = json.loads(listing.read_text())
    assert page["count"] == 1 and [r["uuid"] for r in page["results"]] == [uid], page

    out = polyaxon.run("ops", "get", "-p", "demo", "-uid", uid)
    assert uid in out.stdout, out.stdout
    assert "compat" in out.stdout, out.stdout  # the run's name, from the Polyaxonfile
    assert "running" in out.stdout, out.stdout

    out = polyaxon.run("ops", "statuses", "-p", "demo", "-uid", uid)
    for status in ("created", "compiled", "queued", "scheduled", "starting", "running"):
        assert status in out.stdout, out.stdout

    # The running process is revoked and killed by the executor.
    polyaxon.run("ops", "stop", "-p", "demo", "-uid", uid, "-y")
    wait_status(server, "demo", uid, ("stopped",))
    out = polyaxon.run("ops", "statuses", "-p", "demo", "-uid", uid)
    assert "stopped" in out.stdout, out.stdout
    out = polyaxon.run("ops", "get", "-p", "demo", "-uid", uid)
    assert "stopped" in out.stdout, out.stdout


def test_cli_run_posts_the_operation(server, polyaxon):
    """`polyaxon run` compiles the file locally and posts it as a JSON string with `managed_by: agent`."""
    status, body = server.request("POST", "/api/v1/default/projects/create", {"name": "cli-runs"})
    assert status == 201, body
    spec = polyaxon.cwd / "op.yaml"
    spec.write_text(POLYAXONFILE)
    polyaxon.run("run", "-f", str(spec), "-p", "cli-runs", "--name", "from-cli")
    status, page = server.request("GET", "/api/v1/default/cli-runs/runs?limit=10")
    assert status == 200 and page["count"] == 1, page
    run = get_run(server, "cli-runs", page["results"][0]["uuid"])
    assert run["name"] == "from-cli", run
    assert run["kind"] == "job", run
    assert run["managed_by"] == "agent" and run["is_managed"] is True, run
    # It really runs: compiled, queued, scheduled, executed by the embedded executor.
    wait_status(server, "cli-runs", run["uuid"], ("succeeded",))
    out = polyaxon.run("ops", "logs", "-p", "cli-runs", "-uid", run["uuid"])
    assert "hi" in out.stdout.split(), out.stdout


def test_cli_run_watch_and_logs(server, polyaxon):
    """`polyaxon run -w` follows the statuses until the run is done; `-l` streams its logs."""
    status, body = server.request("POST", "/api/v1/default/projects/create", {"name": "cli-watch"})
    assert status == 201, body
    spec = polyaxon.cwd / "printer.yaml"
    spec.write_text(
        POLYAXONFILE.replace(
            "command: [echo, hi]", "command: [sh, -c, 'for i in 1 2 3; do echo line-$i; sleep 0.3; done']"
        )
    )
    watched = polyaxon.run("run", "-f", str(spec), "-p", "cli-watch", "-w")
    assert "succeeded" in watched.stdout.lower(), watched.stdout
    status, page = server.request("GET", "/api/v1/default/cli-watch/runs?limit=10")
    assert status == 200 and page["count"] == 1, page
    assert page["results"][0]["status"] == "succeeded", page

    logged = polyaxon.run("run", "-f", str(spec), "-p", "cli-watch", "-l")
    for i in (1, 2, 3):
        assert f"line-{i}" in logged.stdout, logged.stdout
    status, page = server.request("GET", "/api/v1/default/cli-watch/runs?limit=10")
    assert page["count"] == 2, page


def test_sdk_unmanaged_run(server, polyaxon):
    """The SDK creates an unmanaged run and PATCHes inputs/outputs/tags with merge, then ends it."""
    status, body = server.request("POST", "/api/v1/default/projects/create", {"name": "sdk"})
    assert status == 201, body
    out = polyaxon.python(
        textwrap.dedent(
            """\
            from polyaxon.client import RunClient

            client = RunClient(owner="default", project="sdk", is_offline=False,
                               manual_exceptions_handling=True)
            client.create(name="sdk-run", description="from the SDK", tags=["alpha", "beta"])
            client.log_inputs(lr=0.1, batch=32, async_req=False)
            client.log_inputs(optimizer="adam", async_req=False)
            client.log_outputs(accuracy=0.93, async_req=False)
            client.log_succeeded()
            print("RUN", client.run_uuid)
            """
        )
    )
    uid = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("RUN "))
    run = get_run(server, "sdk", uid)
    assert run["name"] == "sdk-run" and run["description"] == "from the SDK", run
    assert run["is_managed"] is False and run["managed_by"] == "user", run
    assert set(run["tags"]) == {"alpha", "beta"}, run
    assert run["inputs"] == {"lr": 0.1, "batch": 32, "optimizer": "adam"}, run  # merged, not replaced
    assert run["outputs"] == {"accuracy": 0.93}, run
    assert run["status"] == "succeeded" and run["finished_at"], run
    status, statuses = server.request("GET", f"/api/v1/default/sdk/runs/{uid}/statuses")
    assert status == 200, statuses
    assert statuses["status"] == "succeeded", statuses
    assert statuses["status_conditions"][-1]["type"] == "succeeded", statuses


def test_sdk_reads_the_installation(server, polyaxon):
    """The endpoint the CLI asks at startup (`polyaxon version --check`, `config set`) answers."""
    out = polyaxon.python(
        textwrap.dedent(
            """\
            from polyaxon.client import PolyaxonClient

            installation = PolyaxonClient().versions_v1.get_installation()
            print("VERSION", installation.version)
            """
        )
    )
    version = next(line.split(maxsplit=1)[1] for line in out.stdout.splitlines() if line.startswith("VERSION "))
    assert version and version != "None", out.stdout


def test_cli_and_sdk_need_a_valid_token(server, polyaxon):
    """Access control as the official clients meet it: `POLYAXON_AUTH_TOKEN` is sent as
    `Authorization: Token <t>`; without it, or with a wrong or revoked one, every call is refused."""
    from conftest import Polyaxon

    def with_token(token):
        env = dict(polyaxon.env)
        env.pop("POLYAXON_AUTH_TOKEN", None)
        if token is not None:
            env["POLYAXON_AUTH_TOKEN"] = token
        return Polyaxon(exe=polyaxon.exe, env=env, cwd=polyaxon.cwd)

    assert polyaxon.run("project", "ls", "--owner", "default").returncode == 0
    for token in (None, "myl_not-a-token"):
        proc = with_token(token).run("project", "ls", "--owner", "default", check=False)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 1 and "auth.unauthenticated" in text, text
        status, _ = server.request("GET", "/api/v1/default/projects/list", token=token or "")
        assert status == 401

    # A personal token works until it is revoked.
    status, created = server.request("POST", "/api/v1/users/tokens", {"name": "compat"})
    assert status in (200, 201), created
    key = created["key"]
    assert with_token(key).run("project", "ls", "--owner", "default").returncode == 0
    status, _ = server.request("DELETE", f"/api/v1/users/tokens/{created['uuid']}")
    assert status in (200, 204)
    deadline = time.monotonic() + 15
    while server.request("GET", "/api/v1/default/projects/list", token=key)[0] != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.2)
    proc = with_token(key).run("project", "ls", "--owner", "default", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "auth.unauthenticated" in text, text
