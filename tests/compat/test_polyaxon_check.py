"""Our camelCase serialization of a Polyaxonfile is accepted by the OFFICIAL `polyaxon check` (PyPI
`polyaxon==2.18.0`).

For every file of libs/spec/tests/data/polyaxonfiles/ (Polyaxon's own files) and libs/spec/tests/data/docs/
(the examples of Polyaxon's documentation): the official CLI must accept the original as it is; then the
`roundtrip` example of myelin-spec (parse → typed model → camelCase YAML) writes our serialization, and the
official CLI must accept that too. Files the official CLI rejects on its own are listed in REJECTED with the
reason (checked: the original must still be rejected for it), and files it can only check over the network
(a component on Polyaxon's hub or at a URL) in NETWORK; neither is round-tripped.

Needs the venv of scripts/python-venv.sh and the built example:

    cargo build -p myelin-spec --example roundtrip
    MYELIN_SPEC_ROUNDTRIP=target/debug/examples/roundtrip .venv/bin/python -m pytest tests/compat/test_polyaxon_check.py -v

No server is involved and no user configuration is read or written: every `polyaxon` command runs with a
temporary HOME and POLYAXON_HOME, the compatibility check against Polyaxon's cloud and error reporting off,
POLYAXON_HOST and the HTTP proxies pointed at a closed local port (never `polyaxon config set`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "libs" / "spec" / "tests" / "data"
FILES = sorted([*(DATA / "polyaxonfiles").glob("*.yml"), *(DATA / "docs").glob("*.yaml")])
TIMEOUT_S = 120
# Nothing listens on the discard port: a lookup that would leave the machine fails at once.
CLOSED = "http://127.0.0.1:9"

# The official CLI rejects these originals by itself: name → a part of its error message.
REJECTED = {
    # `pathRef: ./polyaxonfile.yml`: the component file of polyaxon-examples was not copied.
    "polyaxonfiles/keras_mnist_grid.yml": "does not exist or is not a file",
    "polyaxonfiles/keras_mnist_random.yml": "does not exist or is not a file",
    # `pathRef: ../data-processing/component-clean.yaml`: the documentation's file is not here.
    "docs/schedule_interval.yaml": "does not exist or is not a file",
    # Polyaxon 2.18 passes the snake_case `fs_group` of the documented podSecurityContext to the
    # kubernetes client model (V1SecurityContext has no fs_group): the documented example fails.
    "docs/environment.yaml": "unexpected keyword argument 'fs_group'",
    # A join into an input typed `List[float]` without `isList: true`, as the documentation writes it.
    "docs/hooks_events_joins_build.yaml": "does not expect a list of",
    # A documented `datetime` default (`2019-06-24T21:20:07+00:00`) that 2.18 cannot convert.
    "docs/io_validation.yaml": "Could not parse value `2019-06-24T21:20:07+00:00`",
    # Polyaxon 2 dropped the `hyperopt` matrix kind (myelin still reads it, as 1.x files use it).
    "docs/matrix_hyperopt.yaml": "Input tag 'hyperopt' found using 'kind' does not match",
    # A preset alone: `runPatch` without the component it patches.
    "docs/preset.yaml": "runPatch requires a resolved runtime",
    # 2.18 does not accept the xgbjob, paddlejob and mxjob runtimes its documentation shows.
    "docs/xgb_paddle_mx.yaml": "Unsupported run.kind: 'xgbjob'",
}

# The official CLI resolves these references over the network (Polyaxon's hub at cloud.polyaxon.com, or a
# URL) before it checks anything: a test must not depend on the internet, so they are not run.
NETWORK = {
    "docs/matrix_bayes.yaml": "hubRef: trainer",
    "docs/matrix_hyperband.yaml": "hubRef: trainer",
    "docs/matrix_iterative.yaml": "hubRef: trainer",
    "docs/matrix_random.yaml": "hubRef: trainer",
    "docs/params_refs_dag.yaml": "hubRef: tensorboard",
    "docs/schedules.yaml": "hubRef: my-component",
    "docs/schedule_datetime.yaml": "urlRef: https://raw.githubusercontent.com/",
}


def name_of(path: Path) -> str:
    return path.relative_to(DATA).as_posix()


def roundtrip_binary() -> Path:
    binary = os.environ.get("MYELIN_SPEC_ROUNDTRIP")
    if not binary:
        pytest.fail(
            "MYELIN_SPEC_ROUNDTRIP is not set: build the example with "
            "`cargo build -p myelin-spec --example roundtrip` and set it to target/debug/examples/roundtrip"
        )
    if not Path(binary).is_file():
        pytest.fail(f"MYELIN_SPEC_ROUNDTRIP={binary} does not exist: run `cargo build -p myelin-spec --example roundtrip`")
    return Path(binary)


def polyaxon_exe() -> Path:
    exe = Path(sys.executable).with_name("polyaxon")
    if exe.is_file():
        return exe
    found = shutil.which("polyaxon")
    if not found:
        pytest.fail("the polyaxon CLI is not installed: run scripts/python-venv.sh and use its python")
    return Path(found)


def polyaxon_env(root: Path) -> dict:
    for sub in ("home", "polyaxon-home"):
        (root / sub).mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POLYAXON_", "MYELIN_")) and k.lower() not in ("http_proxy", "https_proxy", "no_proxy")
    }
    env.update(
        HOME=str(root / "home"),
        POLYAXON_HOME=str(root / "polyaxon-home"),
        POLYAXON_INTERVALS_COMPATIBILITY_CHECK="-1",
        POLYAXON_DISABLE_ERRORS_REPORTING="true",
        POLYAXON_HOST=CLOSED,
        HTTP_PROXY=CLOSED,
        HTTPS_PROXY=CLOSED,
        http_proxy=CLOSED,
        https_proxy=CLOSED,
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="250",
        PYTHONUNBUFFERED="1",
    )
    return env


def polyaxon_check(file: Path, root: Path) -> subprocess.CompletedProcess:
    """`polyaxon check -f FILE`, run from the file's directory so that relative refs resolve as for a user."""
    return subprocess.run(
        [str(polyaxon_exe()), "check", "-f", str(file)],
        env=polyaxon_env(root),
        cwd=file.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def describe(what: str, proc: subprocess.CompletedProcess) -> str:
    return f"{what} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def test_the_exclusions_name_existing_files():
    names = {name_of(path) for path in FILES}
    assert set(REJECTED) <= names, sorted(set(REJECTED) - names)
    assert set(NETWORK) <= names, sorted(set(NETWORK) - names)
    assert not set(REJECTED) & set(NETWORK)
    for name, reference in NETWORK.items():
        assert reference in (DATA / name).read_text(), f"{name} no longer holds `{reference}`"
    checked = names - set(REJECTED) - set(NETWORK)
    assert len(checked) >= 16, sorted(checked)


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_polyaxon_accepts_our_serialization(path: Path, tmp_path: Path):
    name = name_of(path)
    if name in NETWORK:
        # Not a skip of the file's check: the official CLI cannot check it without the internet.
        assert NETWORK[name] in path.read_text()
        return
    roundtrip = roundtrip_binary()
    original = polyaxon_check(path, tmp_path)
    if name in REJECTED:
        output = original.stdout + original.stderr
        assert original.returncode != 0, f"{name} is now accepted by the official CLI: remove it from REJECTED"
        assert REJECTED[name] in " ".join(output.split()), describe(f"polyaxon check -f {name}", original)
        return
    assert original.returncode == 0, (
        "the official CLI rejects the original: record it in REJECTED with the reason\n"
        + describe(f"polyaxon check -f {name}", original)
    )

    ours = subprocess.run(
        [str(roundtrip), str(path)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert ours.returncode == 0, describe(f"roundtrip {name}", ours)
    assert ours.stdout.strip(), f"roundtrip {name} printed nothing"
    # Written next to nothing else: a copy that still needed the original's neighbours would fail here.
    out = tmp_path / "work" / "out.yaml"
    out.parent.mkdir()
    out.write_text(ours.stdout)
    checked = polyaxon_check(out, tmp_path)
    assert checked.returncode == 0, (
        f"the official CLI rejects our serialization of {name}\n"
        + describe("polyaxon check -f out.yaml", checked)
        + f"\n--- out.yaml ---\n{ours.stdout}"
    )
    assert "Polyaxonfile valid" in checked.stdout, describe("polyaxon check -f out.yaml", checked)
