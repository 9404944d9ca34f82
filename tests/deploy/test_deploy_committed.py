"""`hubgen deploy` deploys committed files only (HG607): the environment's spec, its generated files and the stack
template must be what git has at HEAD; `--allow-dirty` deploys anyway and says so in every output format.

Real git repositories and the real CLI against the local moto server (see conftest.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import TEMPLATE, commit, git

STACK = "jupyter-dev"
SPEC = "environments/dev/environment.yaml"


def deploy(runner, repo, aws, *args, env=None):
    return runner(["--repo", repo, *args], env={**aws.env, **(env or {})})


def _edit_spec(repo) -> None:
    spec = repo / SPEC
    spec.write_text(spec.read_text().replace("    maxSize: 4\n", "    maxSize: 6\n"))


@pytest.mark.parametrize("change, path, state", [
    ("modified spec", SPEC, "modified"),
    ("staged, not committed", SPEC, "modified"),
    ("untracked generated file", "environments/dev/cluster/extra-config.yaml", "untracked"),
    ("deleted generated file", "environments/dev/hubs/dev/serviceaccount.yaml", "deleted"),
    ("modified stack template", TEMPLATE, "modified"),
    ("ignored generated file", "environments/dev/cloudformation/cluster.parameters.json",
     "ignored by git (never committed)"),
])
def test_uncommitted_inputs_are_refused_with_hg607(invoke_hubgen, deploy_repo, aws, change, path, state):
    target = deploy_repo / path
    if change == "modified spec":
        _edit_spec(deploy_repo)
    elif change == "staged, not committed":
        _edit_spec(deploy_repo)
        git(deploy_repo, "add", SPEC)
    elif change == "untracked generated file":
        target.write_text("# not committed\n")
    elif change == "deleted generated file":
        target.unlink()
    elif change == "modified stack template":
        target.write_text(target.read_text() + "# local tweak\n")
    else:  # a generated file git ignores (so it can never be committed)
        git(deploy_repo, "rm", "-q", "--cached", path)
        (deploy_repo / ".gitignore").write_text("*.parameters.json\n")
        commit(deploy_repo, "ignore the parameters")

    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert f"{path}: error HG607 {path} is {state}: `hubgen deploy dev` deploys committed files only" in r.stdout
    assert "--allow-dirty" in r.stdout and "git add" in r.stdout
    assert "refusing to deploy dev" in r.stdout
    assert aws.cfn.describe_stacks()["Stacks"] == []  # nothing reached AWS

    j = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev")
    assert j.rc == 1
    doc = json.loads(j.stdout)
    assert doc["deploy"]["result"] == "uncommitted" and doc["deploy"]["allowDirty"] is False
    assert {"path": path, "state": state} in doc["deploy"]["uncommitted"]
    assert [(p["code"], p["severity"], p["file"]) for p in doc["problems"]] == [("HG607", "error", path)]


def test_changes_elsewhere_do_not_block_a_deploy(invoke_hubgen, deploy_repo, aws):
    (deploy_repo / "README.md").write_text("notes, not committed\n")
    prod = deploy_repo / "environments/prod/environment.yaml"
    prod.write_text(prod.read_text() + "# another environment's edit\n")
    (deploy_repo / "manifests/cloudformation/pipeline.yaml").write_text("# another stack's template\n")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--dry-run")
    assert r.rc == 0, r
    assert "HG607" not in r.output


def test_allow_dirty_deploys_the_working_tree_and_says_so_loudly(invoke_hubgen, deploy_repo, aws):
    _edit_spec(deploy_repo)
    assert invoke_hubgen(["--repo", deploy_repo, "render", "dev"]).rc == 0
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--allow-dirty", "--poll-interval", "0.2")
    assert r.rc == 0, r
    assert "warning: deploying uncommitted changes of dev (--allow-dirty)" in r.stdout
    assert f"{SPEC}: warning HG607 {SPEC} is modified: deployed anyway (--allow-dirty)" in r.stdout
    assert "environments/dev/cloudformation/cluster.parameters.json: warning HG607" in r.stdout
    assert aws.parameters(STACK)["CoreNodeMaxSize"] == "6"  # what the working tree says

    # --quiet drops the progress line, never the warnings; JSON carries them as problems and in the record.
    q = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--allow-dirty", "-q")
    assert q.rc == 0 and "warning HG607" in q.stdout and "deploying uncommitted" not in q.stdout
    j = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev", "--allow-dirty")
    assert j.rc == 0, j
    doc = json.loads(j.stdout)
    assert doc["deploy"]["allowDirty"] is True and doc["deploy"]["result"] == "no-changes"
    assert {"path": SPEC, "state": "modified"} in doc["deploy"]["uncommitted"]
    assert doc["summary"] == {"errors": 0, "warnings": len(doc["deploy"]["uncommitted"])}
    assert {p["severity"] for p in doc["problems"]} == {"warning"} and {p["code"] for p in doc["problems"]} == {"HG607"}

    commit(deploy_repo, "what was deployed")
    clean = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert clean.rc == 0 and "HG607" not in clean.output and "no changes" in clean.stdout


def test_outside_a_git_repository_deploy_refuses_unless_allow_dirty(invoke_hubgen, deploy_repo, aws, tmp_path):
    shutil.rmtree(deploy_repo / ".git")
    ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}  # no repository above the copy either
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", env=ceiling)
    assert r.rc == 1, r
    assert "error HG607 cannot deploy dev:" in r.stdout and "is not inside a git repository" in r.stdout
    assert aws.cfn.describe_stacks()["Stacks"] == []
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--allow-dirty", "--dry-run", env=ceiling)
    assert r.rc == 0, r
    assert "warning HG607 deploying dev although" in r.stdout


def test_unknown_environment_is_still_a_usage_error_outside_git(invoke_hubgen, deploy_repo, aws, tmp_path):
    shutil.rmtree(deploy_repo / ".git")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "nope", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert r.rc == 2 and "no environment 'nope'" in r.stderr and "HG607" not in r.output
