"""The workload, identical for every system: the data it sends and the four measurements.

Each system adapter (sys_*.py) offers: `create_run(name) -> id`, `ingest(run_id, points, batch)`,
`put_history(run_id, points)`, `read_history(run_id) -> point count`, `seed_run(name, metrics)` and
`search() -> [run names]`. One client thread, one keep-alive connection, `time.perf_counter`;
a latency is the time until the whole (decompressed) response body is read, JSON decoding excluded.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone

from common import percentile

BASE_TS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
METRICS = [f"m{i}" for i in range(10)]
SEARCH_FILTER_MAX = 0.5  # metrics.m0 < 0.5, sorted by metrics.m1 descending, limit 100
SEARCH_LIMIT = 100


def loss_points(start: int, count: int) -> list[tuple[int, int, float]]:
    """(step, timestamp ms, value) for steps start..start+count of the `loss` series."""
    return [(i, BASE_TS_MS + i, 1.0 / (1.0 + i * 1e-3)) for i in range(start, start + count)]


def iso(ts_ms: int) -> str:
    """RFC 3339 timestamp with microseconds, for the JSON APIs that take one."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def search_dataset(n_runs: int, points_each: int, seed: int = 42) -> list[tuple[str, dict]]:
    """`n_runs` runs `s<i>`, each with METRICS, `points_each` points per metric (the last one is what
    `metrics.<name>` filters and sorts on)."""
    rng = random.Random(seed)
    return [(f"s{i:05d}", {m: [rng.random() for _ in range(points_each)] for m in METRICS})
            for i in range(n_runs)]


def expected_search(dataset: list[tuple[str, dict]]) -> list[str]:
    """The run names a correct `m0 < 0.5 ORDER BY m1 DESC LIMIT 100` returns."""
    hits = [(vals["m1"][-1], name) for name, vals in dataset if vals["m0"][-1] < SEARCH_FILTER_MAX]
    return [name for _, name in sorted(hits, reverse=True)[:SEARCH_LIMIT]]


def summary(latencies: list[float]) -> dict:
    return {"n": len(latencies), "p50_ms": percentile(latencies, 0.5) * 1e3,
            "p99_ms": percentile(latencies, 0.99) * 1e3}


def bench_create(system, n: int) -> dict:
    """CreateRun latency over `n` creates (after 5 warm-up creates)."""
    for i in range(5):
        system.create_run(f"warm-{i}")
    lat = []
    for i in range(n):
        start = time.perf_counter()
        system.create_run(f"create-{i}")
        lat.append(time.perf_counter() - start)
    return summary(lat)


def bench_ingest(system, points: int, batch: int) -> dict:
    """`points` points of `loss` into one fresh run; the adapter reports how (batches, or the
    system's own client path) and the measured seconds."""
    run_id = system.create_run("ingest")
    result = system.ingest(run_id, points, batch)
    stored = system.read_history(result.get("run_id", run_id))
    if stored != result["points"]:
        raise RuntimeError(f"{system.name}: ingested {result['points']} points, read back {stored}")
    result["points_per_s"] = result["points"] / result["seconds"]
    return result


def bench_history(system, points: int, reads: int) -> dict:
    """Reads of a `points`-point series of a fresh run, `reads` times (after one warm-up read)."""
    run_id = system.create_run("history")
    system.put_history(run_id, points)
    if system.read_history(run_id) != points:
        raise RuntimeError(f"{system.name}: history read back the wrong number of points")
    lat = []
    for _ in range(reads):
        start = time.perf_counter()
        system.read_history_raw(run_id)
        lat.append(time.perf_counter() - start)
    return summary(lat)


def bench_search(system, n_runs: int, points_each: int, queries: int, log) -> dict:
    """Seeds `n_runs` runs (10 metrics each), checks the answer, then times `queries` queries."""
    dataset = search_dataset(n_runs, points_each)
    start = time.perf_counter()
    for i, (name, metrics) in enumerate(dataset):
        system.seed_run(name, metrics)
        if i and i % 2000 == 0:
            log(f"  {system.name}: seeded {i}/{n_runs} runs")
    seed_s = time.perf_counter() - start
    got = system.search()
    want = expected_search(dataset)
    if got != want:
        raise RuntimeError(f"{system.name}: search returned {got[:5]}... expected {want[:5]}...")
    lat = []
    for _ in range(queries):
        start = time.perf_counter()
        system.search_raw()
        lat.append(time.perf_counter() - start)
    return {**summary(lat), "seed_s": seed_s}
