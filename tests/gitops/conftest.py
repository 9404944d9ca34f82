"""Fixtures of the GitOps tests: real git histories built from the committed examples.

* ``git(repo, *args)`` runs git in a repository and returns stdout (fails the test on error).
* ``history`` -- a copy of the examples (environments/, schema/, manifests/) committed once as the
  base of a history; tests edit it, render with the real `hubgen render` and commit again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


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
    proc = subprocess.run(["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit without hooks; the new commit id."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    n = text.count(old)
    if n != 1:
        raise AssertionError(f"expected exactly one {old!r} in {path}, found {n}")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def history(repo: Path) -> Path:
    """A git repository holding the examples, committed once (HEAD is the base of a history)."""
    git(repo, "config", "user.name", "hubgen test")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    commit_all(repo, "examples")
    return repo
