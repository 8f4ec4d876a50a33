"""Baseline for the run-drain benchmark: the same work through plain Python Celery.

N tasks, each running the no-op command `true` as a child process (what a Myelin run of
`command: ['true']` does), sent at once to a Celery worker (prefork, `--concurrency` processes) on
the local RabbitMQ, results on the local Redis. Prints one JSON line:
{"tasks", "seconds", "per_second", "latency_p50_ms", "latency_p99_ms"} where latency is from the
send to the moment the task started in the worker.

    python bench/celery_baseline.py --tasks 300 --concurrency 8 --vhost /
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

APP = '''
import subprocess, time
from celery import Celery
app = Celery("bench", broker="{broker}", backend="{backend}")
# Remote control off: the benchmark needs none, and Myelin's services declare `celery.pidbox` durable
# on the shared broker while Celery declares it transient (a known gap, issue 7).
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, result_expires=600,
                worker_enable_remote_control=False)

@app.task(name="bench.run_noop")
def run_noop(sent_at):
    started = time.time()
    subprocess.run(["true"], check=True)
    return {{"sent_at": sent_at, "started_at": started}}
'''


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"celery-bench-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True)
    (workdir / "bench_app.py").write_text(APP.format(broker=args.amqp, backend=args.redis))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, PYTHONPATH=str(workdir))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench_app", "worker", "-Q", queue, "--pool=prefork",
         f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-l", "warning"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "worker.log", "w"),
    )
    try:
        sys.path.insert(0, str(workdir))
        from bench_app import app, run_noop  # noqa: E402

        # Warm up: the worker is ready once it answers a task.
        run_noop.apply_async(args=[time.time()], queue=queue).get(timeout=60)
        started = time.time()
        results = [run_noop.apply_async(args=[time.time()], queue=queue) for _ in range(args.tasks)]
        values = [r.get(timeout=300) for r in results]
        seconds = time.time() - started
        latencies = [(v["started_at"] - v["sent_at"]) * 1000.0 for v in values]
        print(json.dumps({
            "tasks": args.tasks,
            "seconds": round(seconds, 3),
            "per_second": round(args.tasks / seconds, 1),
            "latency_p50_ms": round(percentile(latencies, 0.5), 1),
            "latency_p99_ms": round(percentile(latencies, 0.99), 1),
        }))
        app.control.purge()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
