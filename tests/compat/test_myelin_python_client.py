"""Myelin's own Python client (`clients/python`, standard library only) against `myelin server`.

A script run with the package on PYTHONPATH creates a run, logs params, 10k metric points, outputs,
tags and an artifact directory, and exits without flushing: the client's exit hook sends what is
queued and marks the run succeeded. The results are read back through the Polyaxon-shaped reads.

    MYELIN_BIN=target/debug/myelin .venv/bin/python -m pytest tests/compat/test_myelin_python_client.py -v
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import clean_env, describe

CLIENT_SRC = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
POINTS = 10_000


def run_script(server, tmp_path: Path, code: str) -> dict:
    """Runs `code` with the client importable; its last stdout line is JSON, returned parsed."""
    env = clean_env(tmp_path)
    env.update(PYTHONPATH=str(CLIENT_SRC), MYELIN_HOST=server.url, MYELIN_TOKEN=server.token)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, describe(["python", "-c", "<myelin client script>"], proc)
    assert "gave up" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_metrics_params_outputs_and_tags_round_trip(server, tmp_path):
    out = run_script(
        server,
        tmp_path,
        f"""\
        import json
        import myelin
        from myelin.api import Api

        run = myelin.init(project="pyclient", name="py-run", tags=["alpha"], description="from myelin")
        myelin.log_params(lr=0.01, batch=64)
        myelin.log_params(optimizer="adam")
        for i in range({POINTS}):
            myelin.log_metrics(step=i, loss=1.0 / (i + 1))
            if i % 100 == 0:
                myelin.log_metric("val/acc", i / {POINTS}, step=i)
        myelin.log_text("notes", "converged", step={POINTS - 1})
        myelin.log_outputs(accuracy=0.97, loss=1.0 / {POINTS})
        myelin.log_tags("beta", "alpha")

        # A batch the server refuses comes back as a MyelinError with the server's code.
        api = Api(run.host, run.api.token)
        try:
            events = f"/api/v1/default/pyclient/runs/{{run.uuid}}/events"
            api.request("POST", events, {{"metrics": [{{"name": "loss", "value": "NaN"}}]}})
            refused = None
        except myelin.MyelinError as err:
            refused = [err.status, err.code]
        print(json.dumps({{"uuid": run.uuid, "refused": refused}}))
        # no flush, no end: the exit hook sends the queued points and marks the run succeeded
        """,
    )
    uid, base = out["uuid"], "/api/v1/default/pyclient/runs"
    assert out["refused"] == [400, "tracker.invalid_metric"], out

    status, run = server.request("GET", f"{base}/{uid}")
    assert status == 200, run
    assert run["name"] == "py-run" and run["description"] == "from myelin", run
    assert run["is_managed"] is False and run["managed_by"] == "user", run
    assert run["status"] == "succeeded" and run["finished_at"], run
    assert run["inputs"] == {"lr": 0.01, "batch": 64, "optimizer": "adam"}, run
    assert run["outputs"] == {"accuracy": 0.97, "loss": 1.0 / POINTS}, run
    assert run["tags"] == ["alpha", "beta"], run
    assert (run["meta_info"] or {}).get("has_metrics") is True, run

    path = f"/streams/v1/default/default/pyclient/runs/{uid}/events/metric?names=loss&orient=dict"
    status, events = server.request("GET", path)
    assert status == 200, events
    assert [(s["name"], s["kind"]) for s in events["data"]] == [("loss", "metric")], events
    data = events["data"][0]["data"]
    assert data["step"] == list(range(POINTS))
    assert data["metric"] == pytest.approx([1.0 / (i + 1) for i in range(POINTS)], rel=1e-12)
    assert len(data["timestamp"]) == POINTS
    assert data["timestamp"] == sorted(data["timestamp"]), "points logged in order keep their order"

    status, text = server.request(
        "GET", f"/streams/v1/default/default/pyclient/runs/{uid}/events/text?names=notes&orient=dict"
    )
    assert status == 200, text
    assert text["data"][0]["data"]["text"] == ["converged"], text
    assert text["data"][0]["data"]["step"] == [POINTS - 1], text

    status, summary = server.request("GET", f"{base}/{uid}/metrics/summary")
    assert status == 200, summary
    by_name = {s["name"]: s for s in summary["results"]}
    assert sorted(by_name) == ["loss", "val/acc"], summary
    loss = by_name["loss"]
    assert loss["count"] == POINTS and loss["last_step"] == POINTS - 1, loss
    assert loss["last"] == pytest.approx(1.0 / POINTS) and loss["min"] == pytest.approx(1.0 / POINTS), loss
    assert loss["max"] == pytest.approx(1.0), loss
    assert loss["mean"] == pytest.approx(sum(1.0 / (i + 1) for i in range(POINTS)) / POINTS), loss
    assert by_name["val/acc"]["count"] == POINTS // 100, summary


def test_artifacts_are_uploaded_and_registered(server, tmp_path):
    outdir = tmp_path / "out"
    (outdir / "sub").mkdir(parents=True)
    (outdir / "a.txt").write_text("alpha")
    (outdir / "sub" / "b.bin").write_bytes(os.urandom(3 << 20))
    out = run_script(
        server,
        tmp_path,
        f"""\
        import json
        import myelin

        run = myelin.init(project="pyclient-artifacts")
        file_entry = myelin.log_artifact({str(outdir / "a.txt")!r}, dest="notes/a.txt")
        dir_entry = myelin.log_artifact({str(outdir)!r})
        print(json.dumps({{"uuid": run.uuid, "entries": [file_entry, dir_entry]}}))
        """,
    )
    uid = out["uuid"]
    streams = f"/streams/v1/default/default/pyclient-artifacts/runs/{uid}"

    status, tree = server.request("GET", f"{streams}/artifacts/tree?path=out/sub")
    assert status == 200, tree
    assert tree["files"] == {"b.bin": 3 << 20}, tree
    status, tree = server.request("GET", f"{streams}/artifacts/tree?path=out")
    assert status == 200 and tree["dirs"] == ["sub"] and tree["files"] == {"a.txt": 5}, tree

    status, body = server.request("GET", f"{streams}/artifact?path=notes/a.txt")
    assert status == 200 and body == "alpha", body

    status, lineage = server.request("GET", f"/api/v1/default/pyclient-artifacts/runs/{uid}/lineage/artifacts")
    assert status == 200, lineage
    got = {(a["name"], a["kind"], a["path"], a["is_input"]) for a in lineage["results"]}
    assert got == {("a.txt", "file", "notes/a.txt", False), ("out", "dir", "out", False)}, lineage
