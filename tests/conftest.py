"""Shared test fixtures: temporary copies of the repository and a runner for the real CLI.

* ``repo`` -- a fresh copy of ``environments/``, ``schema/``, ``manifests/`` and ``.sops.yaml`` (when
  present) of this checkout in ``tmp_path/repo``, ``git init``-ed, so tests work on real files and never touch the checkout.
* ``run_hubgen(args, cwd=..., env=...)`` -- runs the installed ``hubgen`` console script (or
  ``python -m generator`` when the script is missing) in a subprocess and returns rc/stdout/stderr.
* ``invoke_hubgen(args)`` -- the same CLI in-process (typer's CliRunner on ``generator.cli.app:app``), for
  suites that run it hundreds of times; an uncaught exception shows up as a "Traceback" in ``stderr`` exactly
  as it would from the console script. Pass ``--repo`` (it does not change the working directory).
* ``tree_state(root)`` -- path -> (sha256, mtime_ns) of every file of a repository copy, for
  "nothing changed" assertions (``.git/`` and hubgen's scratch folder ``.hubgen/`` are ignored).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: What a repository copy consists of (copied when present in the checkout): the folders, and the sops
#: creation rules that the secret files under environments/*/secrets/ were encrypted with.
REPO_PARTS = ("environments", "schema", "manifests")
REPO_FILES = (".sops.yaml",)
#: Never compared by tree_state: git's own data and hubgen's scratch space (locks, caches).
IGNORED_TOP_DIRS = (".git", ".hubgen")

_HUBGEN_SCRIPT = Path(sys.executable).parent / "hubgen"


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:  # shown by pytest when an assertion on a Result fails
        return f"hubgen {' '.join(self.args)} -> rc={self.rc}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def hubgen_command() -> list[str]:
    if _HUBGEN_SCRIPT.exists():
        return [str(_HUBGEN_SCRIPT)]
    return [sys.executable, "-m", "generator"]


def _clean_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBGEN_", "FORCE_COLOR", "CLICOLOR"))}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    env.update(extra or {})
    return env


def run_hubgen(args: Sequence[str], cwd: Path | str | None = None, env: dict[str, str] | None = None,
               timeout: float = 120) -> Result:
    """Run the real hubgen CLI in a subprocess."""
    args = tuple(str(a) for a in args)
    proc = subprocess.run([*hubgen_command(), *args], cwd=cwd, env=_clean_env(env), capture_output=True,
                          timeout=timeout)
    return Result(args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def invoke_hubgen(args: Sequence[str]) -> Result:
    """Run the CLI in-process (fast); see the module docstring."""
    import traceback

    from typer.testing import CliRunner

    from generator.cli.app import app

    args = tuple(str(a) for a in args)
    result = CliRunner().invoke(app, list(args), catch_exceptions=True, color=False)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception))
    return Result(args, result.exit_code, result.stdout, stderr)


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without GIT_* (a test run from inside a git hook must not leak into
    the temporary repositories) and with a fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_AUTHOR_NAME": "hubgen test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
                "GIT_COMMITTER_NAME": "hubgen test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
                "GIT_CONFIG_NOSYSTEM": "1"})
    env.update(extra or {})
    return env


def git(repo: Path, *args: str, check: bool = True) -> str:
    """git in ``repo`` (see :func:`git_env`); its stdout. Fails the test when git fails (``check``)."""
    proc = subprocess.run(["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def working_tree_copy(dest: Path) -> Path:
    """This checkout as a clone of its working tree would have it: the tracked and the untracked-but-not-ignored
    files (links kept as links), copied into ``dest``; no .git, no virtualenv, no tools, no caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = REPO_ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    return dest


def make_repo(dest: Path, *, git: bool = True) -> Path:
    """Copy the repository parts of this checkout to ``dest`` (created) and optionally ``git init`` it."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in REPO_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, symlinks=True)
    for name in REPO_FILES:
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, dest / name)
    if git:
        subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)
    return dest


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """Relative path -> (sha256 of content, mtime_ns) of every file under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in IGNORED_TOP_DIRS]
        for name in filenames:
            p = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.lstat().st_mtime_ns)
    return out


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (see :func:`tree_state`)."""
    return {k: v[0] for k, v in tree_state(root).items()}


@pytest.fixture(scope="session")
def _repo_template(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("repo-template") / "repo", git=False)


@pytest.fixture
def repo(tmp_path: Path, _repo_template: Path) -> Path:
    """A git-initialised copy of the repository (environments/, schema/, manifests/) in tmp_path/repo."""
    dest = tmp_path / "repo"
    shutil.copytree(_repo_template, dest, symlinks=True)
    subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)
    return dest


@pytest.fixture(name="run_hubgen")
def run_hubgen_fixture() -> Callable[..., Result]:
    return run_hubgen


@pytest.fixture(name="invoke_hubgen")
def invoke_hubgen_fixture() -> Callable[..., Result]:
    return invoke_hubgen


@pytest.fixture(name="tree_state")
def tree_state_fixture() -> Callable[[Path], dict[str, tuple[str, int]]]:
    return tree_state


@pytest.fixture(name="tree_hashes")
def tree_hashes_fixture() -> Callable[[Path], dict[str, str]]:
    return tree_hashes


@pytest.fixture(scope="session")
def kubeconform_bin() -> Path:
    """The pinned kubeconform binary; skips without it, fails under CI=true (it must be installed there)."""
    from generator.engines.kubeconform import find_kubeconform

    binary = find_kubeconform(REPO_ROOT)
    if binary is None:
        message = "kubeconform not found (HUBGEN_KUBECONFORM, .tools/bin, PATH); run `bash .ci/install-tools`"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message)
        pytest.skip(message)
    return binary
