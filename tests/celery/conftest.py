"""Fixtures for the Celery interop tests: brokers, per-test queues, workers (ours and Python's), Flower.

Services: RabbitMQ at `AMQP_URL` (default amqp://guest:guest@127.0.0.1:5672//) and Redis at `REDIS_URL`
(default redis://127.0.0.1:6379), used as broker on DB 5 and as result backend on DB 6 (override with
`CELERY_REDIS_BROKER` / `CELERY_REDIS_BACKEND`). Tests taking `broker` run once per broker (amqp, redis).
Every test gets its own queue (deleted at teardown) and its workers get unique hostnames, so runs can
overlap and leftovers of one test never reach another.

Our binaries come from `CELERY_CONFORMANCE_WORKER` and `CELERY_SEND` (default: target/debug/...).
`CELERY_INTEROP_WORKER=python` runs the "Python client -> our worker" tests against the Python reference
worker (prefork) instead: the baseline that shows what the tests expect is what Celery does.
A missing binary, Python package or service FAILS the test; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
READY_TIMEOUT_S = 30
RESULT_TIMEOUT_S = 20
TASK_NAMES = ["tasks.add", "tasks.mul", "tasks.tsum", "tasks.echo", "tasks.fail", "tasks.sleep", "tasks.flaky"]

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_BROKER_URL = os.environ.get("CELERY_REDIS_BROKER", f"{REDIS_URL}/5")
BACKEND_URL = os.environ.get("CELERY_REDIS_BACKEND", f"{REDIS_URL}/6")

try:
    import celery  # noqa: F401
    import kombu
    import redis
except ImportError as err:  # pragma: no cover - reported as a failure by the `services` fixture
    IMPORT_ERROR: Optional[ImportError] = err
else:
    IMPORT_ERROR = None


def wait_until(check: Callable[[], Any], what: str, timeout: float = RESULT_TIMEOUT_S, every: float = 0.1) -> Any:
    """Polls `check()` until it returns something truthy (returned) or fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last value: {last!r})")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def hostname(prefix: str) -> str:
    return f"{unique(prefix)}@{socket.gethostname()}"


# ----------------------------------------------------------------------------------------------------------
# Brokers, queues, services


@dataclass(frozen=True)
class Broker:
    name: str  # "amqp" or "redis"
    url: str


@pytest.fixture(scope="session")
def services() -> None:
    """Fails the test (never skips) when Celery is not importable or RabbitMQ/Redis do not answer."""
    if IMPORT_ERROR is not None:
        pytest.fail(f"Python Celery is not importable ({IMPORT_ERROR}): run scripts/python-venv.sh, use its python")
    for url in (AMQP_URL, REDIS_BROKER_URL):
        try:
            with kombu.Connection(url, connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as err:  # noqa: BLE001 - any failure to connect is fatal here
            pytest.fail(f"broker {url} is unreachable ({err!r}): start it (scripts/ensure-services.sh)")
    try:
        redis.Redis.from_url(BACKEND_URL, socket_connect_timeout=5).ping()
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"result backend {BACKEND_URL} is unreachable ({err!r}): start Redis")


@pytest.fixture(params=["amqp", "redis"])
def broker(request, services) -> Broker:
    return Broker(request.param, AMQP_URL if request.param == "amqp" else REDIS_BROKER_URL)


@pytest.fixture
def backend_url(services) -> str:
    return BACKEND_URL


def delete_queue(broker: Broker, name: str) -> None:
    """Removes a test queue (and its exchange/binding) the way each transport stores it."""
    if broker.name == "amqp":
        with kombu.Connection(broker.url, connect_timeout=5) as conn:
            for op in (lambda ch: ch.queue_delete(name), lambda ch: ch.exchange_delete(name)):
                try:
                    op(conn.channel())
                except Exception:  # noqa: BLE001 - absent already
                    pass
    else:
        client = redis.Redis.from_url(broker.url)
        sep = b"\x06\x16"
        client.delete(name, *(f"{name}\x06\x16{p}" for p in range(1, 10)), f"_kombu.binding.{name}",
                      f"_kombu.binding_permanent.{name}")
        # Bindings of the queue to shared exchanges (members "routing_key<sep>pattern<sep>queue").
        for key in client.scan_iter(match="_kombu.binding*", count=1000):
            if client.type(key) == b"set":
                ours = [m for m in client.smembers(key) if m.split(sep)[-1] == name.encode()]
                if ours:
                    client.srem(key, *ours)
        client.close()


