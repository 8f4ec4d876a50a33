"""haupt adapter: `haupt sandbox start` (Polyaxon's server with its streams service in one uvicorn
app, SQLite, local artifact store; its default workers, 2 per core + 1 = 5 here) on loopback.

Runs and search go through Polyaxon's API v1 (`POST /api/v1/{owner}/{project}/runs`, PQL on
`GET .../runs?query=&sort=&limit=`; `metrics.<name>` is read from the run's outputs). Metric points
live in `.plx` files of the artifact store, so ingestion is measured along the Polyaxon client's own
path (haupt_client.py), plus the server-side part alone: one multipart upload of the finished file.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from common import Http, HttpError, Server, free_port
from workload import SEARCH_FILTER_MAX, SEARCH_LIMIT, loss_points

OWNER = "default"
HERE = Path(__file__).resolve().parent


def plx_text(points: list[tuple[int, int, float]]) -> bytes:
    """traceml's metric file: `step|timestamp|metric` then one line a point (timestamp as Python's
    `str(datetime)`, as traceml writes it)."""
    lines = ["step|timestamp|metric"]
    for step, ts, value in points:
        stamp = datetime.fromtimestamp(ts / 1000, tz=timezone.utc)
        lines.append(f"{step}|{stamp}|{value}")
    return "\n".join(lines).encode()


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Retrying405(Http):
    """haupt now and then answers a valid request with an empty 405 (its log: "Method Not Allowed
    (POST): /api/v1/default/<project>/runs"); the same request a moment later succeeds. Such requests
    are sent again (at most 5 times, counted in `owner.retried_405`, their time included)."""

    def __init__(self, url: str, owner: "Haupt"):
        super().__init__(url)
        self.owner = owner

    def raw(self, method, path, body=None, headers=None, expect=(200, 201)):
        for attempt in range(6):
            try:
                return super().raw(method, path, body, headers, expect)
            except HttpError as e:
                if "-> 405:" not in str(e) or attempt == 5:
                    raise
                self.owner.retried_405 += 1
        raise AssertionError("unreachable")


class Haupt:
    def __init__(self, venv: Path, workdir: Path):
        self.venv = venv
        self.workdir = workdir
        self.server: Server | None = None
        self.http: Http | None = None
        self.version = _version(venv, "haupt")
        self.name = f"haupt {self.version}"
        self.url = ""
        self.retried_405 = 0

    def start(self) -> float:
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.server = Server("haupt", [
            str(self.venv / "bin" / "haupt"), "sandbox", "start", "--host", "127.0.0.1", "--port", str(port),
            "--path", str(self.workdir / "sandbox")],
            env={"HOME": str(self.workdir / "home")}, cwd=str(self.workdir), log_path=self.workdir / "server.log")
        self.url = f"http://127.0.0.1:{port}"
        ready = self.server.wait_http(self.url + "/api/v1/installation")
        self.http = Retrying405(self.url, self)
        for project in ("bench", "sweep"):
            self.http.json("POST", f"/api/v1/{OWNER}/projects/create", {"name": project})
        return ready

    def notes(self) -> list[str]:
        if not self.retried_405:
            return []
        return [f"{self.retried_405} valid requests answered 405 once by haupt and sent again (see sys_haupt.py)"]

    def stop(self) -> None:
        if self.http:
            self.http.close()
        if self.server:
            self.server.stop()

    @property
    def pid(self) -> int:
        return self.server.pid

    def create_run(self, name: str, project: str = "bench") -> str:
        body = {"name": name, "is_managed": False, "managed_by": "user"}
        return self.http.json("POST", f"/api/v1/{OWNER}/{project}/runs", body)["uuid"]

    def ingest(self, run_id: str, points: int, batch: int) -> dict:
        """The client path creates its own run (the `Run` constructor); `run_id` stays unused."""
        env = {**os.environ, "POLYAXON_HOST": self.url, "HOME": str(self.workdir / "client"),
               "POLYAXON_TRACKING_FLUSH_DELAY": "0"}
        (self.workdir / "client").mkdir(exist_ok=True)
        out = subprocess.run([str(self.venv / "bin" / "python"), str(HERE / "haupt_client.py"), "--project",
                              "bench", "--points", str(points)], env=env, cwd=str(self.workdir / "client"),
                             capture_output=True, text=True, check=True)
        client = json.loads(out.stdout.strip().splitlines()[-1])
        upload_s = self._upload_once(points)
        return {"points": points, "seconds": client["seconds"], "run_id": client["run_uuid"],
                "how": "Polyaxon client: Run.log_metrics per point, .plx file uploaded by its sidecar and end()",
                "extra": {"client_log_s": client["log_seconds"], "client_end_s": client["end_seconds"],
                          "upload_once_s": upload_s, "upload_once_points_per_s": points / upload_s}}

    def _upload_once(self, points: int) -> float:
        """Seconds for one upload of a finished `points`-point loss.plx into a fresh run."""
        run_id = self.create_run("upload-once")
        content = plx_text(loss_points(0, points))
        start = time.perf_counter()
        self.put_plx(run_id, content)
        seconds = time.perf_counter() - start
        if self.read_history(run_id) != points:
            raise RuntimeError("haupt: uploaded file read back with the wrong number of points")
        return seconds

    def put_plx(self, run_id: str, content: bytes) -> None:
        meta = json.dumps({"untar": False, "path": "events/metric", "overwrite": True})
        body, ctype = multipart({"json": meta}, "upload_file", "loss.plx", content)
        self.http.raw("POST", f"/streams/v1/default/{OWNER}/bench/runs/{run_id}/artifact", body,
                      {"Content-Type": ctype})

    def put_history(self, run_id: str, points: int) -> None:
        self.put_plx(run_id, plx_text(loss_points(0, points)))

    def read_history_raw(self, run_id: str) -> bytes:
        return self.http.raw(
            "GET", f"/streams/v1/default/{OWNER}/bench/runs/{run_id}/events/metric?names=loss&orient=dict")

    def read_history(self, run_id: str) -> int:
        data = json.loads(self.read_history_raw(run_id))["data"]
        return sum(len(series["data"]["step"]) for series in data if series.get("data"))

    def seed_run(self, name: str, metrics: dict) -> None:
        """Create + PATCH outputs (the last values, as the client's log_outputs does); no point files."""
        run_id = self.create_run(name, "sweep")
        self.http.json("PATCH", f"/api/v1/{OWNER}/sweep/runs/{run_id}",
                       {"outputs": {m: values[-1] for m, values in metrics.items()}})

    def search_raw(self) -> bytes:
        return self.http.raw("GET", f"/api/v1/{OWNER}/sweep/runs?query=metrics.m0:<{SEARCH_FILTER_MAX}"
                                    f"&sort=-metrics.m1&limit={SEARCH_LIMIT}")

    def search(self) -> list[str]:
        return [r["name"] for r in json.loads(self.search_raw())["results"]]


def _version(venv: Path, dist: str) -> str:
    for meta in (venv / "lib").glob(f"python3*/site-packages/{dist}-*.dist-info/METADATA"):
        for line in meta.read_text().splitlines():
            if line.startswith("Version:"):
                return line.split()[1]
    return "?"
