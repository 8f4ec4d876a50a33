"""Shared pieces of the tracking benchmark: a keep-alive HTTP client, timing helpers, percentiles,
server processes (started in their own process group, stopped by that group id) and the memory of
a process tree read from /proc.

Standard library only: the driver runs on the machine's python3, the servers in their own venvs.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path


class HttpError(RuntimeError):
    """A response with an unexpected status."""


class Http:
    """One keep-alive connection, used by a single thread. Every request sends
    `Accept-Encoding: gzip` (as Python's requests, which the Polyaxon and MLflow clients use, does)
    and the body is decompressed before it is returned."""

    def __init__(self, base_url: str, timeout: float = 600.0):
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        # Servers close idle keep-alive connections (uvicorn after 5 s): reconnect before that.
        if self.conn is None or time.monotonic() - self.last_used > 3.0:
            self.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            expect: tuple = (200, 201)) -> bytes:
        """Sends one request and returns the (decompressed) body; raises HttpError on another status."""
        hdrs = {"Accept-Encoding": "gzip", "Accept": "application/json"}
        hdrs.update(headers or {})
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        self.last_used = time.monotonic()
        if resp.getheader("Content-Encoding", "") == "gzip":
            data = gzip.decompress(data)
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        if resp.status not in expect:
            raise HttpError(f"{method} {path} -> {resp.status}: {data[:400]!r}")
        return data

    def json(self, method: str, path: str, payload=None, expect: tuple = (200, 201)):
        """Sends JSON (if any) and returns the decoded JSON response (None for an empty body)."""
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = self.raw(method, path, body, headers, expect)
        return json.loads(data) if data.strip() else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """Runs fn and returns (seconds, result)."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_pids(root: int) -> list[int]:
    """The pid and every descendant pid of `root`, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _status_kb(pid: int, field: str, path: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mib(root: int) -> tuple[float, float, int]:
    """(sum of VmRSS, sum of Pss, process count) over the process tree of `root`, in MiB. RSS counts
    pages shared by forked workers once per process; PSS splits them."""
    pids = tree_pids(root)
    rss = sum(_status_kb(p, "VmRSS") for p in pids)
    pss = sum(_status_kb(p, "Pss", "smaps_rollup") for p in pids)
    return rss / 1024, pss / 1024, len(pids)


class Server:
    """A server process started in its own session (process group); `stop()` signals that group."""

    def __init__(self, name: str, argv: list[str], env: dict | None = None, cwd: str | None = None,
                 log_path: Path | None = None):
        self.name = name
        self.log_path = log_path
        out = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_http(self, url: str, deadline_s: float = 180.0, ok: tuple = (200,)) -> float:
        """Polls `url` until it answers with a status in `ok`; returns the seconds it took."""
        start = time.monotonic()
        parsed = urllib.parse.urlsplit(url)
        while time.monotonic() - start < deadline_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=2)
                conn.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""))
                status = conn.getresponse().status
                conn.close()
                if status in ok:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready at {url} after {deadline_s} s; see {self.log_path}")

    def stop(self, grace_s: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
