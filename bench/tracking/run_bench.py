#!/usr/bin/env python3
"""Tracking benchmark: the same workload against MLflow, haupt (Polyaxon's server) and Myelin, one
system at a time in one run, then markdown tables (and results.json) under $BENCH_DIR/runs/<stamp>/.

    bash bench/tracking/setup.sh            # venvs under ${BENCH_DIR:-/work/bench} (idempotent)
    python3 bench/tracking/run_bench.py --myelin-bin /work/bench-target/release/myelin
    python3 bench/tracking/run_bench.py --points 20000 --runs 300 --creates 50   # a quick try
    python3 bench/tracking/run_bench.py --systems myelin-pg --pg-runs 100000 --pg-points 10000000

Sections (README.md): CreateRun, ingestion, history read, search over runs with 10 metrics, and
the memory of each server's process tree. `--cap SYSTEM=N` ingests only N points into SYSTEM (the
table says so; nothing is extrapolated).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import tree_memory_mib  # noqa: E402
from report import render  # noqa: E402
from workload import bench_create, bench_history, bench_ingest, bench_search  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def git_head() -> str:
    out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def build_time(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime)) if path.exists() else "missing"


def parse_args() -> argparse.Namespace:
    bench_dir = Path(os.environ.get("BENCH_DIR", "/work/bench"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench-dir", type=Path, default=bench_dir)
    p.add_argument("--myelin-bin", type=Path, default=Path("/work/bench-target/release/myelin"))
    p.add_argument("--systems", default="mlflow,haupt,myelin",
                   help="comma-separated: mlflow, haupt, myelin, myelin-pg")
    p.add_argument("--creates", type=int, default=200)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--cap", action="append", default=[], metavar="SYSTEM=N",
                   help="ingest only N points into SYSTEM (too slow for the full count)")
    p.add_argument("--history", type=int, default=20_000)
    p.add_argument("--reads", type=int, default=20)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--points-per-metric", type=int, default=3)
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--pg-runs", type=int, default=100_000)
    p.add_argument("--pg-points", type=int, default=10_000_000)
    p.add_argument("--pg-queries", type=int, default=20)
    p.add_argument("--pg-keep", action="store_true", help="keep the benchmark database afterwards")
    p.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/%2f")
    return p.parse_args()


def make_system(key: str, args: argparse.Namespace, workdir: Path):
    if key == "mlflow":
        from sys_mlflow import Mlflow
        return Mlflow(args.bench_dir / "mlflow-venv", workdir / "mlflow")
    if key == "haupt":
        from sys_haupt import Haupt
        return Haupt(args.bench_dir / "haupt-venv", workdir / "haupt")
    if key == "myelin":
        from sys_myelin import Myelin
        return Myelin(args.myelin_bin, workdir / "myelin")
    raise SystemExit(f"unknown system {key}")


def run_system(system, key: str, args: argparse.Namespace, caps: dict) -> dict:
    """Every section against one system; a failing section is recorded and the next one runs."""
    res: dict = {"errors": {}, "load_start": os.getloadavg()[0]}
    try:
        res["ready_s"] = system.start()
    except Exception as e:  # the whole system is unavailable: say why
        res["errors"]["start"] = f"{type(e).__name__}: {e}"
        system.stop()
        return res
    res["command"] = shlex.join(system.server.proc.args)
    rss, pss, procs = tree_memory_mib(system.pid)
    res["mem"] = {"start_rss": rss, "start_pss": pss}
    points = caps.get(key, args.points)
    sections = [
        ("create", lambda: bench_create(system, args.creates)),
        ("ingest", lambda: bench_ingest(system, points, args.batch)),
        ("history", lambda: bench_history(system, args.history, args.reads)),
        ("search", lambda: bench_search(system, args.runs, args.points_per_metric, args.queries, log)),
    ]
    for section, fn in sections:
        log(f"{system.name}: {section}")
        try:
            res[section] = fn()
            log(f"{system.name}: {section} -> {json.dumps(res[section], default=str)[:300]}")
        except Exception as e:
            res["errors"][section] = f"{type(e).__name__}: {e}"
            log(f"{system.name}: {section} FAILED\n{traceback.format_exc()}")
    if points != args.points and "ingest" in res:
        res["ingest"]["how"] += f" (capped at {points:,} points)"
    res["notes"] = system.notes() if hasattr(system, "notes") else []
    time.sleep(3)
    rss, pss, procs = tree_memory_mib(system.pid)
    res["mem"].update(idle_rss=rss, idle_pss=pss, procs=procs)
    res["load_end"] = os.getloadavg()[0]
    system.stop()
    return res


def main() -> int:
    args = parse_args()
    caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
    workdir = args.bench_dir / "runs" / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True)
    keys = [k.strip() for k in args.systems.split(",") if k.strip()]
    log(f"work dir {workdir}")
    header = ["## Tracking benchmark", "",
              f"`{shlex.join([sys.executable, *sys.argv])}` — {time.strftime('%Y-%m-%d %H:%M %Z')}, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start", "",
              f"Myelin binaries: {args.myelin_bin.parent} (built {build_time(args.myelin_bin)}, "
              f"work tree HEAD when this ran: {git_head()})", ""]
    body = []
    results, names = {}, []
    for key in [k for k in keys if k != "myelin-pg"]:
        system = make_system(key, args, workdir)
        log(f"starting {key}")
        results[system.name] = run_system(system, key, args, caps)
        names.append(system.name)
        header.append(f"- {system.name}: `{results[system.name].get('command', 'not started')}`")
    if names:
        params = {"creates": args.creates, "points": args.points, "batch": args.batch, "history": args.history,
                  "reads": args.reads, "runs": args.runs, "queries": args.queries}
        body.append(render(results, names, params))
    if "myelin-pg" in keys:
        from pg_variant import run_pg
        pg = run_pg(args, workdir / "pg", log)
        results["myelin-pg"] = pg["results"]
        header.extend(pg["commands"])
        body.append(pg["markdown"])
    header.append(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}\n")
    text = "\n".join(header) + "\n" + "\n".join(body)
    (workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (workdir / "report.md").write_text(text)
    print(text)
    log(f"written {workdir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
