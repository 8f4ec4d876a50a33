#!/usr/bin/env bash
# Creates (or reuses) the Python virtualenv used by the compatibility tests in tests/compat/:
# the OFFICIAL polyaxon CLI/SDK from PyPI, Celery (with Redis) and Flower for the Celery baselines and
# interop tests (tests/celery), pandas (the polyaxon client's tracking summarises its event files with
# it), plus pytest. Idempotent: when the venv already has the pinned polyaxon, celery and flower
# versions and pytest, nothing is reinstalled.
#
#   scripts/python-venv.sh          # venv at ./.venv (or $MYELIN_VENV)
#   source "${MYELIN_VENV:-.venv}/bin/activate"
set -euo pipefail

POLYAXON_VERSION="2.18.0"
CELERY_VERSION="5.7.0"
FLOWER_VERSION="2.2.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYELIN_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "python-venv: '$PYTHON' not found; install Python 3.9+ (or set PYTHON=...)" >&2
    exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "python-venv: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

installed="$("$VENV/bin/python" - <<'PY' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version("polyaxon"), metadata.version("celery"), metadata.version("redis"),
          metadata.version("pandas"), metadata.version("pytest"), metadata.version("flower"))
except metadata.PackageNotFoundError:
    print("")
PY
)"
read -r have_polyaxon have_celery _ _ _ have_flower <<<"$installed"
if [[ "${have_polyaxon:-}" == "$POLYAXON_VERSION" && "${have_celery:-}" == "$CELERY_VERSION" \
    && "${have_flower:-}" == "$FLOWER_VERSION" ]] && "$VENV/bin/polyaxon" --help >/dev/null 2>&1; then
    echo "python-venv: $VENV already has polyaxon $POLYAXON_VERSION, celery $CELERY_VERSION, flower $FLOWER_VERSION and pytest"
    exit 0
fi

echo "python-venv: installing polyaxon==$POLYAXON_VERSION, celery[redis]==$CELERY_VERSION, flower==$FLOWER_VERSION and pytest into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "polyaxon==$POLYAXON_VERSION" \
    "celery[redis]==$CELERY_VERSION" "flower==$FLOWER_VERSION" pandas pytest
"$VENV/bin/polyaxon" --help >/dev/null
echo "python-venv: ready ($("$VENV/bin/python" -c 'from importlib import metadata; print("polyaxon", metadata.version("polyaxon"))'))"
