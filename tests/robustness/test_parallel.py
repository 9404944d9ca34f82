"""Validation and rendering spread over worker processes give exactly the serial result.

Runs over 100 environments or more fork workers (generator.parallel); ``HUBGEN_JOBS=1`` keeps
everything in one process. Both must report the same problems, in the same order, and render the
same bytes -- including for broken environments and cross-environment clashes, whose problems
depend on seeing every environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.parallel import MIN_ITEMS
from tests.conftest import run_hubgen, tree_hashes

from .synthetic import env_name, make_multi_repo

COUNT = MIN_ITEMS + 20


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    root = make_multi_repo(tmp_path_factory.mktemp("parallel") / "repo", COUNT, "B")
    envs = root / "environments"
    # A schema error, a semantic error, and two environments sharing a stack name (reported on the later one).
    spec = envs / env_name(7) / "environment.yaml"
    spec.write_text(spec.read_text().replace("minSize: 1", "minSize: one"))
    spec = envs / env_name(50) / "environment.yaml"
    spec.write_text(spec.read_text().replace("minSize: 1", "minSize: 5"))
    spec = envs / env_name(99) / "environment.yaml"
    spec.write_text(spec.read_text().replace(f"stackName: jupyter-{env_name(99)}", f"stackName: jupyter-{env_name(3)}"))
    return root


@pytest.mark.parametrize("args", [["validate"], ["render", "--check"], ["validate", env_name(99), env_name(50)]])
def test_workers_report_what_one_process_reports(big: Path, args: list[str]) -> None:
    serial = run_hubgen(["--format", "json", *args], cwd=big, env={"HUBGEN_JOBS": "1"})
    parallel = run_hubgen(["--format", "json", *args], cwd=big, env={"HUBGEN_JOBS": "2"})
    assert serial.rc == parallel.rc == 1, (serial, parallel)
    assert parallel.stdout == serial.stdout
    for code in ("HG201", "HG204") + (("HG103",) if len(args) < 3 else ()):
        assert f'"code": "{code}"' in serial.stdout


def test_workers_render_the_same_bytes(big: Path, tmp_path: Path) -> None:
    import shutil

    results = {}
    for jobs in ("1", "2"):
        root = tmp_path / f"jobs-{jobs}"
        shutil.copytree(big, root)
        for i in (7, 50, 99):  # drop the broken ones: render refuses to write while any spec has errors
            shutil.rmtree(root / "environments" / env_name(i))
        result = run_hubgen(["render"], cwd=root, env={"HUBGEN_JOBS": jobs})
        assert result.rc == 0, result
        results[jobs] = tree_hashes(root)
    assert results["1"] == results["2"]
    assert sum(p.endswith("helmrelease.yaml") for p in results["1"]) > COUNT
