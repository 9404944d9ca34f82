"""Fixtures of the GitOps tests: real git histories built from the committed examples.

* ``git(repo, *args)`` runs git in a repository and returns stdout (fails the test on error).
* ``history`` -- a copy of the examples (environments/, schema/, manifests/) committed once as the
  base of a history; tests edit it, render with the real `hubgen render` and commit again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, git_env  # noqa: F401 (re-exported for the tests here)

REPO_ROOT = Path(__file__).resolve().parents[2]


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
