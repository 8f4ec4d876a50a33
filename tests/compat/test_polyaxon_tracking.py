"""Code tracked with the OFFICIAL polyaxon client (`from polyaxon import tracking`) shows its metrics
in Myelin unchanged:

- from a laptop: the client creates an unmanaged run, writes traceml `.plx` event files locally and
  uploads them at the end (`POST /streams/v1/.../artifact`, multipart `upload_file` + `json`); the
  logs service ingests them as collected series;
- inside a run Myelin executes: the executor's collector reads the `.plx` files the client writes
  in the run's artifacts directory while it runs and when it ends.

Both read back through Polyaxon's own events endpoint and Myelin's metric summaries.
"""

from __future__ import annotations

import sys
import textwrap
import time


def wait_metric(server, project: str, uid: str, name: str, count: int, timeout: float = 30.0) -> dict:
    """Polls the events endpoint until the series `name` has `count` points."""
    deadline = time.monotonic() + timeout
    path = f"/streams/v1/polyaxon/default/{project}/runs/{uid}/events/metric?names={name}&orient=dict&force=true"
    while True:
        status, body = server.request("GET", path)
        assert status == 200, body
        series = [s for s in body["data"] if s["name"] == name]
        if series and len(series[0]["data"]["metric"]) >= count:
            return series[0]
        assert time.monotonic() < deadline, f"metric {name} of {uid} never reached {count} points: {body}"
        time.sleep(0.25)


def test_a_laptop_run_tracked_with_polyaxon_shows_its_metrics(server, polyaxon):
    status, body = server.request("POST", "/api/v1/default/projects/create", {"name": "tracked"})
    assert status == 201, body
    out = polyaxon.python(
        textwrap.dedent(
            """\
            from polyaxon import tracking

            tracking.init(owner="default", project="tracked", name="laptop", is_new=True)
            for step in range(5):
                tracking.log_metrics(step=step, loss=1.0 / (step + 1), accuracy=step / 10)
            tracking.log_outputs(final="ok")
            tracking.end()
            print("RUN", tracking.TRACKING_RUN.run_uuid)
            """
        )
    )
    uid = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("RUN "))
    loss = wait_metric(server, "tracked", uid, "loss", 5)
    assert loss["kind"] == "metric", loss
    assert loss["data"]["step"] == [0, 1, 2, 3, 4], loss
    assert loss["data"]["metric"] == [1.0, 0.5, 1.0 / 3.0, 0.25, 0.2], loss
    wait_metric(server, "tracked", uid, "accuracy", 5)
    status, summary = server.request("GET", f"/api/v1/default/tracked/runs/{uid}/metrics/summary")
    assert status == 200, summary
    by_name = {m["name"]: m for m in summary["results"]}
    assert by_name["loss"]["min"] == 0.2 and by_name["loss"]["max"] == 1.0, by_name
    assert by_name["loss"]["last"] == 0.2 and by_name["loss"]["count"] == 5, by_name
    # The client's resource usage files (resources/metric/cpu.plx, ...) land as `sys/<name>` metrics.
    deadline = time.monotonic() + 30
    while not any(name.startswith("sys/") for name in by_name):
        assert time.monotonic() < deadline, f"no sys/ metrics: {sorted(by_name)}"
        time.sleep(0.25)
        status, summary = server.request("GET", f"/api/v1/default/tracked/runs/{uid}/metrics/summary")
        by_name = {m["name"]: m for m in summary["results"]}
    # The uploaded event files are the run's artifacts too, and registered as lineage.
    status, tree = server.request("GET", f"/streams/v1/polyaxon/default/tracked/runs/{uid}/artifacts/tree?path=events/metric")
    assert status == 200 and "loss.plx" in tree["files"], tree
    status, lineage = server.request("GET", f"/api/v1/default/tracked/runs/{uid}/lineage/artifacts")
    assert status == 200 and "loss" in {a["name"] for a in lineage["results"]}, lineage


def test_a_managed_run_tracked_with_polyaxon_shows_its_metrics(server, polyaxon):
    status, body = server.request("POST", "/api/v1/default/projects/create", {"name": "managed-tracked"})
    assert status == 201, body
    script = polyaxon.cwd / "track.py"
    script.write_text(
        textwrap.dedent(
            """\
            import time
            from polyaxon import tracking

            tracking.init()
            for step in range(20):
                tracking.log_metrics(step=step, loss=1.0 / (step + 1))
                time.sleep(0.05)
            tracking.end()
            """
        )
    )
    spec = polyaxon.cwd / "tracked.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            version: 1.1
            kind: component
            name: tracked
            run:
              kind: job
              container:
                image: python:3.11
                command: [{sys.executable}, {script}]
            """
        )
    )
    polyaxon.run("run", "-f", str(spec), "-p", "managed-tracked", "-w")
    status, page = server.request("GET", "/api/v1/default/managed-tracked/runs?limit=1")
    assert status == 200 and page["count"] == 1, page
    run = page["results"][0]
    assert run["status"] == "succeeded", run
    loss = wait_metric(server, "managed-tracked", run["uuid"], "loss", 20)
    assert loss["data"]["step"] == list(range(20)), loss
    assert loss["data"]["metric"][-1] == 1.0 / 20, loss