@pytest.fixture
def queue(request, broker: Broker) -> str:
    """A queue name of this test only; deleted at teardown."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    name = unique(f"interop.{slug}")
    yield name
    delete_queue(broker, name)


# ----------------------------------------------------------------------------------------------------------
# Processes: our worker, the Python worker, Flower


@dataclass
class Proc:
    """A process started by a fixture: its output goes to `log`; stopped (whole process group) at teardown."""

    label: str
    cmd: list
    log: Path
    hostname: str = ""
    proc: Optional[subprocess.Popen] = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "<no output>"

    def start(self, env: dict, cwd: Path) -> "Proc":
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                self.cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_for_output(self, pattern: re.Pattern, timeout: float = READY_TIMEOUT_S) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                pytest.fail(f"{self.label} exited with {self.proc.returncode} before it was ready:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.label} printed no {pattern.pattern!r} within {timeout} s:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, limit: int = 20000) -> str:
        return f"$ {' '.join(map(str, self.cmd))}\n{self.output()[-limit:]}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the process, then (after 5 s, or at once if it exited) SIGKILL to its whole group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


@pytest.fixture
def procs(queue: str):
    """Every process a test started; stopped at teardown (before its queue is deleted), their output attached
    to a failure report."""
    started: list[Proc] = []
    yield started
    for p in reversed(started):
        p.stop()


def base_env() -> dict:
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", RUST_BACKTRACE="1")
    return env


def binary(var: str, name: str) -> str:
    path = Path(os.environ.get(var) or TARGET_DIR / "debug" / name)
    if not path.is_file():
        pytest.fail(f"{var}={path} does not exist: build it (cargo build --workspace) or set {var}")
    return str(path)


OUR_READY = re.compile(r"worker ready")


@pytest.fixture
def our_worker(procs, tmp_path, backend_url):
    """Starts `celery-conformance-worker` on (broker, queue); returns the `Proc` once it printed 'worker ready'.

    `max_priority` declares the queues with x-max-priority, as the client does (`--max-priority`).
    """

    def start(broker: Broker, queue: str, *, backend: Optional[str] = None, concurrency: Optional[int] = None,
              events: bool = False, queues: tuple = (), max_priority: Optional[int] = None,
              extra: tuple = ()) -> Proc:
        exe = binary("CELERY_CONFORMANCE_WORKER", "celery-conformance-worker")
        name = hostname("ours")
        cmd = [exe, "--broker", broker.url, "--backend", backend or backend_url, "--hostname", name]
        for q in (queue, *queues):
            cmd += ["--queue", q]
        if concurrency is not None:
            cmd += ["--concurrency", str(concurrency)]
        if events:
            cmd.append("--events")
        if max_priority is not None:
            cmd += ["--max-priority", str(max_priority)]
        cmd += list(extra)
        p = Proc(f"celery-conformance-worker {name}", cmd, tmp_path / f"{name}.log", hostname=name)
        procs.append(p.start(base_env(), tmp_path))
        p.wait_for_output(OUR_READY)
        return p

    return start


@pytest.fixture
def py_worker(procs, tmp_path, backend_url):
    """Starts a Python Celery worker on the tasks of pyworker.py; returns the `Proc` once it is ready."""

    def start(broker: Broker, queue: str, *, backend: Optional[str] = None, concurrency: Optional[int] = None,
              events: bool = True, queues: tuple = (), pool: str = "solo", max_priority: Optional[int] = None) -> Proc:
        name = hostname("py")
        cmd = [sys.executable, "-m", "celery", "-A", "pyworker", "worker", "--pool", pool,
               "-Q", ",".join((queue, *queues)), "-n", name, "--without-mingle", "--without-gossip",
               "--loglevel", "INFO"]
        if events:
            cmd.append("-E")
        if concurrency is not None and pool != "solo":
            cmd += ["--concurrency", str(concurrency)]
        env = base_env()
        env.update(PYWORKER_BROKER=broker.url, PYWORKER_BACKEND=backend or backend_url,
                   PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        if max_priority is not None:
            env["PYWORKER_MAX_PRIORITY"] = str(max_priority)
        p = Proc(f"python celery worker {name}", cmd, tmp_path / f"{name}.log", hostname=name)
        procs.append(p.start(env, tmp_path))
        p.wait_for_output(re.compile(re.escape(name) + r" ready\."))
        return p

    return start


@pytest.fixture
def target_worker(our_worker, py_worker):
    """The worker under test for "Python client -> worker": ours, or Python's with CELERY_INTEROP_WORKER=python."""
    if os.environ.get("CELERY_INTEROP_WORKER", "ours") == "python":

        def start(broker, queue, *, concurrency=None, events=False, **kw):
            return py_worker(broker, queue, pool="prefork", concurrency=concurrency or 2, events=events, **kw)

        return start
    return our_worker


