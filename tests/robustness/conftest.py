"""Fixtures of the robustness tests: a ten-environment repository rendered in two spec versions."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_hubgen

from .synthetic import generated_files, make_multi_repo, write_specs

ENVIRONMENTS = 10


def directories(root: Path) -> set[str]:
    """Every folder under environments/ (repo-relative)."""
    return {p.relative_to(root).as_posix() for p in (root / "environments").rglob("*") if p.is_dir()}


@dataclass(frozen=True)
class Version:
    name: str
    template: Path  # a repository with this version's specs, rendered
    files: dict[str, dict[str, bytes]]  # environment -> generated path -> bytes
    dirs: set[str]


@dataclass(frozen=True)
class Versions:
    a: Version
    b: Version

    def start(self, dest: Path, old: Version, new: Version) -> Path:
        """A copy of ``old``'s rendered repository whose specs are ``new``'s: the next render changes
        every environment."""
        shutil.copytree(old.template, dest, symlinks=True)
        write_specs(dest, ENVIRONMENTS, new.name)
        return dest


@pytest.fixture(scope="session")
def versions(tmp_path_factory) -> Versions:
    out = {}
    for name in ("A", "B"):
        root = make_multi_repo(tmp_path_factory.mktemp(f"version-{name}") / "repo", ENVIRONMENTS, name)
        result = run_hubgen(["render"], cwd=root)
        assert result.rc == 0, result
        out[name] = Version(name, root, generated_files(root), directories(root))
    a, b = out["A"], out["B"]
    for env in a.files:  # every environment really changes between the versions
        assert a.files[env] != b.files[env]
    assert any(set(a.files[e]) != set(b.files[e]) for e in a.files)  # files are created/deleted too
    return Versions(a, b)
