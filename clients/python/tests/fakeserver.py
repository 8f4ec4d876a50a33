"""An in-process HTTP double of the Myelin API for the unit tests: it answers the routes the client
uses, records every request, can be told to fail the next matching requests, and hashes uploads
while it reads them (never holding a body whole) so large uploads can be checked exactly.

Importing it puts ``clients/python/src`` first on ``sys.path``, so the tests use this working copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid as uuidlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

RUNS = re.compile(r"^/api/v1/([^/]+)/([^/]+)/runs$")
RUN = re.compile(r"^/api/v1/([^/]+)/([^/]+)/runs/([^/]+)(/[a-z/]+)?$")
PROJECT_CREATE = re.compile(r"^/api/v1/([^/]+)/projects/create$")
UPLOAD = re.compile(r"^/streams/v1/([^/]+)/([^/]+)/([^/]+)/runs/([^/]+)/artifact$")
KEEP = 4096  # bytes of an upload kept at each end


@dataclass
class Recorded:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    json: Any = None
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    tail: bytes = b""


@dataclass
class Failure:
    method: str
    pattern: str
    status: int
    body: Any
    times: int


@dataclass
class FakeMyelin:
    """The server state; ``url`` once started."""

    projects: set = field(default_factory=lambda: {("default", "demo")})
    runs: Dict[str, dict] = field(default_factory=dict)
    requests: List[Recorded] = field(default_factory=list)
    failures: List[Failure] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def start(self) -> "FakeMyelin":
        state = self

        class Handler(_Handler):
            fake = state

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, method: str, pattern: str, status: int, body: Any = None, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path matches ``pattern`` (regex search) with ``status``."""
        with self.lock:
            self.failures.append(Failure(method, pattern, status, body, times))

    def add_run(self, owner: str, project: str, **fields: Any) -> str:
        uid = uuidlib.uuid4().hex
        with self.lock:
            self.projects.add((owner, project))
            self.runs[uid] = {"uuid": uid, "owner": owner, "project": project, "tags": None, **fields}
        return uid

    def seen(self, method: Optional[str] = None, pattern: str = "") -> List[Recorded]:
        with self.lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and re.search(pattern, r.path)
            ]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; requests: {self.summary()}")
            time.sleep(0.01)

    def metric_points(self) -> List[dict]:
        return [p for r in self.seen("POST", r"/events$") for p in r.json.get("metrics", [])]

    def summary(self) -> List[str]:
        return [f"{r.method} {r.path}" for r in self.seen()]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeMyelin

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("x-request-id", "req-1")
        self.end_headers()
        self.wfile.write(raw)

    def _read(self, rec: Recorded) -> bytes:
        """Reads the body in chunks; uploads are hashed, JSON bodies kept."""
        length = int(self.headers.get("Content-Length") or 0)
        digest, head, tail, kept = hashlib.sha256(), b"", b"", []
        is_json = "json" in (self.headers.get("Content-Type") or "")
        left = length
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            digest.update(chunk)
            if len(head) < KEEP:
                head += chunk[: KEEP - len(head)]
            tail = (tail + chunk)[-KEEP:]
            if is_json:
                kept.append(chunk)
        rec.size, rec.sha256, rec.head, rec.tail = length - left, digest.hexdigest(), head, tail
        return b"".join(kept)

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        rec = Recorded(
            method=self.command,
            path=url.path,
            query=dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        raw = self._read(rec)
        if raw:
            rec.json = json.loads(raw)
        fake = self.fake
        with fake.lock:
            fake.requests.append(rec)
            for failure in fake.failures:
                if failure.times and failure.method == self.command and re.search(failure.pattern, url.path):
                    failure.times -= 1
                    status, body = failure.status, failure.body
                    break
            else:
                status, body = self._route(rec)
        if status == -1:  # drop the connection without an answer
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._answer(status, body)

    def _route(self, rec: Recorded) -> "tuple[int, Any]":
        fake, body, path = self.fake, rec.json, rec.path
        if m := PROJECT_CREATE.match(path):
            if (m[1], body["name"]) in fake.projects:
                return 409, {"code": "tracker.project_exists", "message": "exists"}
            fake.projects.add((m[1], body["name"]))
            return 201, {"name": body["name"]}
        if (m := RUNS.match(path)) and rec.method == "POST":
            if (m[1], m[2]) not in fake.projects:
                return 404, {"code": "tracker.project_not_found", "message": f"no project {m[1]}/{m[2]}"}
            uid = uuidlib.uuid4().hex
            fake.runs[uid] = {"uuid": uid, "owner": m[1], "project": m[2], **body}
            return 201, fake.runs[uid]
        if m := RUN.match(path):
            run = fake.runs.get(m[3])
            if run is None or (run["owner"], run["project"]) != (m[1], m[2]):
                return 404, {"code": "tracker.run_not_found", "message": "no such run", "request_id": "req-1"}
            sub = m[4] or ""
            if sub == "" and rec.method == "GET":
                return 200, run
            if sub == "" and rec.method == "PATCH":
                for key in ("inputs", "outputs"):
                    if key in body:
                        run[key] = {**(run.get(key) or {}), **body[key]}
                if "tags" in body:
                    run["tags"] = list(dict.fromkeys((run.get("tags") or []) + body["tags"]))
                return 200, run
            if sub == "/statuses":
                run.setdefault("statuses", []).append(body["condition"]["type"])
                return 201, {"status": None, "status_conditions": None, "meta_info": None}
            if sub == "/events":
                return 200, {"metrics": len(body.get("metrics", [])), "events": len(body.get("events", []))}
            if sub == "/lineage/artifacts":
                return 201, None
        if UPLOAD.match(path) and rec.method == "POST":
            return 200, None
        return 404, {"code": "fake.no_route", "message": f"{rec.method} {path}"}

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
