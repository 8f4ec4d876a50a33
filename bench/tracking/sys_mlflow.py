"""MLflow adapter: `mlflow server` on SQLite (its default worker count, 4 uvicorn workers), driven
through its REST API 2.0: runs/create, runs/log-batch (at most 1000 metrics a batch),
metrics/get-history (paged by next_page_token) and runs/search."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

from common import Http, Server, free_port
from workload import SEARCH_FILTER_MAX, SEARCH_LIMIT, loss_points

API = "/api/2.0/mlflow"


class Mlflow:
    def __init__(self, venv: Path, workdir: Path):
        self.venv = venv
        self.workdir = workdir
        self.name = "MLflow"
        self.server: Server | None = None
        self.http: Http | None = None
        self.exp = {}
        self.version = "?"

    def start(self) -> float:
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.version = _version(self.venv)
        self.name = f"MLflow {self.version}"
        self.server = Server("mlflow", [
            str(self.venv / "bin" / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--default-artifact-root", str(self.workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port)],
            cwd=str(self.workdir), log_path=self.workdir / "server.log")
        url = f"http://127.0.0.1:{port}"
        ready = self.server.wait_http(url + "/health")
        self.http = Http(url)
        for project in ("bench", "sweep"):
            self.exp[project] = self.http.json("POST", API + "/experiments/create", {"name": project})[
                "experiment_id"]
        return ready

    def stop(self) -> None:
        if self.http:
            self.http.close()
        if self.server:
            self.server.stop()

    @property
    def pid(self) -> int:
        return self.server.pid

    def create_run(self, name: str, project: str = "bench") -> str:
        body = {"experiment_id": self.exp[project], "run_name": name, "start_time": int(time.time() * 1000)}
        return self.http.json("POST", API + "/runs/create", body)["run"]["info"]["run_id"]

    def _log(self, run_id: str, metrics: list[dict]) -> None:
        self.http.raw("POST", API + "/runs/log-batch", json.dumps({"run_id": run_id, "metrics": metrics}).encode(),
                      {"Content-Type": "application/json"})

    def ingest(self, run_id: str, points: int, batch: int) -> dict:
        # Request bodies are built before the clock starts: the server's ingestion is timed, not
        # the client's JSON encoding (the same for every system).
        bodies = [
            json.dumps({"run_id": run_id, "metrics": [
                {"key": "loss", "value": v, "timestamp": ts, "step": s}
                for s, ts, v in loss_points(first, min(batch, points - first))
            ]}).encode()
            for first in range(0, points, batch)
        ]
        start = time.perf_counter()
        for body in bodies:
            self.http.raw("POST", API + "/runs/log-batch", body, {"Content-Type": "application/json"})
        return {"points": points, "seconds": time.perf_counter() - start,
                "how": f"REST runs/log-batch, {batch} points a request (bodies encoded before timing)"}

    def put_history(self, run_id: str, points: int) -> None:
        self.ingest(run_id, points, 1000)

    def _history_pages(self, run_id: str) -> list[bytes]:
        pages, token = [], None
        while True:
            q = {"run_id": run_id, "metric_key": "loss"}
            if token:
                q["page_token"] = token
            data = self.http.raw("GET", API + "/metrics/get-history?" + urllib.parse.urlencode(q))
            pages.append(data)
            token = json.loads(data).get("next_page_token") if b"next_page_token" in data else None
            if not token:
                return pages

    def read_history_raw(self, run_id: str) -> list[bytes]:
        return self._history_pages(run_id)

    def read_history(self, run_id: str) -> int:
        return sum(len(json.loads(p).get("metrics", [])) for p in self._history_pages(run_id))

    def seed_run(self, name: str, metrics: dict) -> None:
        run_id = self.create_run(name, "sweep")
        self._log(run_id, [{"key": m, "value": v, "timestamp": 1_767_225_600_000 + step, "step": step}
                           for m, values in metrics.items() for step, v in enumerate(values)])

    def _search_body(self) -> dict:
        return {"experiment_ids": [self.exp["sweep"]], "filter": f"metrics.m0 < {SEARCH_FILTER_MAX}",
                "order_by": ["metrics.m1 DESC"], "max_results": SEARCH_LIMIT}

    def search_raw(self) -> bytes:
        return self.http.raw("POST", API + "/runs/search", json.dumps(self._search_body()).encode(),
                             {"Content-Type": "application/json"})

    def search(self) -> list[str]:
        return [r["info"]["run_name"] for r in json.loads(self.search_raw()).get("runs", [])]


def _version(venv: Path) -> str:
    for meta in (venv / "lib").glob("python3*/site-packages/mlflow-*.dist-info/METADATA"):
        for line in meta.read_text().splitlines():
            if line.startswith("Version:"):
                return line.split()[1]
    return "?"
