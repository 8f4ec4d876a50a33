"""Myelin on PostgreSQL: the `tracker` and `gateway` release binaries against a fresh database,
`--pg-runs` runs with 10 metrics each and `--pg-points` metric points in all, then PQL search p50/p99
for a few representative queries through the gateway (limit 100).

Seeding: one template run is created through the API (so every column has the tracker's own format),
the runs are bulk-inserted with `INSERT ... SELECT generate_series` in chunks (copying the template's
other columns), then every run's points (10 metrics × N points, one request a run) go through the
public ingestion API (`POST .../events`, 4 client threads), which stores them as chunks and keeps the
summaries; then `VACUUM ANALYZE`. The template run lives in another project.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import Http, Server, free_port, percentile, tree_memory_mib
from sys_myelin import MyelinApi

QUERIES = [  # (label, query, sort)
    ("metric filter + metric sort", "metrics.m0:<0.5", "-metrics.m1"),
    ("status + tag filter", "status:succeeded, tags:gpu", ""),
    ("name prefix", "name:run-0012%", ""),
    ("metric sort only", "", "-metrics.m2"),
]
STATUSES = "ARRAY['succeeded','failed','running','stopped','succeeded']"
PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
BYTES_PER_POINT = 40  # chunks: 24 B a point, plus TOAST and the summaries


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}\n{sql[:300]}")
    return out.stdout.strip()


def value_expr(i: str, k: str, s: str) -> str:
    """A deterministic pseudo-random value in [0, 1) for run i, metric k, step s."""
    return f"(('x' || substr(md5({i} || '-' || {k} || '-' || {s}), 1, 8))::bit(32)::bigint / 4294967296.0)"


def post_points(url: str, first: int, last: int, points_per_metric: int) -> None:
    """Runs `first..=last`: 10 metrics × `points_per_metric` points each, one request a run."""
    http = Http(url)
    for i in range(first, last + 1):
        rng = random.Random(i)
        uuid = hashlib.md5(f"bench-{i}".encode()).hexdigest()
        metrics = [{"name": f"m{k}", "step": s, "value": rng.random()}
                   for k in range(10) for s in range(points_per_metric)]
        http.raw("POST", f"/api/v1/default/sweep/runs/{uuid}/events", json.dumps({"metrics": metrics}).encode(),
                 {"Content-Type": "application/json"})
    http.close()


def seed(db: str, url: str, runs: int, points_per_metric: int, log, chunk: int = 5000) -> float:
    cols = psql(db, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                    "WHERE table_name = 'runs' AND table_schema = 'public'").split(",")
    template = psql(db, "SELECT r.uuid FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.name = 'bench' "
                        "AND r.name = 'template'")
    project_id = psql(db, "SELECT id FROM projects WHERE name = 'sweep'")
    overrides = {
        "uuid": "md5('bench-' || i)::uuid",
        "project_id": project_id,
        "name": "'run-' || lpad(i::text, 6, '0')",
        "status": f"({STATUSES})[1 + i % 5]",
        "tags": "(CASE WHEN i % 10 = 0 THEN '[\"gpu\",\"baseline\"]' WHEN i % 10 < 4 THEN '[\"gpu\"]' "
                "ELSE '[\"cpu\"]' END)::jsonb",
        "created_at": "t.created_at - make_interval(secs => %d - i)" % runs,
        "updated_at": "t.created_at - make_interval(secs => %d - i)" % runs,
    }
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    start = time.perf_counter()
    for first in range(0, runs, chunk):
        last = min(runs, first + chunk) - 1
        psql(db, f"INSERT INTO runs ({','.join(cols)}) SELECT {select} FROM runs t, generate_series({first}, {last}) i "
                 f"WHERE t.uuid = '{template}'")
    log(f"  pg seed: {runs} runs inserted in {time.perf_counter() - start:.0f} s; posting their points")
    threads = 4
    per = (runs + threads - 1) // threads
    with ThreadPoolExecutor(threads) as pool:
        jobs = [pool.submit(post_points, url, t * per, min(runs, (t + 1) * per) - 1, points_per_metric)
                for t in range(threads) if t * per < runs]
        for job in jobs:
            job.result()
    psql(db, "VACUUM ANALYZE runs")
    psql(db, "VACUUM ANALYZE run_metric_summaries")
    psql(db, "VACUUM ANALYZE run_metric_chunks")
    return time.perf_counter() - start


def expected_top(db: str) -> list[str]:
    return psql(db, "SELECT r.name FROM runs r JOIN projects p ON p.id = r.project_id AND p.name = 'sweep' "
                    "JOIN run_metric_summaries a ON a.run_uuid = r.uuid AND a.name = 'm0' "
                    "JOIN run_metric_summaries b ON b.run_uuid = r.uuid AND b.name = 'm1' "
                    "WHERE a.last < 0.5 ORDER BY b.last DESC LIMIT 100").splitlines()


def run_pg(args, workdir: Path, log) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    ppm = max(1, args.pg_points // (args.pg_runs * 10))
    need = args.pg_runs * 10 * ppm * BYTES_PER_POINT
    free = shutil.disk_usage(workdir).free
    note = ""
    if need * 2 > free:  # keep room for everyone else on this disk
        ppm = max(1, int(free / 2 / BYTES_PER_POINT / (args.pg_runs * 10)))
        note = f" (reduced from {args.pg_points:,}: {free / 2**30:.0f} GiB free, ~{need / 2**30:.0f} GiB needed)"
    points = args.pg_runs * 10 * ppm
    dbname = "myelin_bench_" + time.strftime("%Y%m%d_%H%M%S")
    psql(f"{args.pg_url}/postgres", f"CREATE DATABASE {dbname}")
    # The statements the tracker runs for slow queries land in the server log (copied below).
    psql(f"{args.pg_url}/postgres", f"ALTER DATABASE {dbname} SET log_min_duration_statement = 200")
    db = f"{args.pg_url}/{dbname}"
    bindir = args.myelin_bin.parent
    tport, gport = free_port(), free_port()
    tenv = {"MYELIN_TRACKER__LISTEN": f"127.0.0.1:{tport}", "MYELIN_TRACKER__DATABASE_URL": db,
            "MYELIN_TRACKER__AMQP_URL": args.amqp_url, "RUST_LOG": "warn"}
    genv = {"MYELIN_GATEWAY__LISTEN": f"127.0.0.1:{gport}", "RUST_LOG": "warn",
            "MYELIN_GATEWAY__TRACKER_URLS": f"http://127.0.0.1:{tport}", "MYELIN_GATEWAY__LOGS_URLS": ""}
    commands = ["- Myelin on PostgreSQL: " + " ".join(f"{k}={v}" for k, v in tenv.items()) + f" {bindir}/tracker",
                "  and " + " ".join(f"{k}={v!r}" for k, v in genv.items()) + f" {bindir}/gateway"]
    tracker = Server("tracker", [str(bindir / "tracker")], env=tenv, log_path=workdir / "tracker.log")
    gateway = None
    results: dict = {"db": dbname, "runs": args.pg_runs, "points": points, "points_per_metric": ppm}
    try:
        tracker.wait_http(f"http://127.0.0.1:{tport}/readyz", 120)
        gateway = Server("gateway", [str(bindir / "gateway")], env=genv, log_path=workdir / "gateway.log")
        gateway.wait_http(f"http://127.0.0.1:{gport}/readyz", 60)
        api = MyelinApi()
        api.connect(f"http://127.0.0.1:{gport}")
        template = api.create_run("template", "bench")
        api._events("bench", template, [{"name": f"m{k}", "value": 0.5, "step": 0} for k in range(10)])
        log(f"pg: seeding {args.pg_runs:,} runs, {points:,} points into {dbname}")
        results["seed_s"] = seed(db, f"http://127.0.0.1:{gport}", args.pg_runs, ppm, log)
        results["db_size"] = psql(db, f"SELECT pg_size_pretty(pg_database_size('{dbname}'))")
        got = [r["name"] for r in json.loads(api.search_raw())["results"]]
        if got != expected_top(db):
            raise RuntimeError(f"pg search returned {got[:3]}..., SQL says {expected_top(db)[:3]}...")
        results["queries"] = []
        log_offset = PG_LOG.stat().st_size if PG_LOG.exists() else None
        for label, query, sort in QUERIES:
            body = json.loads(api.query_raw("sweep", query, sort))
            lat = []
            for _ in range(args.pg_queries):
                t = time.perf_counter()
                api.query_raw("sweep", query, sort)
                lat.append(time.perf_counter() - t)
            results["queries"].append({"label": label, "query": query, "sort": sort, "count": body.get("count"),
                                       "returned": len(body["results"]), "p50_ms": percentile(lat, 0.5) * 1e3,
                                       "p99_ms": percentile(lat, 0.99) * 1e3})
            log(f"pg: {results['queries'][-1]}")
        if log_offset is not None:
            with PG_LOG.open("rb") as f:
                f.seek(log_offset)
                (workdir / "slow-statements.log").write_bytes(f.read())
        results["rss_mib"] = tree_memory_mib(tracker.pid)[0] + tree_memory_mib(gateway.pid)[0]
    finally:
        for proc in (gateway, tracker):
            if proc:
                proc.stop()
        if not args.pg_keep:
            psql(f"{args.pg_url}/postgres", f"DROP DATABASE {dbname}")
    return {"results": results, "commands": commands, "markdown": render_pg(results, note, args)}


def render_pg(r: dict, note: str, args) -> str:
    lines = [f"### Myelin on PostgreSQL ({r['runs']:,} runs × 10 metrics, {r['points']:,} points{note}; "
             f"limit 100, {args.pg_queries} queries each)\n",
             f"Seeded (runs by bulk INSERT ... SELECT, points through the API) in {r['seed_s']:.0f} s "
             f"(database {r['db_size']}); "
             f"tracker + gateway RSS after the queries: {r['rss_mib']:.0f} MiB. Statements over 200 ms: "
             f"`slow-statements.log` beside the report.\n",
             "| query | sort | matches | p50 ms | p99 ms | target p50 ≤ 50 ms |", "|---|---|---|---|---|---|"]
    for q in r["queries"]:
        verdict = "met" if q["p50_ms"] <= 50 else "NOT met"
        lines.append(f"| `{q['query'] or '(none)'}` | `{q['sort'] or '(default: -created_at)'}` | {q['count']} | "
                     f"{q['p50_ms']:.1f} | {q['p99_ms']:.1f} | {verdict} |")
    return "\n".join(lines) + "\n"
