"""Fixtures for `hubgen lint` tests: real cfn-lint, real kubeconform, the real chart schema.

Helpers are in tests/lint/helpers.py.

* The JupyterHub chart 4.4.0 and the platform charts (cluster-autoscaler 9.59.0, nvidia-device-plugin 0.20.0)
  are fetched by hubgen itself into a session chart cache, from a local Helm repository serving the reference
  charts (tests/charts.py; skipped without them, failed under CI).
* kubeconform, helm and kustomize are found like hubgen finds them (``$HUBGEN_KUBECONFORM``/``$HUBGEN_HELM``/
  ``$HUBGEN_KUSTOMIZE``, ``.tools/bin``, ``PATH``); missing, the tests that need them are skipped -- unless
  ``CI`` is set, then they fail.
* Every test runs offline (``HUBGEN_OFFLINE=1``) except the fetcher's, which talks to a local
  ``http.server`` on 127.0.0.1 only.
* One lint cache per test session (results are content-addressed, so sharing is sound and keeps the
  suite fast); tests about caching get a fresh one, sharing only the kubeconform schema directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.engines.chart_render import find_tool
from generator.engines.kubeconform import find_kubeconform
from tests.charts import ci, fetched_chart_caches

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_VERSION = "4.4.0"


def _engine(name: str, var: str) -> Path:
    binary = find_tool(name, var, REPO_ROOT)
    if binary is None:
        message = f"{name} not found ({var}, HUBGEN_TOOLS_BIN, .tools/bin, PATH); run `bash .ci/install-tools`"
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return _engine("helm", "HUBGEN_HELM")


@pytest.fixture(scope="session")
def kustomize_bin() -> Path:
    return _engine("kustomize", "HUBGEN_KUSTOMIZE")


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory) -> Path:
    """A chart cache holding jupyterhub-4.4.0 and the platform charts, fetched by hubgen from a local Helm
    repository."""
    return fetched_chart_caches(tmp_path_factory.mktemp("charts") / "cache")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hubgen-cache")


@pytest.fixture
def lint_env(monkeypatch, chart_cache, session_cache) -> dict[str, str]:
    """Environment for hubgen: offline, the reference chart cache, the session's lint cache, kubeconform
    (when installed; tests that run it also ask for ``kubeconform_bin``, which skips or fails without it)."""
    env = {
        "HUBGEN_CHART_CACHE": str(chart_cache),
        "HUBGEN_CACHE_DIR": str(session_cache),
        "HUBGEN_OFFLINE": "1",
    }
    binary = find_kubeconform(REPO_ROOT)
    if binary is not None:
        env["HUBGEN_KUBECONFORM"] = str(binary)
    for name, var in (("helm", "HUBGEN_HELM"), ("kustomize", "HUBGEN_KUSTOMIZE")):
        binary = find_tool(name, var, REPO_ROOT)
        if binary is not None:
            env[var] = str(binary)
    for k in [k for k in os.environ if k.startswith("HUBGEN_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
