"""`hubgen hook ...` (the pre-commit entry points) on repository copies: which environments a set of
file names selects, the one fixing command, and no-ops for commits that touch no environment; `hook all`
(every check in one process) names the check that failed."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generator.cli.app import app

from .conftest import REPO_ROOT, replace_once


def hook(repo: Path, *args: str, fmt: str = "text", env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, ["--repo", str(repo), "--format", fmt, "hook", *args],
                                env={"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
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
    assert out.splitlines()[-1] == ("::error title=generated files out of date::run `hubgen render prod` and commit "
                                    "the result")


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


# ------------------------------------------------------------------ hook all: every check in one process
QUICK = ["--skip", "cfn-lint,kubeconform"]  # the engines have tests of their own (and a real run below)
DEV_SPEC = "environments/dev/environment.yaml"
PLAIN_SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: dev\ntype: Opaque\n"
                "stringData:\n  token: not-encrypted-at-all\n")


CHECKS = ("validate", "secrets", "render-check", "cfn-lint", "kubeconform")


def summary(out: str) -> dict[str, str]:
    """`hook all`'s last lines: check -> passed / failed / skipped / not run."""
    return dict(re.findall(rf"^  ({'|'.join(CHECKS)}) +(passed|failed|skipped|not run)", out, re.M))


def states(*statuses: str) -> dict[str, str]:
    """The expected summary: one status per check, in the order of CHECKS."""
    return dict(zip(CHECKS, statuses, strict=True))


def test_hook_all_without_environment_files_does_nothing(repo):
    assert hook(repo, "all", "README.md", "docs/workflow.md", *QUICK) == (0, "", "")


def test_hook_all_names_every_check(repo):
    rc, out, err = hook(repo, "all", DEV_SPEC, *QUICK)
    assert rc == 0, out + err
    assert "hubgen hook all: 1 environment (dev)" in out
    assert summary(out) == states("passed", "passed", "passed", "skipped", "skipped")
    rc, out, _ = hook(repo, "--quiet", "all", DEV_SPEC, *QUICK)
    assert (rc, out) == (0, "")


def test_hook_all_stale_files_name_render_check_and_the_fix(repo):
    replace_once(repo / "environments/prod/environment.yaml", "maxSize: 10", "maxSize: 12")
    rc, out, _ = hook(repo, "all", "environments/prod/environment.yaml", DEV_SPEC, *QUICK)
    assert rc == 1
    assert summary(out)["render-check"] == "failed" and summary(out)["validate"] == "passed"
    assert "    hubgen render prod\n" in out and "hubgen render dev" not in out
    assert "render-check: 2 environments" in out  # the check's own line under its problems
    rc, out, _ = hook(repo, "all", "environments/prod/environment.yaml", *QUICK, fmt="json")
    doc = json.loads(out)
    assert rc == 1 and doc["command"] == "hook all" and doc["fix"] == "hubgen render prod"
    assert doc["checks"]["render-check"]["status"] == "failed" and doc["checks"]["validate"]["status"] == "passed"
    assert {p["code"] for p in doc["problems"]} == {"HG401"}
    rc, out, _ = hook(repo, "all", "environments/prod/environment.yaml", *QUICK, fmt="github")
    assert out.splitlines()[-1] == ("::error title=generated files out of date::run `hubgen render prod` and commit "
                                    "the result")


def test_hook_all_spec_errors_stop_rendering_that_environment_only(repo):
    replace_once(repo / DEV_SPEC, "maxSize: 4", "maxSize: four")
    replace_once(repo / "environments/prod/environment.yaml", "maxSize: 10", "maxSize: 12")
    rc, out, _ = hook(repo, "all", DEV_SPEC, "environments/prod/environment.yaml", *QUICK)
    assert rc == 1
    assert summary(out) == states("failed", "passed", "failed", "skipped", "skipped")
    assert "not checked: dev (the spec has errors: see validate)" in out
    assert "    hubgen render prod\n" in out
    rc, out, _ = hook(repo, "all", DEV_SPEC, *QUICK)
    assert rc == 1 and summary(out)["render-check"] == "not run" and "hubgen render" not in out


