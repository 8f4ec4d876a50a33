#!/usr/bin/env bash
# Runs every test of the workspace, the way CI does:
#   1. PostgreSQL, Redis and RabbitMQ up (scripts/ensure-services.sh)
#   2. the Python venv: the official polyaxon CLI/SDK, Celery, pytest (scripts/python-venv.sh), and
#      Debian's chromium + chromium-driver for the dashboard's browser tests (scripts/browser-deps.sh)
#   3. cargo build --workspace --locked (the end-to-end tests start the built binaries)
#   4. cargo nextest run --workspace, then the doc tests
#   5. the Python client's unit tests (clients/python/tests)
#   6. the compatibility tests (tests/compat: the official polyaxon CLI/SDK and our Python client)
#      against `myelin server`
#   7. the Celery interop tests (tests/celery: Python Celery clients and workers, and Flower, against our
#      celery-conformance-worker and celery-send, on RabbitMQ and Redis)
# Prints a summary and exits non-zero if anything failed. Extra arguments go to nextest
# (e.g. `./scripts/test-all.sh -E 'package(myelin-tracker)'`).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${MYELIN_VENV:-$ROOT/.venv}"
# Rust tests that drive Python Celery find the venv here.
export MYELIN_VENV="$VENV"
if [[ -z "${NEXTEST_PROFILE:-}" ]]; then
    if [[ "${CI:-}" == "true" ]]; then NEXTEST_PROFILE=ci; else NEXTEST_PROFILE=default; fi
fi

results=()
status=0

step() { # name command...
    local name="$1"
    shift
    echo
    echo "==> $name: $*"
    local started=$SECONDS
    if "$@"; then
        results+=("PASS  $name ($((SECONDS - started))s)")
        return 0
    fi
    results+=("FAIL  $name ($((SECONDS - started))s)")
    status=1
    return 1
}

NEXTEST_LOG="$(mktemp -t myelin-nextest.XXXXXX)"
trap 'rm -f "$NEXTEST_LOG"' EXIT

summary() {
    echo
    echo "==> test-all summary"
    printf '    %s\n' "${results[@]}"
    # CI keeps only the tail of the output: name the failing tests here, at the very end.
    if [[ -s "$NEXTEST_LOG" ]] && grep -qE '^\s+(FAIL|FLAKY|TRY [0-9]+ (FAIL|TIMEOUT|SIG[A-Z]+)|TIMEOUT|SIG[A-Z]+|LEAK-FAIL)[ 0-9/]*\[' "$NEXTEST_LOG"; then
        echo "==> failing or flaky tests (nextest):"
        grep -E '^\s+(FAIL|FLAKY|TRY [0-9]+ (FAIL|TIMEOUT|SIG[A-Z]+)|TIMEOUT|SIG[A-Z]+|LEAK-FAIL)[ 0-9/]*\[' "$NEXTEST_LOG" | sort -u | sed 's/^/    /'
        echo "==> their panics:"
        grep -A3 'panicked at' "$NEXTEST_LOG" | head -60 | sed 's/^/    /'
    fi
    if ((status == 0)); then echo "==> all steps passed"; else echo "==> SOME STEPS FAILED" >&2; fi
}

# Prerequisites: without them no test can run, so stop at the first failure.
step "services" "$ROOT/scripts/ensure-services.sh" || { summary; exit 1; }
step "python venv" "$ROOT/scripts/python-venv.sh" || { summary; exit 1; }
step "browser" "$ROOT/scripts/browser-deps.sh" || { summary; exit 1; }
step "build" cargo build --workspace --locked || { summary; exit 1; }
step "build roundtrip" cargo build -p myelin-spec --example roundtrip --locked || { summary; exit 1; }

# Test suites: run them all, report each.
nextest() { cargo nextest run --workspace --locked --no-fail-fast --profile "$NEXTEST_PROFILE" "$@" 2>&1 | tee "$NEXTEST_LOG"; }
step "cargo nextest" nextest "$@"
step "doc tests" cargo test --doc --workspace --locked
step "python client" "$VENV/bin/python" -m unittest discover -s "$ROOT/clients/python/tests"
step "compat (polyaxon, python client)" env MYELIN_BIN="$TARGET_DIR/debug/myelin" MYELIN_SPEC_ROUNDTRIP="$TARGET_DIR/debug/examples/roundtrip" \
    "$VENV/bin/python" -m pytest "$ROOT/tests/compat" -v -p no:cacheprovider
step "celery interop" env CELERY_CONFORMANCE_WORKER="$TARGET_DIR/debug/celery-conformance-worker" CELERY_SEND="$TARGET_DIR/debug/celery-send" \
    "$VENV/bin/python" -m pytest "$ROOT/tests/celery" -v -p no:cacheprovider

summary
exit "$status"