@dataclass
class Flower:
    url: str
    proc: Proc

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except (urllib.error.URLError, ConnectionError):
            return 0, None
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def flower(procs, tmp_path):
    """Starts Flower (PyPI) on `broker`; returns a `Flower` once its API answers."""

    def start(broker: Broker) -> Flower:
        port = free_port()
        cmd = [sys.executable, "-m", "celery", "--broker", broker.url, "flower", "--address=127.0.0.1",
               f"--port={port}", "--inspect_timeout=5000"]
        env = base_env()
        env["FLOWER_UNAUTHENTICATED_API"] = "true"
        p = Proc(f"flower :{port}", cmd, tmp_path / f"flower-{port}.log")
        procs.append(p.start(env, tmp_path))
        fl = Flower(f"http://127.0.0.1:{port}", p)

        def answers():
            if not p.alive():
                pytest.fail(f"flower exited with {p.proc.returncode}:\n{p.tail()}")
            return fl.get("/api/workers?status=1")[0] == 200

        wait_until(answers, "Flower's API", timeout=READY_TIMEOUT_S)
        return fl

    return start


# ----------------------------------------------------------------------------------------------------------
# The Python client


@dataclass
class Client:
    """A Python Celery app (no tasks of its own) sending by name to `queue`."""

    app: Any
    queue: str
    broker: Broker

    def sig(self, name: str, *args, **options):
        """A signature of task `name` routed to this test's queue."""
        options.setdefault("queue", self.queue)
        return self.app.signature(name, args=args, **options)

    def send(self, name: str, *args, kwargs: Optional[dict] = None, **options):
        options.setdefault("queue", self.queue)
        return self.app.send_task(name, args=args, kwargs=kwargs or {}, **options)

    def result(self, task_id: str):
        return self.app.AsyncResult(task_id)

    def state_becomes(self, task_id: str, state: str, timeout: float = RESULT_TIMEOUT_S) -> None:
        wait_until(lambda: self.result(task_id).state == state, f"task {task_id} to be {state}", timeout)


def make_app(broker: Broker, backend: str, queue: str, **conf):
    from celery import Celery

    app = Celery(unique("interop-client"), broker=broker.url, backend=backend, set_as_current=False)
    app.conf.update(broker_connection_retry_on_startup=True, task_default_queue=queue, enable_utc=True,
                    result_extended=True, **conf)
    return app


@pytest.fixture
def client(broker: Broker, backend_url: str, queue: str) -> Client:
    app = make_app(broker, backend_url, queue)
    yield Client(app, queue, broker)
    app.close()


