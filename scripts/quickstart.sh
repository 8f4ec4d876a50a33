#!/usr/bin/env bash
# Starts Myelin on the embedded default (one process, SQLite, in-process bus, local files, local
# processes) and exercises it end to end: a project; a training run from a Polyaxonfile, watched
# from queued to succeeded with its log streamed live and its metrics, params, outputs and model file
# tracked by the Python client; PQL search and sort on a metric; the runs table; a second run stopped while it
# runs, and its status timeline.
#
# Usage: ./scripts/quickstart.sh            (data in a fresh temp dir; the server stops at the end)
#        KEEP=1 ./scripts/quickstart.sh     (leave the server running afterwards)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "==> building myelin (release)"
cargo build --release --locked -p myelin --quiet
MYELIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/myelin"

DATA_DIR="${MYELIN_DATA_DIR:-$(mktemp -d)}"
LOG="$DATA_DIR/server.log"
# The owner account `admin` (org `default`) is created on first start with this password (without
# it, the server generates one and prints it once).
export MYELIN_ADMIN_PASSWORD="${MYELIN_ADMIN_PASSWORD:-quickstart-$RANDOM$RANDOM}"
# The CLI keeps its token in $MYELIN_CONFIG_DIR/cli.toml: a private one for this demo.
export MYELIN_CONFIG_DIR="${MYELIN_CONFIG_DIR:-$DATA_DIR/cli}"
"$MYELIN" server --data-dir "$DATA_DIR" --port "${PORT:-0}" >"$DATA_DIR/server.out" 2>"$LOG" &
SERVER_PID=$!
cleanup() { [[ -n "${KEEP:-}" ]] || kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 100); do
    grep -q "ready at" "$DATA_DIR/server.out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "myelin server exited" >&2; exit 1; }
    sleep 0.1
done
URL="$(grep -o 'http://[^ ]*' "$DATA_DIR/server.out" | head -1)"
[[ -n "$URL" ]] || { cat "$LOG"; echo "myelin server did not become ready" >&2; exit 1; }
echo "==> $(cat "$DATA_DIR/server.out") (data in $DATA_DIR)"
export MYELIN_HOST="$URL"

set -x
printf '%s\n' "$MYELIN_ADMIN_PASSWORD" | "$MYELIN" login -u admin --password-stdin
"$MYELIN" whoami
"$MYELIN" project create --name quickstart --description "Myelin quickstart"
"$MYELIN" run -f examples/quickstart.yaml -p quickstart -P script="$ROOT/examples/train.py" -P epochs=8 -w -l
"$MYELIN" run -f examples/quickstart.yaml -p quickstart -P script="$ROOT/examples/train.py" -P epochs=12 -P lr=0.3 \
    --name faster -w
FIRST="$("$MYELIN" ops ls -p quickstart -s created_at -l 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["uuid"])')"
"$MYELIN" ops metrics -p quickstart "$FIRST"
"$MYELIN" ops artifacts -p quickstart "$FIRST"
"$MYELIN" ops ls -p quickstart -q "metrics.loss:<1, status:succeeded" -s "metrics.loss" --columns uuid,name,inputs.lr,metrics.loss
"$MYELIN" run -f examples/quickstart.yaml -p quickstart -P script="$ROOT/examples/train.py" -P epochs=100 \
    --name second --tags demo,second --json >"$DATA_DIR/second.json"
UID_="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$DATA_DIR/second.json")"
sleep 2
"$MYELIN" ops ls -p quickstart
"$MYELIN" ops compare -p quickstart "$FIRST" "$UID_" --diff
"$MYELIN" ops stop -p quickstart -uid "$UID_" -y
sleep 1
"$MYELIN" ops logs -p quickstart -uid "$UID_"
"$MYELIN" ops statuses -p quickstart -uid "$UID_"
"$MYELIN" ops get -p quickstart -uid "$UID_"
set +x
echo "==> done. The API is at $URL/api/v1 (OpenAPI: $URL/api/v1/openapi.json)."
