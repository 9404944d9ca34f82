"""The Flux CRDs come from the pinned controllers' Go modules (generator/engines/flux_crds.py).

* Through the real Go toolchain and module proxy: an empty module cache is filled by `go mod download`
  of exactly the pinned versions, and hubgen finds every CRD there.
* The set hubgen validates against is the complete upstream set: byte for byte the reference copy of
  the Flux 2.9 CRDs (../shared/reference/crds/flux, present in CI; skipped elsewhere with the reason).
* Offline with an empty cache is a clear error naming the fix, never a crash.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator.engines import flux_crds
from generator.versions import FLUX_CONTROLLERS

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "crds" / "flux"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _clean(monkeypatch) -> None:
    monkeypatch.delenv("HUBGEN_FLUX_CRDS", raising=False)


def test_crds_come_from_the_pinned_modules(monkeypatch) -> None:
    _clean(monkeypatch)
    files = flux_crds.crd_files()
    for module, version in FLUX_CONTROLLERS.items():
        base = flux_crds.module_dir(module, version) / flux_crds.CRD_SUBDIR
        assert any(f.parent == base for f in files), module
    kinds = {f.name.split("_", 1)[1].removesuffix(".yaml") for f in files}
    assert {"helmreleases", "kustomizations", "gitrepositories", "helmrepositories", "helmcharts", "alerts",
            "providers", "receivers"} <= kinds


def test_the_set_is_the_upstream_reference_set(monkeypatch) -> None:
    if not REFERENCE.is_dir():
        message = f"the Flux CRD reference copy ({REFERENCE}) is not here: it lives beside the repository in CI only"
        if _ci():
            pytest.fail(message)
        pytest.skip(message)
    _clean(monkeypatch)
    ours = {f.name: f.read_bytes() for f in flux_crds.crd_files()}
    reference = {f.name: f.read_bytes() for f in REFERENCE.rglob("*.yaml")}
    assert ours == reference


def test_an_empty_module_cache_is_filled_through_the_go_proxy(monkeypatch, tmp_path) -> None:
    """A real `go mod download` into an empty module cache (the Go build cache is reused; the module zips
    come from the proxy, or GOFLAGS=-mod=mod's GOPROXY default)."""
    if flux_crds._go() is None:
        if _ci():
            pytest.fail("go is not installed")
        pytest.skip("go is not installed")
    _clean(monkeypatch)
    cache = tmp_path / "gomodcache"
    monkeypatch.setenv("GOMODCACHE", str(cache))
    # The real cache as a local proxy (file:// GOPROXY), so the test needs no network when it is warm;
    # the real proxy stays the fallback.
    go = flux_crds._go()
    real = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "GOMODCACHE"}).stdout.strip()
    download = Path(real) / "cache" / "download"
    if download.is_dir():
        monkeypatch.setenv("GOPROXY", f"file://{download},{os.environ.get('GOPROXY') or 'https://proxy.golang.org'}")
    try:
        files = flux_crds.crd_files()
        assert files and all(cache in f.parents for f in files)
        assert {f.name for f in files} == {f.name for f in flux_crds.crd_files(offline=True)}  # now cached
    finally:  # Go keeps its module cache read-only; it removes it itself
        subprocess.run([go, "clean", "-modcache"], env={**os.environ, "GOMODCACHE": str(cache)}, capture_output=True)


def test_offline_and_not_downloaded_is_a_clear_error(monkeypatch, tmp_path) -> None:
    _clean(monkeypatch)
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "empty"))
    with pytest.raises(flux_crds.CrdsUnavailable, match="go mod download"):
        flux_crds.crd_files(offline=True)


def test_an_override_folder_is_searched_recursively(monkeypatch, tmp_path) -> None:
    _clean(monkeypatch)
    nested = tmp_path / "crds" / "helm"
    nested.mkdir(parents=True)
    src = flux_crds.crd_files()[0]
    (nested / src.name).write_bytes(src.read_bytes())
    monkeypatch.setenv("HUBGEN_FLUX_CRDS", str(tmp_path / "crds"))
    assert flux_crds.crd_files() == [nested / src.name]