@pytest.fixture
def make_client(broker: Broker, queue: str):
    """Builds extra clients (other backend, other settings) for this test's broker and queue."""
    apps = []

    def build(backend: str = BACKEND_URL, **conf) -> Client:
        app = make_app(broker, backend, queue, **conf)
        apps.append(app)
        return Client(app, queue, broker)

    yield build
    for app in apps:
        if app.conf.result_backend.startswith("rpc"):
            delete_queue(broker, app.backend.oid)  # the reply queue (Redis has no auto-delete)
        app.close()


class EventCollector:
    """A Python `app.events.Receiver` in a thread, recording every event it sees (all types)."""

    def __init__(self, app):
        self.app = app
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.error: Optional[BaseException] = None
        self.receiver = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.app.connection_for_read() as conn:
                self.receiver = self.app.events.Receiver(conn, handlers={"*": self._on_event})
                self.receiver.capture(limit=None, timeout=None, wakeup=False)
        except BaseException as err:  # noqa: BLE001 - surfaced by `start`/`find`
            self.error = err
            self.ready.set()

    def _on_event(self, event: dict) -> None:
        with self.lock:
            self.events.append(event)

    def start(self) -> "EventCollector":
        """Starts consuming and returns once it is subscribed (see `barrier`)."""
        self.thread.start()
        self.barrier()
        return self

    def barrier(self) -> None:
        """Sends probe events through the broker until one comes back: the receiver is subscribed, and
        events published before this call have had the time a round trip through the broker takes."""
        probe = uuid.uuid4().hex
        deadline = time.monotonic() + READY_TIMEOUT_S
        with self.app.connection_for_write() as conn:
            dispatcher = self.app.events.Dispatcher(conn, hostname="interop-probe")
            try:
                while time.monotonic() < deadline and self.error is None:
                    dispatcher.send("interop-probe", probe=probe)
                    if self.find(lambda e: e.get("probe") == probe, timeout=0.5, fail=False):
                        return
            finally:
                dispatcher.close()
        pytest.fail(f"the event receiver never saw its own probe event (error: {self.error!r})")

    def find(self, pred: Callable[[dict], bool], timeout: float = RESULT_TIMEOUT_S, fail: bool = True):
        """The first recorded event matching `pred`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                for event in self.events:
                    if pred(event):
                        return event
            if self.error is not None:
                pytest.fail(f"the event receiver died: {self.error!r}")
            if time.monotonic() > deadline:
                if not fail:
                    return None
                with self.lock:
                    seen = sorted({(e.get("type"), e.get("hostname")) for e in self.events}, key=str)
                pytest.fail(f"no matching event within {timeout} s; seen (type, hostname): {seen}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.thread.join(timeout=10)


@pytest.fixture
def events(client: Client):
    """An `EventCollector` on the client's broker, consuming before the test starts its worker."""
    collector = EventCollector(client.app).start()
    yield collector
    collector.stop()


# ----------------------------------------------------------------------------------------------------------
# Our producer


@pytest.fixture
def celery_send(backend_url: str):
    """Runs `celery-send --broker <broker> --backend <backend> ARGS...`; returns its parsed JSON line."""

    def run(broker: Broker, *args: str) -> dict:
        cmd = [binary("CELERY_SEND", "celery-send"), "--broker", broker.url, "--backend", backend_url, *args]
        proc = subprocess.run(cmd, env=base_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60)
        shown = (f"$ {' '.join(cmd)}\nexit {proc.returncode}\n"
                 f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
        assert proc.returncode == 0, shown
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"celery-send must print exactly one JSON line\n{shown}"
        try:
            return json.loads(lines[0])
        except json.JSONDecodeError:
            pytest.fail(f"celery-send printed no JSON\n{shown}")

    return run


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when in ("setup", "call") and report.failed:
        for p in item.funcargs.get("procs") or []:
            report.sections.append((f"output of {p.label}", p.tail()))
    return report
