"""A local Helm repository with newer versions of every chart hubgen renders, and the environment that points
hubgen at it the way a user would (``HUBGEN_CHART_REPOSITORY``, ``HUBGEN_CHART_MIRRORS``).

The packages are the reference charts (tests/charts.py) re-versioned by rewriting ``Chart.yaml``:

* jupyterhub 4.2.0, 4.4.0, 4.5.0, 5.0.0 and 5.1.0-beta.1; 5.0.0's ``values.schema.json`` no longer knows
  ``singleuser.storage``, which every example hub sets (the failing-check path: HG503);
* cluster-autoscaler 9.59.0, 9.60.0 and 9.61.0-rc.1; nvidia-device-plugin 0.20.0 and 0.21.0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.charts import helm_repository, package, reference_chart

JUPYTERHUB_VERSIONS = ("4.2.0", "4.4.0", "4.5.0", "5.0.0", "5.1.0-beta.1")
#: The version whose schema the examples' values violate.
BROKEN = "5.0.0"
AUTOSCALER_VERSIONS = ("9.59.0", "9.60.0", "9.61.0-rc.1")
DEVICE_PLUGIN_VERSIONS = ("0.20.0", "0.21.0")
AUTOSCALER_URL = "https://kubernetes.github.io/autoscaler"
DEVICE_PLUGIN_URL = "https://nvidia.github.io/k8s-device-plugin"


def reversioned(tmp: Path, name: str, version: str, *, drop_singleuser_storage: bool = False) -> bytes:
    """The reference chart ``name`` packaged as ``version`` (its Chart.yaml's version line rewritten)."""
    source = reference_chart(name, {"jupyterhub": "4.4.0", "cluster-autoscaler": "9.59.0",
                                    "nvidia-device-plugin": "0.20.0"}[name])
    work = tmp / f"{name}-{version}"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work)
    chart = work / "Chart.yaml"
    lines = chart.read_text().splitlines(keepends=True)
    lines = [f"version: {version}\n" if line.startswith("version:") else line for line in lines]
    chart.write_text("".join(lines))
    if drop_singleuser_storage:
        schema_path = work / "values.schema.json"
        schema = json.loads(schema_path.read_text())
        del schema["properties"]["singleuser"]["properties"]["storage"]
        schema_path.write_text(json.dumps(schema, indent=2))
    return package(work, name)


@pytest.fixture(scope="session")
def chart_packages(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    tmp = tmp_path_factory.mktemp("bump-charts")
    return {
        "jupyterhub": {v: reversioned(tmp, "jupyterhub", v, drop_singleuser_storage=v == BROKEN)
                       for v in JUPYTERHUB_VERSIONS},
        "cluster-autoscaler": {v: reversioned(tmp, "cluster-autoscaler", v) for v in AUTOSCALER_VERSIONS},
        "nvidia-device-plugin": {v: reversioned(tmp, "nvidia-device-plugin", v) for v in DEVICE_PLUGIN_VERSIONS},
    }


def chart_env(url: str, cache: Path) -> dict[str, str]:
    """What a user sets to read every chart from the repository at ``url`` (and where charts are cached)."""
    return {"HUBGEN_CHART_REPOSITORY": url,
            "HUBGEN_CHART_MIRRORS": f"{AUTOSCALER_URL}={url} {DEVICE_PLUGIN_URL}={url}",
            "HUBGEN_CHART_CACHE": str(cache)}


@pytest.fixture
def serve_charts(tmp_path, chart_packages):
    """A function: the environment for a local Helm repository serving ``charts`` ({name: [versions]}, default
    every package), started for the rest of the test."""
    import contextlib

    stack = contextlib.ExitStack()

    def serve(charts: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
        wanted = {name: {v: chart_packages[name][v] for v in (charts or {}).get(name, tuple(chart_packages[name]))}
                  for name in chart_packages}
        root = tmp_path / f"helm-{len(stack._exit_callbacks)}"
        url = stack.enter_context(helm_repository(root, wanted))
        return chart_env(url, tmp_path / "chart-cache")

    with stack:
        yield serve


@pytest.fixture
def charts(serve_charts) -> Iterator[dict[str, str]]:
    """The environment for the full local repository."""
    yield serve_charts()
