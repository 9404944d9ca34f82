"""`hubgen bump` end to end: the real CLI in temporary copies of the repository, charts from a local Helm
repository (tests/bump/conftest.py), pointed at the way a user would (HUBGEN_CHART_REPOSITORY/_MIRRORS).

Goldens: ``tests/bump/golden/`` holds the rewritten dev and prod specs and the markdown PR summary of one run.
Regenerate after an intended change with ``HUBGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/bump`` and
review ``git diff tests/bump/golden``.
"""

from __future__ import annotations

import codecs
import json
import os
import socket
from datetime import date
from pathlib import Path

import pytest
import yaml

from generator.platform import eks_versions
from tests.charts import serve_folder
from tests.core.specs import replace_once

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HUBGEN_UPDATE_GOLDEN", "") == "1"
DEV = "environments/dev/environment.yaml"
PROD = "environments/prod/environment.yaml"

#: Image tags that exist: newer ones of each shape, and tags that must never be proposed.
TAGS = """\
# course hub: build.N
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-franz-labs:build.41
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-franz-labs:build.43
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-franz-labs:build.42
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-franz-labs:latest
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-franz-labs:build.44-rc1

# research hub: dates
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-research-lab:2026.12.01   # this month's
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-research-lab:2026.11.30
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-research-lab:2027.01
553778890976.dkr.ecr.us-west-2.amazonaws.com/asf-research-lab:sha-1a2b3c4
# the gpu profile's own image: semver
quay.io/jupyter/pytorch-notebook:v1.2.3
quay.io/jupyter/pytorch-notebook:v1.3.0
quay.io/jupyter/pytorch-notebook:v1.10.0-rc.1
quay.io/jupyter/pytorch-notebook:v1.10.0
quay.io/jupyter/pytorch-notebook:cuda12-latest
"""


def _edit(repo: Path, spec: str, old: str, new: str) -> None:
    path = repo / spec
    path.write_text(replace_once(path.read_text(), old, new))


def _gpu_profile_image(repo: Path) -> None:
    _edit(repo, PROD, "        nodeGroup: gpu\n        gpus: 1\n",
          "        nodeGroup: gpu\n        gpus: 1\n        # The GPU image is built upstream.\n"
          "        image:\n          name: quay.io/jupyter/pytorch-notebook\n          tag: v1.2.3\n")


def _bump(run_hubgen, repo: Path, env: dict, *args) -> object:
    return run_hubgen(["--repo", repo, "bump", *args], env=env, timeout=300)


def _json(result) -> dict:
    return json.loads(result.stdout)


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with HUBGEN_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden (HUBGEN_UPDATE_GOLDEN=1)"


# --- the golden run ---------------------------------------------------------------------------------------------


def test_bump_rewrites_specs_renders_and_summarises(repo, charts, run_hubgen, tmp_path):
    """Every chart to its newest stable release (jupyterhub 5.0.0, whose schema refuses `singleuser.storage`: the
    checks fail, exit 1, files still written), the platform pins inserted, image tags of each shape; the research
    hub starts at 4.2.0 so it crosses the 4.3.0 upgrade note."""
    _edit(repo, PROD, "    nodePort: 30061\n    chart:\n      version: 4.4.0\n",
          "    nodePort: 30061\n    chart:\n      version: 4.2.0\n")
    _gpu_profile_image(repo)
    tags = tmp_path / "tags.txt"
    tags.write_text(TAGS)
    summary = tmp_path / "summary.md"
    result = _bump(run_hubgen, repo, charts, "--only", "charts", "--only", "images", "--image-tags", tags,
                   "--summary-file", summary)
    assert result.rc == 1, result
    assert "HG503" in result.stdout and "unknown key 'storage'" in result.stdout, result
    _golden("dev.environment.yaml", (repo / DEV).read_text())
    _golden("prod.environment.yaml", (repo / PROD).read_text())
    _golden("summary.md", summary.read_text())
    # Comments survive, the markdown names the crossed note, the generated files follow the new specs.
    prod = (repo / PROD).read_text()
    assert "# Spot: several types of the same size" in prod and "# The GPU image is built upstream." in prod
    text = summary.read_text()
    assert "**jupyterhub 4.3.0**" in text and "https://z2jh.jupyter.org" in text
    release = (repo / "environments/prod/hubs/course/helmrelease.yaml").read_text()
    assert "version: 5.0.0" in release
    check = run_hubgen(["--repo", repo, "render", "--check"], env=charts)
    assert check.rc == 0, check