def test_hook_all_reports_secret_files_under_secrets(repo):
    (repo / "environments/dev/secrets/x.secret.yaml").write_text(PLAIN_SECRET)
    (repo / "other").mkdir()
    (repo / "other/y.secret.yaml").write_text(PLAIN_SECRET)
    rc, out, _ = hook(repo, "all", "environments/dev/secrets/x.secret.yaml", "other/y.secret.yaml", *QUICK)
    assert rc == 1
    assert summary(out) == states("passed", "failed", "passed", "skipped", "skipped")
    assert re.search(r"^environments/dev/secrets/x\.secret\.yaml(:\d+:\d+)?: error HG304", out, re.M), out
    assert re.search(r"^other/y\.secret\.yaml(:\d+:\d+)?: error HG304", out, re.M), out
    assert "not-encrypted-at-all" not in out
    # A secret file alone: no environment is touched, the file is still checked.
    rc, out, _ = hook(repo, "all", "other/y.secret.yaml", *QUICK)
    assert rc == 1 and summary(out) == states("passed", "failed", "passed", "skipped", "skipped")
    assert "0 environments" in out


def test_hook_all_skip(repo, monkeypatch):
    rc, _, err = hook(repo, "all", DEV_SPEC, "--skip", "validate")
    assert rc == 2 and "validate always runs" in err
    rc, _, err = hook(repo, "all", DEV_SPEC, "--skip", "bogus")
    assert rc == 2 and "unknown check(s) bogus" in err
    monkeypatch.setenv("HUBGEN_SKIP", "render-check, secrets")
    rc, out, _ = hook(repo, "all", DEV_SPEC, "--skip", "cfn-lint", "--skip", "kubeconform")
    assert rc == 0 and set(summary(out).values()) == {"passed", "skipped"}
    assert summary(out)["validate"] == "passed" and summary(out)["render-check"] == "skipped"


def test_file_codes_are_the_problems_only_validate_finds(repo):
    """`hook all` renders and lints an environment whose only errors are in the files beside its spec, as `render`
    and `lint` (which validate the spec only) do: FILE_CODES must be exactly what validating those files adds."""
    from generator.cli.hooks import FILE_CODES, SECRET_FILE_CODES
    from generator.paths import RepoPaths
    from generator.validate.environments import validate

    (repo / "environments/dev/secrets/x.secret.yaml").write_text(PLAIN_SECRET)  # HG304
    (repo / "environments/prod/secrets/course.secret.yaml").unlink()  # HG305
    (repo / "environments/dev/extra").mkdir()
    (repo / "environments/dev/extra/secret.yaml").write_text(PLAIN_SECRET)  # HG308
    (repo / "environments/dev/extra/link.yaml").symlink_to("/etc/hostname")  # HG409
    paths = RepoPaths(repo)
    with_files = {(p.code, p.location.file, p.message) for p in validate(paths, files=True).problems}
    spec_only = {(p.code, p.location.file, p.message) for p in validate(paths, files=False).problems}
    added = {code for code, _, _ in with_files - spec_only}
    assert {"HG304", "HG305", "HG308", "HG409"} <= added <= FILE_CODES
    assert SECRET_FILE_CODES <= FILE_CODES
    assert not {code for code, _, _ in spec_only} & FILE_CODES


def test_hook_all_runs_the_engines(repo):
    if shutil.which("kubeconform", path=str(REPO_ROOT / ".tools/bin")) is None and shutil.which("kubeconform") is None:
        pytest.skip("kubeconform not found (.tools/bin, PATH); run `bash .ci/install-tools`")
    rc, out, _ = hook(repo, "all", "environments/dev/cloudformation/cluster.parameters.json",
                      env={"PATH": os.pathsep.join([str(REPO_ROOT / ".tools/bin"), os.environ.get("PATH", "")])})
    assert rc == 0, out
    assert summary(out) == dict.fromkeys(CHECKS, "passed")
