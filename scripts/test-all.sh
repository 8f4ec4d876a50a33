#!/usr/bin/env bash
# Runs every test of the workspace, the way CI does:
#   1. PostgreSQL, Redis and RabbitMQ up (scripts/ensure-services.sh)
#   2. the Python venv with the official polyaxon CLI (scripts/python-venv.sh)
#   3. cargo build --workspace --locked (the end-to-end tests start the built binaries)
#   4. cargo nextest run --workspace, then the doc tests
#   5. the polyaxon compatibility tests (tests/compat) against `myelin server`
# Prints a summary and exits non-zero if anything failed. Extra arguments go to nextest
# (e.g. `./scripts/test-all.sh -E 'package(myelin-tracker)'`).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${MYELIN_VENV:-$ROOT/.venv}"
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

summary() {
    echo
    echo "==> test-all summary"
    printf '    %s\n' "${results[@]}"
    if ((status == 0)); then echo "==> all steps passed"; else echo "==> SOME STEPS FAILED" >&2; fi
}

# Prerequisites: without them no test can run, so stop at the first failure.
step "services" "$ROOT/scripts/ensure-services.sh" || { summary; exit 1; }
step "python venv" "$ROOT/scripts/python-venv.sh" || { summary; exit 1; }
step "build" cargo build --workspace --locked || { summary; exit 1; }
step "build roundtrip" cargo build -p myelin-spec --example roundtrip --locked || { summary; exit 1; }

# Test suites: run them all, report each.
step "cargo nextest" cargo nextest run --workspace --locked --no-fail-fast --profile "$NEXTEST_PROFILE" "$@"
step "doc tests" cargo test --doc --workspace --locked
step "polyaxon compat" env MYELIN_BIN="$TARGET_DIR/debug/myelin" MYELIN_SPEC_ROUNDTRIP="$TARGET_DIR/debug/examples/roundtrip" \
    "$VENV/bin/python" -m pytest "$ROOT/tests/compat" -v -p no:cacheprovider

summary
exit "$status"
