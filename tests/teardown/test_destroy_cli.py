"""`hubgen destroy ENV --plan`, the real CLI on temporary copies of the repository.

Every run has fake `aws`, `flux`, `kubectl`, `helm`, `eksctl` and `git` first on PATH that record their calls:
the plan names their commands and must never run one. The prod text output is compared with a golden file;
regenerate it after an intended change with::

    HUBGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/teardown/test_destroy_cli.py

and review ``git diff tests/teardown/golden`` like any other change.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HUBGEN_UPDATE_GOLDEN", "") == "1"
FAKE_TOOLS = ("aws", "flux", "kubectl", "helm", "eksctl", "git")


@pytest.fixture
def fake_tools(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """(environment with the fakes first on PATH, the file they append their command lines to)."""
    bin_dir, calls = tmp_path / "fakebin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in FAKE_TOOLS:
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 0\n', encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}, calls


@pytest.fixture
def rendered(repo: Path, run_hubgen) -> Path:
    """The repository copy with its generated files rendered from its specs (no drift)."""
    r = run_hubgen(["--repo", repo, "render"])
    assert r.rc == 0, r
    return repo


def _destroy(run_hubgen, repo: Path, fake_tools, *args: str):
    env, calls = fake_tools
    r = run_hubgen(["--repo", repo, "destroy", *args], env=env)
    assert not calls.exists(), f"hubgen ran {calls.read_text()}"
    assert "Traceback" not in r.output, r
    return r


def test_prod_text_matches_the_golden(rendered: Path, run_hubgen, fake_tools, tree_state):
    before = tree_state(rendered)
    r = _destroy(run_hubgen, rendered, fake_tools, "prod", "--plan")
    assert r.rc == 0 and r.stderr == "", r
    assert tree_state(rendered) == before  # reads only
    golden = GOLDEN / "prod.txt"
    if UPDATE:
        golden.write_text(r.stdout, encoding="utf-8")
    assert r.stdout == golden.read_text(encoding="utf-8"), "run with HUBGEN_UPDATE_GOLDEN=1 and review the diff"


def test_prod_steps_in_order_with_exact_names(rendered: Path, run_hubgen, fake_tools):
    out = _destroy(run_hubgen, rendered, fake_tools, "prod", "--plan").stdout
    headings = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert [h.split(" ", 2)[1] for h in headings] == ["Stop", "Delete", "Delete", "Delete", "What"]
    order = ["$ flux --context jupyter-prod suspend kustomization flux-system prod-hubs",
             "$ kubectl --context jupyter-prod delete helmrelease course --namespace course",
             "$ kubectl --context jupyter-prod delete pvc --all --namespace research",
             "$ kubectl --context jupyter-prod delete namespace course research",
             "$ kubectl --context jupyter-prod delete helmrelease cluster-autoscaler --namespace kube-system",
             "$ kubectl --context jupyter-prod delete helmrelease nvidia-device-plugin --namespace kube-system",
             "$ kubectl --context jupyter-prod delete storageclass gp3 gp3-retain",
             "$ aws cloudformation delete-stack --stack-name jupyter-prod --region us-west-2\n",
             "$ aws cloudformation wait stack-delete-complete --stack-name jupyter-prod --region us-west-2\n",
             "\n5. What survives"]
    positions = [out.find(n) for n in order]
    assert -1 not in positions and positions == sorted(positions), list(zip(order, positions))


def test_prod_retain_class_named_with_the_command_that_finds_its_volumes(rendered: Path, run_hubgen, fake_tools):
    out = _destroy(run_hubgen, rendered, fake_tools, "prod", "--plan").stdout
    survives = out[out.index("\n5. What survives"):]
    assert "SURVIVES: EBS volumes: volumes of StorageClass gp3-retain (Retain)" in survives
    assert ("find: $ aws ec2 describe-volumes --filters Name=tag:hubgen:environment,Values=prod "
            "Name=status,Values=available") in survives
    # The tag the command filters on is one the StorageClass really puts on its volumes.
    classes = list(yaml.safe_load_all((rendered / "environments/prod/platform/storageclasses.yaml").read_text()))
    retain = next(c for c in classes if c["metadata"]["name"] == "gp3-retain")
    assert retain["reclaimPolicy"] == "Retain"
    assert "hubgen:environment=prod" in retain["parameters"].values()


def test_dev_json_shape(rendered: Path, run_hubgen, fake_tools):
    r = _destroy(run_hubgen, rendered, fake_tools, "dev", "--plan", "--format", "json")
    assert r.rc == 0, r
    doc = json.loads(r.stdout)
    assert doc["command"] == "destroy" and doc["deletes"] is False and doc["environment"] == "dev"
    assert doc["stack"] == {"name": "jupyter-dev", "cluster": "jupyter-dev", "account": "553778890976",
                            "region": "us-east-1"}
    assert [(s["number"], s["id"]) for s in doc["steps"]] == [(1, "stop-flux"), (2, "hubs"), (3, "platform"),
                                                              (4, "stack")]
    for step in doc["steps"]:
        assert set(step) == {"number", "id", "title", "why", "actions"} and step["why"]
        for action in step["actions"]:
            assert set(action) == {"title", "commands", "note"}
            assert all(isinstance(c, str) and c for c in action["commands"])
    commands = [c for s in doc["steps"] for a in s["actions"] for c in a["commands"]]
    assert "aws cloudformation delete-stack --stack-name jupyter-dev --region us-east-1" in commands
    assert not [c for c in commands if "nvidia-device-plugin" in c]  # dev has no GPU group
    assert doc["survivors"] and all(set(s) == {"kind", "name", "reason", "find", "cleanup", "certain"}
                                    for s in doc["survivors"])
    assert not [s for s in doc["survivors"] if s["kind"] == "EBS volumes"]  # dev's only class deletes


def test_markdown_for_a_pull_request(rendered: Path, run_hubgen, fake_tools):
    r = _destroy(run_hubgen, rendered, fake_tools, "prod", "--plan", "-f", "markdown")
    assert r.rc == 0, r
    assert r.stdout.startswith("## Teardown of `prod` (production)\n")
    assert "  ```sh\n  aws cloudformation delete-stack --stack-name jupyter-prod --region us-west-2\n" in r.stdout
    assert "### 5. What survives" in r.stdout and "hubgen deleted nothing" in r.stdout


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_refuses_without_plan(repo: Path, run_hubgen, fake_tools, fmt: str):
    r = _destroy(run_hubgen, repo, fake_tools, "prod", "--format", fmt)
    assert r.rc == 2, r
    assert "hubgen never deletes anything" in r.stderr and "hubgen destroy prod --plan" in r.stderr
    if fmt == "json":
        assert json.loads(r.stdout)["usageError"]["exitCode"] == 2
    else:
        assert r.stdout == ""


def test_unknown_environment_is_a_usage_error(repo: Path, run_hubgen, fake_tools):
    r = _destroy(run_hubgen, repo, fake_tools, "nope", "--plan")
    assert r.rc == 2 and "no environment 'nope'" in r.stderr, r


def test_invalid_spec_is_reported_with_its_code(repo: Path, run_hubgen, fake_tools):
    spec = repo / "environments/prod/environment.yaml"
    spec.write_text(spec.read_text().replace("tier: production", "tier: sometimes"), encoding="utf-8")
    r = _destroy(run_hubgen, repo, fake_tools, "prod", "--plan", "-f", "json")
    assert r.rc == 1, r
    doc = json.loads(r.stdout)
    assert doc["command"] == "destroy" and doc["summary"]["errors"] >= 1
    assert all(p["code"].startswith("HG") for p in doc["problems"])
    assert "no plan was made" in r.stderr


def test_missing_generated_release_says_render(rendered: Path, run_hubgen, fake_tools):
    (rendered / "environments/prod/hubs/research/helmrelease.yaml").unlink()
    r = _destroy(run_hubgen, rendered, fake_tools, "prod", "--plan")
    assert r.rc == 1 and "run `hubgen render prod`" in r.stderr, r


def test_team_load_balancer_in_extra_goes_before_the_stack(repo: Path, run_hubgen, fake_tools):
    extra = repo / "environments/prod/extra"
    extra.mkdir()
    (extra / "metrics.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics", "namespace": "course"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "metrics"}, "ports": [{"port": 80}]}}),
        encoding="utf-8")
    assert run_hubgen(["--repo", repo, "render", "prod"]).rc == 0
    out = _destroy(run_hubgen, repo, fake_tools, "prod", "--plan").stdout
    assert "suspend kustomization flux-system prod-hubs prod-extra" in out
    delete = "$ kubectl --context jupyter-prod delete service metrics --namespace course"
    assert delete in out and out.index(delete) < out.index("delete-stack --stack-name jupyter-prod")
    prose = " ".join(out.split())  # notes are wrapped for the terminal
    assert "Service course/metrics (environments/prod/extra/metrics.yaml) makes a load balancer" in prose
