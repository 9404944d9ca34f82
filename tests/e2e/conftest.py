"""The end-to-end suite's fixture: one loopback cluster per example environment.

Each environment's scenario is one test (tests/e2e/test_e2e.py), so that ``pytest -n 2`` (``make test``) runs
the whole scenario of an environment on one worker and one cluster, and the two environments side by side.
(pytest-xdist's ``--dist loadgroup`` would keep several tests together, but its grouping does not work with
pytest 9's node ids: xdist 3.8 renames ``item._nodeid``, which pytest 9 no longer reads.) Without the engines
the suite skips, saying which are missing; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, find_engines

ENVIRONMENTS = ("dev", "prod")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end tests on a loopback Kubernetes cluster (make e2e)")


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def cluster(request, tmp_path_factory):
    """The environment on its own loopback cluster, every engine started (Flux then deploys it); everything
    stopped (every process group) when the environment's tests are done, also after a failure. The phase
    timings land in ``<tmp>/e2e-<env>0/timings.json``."""
    engines = find_engines()
    env = request.param
    work = tmp_path_factory.mktemp(f"e2e-{env}")
    harness = Harness(env, work, engines)
    request.addfinalizer(lambda: _finish(harness, work))
    harness.__enter__()
    return harness


def _finish(harness: Harness, work: Path) -> None:
    t = time.monotonic()
    harness.close()
    harness.timings["stop"] = round(time.monotonic() - t, 2)
    (work / "timings.json").write_text(json.dumps(harness.timings, indent=2))
