"""Symbolic links leading out of the repository, and environment names that are paths, are refused.

Links: hubgen never reads a spec from, nor writes a generated file through, a link that leaves the
repository (HG009 for specs, HG406 / a write error for generated paths), and nothing outside the
repository changes. Names: an environment name is a DNS-1123 label; anything with a path separator
or a dot-dot is a usage error (exit 2) for every command that takes environment names, before
anything is read or written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from generator.cli.app import app
from tests.conftest import run_hubgen, tree_state


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _bump_port(repo: Path) -> None:
    spec = repo / "environments" / "dev" / "environment.yaml"
    text = spec.read_text()
    assert "nodePort: 30052" in text
    spec.write_text(text.replace("nodePort: 30052", "nodePort: 30053"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_generated_folder_linked_out_of_the_repository(repo: Path, outside: Path) -> None:
    hubs = repo / "environments" / "dev" / "hubs"
    shutil.move(hubs, outside / "hubs")
    hubs.symlink_to(outside / "hubs", target_is_directory=True)
    check = run_hubgen(["render", "--check", "dev"], cwd=repo)
    assert check.rc == 1 and "HG406" in check.stdout and "environments/dev/hubs" in check.stdout, check
    _bump_port(repo)  # the next render would change environments/dev/hubs/dev/helmrelease.yaml
    before, before_outside = tree_state(repo), _digest(outside)
    result = run_hubgen(["render"], cwd=repo)
    assert result.rc == 1, result
    assert "environments/dev/hubs is a symbolic link" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert tree_state(repo) == before and _digest(outside) == before_outside
    # Not even the other environment (prod) changed: a render is all-or-nothing.


def test_generated_file_linked_out_of_the_repository(repo: Path, outside: Path) -> None:
    release = repo / "environments" / "dev" / "hubs" / "dev" / "helmrelease.yaml"
    shutil.move(release, outside / "helmrelease.yaml")
    release.symlink_to(outside / "helmrelease.yaml")
    _bump_port(repo)
    before, before_outside = tree_state(repo), _digest(outside)
    result = run_hubgen(["render", "dev"], cwd=repo)
    assert result.rc == 1 and "symbolic link" in result.stderr and "Traceback" not in result.output, result
    assert tree_state(repo) == before and _digest(outside) == before_outside


def test_spec_linked_out_of_the_repository(repo: Path, outside: Path) -> None:
    spec = repo / "environments" / "dev" / "environment.yaml"
    shutil.move(spec, outside / "environment.yaml")
    spec.symlink_to(outside / "environment.yaml")
    before, before_outside = tree_state(repo), _digest(outside)
    for args in (["validate", "dev"], ["render", "dev"], ["render"]):
        result = run_hubgen(args, cwd=repo)
        assert result.rc == 1, result
        assert "HG009" in result.stdout and "leading outside the repository" in result.stdout, result
    assert tree_state(repo) == before and _digest(outside) == before_outside


def test_environment_folder_linked_out_of_the_repository(repo: Path, outside: Path) -> None:
    shutil.move(repo / "environments" / "dev", outside / "dev")
    (repo / "environments" / "dev").symlink_to(outside / "dev", target_is_directory=True)
    _bump_port(repo)
    before, before_outside = tree_state(repo), _digest(outside)
    result = run_hubgen(["render"], cwd=repo)
    assert result.rc == 1 and "HG009" in result.stdout, result
    assert tree_state(repo) == before and _digest(outside) == before_outside


def test_state_folder_linked_out_of_the_repository_is_ignored(repo: Path, outside: Path) -> None:
    """Earlier hubgen versions kept state in .hubgen/; hubgen now never reads or writes there, so a
    link planted there leads nowhere."""
    (outside / "keep.txt").write_text("precious")
    (repo / ".hubgen").symlink_to(outside, target_is_directory=True)
    _bump_port(repo)
    result = run_hubgen(["render"], cwd=repo)
    assert result.rc == 0, result
    assert _digest(outside) == {"keep.txt": hashlib.sha256(b"precious").hexdigest()}


BAD_NAMES = ["../x", "a/b", "/etc", "..", ".", "dev/", "dev/../prod", "..\\x", "dev\\..\\prod", "Dev", ""]


def _commands() -> list[list[str]]:
    """Every command that takes environment names (the ones installed in this checkout)."""
    commands = getattr(get_command(app), "commands", {})
    out = [["validate"], ["render"], ["render", "--check"]]
    if "lint" in commands:
        out.append(["lint"])
    return out


@pytest.mark.parametrize("name", BAD_NAMES)
def test_environment_names_that_are_paths_are_usage_errors(repo: Path, name: str) -> None:
    before = tree_state(repo)
    siblings = sorted(os.listdir(repo.parent))
    runner = CliRunner()
    for command in _commands():
        result = runner.invoke(app, ["--repo", str(repo), *command, name])
        assert result.exit_code == 2, (command, name, result.output)
        assert "Traceback" not in result.output
        assert "not a valid environment name" in result.output or "no environment" in result.output, result.output
    assert tree_state(repo) == before
    assert sorted(os.listdir(repo.parent)) == siblings  # nothing created next to the repository (../x)


def test_path_names_through_the_real_executable(repo: Path) -> None:
    before = tree_state(repo)
    for args in (["render", "../x"], ["render", "dev", "a/b"], ["validate", "/etc"]):
        result = run_hubgen(args, cwd=repo)
        assert result.rc == 2, result
        assert "not a valid environment name" in result.stderr and "Traceback" not in result.output, result
    assert tree_state(repo) == before
    assert not (repo.parent / "x").exists()
