"""Celery throughput: no-op tasks/s of ONE process of our worker against a Python Celery 5.7 worker.

    /work/venv/bin/python bench/celery/throughput.py            # the full benchmark (about 10 minutes)
    /work/venv/bin/python bench/celery/throughput.py --repeats 1 --n-ours 5000 --n-python 2000   # a quick try

Workers (each on its own fresh queue, same RabbitMQ, same run): `celery-conformance-worker` (ours,
`--concurrency 16 --prefetch 256`), Python `celery worker --pool solo`, and `--pool prefork
--concurrency 2` (Celery's default prefetch, 4 × concurrency: 8 for both, as solo's concurrency
defaults to the CPU count), each with the Redis result backend on
and off. Method, the same for every worker:

1. a fresh queue gets N `tasks.noop` messages, published in bulk by Python's producer (`send_task`
   with one producer, a client app without a result backend) before the worker starts;
2. the worker starts (logging at WARNING: no per-task log lines, events off);
3. progress is observed every 50 ms: with a backend, the number of `celery-task-meta-<id>` keys of
   the queue's ids in Redis (one EXISTS per 2000 ids); without a backend (both workers then ack
   late), the worker's own `inspect stats` total for `tasks.noop`, and at the end `inspect active`
   must be empty (every task finished, so acked);
4. the first WARM tasks (5% of N, at least 200) are the warm-up: the clock starts at the first
   observation with at least WARM done, counting the n0 done then, and stops at the first
   observation with all N done; tasks/s = (N - n0) / elapsed; intervals of more than 1 s without
   progress are reported as pauses, and "busy" tasks/s leaves them out;
5. checks: all N results stored with status SUCCESS and result None (backend on) or no result stored
   (off); after a graceful stop the queue holds no message (nothing left unacked or requeued).

Configurations run round-robin, `--repeats` times; the median tasks/s is reported with its ratio to
Python solo with the same backend setting. Fails loudly when RabbitMQ, Redis, Celery or the binary
is missing; deletes its queues, exchanges and Redis keys and kills its workers whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import kombu
import redis
from celery import Celery

from workers import ROOT, Worker, our_worker, python_worker

POLL_S = 0.05
PAUSE_S = 1.0  # no progress for longer than this counts as a pause (reported, and left out of "busy" tasks/s)
STALL_TIMEOUT_S = 120


@dataclass(frozen=True)
class Config:
    worker: str  # "ours" or "python"
    pool: str  # "tokio" (ours), "solo", "prefork"
    backend: bool
    n: int

    @property
    def label(self) -> str:
        return f"{self.worker}/{self.pool}/{'redis' if self.backend else 'none'}"


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.redis = redis.Redis.from_url(args.backend)
        self.client = Celery("bench-client", broker=args.broker, backend=None, set_as_current=False)
        self.client.conf.update(broker_connection_retry_on_startup=True)
        self.logs = Path(args.logs)
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- services ------------------------------------------------------------------------------------

    def check_services(self) -> None:
        try:
            with kombu.Connection(self.args.broker, connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as err:  # noqa: BLE001 - any failure is fatal
            sys.exit(f"FATAL: RabbitMQ at {self.args.broker} is unreachable: {err!r}")
        try:
            self.redis.ping()
        except Exception as err:  # noqa: BLE001
            sys.exit(f"FATAL: Redis at {self.args.backend} is unreachable: {err!r}")
        if not Path(self.args.binary).is_file():
            sys.exit(f"FATAL: {self.args.binary} is missing: cargo build -p myelin-celery --bins")

    def publish(self, queue: str, ids: list[str]) -> float:
        """Publishes one `tasks.noop` per id to `queue`; returns the seconds it took."""
        started = time.monotonic()
        with self.client.producer_or_acquire() as producer:
            for task_id in ids:
                self.client.send_task("tasks.noop", task_id=task_id, queue=queue, producer=producer)
        deadline = time.monotonic() + 30
        while (ready := self.ready_count(queue)) != len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"queue {queue} holds {ready} messages after publishing {len(ids)}")
            time.sleep(0.1)
        return time.monotonic() - started

    def ready_count(self, queue: str) -> int:
        with kombu.Connection(self.args.broker, connect_timeout=5) as conn:
            return conn.default_channel.queue_declare(queue, passive=True).message_count

    def cleanup(self, queue: str, ids: list[str]) -> None:
        with kombu.Connection(self.args.broker, connect_timeout=5) as conn:
            for op in (lambda ch: ch.queue_delete(queue), lambda ch: ch.exchange_delete(queue)):
                try:
                    op(conn.channel())
                except Exception:  # noqa: BLE001 - absent already
                    pass
        for i in range(0, len(ids), 2000):
            self.redis.delete(*(f"celery-task-meta-{t}" for t in ids[i:i + 2000]))

    # -- progress ------------------------------------------------------------------------------------

    def stored(self, ids: list[str]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for i in range(0, len(ids), 2000):
            pipe.exists(*(f"celery-task-meta-{t}" for t in ids[i:i + 2000]))
        return sum(pipe.execute())

    def inspect(self, worker: Worker, method: str):
        reply = getattr(self.client.control.inspect(destination=[worker.hostname], timeout=0.2, limit=1), method)()
        return (reply or {}).get(worker.hostname)

    def progress(self, cfg: Config, worker: Worker, ids: list[str]) -> int:
        """Tasks done so far (results stored; without a backend: tasks started, per the worker)."""
        if cfg.backend:
            return self.stored(ids)
        stats = self.inspect(worker, "stats")
        return int((stats or {}).get("total", {}).get("tasks.noop", 0))

    def finished(self, cfg: Config, worker: Worker) -> bool:
        return cfg.backend or self.inspect(worker, "active") == []

    # -- one run -------------------------------------------------------------------------------------

    def run(self, cfg: Config, rep: int) -> dict:
        queue = f"bench.throughput.{uuid.uuid4().hex[:10]}"
        ids = [str(uuid.uuid4()) for _ in range(cfg.n)]
        warm = max(200, cfg.n // 20)
        worker = None
        try:
            publish_s = self.publish(queue, ids)
            log = self.logs / f"{cfg.label.replace('/', '-')}-{rep}.log"
            if cfg.worker == "ours":
                worker = our_worker(self.args, queue, cfg.backend, log)
            else:
                worker = python_worker(self.args, queue, cfg.pool, cfg.backend, log)
            t0 = n0 = None
            paused = 0.0
            last_change, last_done = time.monotonic(), -1
            while True:
                before = time.monotonic()
                done = self.progress(cfg, worker, ids)
                now = (before + time.monotonic()) / 2
                if done != last_done:
                    if t0 is not None and now - last_change > PAUSE_S:
                        paused += now - last_change
                    last_change, last_done = now, done
                if t0 is None and done >= warm:
                    t0, n0 = now, done
                if done >= cfg.n and self.finished(cfg, worker):
                    elapsed = now - t0
                    break
                worker.check_alive()
                if now - last_change > STALL_TIMEOUT_S:
                    raise RuntimeError(f"{cfg.label}: no progress for {STALL_TIMEOUT_S} s at {done}/{cfg.n}\n"
                                       f"{worker.tail()}")
                time.sleep(POLL_S)
            if n0 == cfg.n:
                raise RuntimeError(f"{cfg.label}: all {cfg.n} done before the first observation: raise N")
            self.verify(cfg, worker, queue, ids)
            return {"elapsed": elapsed, "measured": cfg.n - n0, "rate": (cfg.n - n0) / elapsed,
                    "paused": paused, "busy_rate": (cfg.n - n0) / (elapsed - paused), "publish_s": publish_s}
        finally:
            if worker is not None:
                worker.stop()
            self.cleanup(queue, ids)

    def verify(self, cfg: Config, worker: Worker, queue: str, ids: list[str]) -> None:
        if cfg.backend:
            stored = [s for i in range(0, len(ids), 2000)
                      for s in self.redis.mget(*(f"celery-task-meta-{t}" for t in ids[i:i + 2000]))]
            parsed = [json.loads(s) if s else {} for s in stored]
            bad = [p for p in parsed if p.get("status") != "SUCCESS" or p.get("result", 0) is not None]
            if bad:
                raise RuntimeError(f"{cfg.label}: unexpected stored results, e.g. {bad[0]!r}")
        elif (n := self.stored(ids)) != 0:
            raise RuntimeError(f"{cfg.label}: {n} results stored with the backend off")
        worker.stop()
        if (left := self.ready_count(queue)) != 0:
            raise RuntimeError(f"{cfg.label}: {left} messages left in the queue after a graceful stop")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    parser.add_argument("--backend", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--binary", default=str(ROOT / "target/debug/celery-conformance-worker"))
    parser.add_argument("--concurrency", type=int, default=16, help="our worker's --concurrency")
    parser.add_argument("--prefetch", type=int, default=256, help="our worker's --prefetch")
    parser.add_argument("--n-ours", type=int, default=20000)
    parser.add_argument("--n-python", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--logs", default=f"/tmp/celery-throughput-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # run the `finally` blocks

    bench = Bench(args)
    bench.check_services()
    configs = [Config(w, p, b, args.n_ours if w == "ours" else args.n_python)
               for b in (True, False) for w, p in (("ours", "tokio"), ("python", "solo"), ("python", "prefork"))]
    load0 = os.getloadavg()[0]
    print(f"# machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
          f"Celery {__import__('celery').__version__}; load {load0:.2f}; logs in {args.logs}", flush=True)
    build = "release" if "/release/" in str(args.binary) else "debug"
    print(f"# ours: {args.binary} ({build} build) --concurrency {args.concurrency} --prefetch {args.prefetch}"
          f" [--acks-late when no backend]; RUST_LOG=warn", flush=True)
    print("# python: celery -A noop_tasks worker --pool solo | --pool prefork --concurrency 2; prefetch multiplier 4"
          " (default) → prefetch 8 for both (solo's concurrency defaults to the CPU count); task_acks_late when no backend; -l WARNING --without-gossip/mingle/heartbeat", flush=True)
    print(f"# broker {args.broker}; backend {args.backend} or none; repeats {args.repeats}; poll {POLL_S} s",
          flush=True)
    results: dict[Config, list[dict]] = {c: [] for c in configs}
    for rep in range(args.repeats):
        for cfg in configs:
            r = bench.run(cfg, rep)
            results[cfg].append(r)
            print(f"run {rep + 1}/{args.repeats} {cfg.label:24} N={cfg.n:6} measured={r['measured']:6} "
                  f"{r['elapsed']:7.2f} s {r['rate']:9.1f} tasks/s; paused {r['paused']:.1f} s, busy {r['busy_rate']:.1f} tasks/s "
                  f"(published in {r['publish_s']:.1f} s)", flush=True)
    print_table(args, configs, results)
    print(f"# load (1-min) before {load0:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0


def print_table(args: argparse.Namespace, configs: list[Config], results: dict) -> None:
    med = {c: statistics.median(r["rate"] for r in results[c]) for c in configs}
    busy = {c: statistics.median(r["busy_rate"] for r in results[c]) for c in configs}
    print("\n| worker | pool | result backend | ack | N | measured | seconds | tasks/s (median) | runs (tasks/s) "
          "| vs Python solo | pauses ≥ 1 s (s, per run) | busy tasks/s (median) | busy vs Python solo |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        solo = next(b for b in configs if b.pool == "solo" and b.backend == c.backend)
        runs = sorted(results[c], key=lambda r: r["rate"])
        mid = runs[len(runs) // 2]
        build = "release" if "/release/" in str(args.binary) else "debug"
        worker = f"Myelin celery-conformance-worker ({build})" if c.worker == "ours" else "Python Celery 5.7"
        pool = {"tokio": f"tokio, concurrency {args.concurrency}, prefetch {args.prefetch}",
                "solo": "solo, prefetch 8", "prefork": "prefork × 2, prefetch 8"}[c.pool]
        print(f"| {worker} | {pool} | {'Redis' if c.backend else 'off'} | {'early' if c.backend else 'late'} "
              f"| {c.n} | {mid['measured']} | {mid['elapsed']:.2f} | {med[c]:.0f} "
              f"| {', '.join(format(r['rate'], '.0f') for r in results[c])} | {med[c] / med[solo]:.2f}× "
              f"| {', '.join(format(r['paused'], '.1f') for r in results[c])} | {busy[c]:.0f} "
              f"| {busy[c] / busy[solo]:.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
