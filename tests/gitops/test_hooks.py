"""`hubgen hook ...` (the pre-commit entry points) on repository copies: which environments a set of
file names selects, the one fixing command, and no-ops for commits that touch no environment."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from generator.cli.app import app

from .conftest import replace_once


def hook(repo: Path, *args: str, fmt: str = "text"):
    result = CliRunner().invoke(app, ["--repo", str(repo), "--format", fmt, "hook", *args],
                                env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_files_outside_environments_select_nothing(repo):
    for command in ("validate", "render-check"):
        rc, out, err = hook(repo, command, "README.md", "docs/workflow.md", ".github/workflows/deploy.yml")
        assert (rc, out, err) == (0, "", ""), (command, out, err)
    assert hook(repo, "lint", "--engine", "params", "docs/x.md")[:2] == (0, "")
    assert hook(repo, "secrets", "environments/dev/environment.yaml")[:2] == (0, "")


def test_an_environment_file_selects_that_environment_only(repo):
    rc, out, _ = hook(repo, "validate", "environments/prod/hubs/course/helmrelease.yaml")
    assert rc == 0 and "validate: 1 environment, no problems" in out


def test_a_shared_file_selects_every_environment(repo):
    rc, out, _ = hook(repo, "validate", "schema/environment.schema.json")
    assert rc == 0 and "validate: 2 environments, no problems" in out
    rc, out, _ = hook(repo, "validate", "manifests/cloudformation/cluster.yaml")
    assert rc == 0 and "2 environments" in out


def test_render_check_names_only_the_stale_environments(repo):
    replace_once(repo / "environments/prod/environment.yaml", "maxSize: 10", "maxSize: 12")
    rc, out, _ = hook(repo, "render-check", "environments/prod/environment.yaml", "environments/dev/environment.yaml")
    assert rc == 1
    assert "    hubgen render prod\n" in out and "hubgen render dev" not in out
    assert "hint: Run `hubgen render prod` and commit the result." in out
    rc, out, _ = hook(repo, "render-check", "environments/prod/environment.yaml", fmt="json")
    doc = json.loads(out)
    assert rc == 1 and doc["fix"] == "hubgen render prod" and {p["code"] for p in doc["problems"]} == {"HG401"}
    rc, out, _ = hook(repo, "render-check", "environments/prod/environment.yaml", fmt="github")
    assert out.splitlines()[-1] == "::error title=generated files out of date::run `hubgen render prod` and commit the result"


def test_render_check_reports_orphaned_generated_files(repo):
    orphan = repo / "environments/gone/cloudformation/cluster.parameters.json"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("[]\n")
    rc, out, _ = hook(repo, "render-check", "README.md")
    assert rc == 1 and "HG403" in out and "environments/gone/cloudformation/cluster.parameters.json" in out
    assert "    hubgen render\n" in out  # a full render removes files no spec produces


def test_render_check_with_a_broken_spec_points_at_validate(repo):
    replace_once(repo / "environments/dev/environment.yaml", "maxSize: 4", "maxSize: four")
    rc, out, err = hook(repo, "render-check", "environments/dev/environment.yaml")
    assert rc == 1 and "hubgen validate dev" in err and "cannot be checked" in err


def test_lint_hook_runs_hubgen_lint_on_the_touched_environments(repo):
    rc, out, _ = hook(repo, "lint", "--engine", "params", "environments/dev/cloudformation/cluster.parameters.json")
    assert rc == 0 and "lint: 1 environment, no problems" in out, out
