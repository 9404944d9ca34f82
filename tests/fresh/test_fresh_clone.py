"""A stranger's clone: the README's two commands on a copy of this repository with no ../shared beside it.

The copy holds exactly the files git would give a clone of the working tree (tracked and not ignored),
committed into a new repository in a temporary folder, so ``../shared`` (the reference data that CI
keeps beside the repository) does not exist for it. There, as on a user's machine where the package
registries are reachable but nothing else is:

* ``make check`` passes: validate, render --check and lint, with warnings only for what needs the
  wider network (the JupyterHub chart, HG504);
* ``make test`` with a fast subset passes, the tests that need upstream reference data skipping with
  a reason that says so (``CI`` is unset in the copy: under CI they would fail instead).

It reuses this machine's caches that are not hubgen's (pip's, Go's build and module caches), so it
takes a few minutes rather than a cold install; hubgen's own cache starts empty.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git, working_tree_copy

SUBSET = "tests/core/test_cli.py tests/lint/test_lint_cli.py tests/engines/test_flux_crds.py"


def _tracked_copy(dest: Path) -> Path:
    working_tree_copy(dest)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "--no-verify", "-m", "clone")
    return dest


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBGEN_", "PYTEST_", "VIRTUAL_ENV", "GIT_")) and k not in ("CI", "COV_CORE_SOURCE")}
    env["HUBGEN_CACHE_DIR"] = str(tmp_path / "hubgen-cache")  # hubgen's own cache starts empty
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if str(REPO_ROOT) not in p)
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("stranger")
    root = _tracked_copy(work / "hubgen")
    assert not (root.parent / "shared").exists()
    return root


def _make(clone: Path, tmp_path: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=clone, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=timeout)


def test_make_check_passes_without_shared(clone: Path, tmp_path: Path) -> None:
    proc = _make(clone, tmp_path, "check")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "validate: 2 environments, no problems" in out
    assert "render --check: 2 environments, no problems" in out
    assert re.search(r"lint: 2 environments, 0 error\(s\)", out), out[-3000:]
    warnings = set(re.findall(r"warning (HG\d{3})", out))
    assert warnings <= {"HG504"}, warnings  # only what needs the wider network: the chart


def test_make_test_subset_passes_and_says_why_it_skips(clone: Path, tmp_path: Path) -> None:
    proc = _make(clone, tmp_path, "test", f"PYTEST_ARGS={SUBSET} -rs")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"\d+ passed", out), out[-3000:]
    skips = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skips, "the tests that need the reference data should skip here"
    assert all("lives beside the repository" in line or "root can read anything" in line for line in skips), skips
