"""Worker processes of the Celery throughput benchmark: ours and Python's, started in their own
process group (output to a log file) and stopped by that group id, gracefully first.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class Worker:
    """A started worker process; `stop()` is idempotent and always leaves no process behind."""

    def __init__(self, label: str, cmd: list[str], env: dict, log: Path, hostname: str):
        self.label, self.cmd, self.log, self.hostname = label, cmd, log, hostname
        with open(log, "w") as out:
            self.proc = subprocess.Popen(cmd, env=env, cwd=HERE, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self, limit: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"$ {' '.join(self.cmd)}\n{text[-limit:]}"

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.label} exited with {self.proc.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM (a warm shutdown: running tasks finish and are acked), then SIGKILL to the group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


def _hostname(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"


def our_worker(args: argparse.Namespace, queue: str, backend: bool, log: Path) -> Worker:
    """`celery-conformance-worker` on `queue`: Redis results, or no backend and late ack."""
    name = _hostname("bench-ours")
    cmd = [args.binary, "--broker", args.broker, "--backend", args.backend if backend else "disabled",
           "-Q", queue, "--hostname", name, "--concurrency", str(args.concurrency), "--prefetch", str(args.prefetch)]
    if not backend:
        cmd.append("--acks-late")
    env = dict(os.environ, RUST_LOG="warn")
    return Worker(f"our worker {name}", cmd, env, log, name)


def python_worker(args: argparse.Namespace, queue: str, pool: str, backend: bool, log: Path) -> Worker:
    """`celery worker` on the `noop_tasks` app: `--pool solo`, or `--pool prefork --concurrency 2`."""
    name = _hostname(f"bench-py-{pool}")
    cmd = [sys.executable, "-m", "celery", "-A", "noop_tasks", "worker", "--pool", pool, "-Q", queue, "-n", name,
           "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"]
    if pool == "prefork":
        cmd += ["--concurrency", "2"]
    env = dict(os.environ, BENCH_BROKER=args.broker, BENCH_BACKEND=args.backend if backend else "disabled",
               BENCH_ACKS_LATE="0" if backend else "1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    return Worker(f"python worker {name}", cmd, env, log, name)