def test_summary_markdown_on_stdout_matches_the_summary_file(repo, charts, run_hubgen, tmp_path):
    summary = tmp_path / "s.md"
    result = _bump(run_hubgen, repo, charts, "--check", "--format", "markdown", "--summary-file", summary)
    assert result.rc == 1, result
    assert result.stdout == summary.read_text()
    assert result.stdout.startswith("<!-- hubgen-bump -->\n## hubgen bump\n")


# --- exit codes and selection -------------------------------------------------------------------------------------


def test_check_writes_nothing_and_exits_1_when_out_of_date(repo, charts, run_hubgen, tree_state):
    before = tree_state(repo)
    result = _bump(run_hubgen, repo, charts, "--check", "--format", "json")
    assert result.rc == 1, result
    doc = _json(result)
    assert doc["bump"]["written"] == []
    hg804 = [p for p in doc["problems"] if p["code"] == "HG804"]
    assert {(p["environment"], p["path"]) for p in hg804} >= {("dev", "/hubs/0/chart/version"),
                                                              ("prod", "/cluster/nvidiaDevicePlugin/chart/version")}
    assert {k: v for k, v in tree_state(repo).items() if not k.startswith(".hubgen/")} == \
        {k: v for k, v in before.items() if not k.startswith(".hubgen/")}


def test_check_exits_0_when_up_to_date(repo, serve_charts, run_hubgen):
    env = serve_charts({"jupyterhub": ("4.4.0", "5.1.0-beta.1"), "cluster-autoscaler": ("9.59.0", "9.61.0-rc.1"),
                        "nvidia-device-plugin": ("0.20.0",)})
    result = _bump(run_hubgen, repo, env, "--check", "--only", "charts")
    assert result.rc == 0, result
    assert "dev (staging): up to date" in result.stdout and "prod (production): up to date" in result.stdout


def test_a_bump_that_passes_its_checks_exits_0_and_renders(repo, serve_charts, run_hubgen):
    env = serve_charts({"jupyterhub": ("4.4.0", "4.5.0"), "cluster-autoscaler": ("9.59.0",),
                        "nvidia-device-plugin": ("0.20.0",)})
    result = _bump(run_hubgen, repo, env, "dev", "--only", "charts", "--format", "json")
    assert result.rc == 0, result
    doc = _json(result)
    assert doc["bump"]["written"] == [DEV]
    assert doc["summary"] == {"errors": 0, "warnings": 0}
    assert yaml.safe_load((repo / DEV).read_text())["hubs"][0]["chart"]["version"] == "4.5.0"
    assert "version: 4.5.0" in (repo / "environments/dev/hubs/dev/helmrelease.yaml").read_text()
    assert run_hubgen(["--repo", repo, "render", "--check", "dev"], env=env).rc == 0
    again = _bump(run_hubgen, repo, env, "--check", "dev", "--only", "charts")
    assert again.rc == 0, again


def test_tier_selects_environments(repo, charts, run_hubgen):
    doc = _json(_bump(run_hubgen, repo, charts, "--tier", "production", "--check", "--format", "json"))
    assert doc["environments"] == ["prod"]
    assert [b["environment"] for b in doc["bump"]["bumps"]] == ["prod"]


def test_follow_caps_production_at_what_staging_runs(repo, charts, run_hubgen):
    """dev (staging) runs jupyterhub 4.5.0 and the autoscaler at hubgen's pin, no GPU: production may go to 4.5.0
    (not 5.0.0), its autoscaler and device plugin are held."""
    _edit(repo, DEV, "    chart:\n      version: 4.4.0\n", "    chart:\n      version: 4.5.0\n")
    result = _bump(run_hubgen, repo, charts, "--tier", "production", "--follow", "staging", "--only", "charts",
                   "--check", "--format", "json")
    assert result.rc == 1, result
    (prod,) = _json(result)["bump"]["bumps"]
    assert {(c["where"], c["to"]) for c in prod["changes"]} == {("hubs[0].chart.version", "4.5.0"),
                                                                ("hubs[1].chart.version", "4.5.0")}
    held = {h["component"]: (h["newest"], h["cap"]) for h in prod["held"]}
    assert held == {"cluster-autoscaler": ("9.60.0", "9.59.0"), "nvidia-device-plugin": ("0.21.0", None)}
    md = _bump(run_hubgen, repo, charts, "--tier", "production", "--follow", "staging", "--only", "charts",
               "--check", "--format", "markdown")
    assert "Held back by `--follow staging`" in md.stdout and "staging runs none" in md.stdout


def test_follow_own_tier_is_a_usage_error(repo, charts, run_hubgen):
    result = _bump(run_hubgen, repo, charts, "--tier", "staging", "--follow", "staging")
    assert result.rc == 2 and "cannot follow its own tier" in result.stderr, result


