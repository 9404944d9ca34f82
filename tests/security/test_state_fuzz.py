"""Property: for random planted state (journals, caches, locks under .hubgen/, symbolic links and folders in
place of generated files and folders), no hubgen command writes, moves or deletes anything but the
generated files of the repository, and none tracebacks.

Runs the CLI in-process (typer's runner) on a fresh copy of the example repository per example.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke_hubgen

from .test_trust_boundary import digest, non_generated

STATE_PATHS = [".hubgen/txn/dev.json", ".hubgen/txn/COMMITTED", ".hubgen/txn/files/0", ".hubgen/txn/prod.json",
               ".hubgen/cache/lint/ab/abcd.json", ".hubgen/cache/validate-index.json",
               ".hubgen/cache/charts/jupyterhub-4.4.0/values.schema.json", ".hubgen/lock",
               ".hubgen/scaffold/dev.x/environment.yaml", ".hubgen/txn", ".hubgen/cache", ".hubgen"]
GENERATED_PATHS = ["environments/dev/hubs", "environments/dev/hubs/dev", "environments/dev/hubs/dev/helmrelease.yaml",
                   "environments/dev/cluster", "environments/dev/cluster/hubs.yaml",
                   "environments/prod/cloudformation/cluster.parameters.json",
                   "environments/prod/hubs/kustomization.yaml", "environments/dev/extra",
                   "environments/dev/extra/x.yaml", "environments/prod/platform",
                   "environments/prod/platform/storageclasses.yaml"]
COMMANDS = [["validate"], ["render", "--check"], ["render"], ["render", "dev"], ["render", "prod"],
            ["hook", "render-check", "environments/dev/environment.yaml"], ["hook", "validate",
                                                                           "environments/prod/environment.yaml"]]


def _paths_in_journal(outside: str) -> st.SearchStrategy:
    return st.sampled_from([f"{outside}/keep.txt", "../victim/keep.txt", f"{outside}/new", "environments/../../x",
                            "environments/dev/environment.yaml", "schema/environment.schema.json", "", None, 5])


def _contents(outside: str) -> st.SearchStrategy:
    journal = st.fixed_dictionaries({}, optional={
        "writes": st.lists(_paths_in_journal(outside), max_size=3) | st.integers(),
        "staged": st.lists(st.sampled_from(["0", "../../victim/keep.txt", None]), max_size=3),
        "deletes": st.lists(_paths_in_journal(outside), max_size=3) | st.text(max_size=5),
        "mkdirs": st.lists(_paths_in_journal(outside), max_size=2),
        "probes": st.lists(_paths_in_journal(outside), max_size=2)})
    return st.one_of(journal.map(lambda d: json.dumps(d).encode()), st.binary(max_size=64),
                     st.just(b'{"format": "1", "key": "x", "payload": []}'))


@st.composite
def plants(draw, outside: str):
    out = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["file", "link", "dir"]))
        path = draw(st.sampled_from(STATE_PATHS + GENERATED_PATHS))
        if kind == "file":
            out.append(("file", path, draw(_contents(outside))))
        elif kind == "link":
            out.append(("link", path, draw(st.sampled_from([outside, f"{outside}/keep.txt", f"{outside}/sub",
                                                            "../../..", "/", "environments/prod"]))))
        else:
            out.append(("dir", path, None))
    return out


def _apply(root: Path, plant: list) -> None:
    for kind, rel, data in plant:
        p = root / rel
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # a parent is a file or link planted earlier: this plant cannot exist
        if kind == "file":
            p.write_bytes(data)
        elif kind == "link":
            os.symlink(data, p)
        else:
            p.mkdir()
            (p / "inside.txt").write_text("x")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_no_command_changes_anything_outside_the_generated_files(tmp_path: Path, _repo_template: Path, data) -> None:
    work = tmp_path / f"ex-{os.urandom(4).hex()}"
    outside = work / "victim"
    (outside / "sub").mkdir(parents=True)
    (outside / "keep.txt").write_text("precious\n")
    (outside / "sub" / "also.txt").write_text("also\n")
    root = work / "repo"
    shutil.copytree(_repo_template, root, symlinks=True)
    plant = data.draw(plants(str(outside)))
    command = data.draw(st.sampled_from(COMMANDS))
    _apply(root, plant)
    before_outside, before_repo = digest(outside), non_generated(root)
    result = invoke_hubgen(["--repo", str(root), *command])
    assert "Traceback" not in result.output, (plant, command, result)
    assert result.rc in (0, 1), (plant, command, result)
    assert digest(outside) == before_outside, (plant, command)
    assert non_generated(root) == before_repo, (plant, command)
    shutil.rmtree(work, ignore_errors=True)
