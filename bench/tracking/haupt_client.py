"""Ingestion through Polyaxon's own tracking client, run with the haupt venv's python.

haupt has no batch ingestion endpoint: a run's metrics are `.plx` files in its artifact store. The
client path is traceml's `Run`: `log_metrics(step=..., loss=...)` appends events through its event
writer to a local `<artifacts>/events/metric/loss.plx`, a sidecar thread uploads changed files to
haupt's streams `.../artifact` endpoint every 10 s, and `end()` flushes, uploads the final file and
syncs the lineage summaries. Timed from the first `log_metrics` to `end()` returning; the run is
created (and started) by the `Run` constructor before the clock starts.

    POLYAXON_HOST=http://127.0.0.1:PORT python haupt_client.py --project bench --points 1000000

Prints one JSON line: {"run_uuid", "points", "seconds", "log_seconds", "end_seconds"}.
"""

import argparse
import json
import os
import time

os.environ.setdefault("POLYAXON_TRACKING_FLUSH_DELAY", "0")  # end() would sleep 1 s otherwise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--owner", default="default")
    parser.add_argument("--project", required=True)
    parser.add_argument("--points", type=int, required=True)
    args = parser.parse_args()

    from traceml.tracking import Run

    run = Run(owner=args.owner, project=args.project, is_new=True, name="ingest", track_code=False,
              track_env=False, track_logs=False, collect_resources=False)
    start = time.perf_counter()
    for i in range(args.points):
        run.log_metrics(step=i, loss=1.0 / (1.0 + i * 1e-3))
    logged = time.perf_counter()
    run.end()
    ended = time.perf_counter()
    print(json.dumps({"run_uuid": run.run_uuid, "points": args.points, "seconds": ended - start,
                      "log_seconds": logged - start, "end_seconds": ended - logged}))


if __name__ == "__main__":
    main()
