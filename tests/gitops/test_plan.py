"""`hubgen plan` on real git histories: temporary repositories made from the examples, changed with
the real `hubgen render`, committed, and planned through the CLI."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from generator.cli.app import app
from generator.plan.formats import COMMENT_MARKER, MATRIX_KEYS

from .conftest import REPO_ROOT, commit_all, git, replace_once

WORKFLOWS = REPO_ROOT / ".github/workflows"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # pragma: allowlist secret


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str


def cli(repo: Path, *args: str) -> Result:
    """The hubgen CLI in this process (typer's CliRunner): the same code path as the console script,
    without paying the interpreter start-up for each of the many calls here (subprocess runs of the
    installed script are in the error-path tests below)."""
    result = CliRunner().invoke(app, ["--repo", str(repo), *args], env={"NO_COLOR": "1", "COLUMNS": "200"})
    return Result(result.exit_code, result.stdout, result.stderr)


def plan(_run_hubgen, repo: Path, *args: str, fmt: str = "json", expect_rc: int = 0):
    result = cli(repo, "plan", *args, "--format", fmt)
    assert result.rc == expect_rc, result
    if fmt in ("json", "github-matrix") and expect_rc != 2:
        return json.loads(result.stdout)
    return result


def envs(doc: dict) -> dict[str, dict]:
    return {e["name"]: e for e in doc["environments"]}


def render(_run_hubgen, repo: Path, *names: str) -> None:
    result = cli(repo, "render", *names)
    assert result.rc == 0, result


def copy_environment(repo: Path, source: str, name: str, *, tier: str, stack: str) -> None:
    """A new environment: a copy of an example (secrets included) under another name, stack and tier."""
    shutil.copytree(repo / f"environments/{source}", repo / f"environments/{name}")
    spec = repo / f"environments/{name}/environment.yaml"
    text = spec.read_text()
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", text, count=1)
    text = re.sub(r"(?m)^tier: .*$", f"tier: {tier}", text, count=1)
    text = re.sub(r"(?m)^  stackName: .*$", f"  stackName: {stack}", text, count=1)
    spec.write_text(text)


def test_parameter_change(history, run_hubgen):
    replace_once(history / "environments/dev/environment.yaml", "maxSize: 4", "maxSize: 6")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: up to six nodes")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    assert list(envs(doc)) == ["dev"]
    dev = envs(doc)["dev"]
    assert (dev["status"], dev["action"], dev["deploy"]) == ("changed", "update", True)
    assert dev["parameters"] == [{"key": "CoreNodeMaxSize", "old": "4", "new": "6", "change": "changed"}]
    assert dev["stack"] == {"name": "jupyter-dev", "account": "553778890976", "region": "us-east-1",
                            "role": "arn:aws:iam::553778890976:role/jupyter-hub-build"}
    text = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="text").stdout
    assert "CoreNodeMaxSize: 4 -> 6" in text and "jupyter-prod" not in text


def test_admin_moving_to_another_slot_is_warned(history, run_hubgen):
    """prod has two admins; removing the first moves the second from slot 2 to slot 1, which
    CloudFormation cannot do (one access entry per principal and cluster)."""
    replace_once(history / "environments/prod/environment.yaml",
                 "    - arn: arn:aws:iam::553778890976:role/jupyter-hub-admin\n      username: jupyter-hub-admin\n", "")
    render(run_hubgen, history, "prod")
    commit_all(history, "prod: drop the first admin")
    prod = envs(plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD"))["prod"]
    moved = [w for w in prod["warnings"] if "moves from AdminPrincipalArn2 to AdminPrincipalArn1" in w]
    assert moved and "arn:aws:iam::553778890976:user/platform-oncall" in moved[0]


def test_values_change_is_a_hub_upgrade_without_a_stack_deploy(history, run_hubgen):
    replace_once(history / "environments/dev/environment.yaml", "tag: build.23", "tag: build.24")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: new notebook image")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    dev = envs(doc)["dev"]
    assert dev["action"] == "none" and dev["parameters"] == []
    [hub] = dev["hubs"]
    assert hub["name"] == "dev" and hub["status"] == "changed"
    assert {"key": "singleuser.image.tag", "old": "build.23", "new": "build.24", "change": "changed"} in hub["values"]
    matrix = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="github-matrix")
    assert matrix["has_staging"] is False and matrix["staging"] == {"include": []}
    md = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="markdown").stdout
    assert "**Hub `dev`** (namespace `dev`): upgraded by Flux" in md
    assert "| <code>singleuser.image.tag</code> | <code>build.23</code> | <code>build.24</code> |" in md


def test_new_environment(history, run_hubgen):
    copy_environment(history, "dev", "qa", tier="staging", stack="jupyter-qa")
    render(run_hubgen, history, "qa")
    commit_all(history, "qa environment")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    assert list(envs(doc)) == ["qa"]
    qa = envs(doc)["qa"]
    assert (qa["status"], qa["action"]) == ("new", "create")
    assert {p["key"] for p in qa["parameters"]} >= {"VpcId", "NodeProxyPort", "KubernetesVersion"}
    matrix = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="github-matrix")
    assert matrix["staging"]["include"] == [{
        "environment": "qa", "tier": "staging", "stack": "jupyter-qa", "account": "553778890976",
        "region": "us-east-1", "role": "arn:aws:iam::553778890976:role/jupyter-hub-build", "action": "create"}]


def test_removed_environment_is_flagged_loudly_and_not_deployed(history, run_hubgen):
    git(history, "rm", "-r", "-q", "environments/prod")
    commit_all(history, "retire prod")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    prod = envs(doc)["prod"]
    assert (prod["status"], prod["action"], prod["deploy"]) == ("removed", "manual", False)
    assert "nothing is deleted automatically" in prod["warnings"][0]
    matrix = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="github-matrix")
    assert matrix["removed"] == ["prod"] and matrix["has_removed"] is True
    assert matrix["has_production"] is False and matrix["production"] == {"include": []}
    md = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="markdown").stdout
    caution = md[md.index("> [!CAUTION]"):]
    assert caution.startswith("> [!CAUTION]\n> **Environment `prod` is removed. Nothing is deleted automatically.**")
    assert "`jupyter-prod` (553778890976 / us-west-2)" in caution


def test_template_change_affects_every_environment_staging_first(history, run_hubgen):
    template = history / "manifests/cloudformation/cluster.yaml"
    template.write_text(template.read_text() + "# reviewed\n")
    commit_all(history, "template tweak")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    assert doc["order"] == ["dev", "prod"]
    for env in doc["environments"]:
        assert env["status"] == "affected" and env["template_changed"] and env["action"] == "update"
        assert "template manifests/cloudformation/cluster.yaml changed" in env["reasons"]
    assert doc["shared"] == ["manifests/cloudformation/cluster.yaml"]


def test_hubgen_change_affects_every_environment(history, run_hubgen):
    (history / "generator").mkdir()
    (history / "generator/__init__.py").write_text("# a change to hubgen itself\n")
    commit_all(history, "hubgen change")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    assert doc["order"] == ["dev", "prod"]
    assert all(e["action"] == "update" and e["hubgen_changed"] for e in doc["environments"])


def test_tier_ordering_staging_before_production(history, run_hubgen):
    # Names chosen so that alphabetical order is the opposite of deploy order.
    copy_environment(history, "prod", "aaa-live", tier="production", stack="jupyter-aaa-live")
    copy_environment(history, "dev", "zzz-trial", tier="staging", stack="jupyter-zzz-trial")
    render(run_hubgen, history, "aaa-live", "zzz-trial")
    commit_all(history, "two environments")
    template = history / "manifests/cloudformation/cluster.yaml"
    template.write_text(template.read_text() + "# reviewed\n")
    commit_all(history, "template tweak")
    doc = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD")
    assert doc["order"] == ["dev", "zzz-trial", "aaa-live", "prod"]
    matrix = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="github-matrix")
    assert [e["environment"] for e in matrix["staging"]["include"]] == ["dev", "zzz-trial"]
    assert [e["environment"] for e in matrix["production"]["include"]] == ["aaa-live", "prod"]
    text = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="text").stdout
    assert text.index("== staging ==") < text.index("zzz-trial") < text.index("== production ==") < text.index("aaa-live")


def test_default_head_is_the_working_tree_including_untracked_files(history, run_hubgen):
    copy_environment(history, "dev", "scratch", tier="staging", stack="jupyter-scratch")
    render(run_hubgen, history, "scratch")  # not added, not committed
    doc = plan(run_hubgen, history, "--base", "HEAD")
    assert doc["head"] == "working tree" and envs(doc)["scratch"]["status"] == "new"


def test_empty_tree_base_plans_every_environment_as_new(history, run_hubgen):
    doc = plan(run_hubgen, history, "--base", EMPTY_TREE, "--head", "HEAD")
    assert {e["name"]: e["action"] for e in doc["environments"]} == {"dev": "create", "prod": "create"}


def test_nothing_changed(history, run_hubgen):
    doc = plan(run_hubgen, history, "--base", "HEAD", "--head", "HEAD")
    assert doc["environments"] == [] and doc["ok"] is True
    md = plan(run_hubgen, history, "--base", "HEAD", fmt="markdown").stdout
    assert md.startswith(COMMENT_MARKER) and "No environment is affected by this change." in md
    # Without its own --format, plan follows the global one.
    assert json.loads(cli(history, "--format", "json", "plan", "--base", "HEAD").stdout)["environments"] == []
    assert cli(history, "plan", "--base", "HEAD").stdout.startswith("plan: HEAD (")


def test_unreadable_head_fails_the_plan(history, run_hubgen):
    (history / "environments/dev/cloudformation/cluster.template-configuration.json").unlink()
    replace_once(history / "environments/dev/environment.yaml", "maxSize: 4", "maxSize: 5")
    commit_all(history, "forgot to render")
    result = plan(run_hubgen, history, "--base", "HEAD~1", "--head", "HEAD", fmt="text", expect_rc=1)
    assert "ERROR" in result.stdout and "run `hubgen render dev`" in result.stdout


def test_repository_in_a_subfolder_of_the_git_repository(tmp_path, run_hubgen):
    top = tmp_path / "monorepo"
    ops = top / "ops"
    ops.mkdir(parents=True)
    for part in ("environments", "schema", "manifests"):
        shutil.copytree(REPO_ROOT / part, ops / part, symlinks=True)
    (top / "README.md").write_text("not hubgen\n")
    git(top, "init", "-q")
    commit_all(top, "base")
    replace_once(ops / "environments/dev/environment.yaml", "maxSize: 4", "maxSize: 6")
    render(run_hubgen, ops, "dev")
    (top / "README.md").write_text("still not hubgen\n")
    commit_all(top, "change")
    doc = plan(run_hubgen, ops, "--base", "HEAD~1", "--head", "HEAD")
    assert [(e["name"], e["parameters"][0]["key"]) for e in doc["environments"]] == [("dev", "CoreNodeMaxSize")]
    assert plan(run_hubgen, ops, "--base", "HEAD~1")["order"] == ["dev"]  # the working tree, from the subfolder


@pytest.mark.parametrize("args,message", [
    (["--base", "no-such-branch"], "unknown git revision 'no-such-branch'"),
    (["--base", "HEAD", "--head", "--upload-pack=x"], "is not a git revision"),
])
def test_bad_revisions_are_usage_errors(history, run_hubgen, args, message):
    result = run_hubgen(["plan", *args], cwd=history)
    assert result.rc == 2 and message in result.stderr, result
    assert "Traceback" not in result.output


def test_outside_git_is_a_usage_error(tmp_path, run_hubgen):
    (tmp_path / "repo/environments").mkdir(parents=True)
    # GIT_CEILING_DIRECTORIES: git must not find a repository above tmp_path either.
    result = run_hubgen(["plan", "--base", "HEAD"], cwd=tmp_path / "repo", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.rc == 2 and "not inside a git repository" in result.stderr, result


# ------------------------------------------------------------------ the workflows read what plan writes
def _workflow_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))}


def test_github_matrix_matches_what_the_deploy_workflow_reads(history, run_hubgen):
    """Every key the workflows take from the matrix JSON (`fromJSON(steps.plan.outputs.matrix).X`,
    `matrix.X` in the deploy jobs, `needs.plan.outputs.X`) exists in what `hubgen plan` prints."""
    copy_environment(history, "dev", "qa", tier="staging", stack="jupyter-qa")
    copy_environment(history, "prod", "live", tier="production", stack="jupyter-live")
    render(run_hubgen, history, "qa", "live")
    commit_all(history, "two environments")
    # The installed script, exactly as the workflow runs it.
    result = run_hubgen(["plan", "--base", "HEAD~1", "--head", "HEAD", "--format", "github-matrix"], cwd=history)
    assert result.rc == 0, result
    assert result.stdout.count("\n") == 1  # one line: it goes into $GITHUB_OUTPUT as matrix=<json>
    matrix = json.loads(result.stdout)

    texts = _workflow_texts()
    deploy = next(yaml.safe_load(t) for t in texts.values() if "fromJSON(steps.plan.outputs.matrix)" in t)
    jobs = deploy["jobs"]
    plan_outputs = jobs["plan"]["outputs"]
    read_from_json = set()
    for expr in plan_outputs.values():
        read_from_json |= set(re.findall(r"fromJSON\(steps\.plan\.outputs\.matrix\)\.(\w+)", expr))
    assert read_from_json and read_from_json <= set(matrix), read_from_json - set(matrix)

    deploy_jobs = [j for j in jobs.values() if "matrix" in j.get("strategy", {})]
    assert len(deploy_jobs) == 2
    for job in deploy_jobs:
        text = yaml.safe_dump(job)
        m = re.search(r"fromJSON\(needs\.plan\.outputs\.(\w+)\)", job["strategy"]["matrix"])
        assert m and m.group(1) in plan_outputs
        tier_value = re.search(r"fromJSON\(steps\.plan\.outputs\.matrix\)\.(\w+)", plan_outputs[m.group(1)]).group(1)
        entries = matrix[tier_value]["include"]
        assert entries, f"{tier_value}: expected environments in the test history"
        used = set(re.findall(r"\bmatrix\.(\w+)", text))
        assert used and used <= set(entries[0]) == set(MATRIX_KEYS), used - set(entries[0])
        for flag in re.findall(r"needs\.plan\.outputs\.(\w+) == 'true'", job["if"]):
            assert flag in plan_outputs and isinstance(matrix[re.search(
                r"\.(\w+) }}$", plan_outputs[flag]).group(1)], bool)
        assert "id-token" in job["permissions"] and job["permissions"]["id-token"] == "write"
        assert job["environment"]["name"] == "${{ matrix.environment }}"
        assert "matrix.environment" in job["concurrency"]["group"]
    assert all(re.search(rf"needs\.plan\.outputs\.{k}\b", yaml.safe_dump(jobs)) for k in ("has_staging", "has_production"))
    production = next(j for j in deploy_jobs if "staging" in (j.get("needs") or []))
    assert "needs.staging.result == 'success'" in production["if"]


def test_workflows_never_run_helm_or_kubectl_and_pin_every_action():
    for name, text in _workflow_texts().items():
        doc = yaml.safe_load(text)
        for job_name, job in doc["jobs"].items():
            for step in job.get("steps", []):
                run = step.get("run", "")
                assert not re.search(r"\b(helm|kubectl)\b", run), f"{name}:{job_name}: {run}"
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{name}: {step['uses']}"


def test_workflow_pins_agree_with_pyproject():
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    pinned = re.search(r'"pre-commit==([^"]+)"', pyproject).group(1)
    for name, text in _workflow_texts().items():
        for value in re.findall(r'PRE_COMMIT_VERSION: "([^"]+)"', text):
            assert value == pinned, f"{name}: PRE_COMMIT_VERSION {value} != pyproject's {pinned}"


def test_every_hubgen_command_in_the_workflows_exists():
    """`hubgen <command> --option` lines of the workflows' run: scripts name real commands and options."""
    runner = CliRunner()
    seen = 0
    for name, text in _workflow_texts().items():
        for job in yaml.safe_load(text)["jobs"].values():
            for step in job.get("steps", []):
                script = step.get("run", "").replace("\\\n", " ")
                script = "\n".join(line for line in script.splitlines() if not line.strip().startswith("#"))
                for m in re.finditer(r"""(?<![\w./=:"'-])hubgen((?:[ \t]+[^\s|;&>)]+)+)""", script):
                    tokens = m.group(1).split()
                    if tokens[:1] == ["--version"]:
                        continue
                    if tokens[:1] == ["--format"]:
                        tokens = tokens[2:]
                    command = tokens[:2] if tokens[0] in ("hook", "secrets") else tokens[:1]
                    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
                    assert result.exit_code == 0, f"{name}: hubgen {' '.join(command)}: {result.output}"
                    for option in (t for t in tokens if t.startswith("--")):
                        assert option in result.output, f"{name}: hubgen {' '.join(command)} has no {option}"
                    seen += 1
    assert seen >= 6
