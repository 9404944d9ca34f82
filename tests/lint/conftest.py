"""Fixtures for `hubgen lint` tests: real cfn-lint, real kubeconform, the real chart schema.

Helpers are in tests/lint/helpers.py.

* The JupyterHub chart's values schema comes from ``<repo>/../shared/reference/z2jh-4.4.0``
  (or ``$HUBGEN_Z2JH_REFERENCE``), linked into a chart cache as ``jupyterhub-4.4.0``.
* kubeconform is found like hubgen finds it (``$HUBGEN_KUBECONFORM``, ``.tools/bin``, ``PATH``);
  missing, the tests that need it are skipped -- unless ``CI`` is set, then they fail.
* Every test runs offline (``HUBGEN_OFFLINE=1``) except the fetcher's, which talks to a local
  ``http.server`` on 127.0.0.1 only.
* One lint cache per test session (results are content-addressed, so sharing is sound and keeps the
  suite fast); tests about caching get a fresh one, sharing only the kubeconform schema directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.engines.kubeconform import find_kubeconform

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_VERSION = "4.4.0"


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def z2jh_reference() -> Path:
    env = os.environ.get("HUBGEN_Z2JH_REFERENCE")
    path = Path(env) if env else (REPO_ROOT / ".." / "shared" / "reference" / f"z2jh-{CHART_VERSION}").resolve()
    if not (path / "values.schema.json").is_file() or not (path / "values.yaml").is_file():
        message = f"z2jh {CHART_VERSION} reference (values.yaml, values.schema.json) not found at {path}"
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def kubeconform_bin() -> Path:
    binary = find_kubeconform(REPO_ROOT)
    if binary is None:
        message = "kubeconform not found (HUBGEN_KUBECONFORM, .tools/bin, PATH); run `bash .ci/install-tools`"
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory) -> Path:
    """A chart cache holding jupyterhub-4.4.0 -> the shared reference copy."""
    d = tmp_path_factory.mktemp("charts")
    (d / f"jupyterhub-{CHART_VERSION}").symlink_to(z2jh_reference(), target_is_directory=True)
    return d


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
    for k in [k for k in os.environ if k.startswith("HUBGEN_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
