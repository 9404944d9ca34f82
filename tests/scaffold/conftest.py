"""Fixtures for the scaffolding tests; see util.py for what they wrap."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from .util import ROOT, Result, run, run_fast, snapshot, write_sops_config


@pytest.fixture(name="hubgen")
def hubgen_fixture() -> Callable[..., Result]:
    return run


@pytest.fixture(name="hubgen_fast")
def hubgen_fast_fixture() -> Callable[..., Result]:
    return run_fast


@pytest.fixture(name="snapshot")
def snapshot_fixture() -> Callable[[Path], dict[str, str]]:
    return snapshot


@pytest.fixture(scope="session")
def age_key(tmp_path_factory) -> tuple[str, Path]:
    """(public recipient, private key file) of a fresh age key."""
    keygen = ROOT / ".tools" / "bin" / "age-keygen"
    if not keygen.exists():
        pytest.skip("age-keygen not installed (run `bash .ci/install-tools`)")
    key = tmp_path_factory.mktemp("age") / "key.txt"
    subprocess.run([str(keygen), "-o", str(key)], check=True, capture_output=True)
    recipient = next(line.split(": ", 1)[1].strip() for line in key.read_text().splitlines()
                     if line.startswith("# public key: "))
    return recipient, key


@pytest.fixture
def sops_repo(repo: Path, age_key: tuple[str, Path]) -> Path:
    write_sops_config(repo, age_key[0])
    return repo


@pytest.fixture(scope="session")
def engine_env(tmp_path_factory) -> dict[str, str]:
    """Environment for `hubgen lint` and the pre-commit hooks: offline, the charts hubgen renders fetched into a
    session chart cache from a local Helm repository (tests/charts.py), one lint cache for the session,
    the pinned kubeconform."""
    from tests.charts import fetched_chart_caches, reference_dir, rendered_charts

    charts = tmp_path_factory.mktemp("charts") / "cache"
    fetched = all((reference_dir() / "charts" / f"{n}-{v}").is_dir() for n, v in rendered_charts())
    if fetched:
        fetched_chart_caches(charts)
    env = {"HUBGEN_OFFLINE": "1", "HUBGEN_CACHE_DIR": str(tmp_path_factory.mktemp("hubgen-cache")),
           "HUBGEN_CHARTS_FETCHED": "1" if fetched else "0",
           "HUBGEN_CHART_CACHE": str(charts), "HUBGEN_TOOLS_BIN": str(ROOT / ".tools" / "bin")}
    kubeconform = ROOT / ".tools" / "bin" / "kubeconform"
    if kubeconform.is_file():
        env["HUBGEN_KUBECONFORM"] = str(kubeconform)
    return env
