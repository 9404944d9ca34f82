"""Charts for tests, through hubgen's real fetch path.

The JupyterHub chart (and the others hubgen renders) cannot be fetched from their Helm repositories
here. ``../shared/reference/charts/`` holds them as published (``$HUBGEN_REFERENCE_DIR`` overrides
``../shared/reference``); the tests package a chart the way ``helm package`` lays it out, serve it
with an ``index.yaml`` from a local HTTP server on 127.0.0.1, and let hubgen fetch it (index,
sha256 digest, extraction into its chart cache) exactly as it fetches from a real chart repository.
Never a symbolic link into the cache, never a copy past the fetcher.

The reference copies exist beside the repository in CI; elsewhere (a fresh clone on someone's
machine) the tests that need them skip, saying so -- and fail instead under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def reference_dir() -> Path:
    env = os.environ.get("HUBGEN_REFERENCE_DIR")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "reference").resolve()


def require_reference(path: Path, what: str) -> Path:
    """``path`` when it exists; else skip (fail under CI) with a reason saying why it is missing."""
    if path.exists():
        return path
    message = (f"{what} not found at {path}: upstream reference data this machine cannot fetch; it lives beside "
               "the repository (../shared/reference) in CI")
    if ci():
        pytest.fail(message)
    pytest.skip(message)


def reference_chart(name: str = "jupyterhub", version: str = "4.4.0") -> Path:
    return require_reference(reference_dir() / "charts" / f"{name}-{version}", f"the {name} {version} chart")


def package(chart_dir: Path, name: str) -> bytes:
    """The chart folder as a chart package (``<name>/...`` inside a gzipped tar), byte for byte the same
    on every run (sorted members, fixed owners and times)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path in sorted(p for p in chart_dir.rglob("*") if p.is_file()):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{name}/{path.relative_to(chart_dir).as_posix()}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def helm_repository(root: Path, charts: dict[str, dict[str, bytes]]) -> Iterator[str]:
    """Serve ``{chart: {version: package}}`` as a Helm repository (``index.yaml`` + packages, relative URLs)
    from ``root`` on 127.0.0.1; yields the repository URL."""
    root.mkdir(parents=True, exist_ok=True)
    entries: dict[str, list] = {}
    for name, versions in sorted(charts.items()):
        for version, data in sorted(versions.items()):
            file = f"{name}-{version}.tgz"
            (root / file).write_bytes(data)
            entries.setdefault(name, []).append({
                "name": name, "version": version, "urls": [file], "digest": hashlib.sha256(data).hexdigest(),
                "created": "2025-01-01T00:00:00Z", "apiVersion": "v2"})
    (root / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": entries}))
    with serve_folder(root) as url:
        yield url


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """``root`` over HTTP on 127.0.0.1 (a thread of this process); yields its URL, ending in '/'."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def fetched_chart_cache(dest: Path, name: str = "jupyterhub", version: str = "4.4.0") -> Path:
    """A chart cache folder holding ``name`` ``version``, filled by hubgen's fetcher from a local Helm
    repository serving the reference chart (skips without the reference, fails under CI)."""
    from generator.engines.chart_values import fetch_chart

    chart = reference_chart(name, version)
    with helm_repository(dest.parent / f"{dest.name}-repository", {name: {version: package(chart, name)}}) as url:
        fetch_chart(dest, version, repository=url, chart=name)
    return dest


#: Every chart the example environments render (the platform charts of generator/versions.py and the
#: JupyterHub chart), as (name, version).
def rendered_charts() -> list[tuple[str, str]]:
    from generator import versions

    return [(versions.CHART_NAME, versions.DEFAULT_CHART_VERSION),
            (versions.CLUSTER_AUTOSCALER_CHART.name, versions.CLUSTER_AUTOSCALER_CHART.version),
            (versions.NVIDIA_DEVICE_PLUGIN_CHART.name, versions.NVIDIA_DEVICE_PLUGIN_CHART.version)]


def fetched_chart_caches(dest: Path, charts: list[tuple[str, str]] | None = None) -> Path:
    """A chart cache folder holding every chart of ``charts`` (default: :func:`rendered_charts`), each fetched by
    hubgen's fetcher from a local Helm repository serving its reference copy -- the way the tests point hubgen
    at a chart repository (``fetch_chart(..., repository=<local URL>)``), for the platform charts as for the
    JupyterHub chart."""
    for name, version in charts or rendered_charts():
        fetched_chart_cache(dest, name, version)
    return dest
