"""Filling the chart cache from a Helm chart repository -- a real HTTP server, on 127.0.0.1 only.

The repository is built by the test: an index.yaml and chart packages (.tgz) made from the z2jh
4.4.0 reference files, served by http.server. No test here reaches the internet.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
from pathlib import Path

import pytest
import yaml

from generator.engines.chart_values import ChartError, ChartVersionNotFound, fetch_chart
from tests.charts import serve_folder
from tests.lint.helpers import lint_json, position, problems, replace_once

DEV = "environments/dev/environment.yaml"


def chart_package(reference: Path, version: str, *, schema: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members = {"Chart.yaml": f"apiVersion: v2\nname: jupyterhub\nversion: {version}\n".encode(),
                   "values.yaml": (reference / "values.yaml").read_bytes()}
        if schema:
            members["values.schema.json"] = (reference / "values.schema.json").read_bytes()
        for name, data in members.items():
            info = tarfile.TarInfo(f"jupyterhub/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def chart_repo(tmp_path, chart_cache):
    """A Helm repository on 127.0.0.1: jupyterhub 4.4.0 (with schema) and 4.3.1 (without), by relative URL."""
    reference = (chart_cache / "jupyterhub-4.4.0").resolve()
    root = tmp_path / "www"
    (root / "charts").mkdir(parents=True)
    entries = []
    for version, schema in (("4.4.0", True), ("4.3.1", False)):
        package = chart_package(reference, version, schema=schema)
        (root / "charts" / f"jupyterhub-{version}.tgz").write_bytes(package)
        entries.append({"name": "jupyterhub", "version": version, "urls": [f"jupyterhub-{version}.tgz"],
                        "digest": hashlib.sha256(package).hexdigest(), "created": "2025-01-01T00:00:00Z"})

    def write_index(mutate=lambda e: e):
        doc = {"apiVersion": "v1", "entries": {"jupyterhub": [mutate(dict(e)) for e in entries]}}
        (root / "charts" / "index.yaml").write_text(yaml.safe_dump(doc))

    write_index()
    with serve_folder(root) as url:
        yield {"url": f"{url}charts/", "write_index": write_index}


@pytest.fixture
def online(lint_env, monkeypatch, tmp_path, chart_repo):
    """hubgen may use the network -- which here is the local chart repository -- and starts with an empty cache."""
    monkeypatch.delenv("HUBGEN_OFFLINE")
    cache = tmp_path / "chart-cache"
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(cache))
    monkeypatch.setenv("HUBGEN_CHART_REPOSITORY", chart_repo["url"])
    return cache


def test_missing_chart_is_fetched_verified_cached_and_used(repo, invoke_hubgen, online, monkeypatch):
    text = replace_once(repo / DEV, "    culling:\n",
                        "    values:\n      singleuser:\n        imagee: x\n    culling:\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 1
    [p] = problems(doc)
    assert p["code"] == "HG503" and (p["line"], p["column"]) == position(text, "imagee")
    cached = online / "jupyterhub-4.4.0"
    assert sorted(f.name for f in cached.iterdir()) == ["Chart.yaml", "chart.tgz", "hubgen-chart.json",
                                                        "values.schema.json", "values.yaml"]
    marker = json.loads((cached / "hubgen-chart.json").read_text())
    assert marker["version"] == "4.4.0" and marker["schema"] is True and len(marker["digest"]) == 64

    # From now on the cache answers, with the repository gone.
    monkeypatch.setenv("HUBGEN_CHART_REPOSITORY", "http://127.0.0.1:9/")
    monkeypatch.setenv("HUBGEN_OFFLINE", "1")
    rc, again = lint_json(invoke_hubgen, repo, "dev", "-e", "values", "--no-cache")
    assert rc == 1 and again["problems"] == doc["problems"]


def test_digest_mismatch_is_refused(repo, invoke_hubgen, online, chart_repo):
    chart_repo["write_index"](lambda e: dict(e, digest="0" * 64))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 0
    [p] = problems(doc)
    assert p["code"] == "HG504" and "does not match the index's digest" in p["message"]
    assert not (online / "jupyterhub-4.4.0").exists()


def test_version_not_in_the_repository_is_an_error(repo, invoke_hubgen, online):
    text = replace_once(repo / DEV, "      version: 4.4.0\n", "      version: 4.3.9\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 1
    [p] = problems(doc)
    assert p["code"] == "HG507" and "4.3.9" in p["message"]
    assert (p["file"], p["line"], p["column"]) == (DEV, *position(text, "4.3.9"))


def test_chart_without_a_schema_is_a_warning_and_remembered(repo, invoke_hubgen, online, monkeypatch):
    replace_once(repo / DEV, "      version: 4.4.0\n", "      version: 4.3.1\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 0
    [p] = problems(doc)
    assert p["code"] == "HG504" and "ships no values.schema.json" in p["message"]
    assert json.loads((online / "jupyterhub-4.3.1" / "hubgen-chart.json").read_text())["schema"] is False
    monkeypatch.setenv("HUBGEN_OFFLINE", "1")
    rc, again = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 0 and again["problems"] == doc["problems"]


def test_unreachable_repository_is_a_warning_with_the_reason(repo, invoke_hubgen, online, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HUBGEN_CHART_REPOSITORY", f"http://127.0.0.1:{port}/")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 0
    [p] = problems(doc)
    assert p["code"] == "HG504" and "could not be fetched" in p["message"] and f"127.0.0.1:{port}" in p["message"]


def test_fetcher_errors(tmp_path, chart_repo):
    with pytest.raises(ChartError, match="only http"):
        fetch_chart(tmp_path, "4.4.0", repository="file:///etc/")
    with pytest.raises(ChartVersionNotFound):
        fetch_chart(tmp_path, "9.9.9", repository=chart_repo["url"])
    with pytest.raises(ChartError, match="HTTP 404"):
        fetch_chart(tmp_path, "4.4.0", repository=chart_repo["url"] + "nothing-here/")
    assert (fetch_chart(tmp_path, "4.4.0", repository=chart_repo["url"].rstrip("/")) / "values.yaml").is_file()
