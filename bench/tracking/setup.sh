#!/usr/bin/env bash
# Installs what the tracking benchmark needs, idempotently, under ${BENCH_DIR:-/work/bench}:
#   mlflow-venv  MLflow 3.x (the newest 3.x that pip can resolve here)
#   haupt-venv   haupt[sandbox] (Polyaxon's server; pulls polyaxon and traceml)
# and, with --build, the release binaries myelin, tracker and gateway into
# ${CARGO_TARGET_DIR:-/work/bench-target} (one cargo build; skipped when all three exist).
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/work/bench}
TARGET=${CARGO_TARGET_DIR:-/work/bench-target}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$BENCH_DIR"

venv() { # venv NAME CHECK_MODULE PIP_SPEC...
  local dir="$BENCH_DIR/$1" module=$2
  shift 2
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import $module" 2>/dev/null; then
    echo "ok: $dir ($("$dir/bin/pip" list 2>/dev/null | grep -iE "^($module) " | tr -s ' '))"
    return
  fi
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --upgrade pip
  "$dir/bin/pip" install --quiet "$@"
  echo "installed: $dir"
}

venv mlflow-venv mlflow 'mlflow>=3,<4'
venv haupt-venv haupt 'haupt[sandbox]'

if [ "${1:-}" = "--build" ]; then
  if [ -x "$TARGET/release/myelin" ] && [ -x "$TARGET/release/tracker" ] && [ -x "$TARGET/release/gateway" ]; then
    echo "ok: release binaries in $TARGET/release"
  else
    (cd "$REPO" && CARGO_TARGET_DIR="$TARGET" cargo build --release -p myelin -p myelin-tracker -p myelin-gateway)
  fi
fi
