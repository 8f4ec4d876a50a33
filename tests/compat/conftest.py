"""Fixtures for the compatibility tests: a `myelin server` and the OFFICIAL polyaxon CLI/SDK pointed at it.

The server is the binary named by `MYELIN_BIN` (build it with `cargo build --workspace`), started once per
session on a temporary data dir and a free port. Every polyaxon command runs with a temporary HOME,
POLYAXON_HOME and working directory, so no user configuration is read or written, and never contacts
anything but the local server (the compatibility check against Polyaxon's cloud is disabled).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

READY_LINE = re.compile(r"Myelin is ready at (http://127\.0\.0\.1:\d+)")
TIMEOUT_S = 60
# The owner `admin` (org `default`) the server creates on first start with this password.
ADMIN_PASSWORD = "compat-admin-password"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_dir: Path
    # A login token of `admin`, sent by `request` unless told otherwise.
    token: str = ""

    def logs(self) -> str:
        parts = []
        for name in ("stdout", "stderr"):
            path = self.log_dir / f"server.{name}.log"
            text = path.read_text(errors="replace") if path.exists() else "<missing>"
            parts.append(f"----- myelin server {name} -----\n{text[-20000:]}")
        return "\n".join(parts)

    def request(
        self, method: str, path: str, body: Optional[dict] = None, token: Optional[str] = None
    ) -> tuple[int, Any]:
        """One REST call as `admin` (or with `token`; "" sends none); returns (status, parsed JSON body or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        token = self.token if token is None else token
        if token:
            req.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")


@dataclass
class Polyaxon:
    """Runs the official `polyaxon` CLI (and Python snippets using the SDK) against the server."""

    exe: Path
    env: dict
    cwd: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.exe), *args],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        if check:
            assert proc.returncode == 0, describe(["polyaxon", *args], proc)
        return proc

    def python(self, code: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert proc.returncode == 0, describe(["python", "-c", "<sdk snippet>"], proc)
        return proc


def describe(cmd: list, proc: subprocess.CompletedProcess) -> str:
    return (
        f"`{' '.join(cmd)}` exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "MYELIN_"))}
    env.update(HOME=str(home), NO_COLOR="1", TERM="dumb", COLUMNS="250", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    binary = os.environ.get("MYELIN_BIN")
    if not binary:
        pytest.fail("MYELIN_BIN is not set: point it at target/debug/myelin (cargo build --workspace)")
    if not Path(binary).is_file():
        pytest.fail(f"MYELIN_BIN={binary} does not exist: run `cargo build --workspace` first")
    root = tmp_path_factory.mktemp("myelin")
    (root / "home").mkdir()
    stdout = open(root / "server.stdout.log", "w")
    stderr = open(root / "server.stderr.log", "w")
    server_env = clean_env(root / "home")
    server_env["MYELIN_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    proc = subprocess.Popen(
        [binary, "server", "--data-dir", str(root / "data"), "--port", "0"],
        env=server_env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )
    srv = Server(url="", proc=proc, log_dir=root)
    deadline = time.monotonic() + 30
    while True:
        match = READY_LINE.search((root / "server.stdout.log").read_text(errors="replace"))
        if match:
            srv.url = match.group(1)
            break
        if proc.poll() is not None:
            pytest.fail(f"myelin server exited with {proc.returncode} before it was ready\n{srv.logs()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"myelin server printed no ready line within 30 s\n{srv.logs()}")
        time.sleep(0.05)
    status, body = srv.request(
        "POST", "/api/v1/auth/token", {"username": "admin", "password": ADMIN_PASSWORD}, token=""
    )
    if status != 200:
        proc.kill()
        pytest.fail(f"cannot log in as admin: {status} {body}\n{srv.logs()}")
    srv.token = body["token"]
    yield srv
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stdout.close()
    stderr.close()


@pytest.fixture(scope="session")
def polyaxon(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Polyaxon:
    exe = Path(sys.executable).with_name("polyaxon")
    if not exe.is_file():
        found = shutil.which("polyaxon")
        if not found:
            pytest.fail("the polyaxon CLI is not installed: run scripts/python-venv.sh and use its python")
        exe = Path(found)
    root = tmp_path_factory.mktemp("polyaxon")
    for sub in ("home", "polyaxon-home", "work", "offline"):
        (root / sub).mkdir()
    env = clean_env(root / "home")
    env.update(
        POLYAXON_HOST=server.url,
        # What the official CLI and SDK send as `Authorization: Token <t>`.
        POLYAXON_AUTH_TOKEN=server.token,
        POLYAXON_HOME=str(root / "polyaxon-home"),
        POLYAXON_OFFLINE_ROOT=str(root / "offline"),
        POLYAXON_INTERVALS_COMPATIBILITY_CHECK="-1",
        POLYAXON_DISABLE_ERRORS_REPORTING="true",
        POLYAXON_NO_OP="false",
    )
    return Polyaxon(exe=exe, env=env, cwd=root / "work")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        srv = item.funcargs.get("server")
        if isinstance(srv, Server):
            report.sections.append(("myelin server logs", srv.logs()))
    return report
