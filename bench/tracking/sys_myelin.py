"""Myelin adapter: `myelin server --data-dir D --port 0` (release build; one process, SQLite), driven
through its Polyaxon-compatible API: create run, `POST .../events` batches, the streams history read
and PQL search. The same calls serve the PostgreSQL variant (tracker + gateway), see pg_variant.py."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

from common import Http, Server
from workload import SEARCH_FILTER_MAX, SEARCH_LIMIT, iso, loss_points

OWNER = "default"


class MyelinApi:
    """The HTTP calls, for a Myelin already listening at `url`."""

    name = "Myelin"

    def connect(self, url: str) -> None:
        self.http = Http(url)
        for project in ("bench", "sweep"):
            self.http.json("POST", f"/api/v1/{OWNER}/projects/create", {"name": project})

    def create_run(self, name: str, project: str = "bench") -> str:
        body = {"name": name, "is_managed": False, "managed_by": "user"}
        return self.http.json("POST", f"/api/v1/{OWNER}/{project}/runs", body)["uuid"]

    def _events(self, project: str, run_id: str, metrics: list[dict]) -> None:
        self.http.raw("POST", f"/api/v1/{OWNER}/{project}/runs/{run_id}/events",
                      json.dumps({"metrics": metrics}).encode(), {"Content-Type": "application/json"})

    def ingest(self, run_id: str, points: int, batch: int) -> dict:
        # Request bodies are built before the clock starts: the server's ingestion is timed, not
        # the client's JSON encoding (the same for every system).
        bodies = [
            json.dumps({"metrics": [
                {"name": "loss", "value": v, "step": s, "timestamp": iso(ts)}
                for s, ts, v in loss_points(first, min(batch, points - first))
            ]}).encode()
            for first in range(0, points, batch)
        ]
        path = f"/api/v1/{OWNER}/bench/runs/{run_id}/events"
        start = time.perf_counter()
        for body in bodies:
            self.http.raw("POST", path, body, {"Content-Type": "application/json"})
        return {"points": points, "seconds": time.perf_counter() - start,
                "how": f"POST .../events, {batch} points a request (bodies encoded before timing)"}

    def put_history(self, run_id: str, points: int) -> None:
        self.ingest(run_id, points, 1000)

    def read_history_raw(self, run_id: str) -> bytes:
        return self.http.raw(
            "GET", f"/streams/v1/default/{OWNER}/bench/runs/{run_id}/events/metric?names=loss&orient=dict")

    def read_history(self, run_id: str) -> int:
        data = json.loads(self.read_history_raw(run_id))["data"]
        return sum(len(series["data"]["step"]) for series in data)

    def seed_run(self, name: str, metrics: dict) -> None:
        run_id = self.create_run(name, "sweep")
        self._events("sweep", run_id, [{"name": m, "value": v, "step": step}
                                        for m, values in metrics.items() for step, v in enumerate(values)])

    def query_raw(self, project: str, query: str, sort: str, limit: int = SEARCH_LIMIT) -> bytes:
        q = urllib.parse.urlencode({k: v for k, v in (("query", query), ("sort", sort), ("limit", limit)) if v})
        return self.http.raw("GET", f"/api/v1/{OWNER}/{project}/runs?{q}")

    def search_raw(self) -> bytes:
        return self.query_raw("sweep", f"metrics.m0:<{SEARCH_FILTER_MAX}", "-metrics.m1")

    def search(self) -> list[str]:
        return [r["name"] for r in json.loads(self.search_raw())["results"]]


class Myelin(MyelinApi):
    """The embedded server."""

    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.server: Server | None = None
        self.http: Http | None = None

    def start(self) -> float:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "server.log"
        start = time.monotonic()
        self.server = Server("myelin", [str(self.binary), "server", "--data-dir", str(self.workdir / "data"),
                                        "--port", "0"], env={"RUST_LOG": "warn"}, log_path=log)
        url = _wait_ready_line(self.server, log)
        ready = time.monotonic() - start
        self.connect(url)
        return ready

    def stop(self) -> None:
        if self.http:
            self.http.close()
        if self.server:
            self.server.stop()

    @property
    def pid(self) -> int:
        return self.server.pid


def _wait_ready_line(server: Server, log: Path, deadline_s: float = 60.0) -> str:
    """The URL from `Myelin is ready at http://...` in the server's output."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if server.proc.poll() is not None:
            raise RuntimeError(f"myelin exited with {server.proc.returncode}; see {log}")
        match = re.search(r"ready at (http://\S+)", log.read_text(errors="replace")) if log.exists() else None
        if match:
            return match.group(1)
        time.sleep(0.02)
    raise RuntimeError(f"myelin printed no ready line in {deadline_s} s; see {log}")