# --- Kubernetes ---------------------------------------------------------------------------------------------------


def _released(version: str) -> bool:
    v = eks_versions.lookup(version)
    return v is not None and v.released <= date.today()


def test_kubernetes_moves_one_minor_when_the_calendar_has_it(repo, run_hubgen):
    """1.33 -> 1.34 (never straight to 1.35); only kubernetes: no chart repository is consulted (it is
    unreachable here)."""
    assert _released("1.34"), "the calendar has 1.34"
    _edit(repo, DEV, 'kubernetesVersion: "1.35"', 'kubernetesVersion: "1.33"')
    env = {"HUBGEN_CHART_REPOSITORY": f"http://127.0.0.1:{_closed_port()}/", "HUBGEN_OFFLINE": "1"}
    result = _bump(run_hubgen, repo, env, "dev", "--only", "kubernetes", "--format", "json")
    (dev,) = _json(result)["bump"]["bumps"]
    assert [(c["from"], c["to"]) for c in dev["changes"]] == [("1.33", "1.34")], result
    assert 'kubernetesVersion: "1.34"' in (repo / DEV).read_text()
    assert [n["version"] for n in dev["changes"][0]["notes"]] == ["1.34"]
    assert result.rc in (0, 1), result  # offline: the chart schemas are not checked (HG504, a warning)
    assert not [p for p in _json(result)["problems"] if p["severity"] == "error"], result


def test_kubernetes_at_the_newest_calendar_version_stays(repo, run_hubgen):
    newest = eks_versions.CALENDAR[-1].version
    text = (repo / DEV).read_text()
    assert f'kubernetesVersion: "{newest}"' in text
    result = _bump(run_hubgen, repo, {}, "dev", "--only", "kubernetes", "--check")
    assert result.rc == 0, result


# --- sources that cannot be read ----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_index_is_hg801_exit_2_nothing_written(repo, run_hubgen, tree_state, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/charts/"
    before = tree_state(repo)
    result = _bump(run_hubgen, repo, {"HUBGEN_CHART_REPOSITORY": url}, "--format", "json")
    assert result.rc == 2, result
    (problem,) = _json(result)["problems"]
    assert problem["code"] == "HG801" and problem["file"] == url + "index.yaml", problem
    assert url + "index.yaml" in problem["message"] and problem["severity"] == "error"
    assert "HUBGEN_CHART_REPOSITORY" in problem["hint"]
    assert tree_state(repo) == before


@pytest.mark.parametrize("body", ["entries: [not, a, mapping]\n", "{{{ not yaml", "apiVersion: v1\nentries: {}\n"])
def test_malformed_index_is_hg801_exit_2_nothing_written(repo, run_hubgen, tree_state, tmp_path, body):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.yaml").write_text(body)
    before = tree_state(repo)
    with serve_folder(www) as url:
        result = _bump(run_hubgen, repo, {"HUBGEN_CHART_REPOSITORY": url})
    assert result.rc == 2, result
    assert "HG801" in result.stdout and f"{url}index.yaml" in result.stdout, result
    assert tree_state(repo) == before


def test_bad_tag_list_is_hg802_at_its_line(repo, charts, run_hubgen, tmp_path):
    tags = tmp_path / "tags.txt"
    tags.write_text("# ok\nquay.io/x/y:v1\nnot an image\n")
    result = _bump(run_hubgen, repo, charts, "--only", "images", "--image-tags", tags)
    assert result.rc == 2, result
    assert f"{tags}:3:1" in result.stdout and "HG802" in result.stdout, result


# --- text edits keep the file's own conventions -----------------------------------------------------------------


def test_crlf_and_bom_are_kept(repo, serve_charts, run_hubgen):
    env = serve_charts({"jupyterhub": ("4.4.0", "4.5.0"), "cluster-autoscaler": ("9.59.0", "9.60.0"),
                        "nvidia-device-plugin": ("0.20.0",)})
    path = repo / DEV
    original = path.read_text()
    path.write_bytes(codecs.BOM_UTF8 + original.replace("\n", "\r\n").encode())
    result = _bump(run_hubgen, repo, env, "dev", "--only", "charts")
    assert result.rc == 0, result
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):].decode()
    assert "\n" not in body.replace("\r\n", "")
    expected = replace_once(original, "      version: 4.4.0\n", "      version: 4.5.0\n")
    expected = replace_once(expected, "      username: jupyter-hub-admin\n",
                            "      username: jupyter-hub-admin\n  autoscaler:\n    chart:\n      version: 9.60.0\n")
    assert body == expected.replace("\n", "\r\n")
