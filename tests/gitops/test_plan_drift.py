"""`hubgen plan` reports specs that do not render to their generated files at the head side (drift), for the
working tree and for a git revision, with the `hubgen render` command that fixes it, and exits 1.

The plan reads the committed generated files on purpose; without this check a spec that was edited but not
rendered would plan as "no deployable change"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generator.cli.app import app

from .conftest import commit_all, git, replace_once

SPEC = "environments/dev/environment.yaml"


def cli(repo: Path, *args: str):
    return CliRunner().invoke(app, ["--repo", str(repo), *args], env={"NO_COLOR": "1", "COLUMNS": "200"})


@pytest.fixture
def rendered(history: Path) -> Path:
    """The examples, rendered by this hubgen and committed: a history with no drift at HEAD."""
    r = cli(history, "render")
    assert r.exit_code == 0, r.output
    commit_all(history, "rendered")
    return history


def _plan_json(repo: Path, *args: str, rc: int) -> dict:
    r = cli(repo, "plan", *args, "--format", "json")
    assert r.exit_code == rc, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def _env(doc: dict, name: str) -> dict:
    return next(e for e in doc["environments"] if e["name"] == name)


def test_spec_edited_but_not_rendered_in_the_working_tree_is_drift(rendered: Path) -> None:
    replace_once(rendered / SPEC, "maxSize: 4", "maxSize: 6")
    text = cli(rendered, "plan", "--base", "HEAD")
    assert text.exit_code == 1, text.output
    assert "no deployable change" not in text.stdout
    assert "generated files out of date in the working tree" in text.stdout
    assert "environments/dev/cloudformation/cluster.parameters.json:1:1: HG401" in text.stdout
    assert "fix them with: hubgen render dev" in text.stdout

    doc = _plan_json(rendered, "--base", "HEAD", rc=1)
    dev = _env(doc, "dev")
    assert doc["ok"] is False and doc["fix"] == "hubgen render dev"
    assert {p["code"] for p in dev["drift"]} == {"HG401"}
    assert all(p["hint"] == "Run `hubgen render dev` and commit the result." for p in dev["drift"])
    assert (dev["action"], dev["deploy"]) == ("none", False)  # never handed to the deploy jobs

    matrix = cli(rendered, "plan", "--base", "HEAD", "--format", "github-matrix")
    assert matrix.exit_code == 1
    assert json.loads(matrix.stdout)["staging"]["include"] == []
    assert "hubgen render dev" in matrix.stderr

    md = cli(rendered, "plan", "--base", "HEAD", "--format", "markdown").stdout
    assert "Generated files are out of date: run `hubgen render dev` and commit the result." in md

    # Rendering fixes it: the same change now plans as a stack update.
    assert cli(rendered, "render", "dev").exit_code == 0
    doc = _plan_json(rendered, "--base", "HEAD", rc=0)
    dev = _env(doc, "dev")
    assert doc["fix"] is None and dev["drift"] == [] and (dev["action"], dev["deploy"]) == ("update", True)


def test_a_revision_is_rendered_as_it_is_in_that_revision(rendered: Path) -> None:
    replace_once(rendered / SPEC, "maxSize: 4", "maxSize: 6")
    commit_all(rendered, "spec only, not rendered")
    doc = _plan_json(rendered, "--base", "HEAD~1", "--head", "HEAD", rc=1)
    dev = _env(doc, "dev")
    assert doc["fix"] == "hubgen render dev" and {p["code"] for p in dev["drift"]} == {"HG401"}
    assert "generated files out of date at HEAD (" in dev["errors"][0]

    # Rendering in the working tree does not change what the revision holds.
    assert cli(rendered, "render", "dev").exit_code == 0
    assert _plan_json(rendered, "--base", "HEAD~1", "--head", "HEAD", rc=1)["fix"] == "hubgen render dev"
    # Committed, the revision is clean; a later unrendered edit in the working tree does not leak into it.
    commit_all(rendered, "render dev")
    replace_once(rendered / SPEC, "maxSize: 6", "maxSize: 7")
    doc = _plan_json(rendered, "--base", "HEAD~2", "--head", "HEAD", rc=0)
    assert doc["fix"] is None and _env(doc, "dev")["parameters"][0]["new"] == "6"
    assert _plan_json(rendered, "--base", "HEAD~2", rc=1)["fix"] == "hubgen render dev"


def test_missing_and_stale_generated_files_are_drift(rendered: Path) -> None:
    (rendered / "environments/dev/hubs/dev/serviceaccount.yaml").unlink()
    stale = rendered / "environments/prod/hubs/gone/helmrelease.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text((rendered / "environments/prod/hubs/course/helmrelease.yaml").read_text())
    commit_all(rendered, "lost a file, kept an old one")
    doc = _plan_json(rendered, "--base", "HEAD~1", "--head", "HEAD", rc=1)
    assert [p["code"] for p in _env(doc, "dev")["drift"]] == ["HG404"]
    assert [p["code"] for p in _env(doc, "prod")["drift"]] == ["HG403"]
    assert doc["fix"] == "hubgen render dev prod"


def test_a_spec_with_errors_is_reported_not_rendered(rendered: Path) -> None:
    replace_once(rendered / SPEC, "minSize: 1", "minSize: 5")  # above the core group's maxSize (4): HG201
    doc = _plan_json(rendered, "--base", "HEAD", rc=1)
    dev = _env(doc, "dev")
    assert [p["code"] for p in dev["drift"]] == ["HG201"]
    assert doc["fix"] is None
    assert any("`hubgen validate dev`" in e for e in dev["errors"])


def test_a_symlinked_spec_in_a_revision_is_read_as_the_link_text_never_followed(rendered: Path) -> None:
    spec = rendered / SPEC
    spec.unlink()
    spec.symlink_to("/etc/passwd")
    worktree = cli(rendered, "plan", "--base", "HEAD", "--format", "json")
    assert worktree.exit_code == 1
    assert "root:" not in worktree.stdout + worktree.stderr  # the target's content is never read
    assert [p["code"] for p in _env(json.loads(worktree.stdout), "dev")["drift"]] == ["HG009"]
    commit_all(rendered, "hostile: spec is a link")
    r = cli(rendered, "plan", "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    assert r.exit_code == 1
    assert "root:" not in r.stdout + r.stderr
    assert [p["code"] for p in _env(json.loads(r.stdout), "dev")["drift"]] == ["HG005"]  # the link's text


def test_clean_history_and_removed_environments_plan_without_drift(rendered: Path) -> None:
    replace_once(rendered / SPEC, "maxSize: 4", "maxSize: 6")
    assert cli(rendered, "render", "dev").exit_code == 0
    git(rendered, "rm", "-r", "-q", "environments/prod")
    commit_all(rendered, "dev grows, prod retired")
    doc = _plan_json(rendered, "--base", "HEAD~1", "--head", "HEAD", rc=0)
    assert doc["fix"] is None and all(e["drift"] == [] for e in doc["environments"])
    assert {e["name"]: e["status"] for e in doc["environments"]} == {"dev": "changed", "prod": "removed"}
