"""The hubgen CLI as a user runs it: real subprocesses on temporary copies of the repository.

Covers validate / render / render --check (drift codes HG401-HG404 with a unified diff), environment
selection and usage errors (exit 2), output formats (text, json, github), repository discovery (--repo,
nearest parent folder holding environments/), `hubgen schema`, `hubgen checks` and `--version`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import generator
from generator import codes
from generator.paths import GENERATED_DIRS

from .specs import REPO_ROOT, position, replace_once, spec_path

DEV_SPEC = spec_path("dev")
PROD_SPEC = spec_path("prod")
GENERATED = GENERATED_DIRS
ERROR_LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning) (?P<code>HG\d{3}) ", re.M)


def edit(root: Path, rel: str, old: str, new: str) -> str:
    p = root / rel
    text = replace_once(p.read_text(encoding="utf-8"), old, new)
    p.write_text(text, encoding="utf-8")
    return text


def generated_files(root: Path, env: str) -> list[str]:
    out = []
    for g in GENERATED:
        out += [p.relative_to(root).as_posix() for p in sorted((root / "environments" / env / g).rglob("*"))
                if p.is_file()]
    return out


# Follow-up checks of the state a command left behind run in-process (invoke_hubgen, same CLI code) to keep
# the suite fast; every behaviour under test runs through the real console script (run_hubgen).


def assert_clean_exit(r, rc: int) -> None:
    assert r.rc == rc, r
    assert "Traceback" not in r.output, r


# --- validate and render on the committed examples -------------------------------------------------------------


def test_validate_examples_exit_0(repo: Path, run_hubgen, invoke_hubgen) -> None:
    r = run_hubgen(["--repo", repo, "validate"])
    assert_clean_exit(r, 0)
    assert "validate: 2 environments, no problems" in r.stdout
    for env in ("dev", "prod"):
        assert_clean_exit(invoke_hubgen(["--repo", repo, "validate", env]), 0)


def test_render_check_on_examples_exit_0(repo: Path, run_hubgen) -> None:
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 0)
    assert r.stdout.strip() == "render --check: 2 environments, no problems", r


def test_render_on_clean_copy_is_a_no_op(repo: Path, run_hubgen, tree_state) -> None:
    before = tree_state(repo)
    r = run_hubgen(["--repo", repo, "render"])
    assert_clean_exit(r, 0)
    assert "0 changed" in r.stdout
    assert tree_state(repo) == before, "render rewrote files (content or mtime) although nothing changed"


# --- drift: render --check -----------------------------------------------------------------------------------


def test_spec_edit_is_reported_as_hg401_with_unified_diff(repo: Path, run_hubgen, invoke_hubgen, tree_state) -> None:
    edit(repo, DEV_SPEC, "    maxSize: 4\n", "    maxSize: 5\n")
    before = tree_state(repo)
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    assert tree_state(repo) == before, "render --check must not write"
    out = r.stdout
    for f in ("cluster.parameters.json", "cluster.template-configuration.json", "cluster.deployment.yaml"):
        path = f"environments/dev/cloudformation/{f}"
        assert f"--- a/{path}\n+++ b/{path}\n" in out
        assert f"{path}:1:1: error HG401 " in out
    assert '-    "CoreNodeMaxSize": "4",\n+    "CoreNodeMaxSize": "5",\n' in out
    assert "\n@@ " in out
    assert "environments/prod/" not in out, "prod did not change"
    # Rendering fixes it; the spec itself is never touched by render.
    spec_before = (repo / DEV_SPEC).read_bytes()
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render"]), 0)
    assert (repo / DEV_SPEC).read_bytes() == spec_before
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render", "--check"]), 0)


def test_hand_edited_generated_yaml_is_hg402(repo: Path, run_hubgen, invoke_hubgen) -> None:
    rel = "environments/dev/hubs/dev/helmrelease.yaml"
    edit(repo, rel, "  timeout: 15m\n", "  timeout: 30m\n")
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    assert f"{rel}:1:1: error HG402 " in r.stdout
    assert "edited by hand" in r.stdout
    assert f"--- a/{rel}" in r.stdout and "-  timeout: 30m\n+  timeout: 15m\n" in r.stdout
    assert [m["code"] for m in ERROR_LINE.finditer(r.stdout)] == ["HG402"]
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render", "dev"]), 0)
    assert "  timeout: 15m\n" in (repo / rel).read_text()


def test_hand_edited_generated_json_is_drift(repo: Path, run_hubgen) -> None:
    """JSON cannot carry the header hash, so an edit there is plain drift (HG401), still caught."""
    rel = "environments/prod/cloudformation/cluster.parameters.json"
    edit(repo, rel, '"ParameterValue": "10"', '"ParameterValue": "12"')
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    assert [(m["file"], m["code"]) for m in ERROR_LINE.finditer(r.stdout)] == [(rel, "HG401")]


def test_stale_generated_file_is_hg403_and_render_removes_it(repo: Path, run_hubgen, invoke_hubgen) -> None:
    """A file hubgen wrote (it carries the header) that no spec produces any more."""
    stray = repo / "environments/dev/hubs/old/helmrelease.yaml"
    stray.parent.mkdir()
    stray.write_bytes((repo / "environments/dev/hubs/dev/helmrelease.yaml").read_bytes())
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    assert "environments/dev/hubs/old/helmrelease.yaml:1:1: error HG403 " in r.stdout
    assert "--- a/environments/dev/hubs/old/helmrelease.yaml\n+++ /dev/null\n" in r.stdout
    assert stray.exists(), "--check must not delete"
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render"]), 0)
    assert not stray.exists() and not stray.parent.exists()
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render", "--check"]), 0)


def test_file_hubgen_did_not_write_is_kept_with_a_warning(repo: Path, run_hubgen, invoke_hubgen) -> None:
    stray = repo / "environments/dev/hubs/notes.yaml"
    stray.write_text("kind: ConfigMap\n")
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 0)
    assert "environments/dev/hubs/notes.yaml:1:1: warning HG408 " in r.stdout
    assert "environments/dev/extra/" in r.stdout
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render"]), 0)
    assert stray.read_text() == "kind: ConfigMap\n"


def test_files_outside_generated_folders_are_left_alone(repo: Path, run_hubgen, tree_state) -> None:
    (repo / "environments/dev/secrets").mkdir(exist_ok=True)  # the example has its secrets folder
    (repo / "environments/dev/secrets/dev.secret.yaml").write_text("sops: {}\n")
    (repo / "environments/dev/README.md").write_text("notes\n")
    (repo / "environments/dev/cluster/flux-system").mkdir()
    (repo / "environments/dev/cluster/flux-system/gotk-sync.yaml").write_text("kind: Kustomization\n")
    before = tree_state(repo)
    assert_clean_exit(run_hubgen(["--repo", repo, "render", "--check"]), 0)
    assert_clean_exit(run_hubgen(["--repo", repo, "render"]), 0)
    assert tree_state(repo) == before


def test_deleted_generated_file_is_hg404_and_render_restores_it(repo: Path, run_hubgen, invoke_hubgen) -> None:
    rel = "environments/prod/hubs/research/helmrelease.yaml"
    original = (repo / rel).read_bytes()
    (repo / rel).unlink()
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    assert f"{rel}:1:1: error HG404 " in r.stdout
    assert f"--- /dev/null\n+++ b/{rel}\n" in r.stdout
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render"]), 0)
    assert (repo / rel).read_bytes() == original


def test_removed_environment_leaves_stale_files_that_render_removes(repo: Path, run_hubgen, invoke_hubgen) -> None:
    stale = generated_files(repo, "prod")
    assert stale
    (repo / PROD_SPEC).unlink()
    r = run_hubgen(["--repo", repo, "render", "--check"])
    assert_clean_exit(r, 1)
    reported = sorted(m["file"] for m in ERROR_LINE.finditer(r.stdout) if m["code"] == "HG403")
    assert reported == sorted(stale)
    assert all((repo / f).exists() for f in stale)
    kept = sorted(p.relative_to(repo).as_posix() for p in (repo / "environments/prod").rglob("*")
                  if p.is_file() and p.relative_to(repo).as_posix() not in stale)
    r = run_hubgen(["--repo", repo, "render"])
    assert_clean_exit(r, 0)
    for g in GENERATED:
        assert not (repo / "environments/prod" / g).exists(), "render leaves no empty generated folders behind"
    # What people wrote (secrets/, notes) is never removed, spec or no spec.
    assert sorted(p.relative_to(repo).as_posix() for p in (repo / "environments/prod").rglob("*")
                  if p.is_file()) == kept
    assert generated_files(repo, "dev"), "dev untouched"
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render", "--check"]), 0)


def test_render_one_environment_only_touches_it(repo: Path, run_hubgen, invoke_hubgen, tree_state) -> None:
    edit(repo, DEV_SPEC, "    maxSize: 4\n", "    maxSize: 6\n")
    edit(repo, PROD_SPEC, "    maxSize: 10\n", "    maxSize: 12\n")
    # a stale file hubgen wrote earlier (it carries the header)
    (repo / "environments/prod/hubs/stray.yaml").write_bytes((repo / "environments/prod/hubs/helmrepository.yaml")
                                                              .read_bytes())
    before = tree_state(repo)
    r = run_hubgen(["--repo", repo, "render", "dev"])
    assert_clean_exit(r, 0)
    after = tree_state(repo)
    changed = sorted(p for p in after if after.get(p) != before.get(p))
    assert changed == ["environments/dev/cloudformation/cluster.deployment.yaml",
                       "environments/dev/cloudformation/cluster.parameters.json",
                       "environments/dev/cloudformation/cluster.template-configuration.json"]
    assert set(after) == set(before)
    assert_clean_exit(invoke_hubgen(["--repo", repo, "render", "--check", "dev"]), 0)
    r = run_hubgen(["--repo", repo, "render", "--check", "prod"])
    assert_clean_exit(r, 1)
    assert {m["code"] for m in ERROR_LINE.finditer(r.stdout)} == {"HG401", "HG403"}


def test_render_refuses_invalid_spec_and_writes_nothing(repo: Path, run_hubgen, tree_state) -> None:
    text = edit(repo, DEV_SPEC, "      minSize: 1\n", "      minSize: 5\n")
    before = tree_state(repo)
    for args in (["render"], ["render", "dev"], ["render", "--check"]):
        r = run_hubgen(["--repo", repo, *args])
        assert_clean_exit(r, 1)
        line, col = position(text, "5", within="      minSize: 5\n")
        assert f"{DEV_SPEC}:{line}:{col}: error HG201 " in r.stdout
        assert "---" not in r.stdout, "no diff for an invalid spec"
    assert tree_state(repo) == before


# --- environment selection and usage errors -----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["validate", "staging"],
    ["render", "staging"],
    ["render", "--check", "staging"],
    ["validate", "../prod"],
    ["render", "dev/hubs"],
    ["validate", "environments/dev"],
    ["render", ".."],
    ["validate", "Dev"],
])
def test_bad_environment_argument_is_usage_error(repo: Path, run_hubgen, tree_state, args) -> None:
    before = tree_state(repo)
    r = run_hubgen(["--repo", repo, *args])
    assert_clean_exit(r, 2)
    assert r.stderr.startswith("hubgen: error: "), r
    assert r.stdout == ""
    if args[-1] == "staging":
        assert "no environment 'staging'" in r.stderr and "known: dev, prod" in r.stderr
    else:
        assert "not a valid environment name" in r.stderr
    assert tree_state(repo) == before


def test_unknown_option_is_usage_error(repo: Path, run_hubgen) -> None:
    r = run_hubgen(["--repo", repo, "render", "--chek"])
    assert_clean_exit(r, 2)
    r = run_hubgen(["--repo", repo, "--format", "xml", "validate"])
    assert_clean_exit(r, 2)


# --- output formats ----------------------------------------------------------------------------------------


def _break_dev(repo: Path) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """Two schema errors in dev: a bad vpc id (HG104) and a volume below the minimum (HG106)."""
    text = edit(repo, DEV_SPEC, "  vpcId: vpc-4da21e37\n", "  vpcId: vpc-4DA21E37\n")
    text = edit(repo, DEV_SPEC, "      diskSize: 100\n", "      diskSize: 10\n")
    return text, position(text, "vpc-4DA21E37"), position(text, "10", within="      diskSize: 10\n")


def test_json_format_clean(repo: Path, run_hubgen) -> None:
    r = run_hubgen(["--repo", repo, "--format", "json", "validate"])
    assert_clean_exit(r, 0)
    doc = json.loads(r.stdout)
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "hubgen", "version": generator.__version__}
    assert doc["command"] == "validate"
    assert doc["environments"] == ["dev", "prod"]
    assert doc["summary"] == {"errors": 0, "warnings": 0}
    assert doc["problems"] == []


def test_json_format_with_problems(repo: Path, run_hubgen) -> None:
    _, vpc, volume = _break_dev(repo)
    for args in (["validate"], ["render"], ["render", "--check"]):
        r = run_hubgen(["--repo", repo, "-f", "json", *args])
        assert_clean_exit(r, 1)
        doc = json.loads(r.stdout)  # stdout is exactly one JSON document
        assert doc["summary"] == {"errors": 2, "warnings": 0}
        got = [(p["code"], p["file"], p["line"], p["column"], p["severity"], p["environment"], p["path"])
               for p in doc["problems"]]
        assert got == [
            ("HG104", DEV_SPEC, *vpc, "error", "dev", "/cluster/vpcId"),
            ("HG106", DEV_SPEC, *volume, "error", "dev", "/cluster/nodeGroups/0/diskSize"),
        ]
        for p in doc["problems"]:
            assert set(p) >= {"code", "severity", "message", "file", "line", "column", "hint"}
            assert p["message"] and p["hint"]


def test_json_format_drift(repo: Path, run_hubgen) -> None:
    edit(repo, "environments/dev/cluster/namespaces.yaml", "  name: dev\n", "  name: dev2\n")
    r = run_hubgen(["--repo", repo, "--format", "json", "render", "--check"])
    assert_clean_exit(r, 1)
    doc = json.loads(r.stdout)  # no diff mixed into machine output
    assert doc["command"] == "render --check"
    assert [(p["code"], p["file"]) for p in doc["problems"]] == [
        ("HG402", "environments/dev/cluster/namespaces.yaml")]


def test_github_format(repo: Path, run_hubgen) -> None:
    _, vpc, volume = _break_dev(repo)
    r = run_hubgen(["--repo", repo, "--format", "github", "validate"])
    assert_clean_exit(r, 1)
    lines = r.stdout.splitlines()
    assert len(lines) == 2, r
    assert lines[0].startswith(f"::error file={DEV_SPEC},line={vpc[0]},col={vpc[1]},title=HG104::")
    assert lines[1].startswith(f"::error file={DEV_SPEC},line={volume[0]},col={volume[1]},title=HG106::")
    # One annotation per line: message newlines are escaped, the hint rides along.
    assert all("%0Ahint: " in line for line in lines)


def test_github_format_warning(repo: Path, run_hubgen) -> None:
    text = edit(repo, DEV_SPEC, "arn:aws:iam::553778890976:role/jupyter-dev-notebook",
                "arn:aws:iam::210987654321:role/jupyter-dev-notebook")
    line, col = position(text, "arn:aws:iam::210987654321")
    r = run_hubgen(["--repo", repo, "--format", "github", "validate"])
    assert_clean_exit(r, 0)
    assert r.stdout.startswith(f"::warning file={DEV_SPEC},line={line},col={col},title=HG208::")


# --- repository discovery -----------------------------------------------------------------------------------


def test_repo_option_from_elsewhere(repo: Path, tmp_path: Path, run_hubgen) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_hubgen(["--repo", repo, "validate"], cwd=elsewhere)
    assert_clean_exit(r, 0)
    r = run_hubgen(["validate"], cwd=elsewhere)
    assert_clean_exit(r, 2)
    assert "not inside a hubgen repository" in r.stderr
    r = run_hubgen(["--repo", elsewhere, "validate"], cwd=elsewhere)
    assert_clean_exit(r, 2)
    assert "no environments/ folder" in r.stderr
    r = run_hubgen(["--repo", elsewhere / "missing", "render"], cwd=elsewhere)
    assert_clean_exit(r, 2)
    assert "not a directory" in r.stderr


def test_repository_found_from_subdirectory(repo: Path, run_hubgen) -> None:
    sub = repo / "environments/dev/hubs/dev"
    assert_clean_exit(run_hubgen(["validate"], cwd=sub), 0)
    assert_clean_exit(run_hubgen(["render", "--check"], cwd=sub), 0)
    text, vpc, _ = _break_dev(repo)
    r = run_hubgen(["validate", "dev"], cwd=sub)
    assert_clean_exit(r, 1)
    # Locations stay repository-relative wherever hubgen runs.
    assert f"{DEV_SPEC}:{vpc[0]}:{vpc[1]}: error HG104 " in r.stdout


def test_repo_option_beats_discovery(repo: Path, tmp_path: Path, run_hubgen) -> None:
    other = tmp_path / "other"
    (other / "environments").mkdir(parents=True)
    r = run_hubgen(["--repo", other, "validate"], cwd=repo / "environments/dev")
    assert_clean_exit(r, 0)
    assert "0 environments" in r.stdout
    r = run_hubgen(["--repo", other, "validate", "dev"], cwd=repo)
    assert_clean_exit(r, 2)


# --- schema, checks, version ---------------------------------------------------------------------------------


def test_schema_command_prints_the_contract(tmp_path: Path, run_hubgen) -> None:
    r = run_hubgen(["schema"], cwd=tmp_path)  # needs no repository
    assert_clean_exit(r, 0)
    committed = (REPO_ROOT / "schema/environment.schema.json").read_text(encoding="utf-8")
    assert r.stdout == committed
    assert json.loads(r.stdout) == json.loads(committed)


def test_checks_command_lists_every_code(tmp_path: Path, run_hubgen) -> None:
    r = run_hubgen(["checks"], cwd=tmp_path)
    assert_clean_exit(r, 0)
    listed = re.findall(r"^(HG\d{3})\s", r.stdout, re.M)
    assert listed == list(codes.CODES)


def test_version(tmp_path: Path, run_hubgen) -> None:
    r = run_hubgen(["--version"], cwd=tmp_path)
    assert_clean_exit(r, 0)
    assert r.stdout.splitlines()[0] == f"hubgen {generator.__version__}"  # then the engines and defaults
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", generator.__version__)


def test_no_arguments_shows_help(tmp_path: Path, run_hubgen) -> None:
    r = run_hubgen([], cwd=tmp_path)
    assert "Traceback" not in r.output
    assert r.rc in (0, 2)
    for command in ("validate", "render", "schema", "checks"):
        assert command in r.output
