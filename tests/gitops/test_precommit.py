"""The pre-commit hooks, installed for real in a temporary git repository made from the examples.

`git commit` runs the hooks through the hook script `pre-commit install` writes, exactly as for a
person. hubgen's checks are one hook (`hubgen`: `hubgen hook all`, every check in one process);
the single-check hooks stay in the configuration at the manual stage. The hygiene hooks' virtualenv
(pre-commit-hooks from PyPI; nothing is cloned from GitHub)
lives in a pre-commit home that persists across test runs (``~/.cache/hubgen-tests/pre-commit``;
``$HUBGEN_TEST_CACHE`` moves it), so only the very first run downloads anything. hubgen's hooks
are ``language: system`` and run this checkout's hubgen (``.venv/bin`` on PATH).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, commit_all, git, git_env, replace_once

CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
HOOKS_MANIFEST = REPO_ROOT / ".pre-commit-hooks.yaml"
DEV_SPEC = "environments/dev/environment.yaml"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def persistent_cache() -> Path:
    """Persistent across runs (pre-commit's hook virtualenvs, hubgen's content-addressed engine results);
    ``$HUBGEN_TEST_CACHE`` overrides the location."""
    explicit = os.environ.get("HUBGEN_TEST_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hubgen-tests"


@dataclass(frozen=True)
class Run:
    rc: int
    output: str

    def __str__(self) -> str:
        return f"rc={self.rc}\n{self.output}"


@pytest.fixture(scope="session")
def hook_env() -> dict[str, str]:
    if shutil.which("kubeconform", path=str(REPO_ROOT / ".tools/bin")) is None and shutil.which("kubeconform") is None:
        message = "kubeconform not found (.tools/bin, PATH); run `bash .ci/install-tools`"
        if _ci():
            pytest.fail(message)
        pytest.skip(message)
    env = {k: v for k, v in git_env().items() if not k.startswith(("HUBGEN_", "PRE_COMMIT", "VIRTUAL_ENV"))}
    env.update({
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(REPO_ROOT / ".tools/bin"), env.get("PATH", "")]),
        "PRE_COMMIT_HOME": str(persistent_cache() / "pre-commit"),
        "PRE_COMMIT_COLOR": "never",
        # Engine results are keyed by content, so sharing them across runs and workers only saves time.
        "HUBGEN_CACHE_DIR": str(persistent_cache() / "hubgen"),
        "HUBGEN_OFFLINE": "1",
        "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200",
    })
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> Run:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def hooked_template(tmp_path_factory, hook_env) -> Path:
    """The examples in a git repository with the hooks installed and their environments built
    (the initial commit itself is made with --no-verify; test_all_files_pass runs every hook)."""
    repo = tmp_path_factory.mktemp("hooked") / "repo"
    repo.mkdir()
    for part in ("environments", "schema", "manifests"):
        shutil.copytree(REPO_ROOT / part, repo / part, symlinks=True)
    for f in (".pre-commit-config.yaml", ".sops.yaml"):
        if (REPO_ROOT / f).exists():
            shutil.copy2(REPO_ROOT / f, repo / f)
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "hubgen test")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    installed = run([sys.executable, "-m", "pre_commit", "install"], repo, hook_env)
    assert installed.rc == 0, installed
    built = run([sys.executable, "-m", "pre_commit", "install-hooks"], repo, hook_env, timeout=600)
    assert built.rc == 0, built
    commit_all(repo, "examples")
    return repo


@pytest.fixture
def hooked(hooked_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(hooked_template, dest, symlinks=True)
    return dest


def commit(repo: Path, env: dict[str, str], message: str = "change") -> Run:
    git(repo, "add", "-A")
    return run(["git", "commit", "-m", message], repo, env)


def hook_lines(output: str) -> dict[str, str]:
    """Hook name -> Passed / Failed / Skipped, from pre-commit's report."""
    out = {}
    for line in output.splitlines():
        m = re.match(r"^(.+?)\.{3,}(?:\(no files to check\))?(Passed|Failed|Skipped)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def hook_names(stage: str | None = "pre-commit") -> dict[str, str]:
    """Hook id -> name, of the hooks that run at ``stage`` (None: every hook of the configuration)."""
    config = yaml.safe_load(CONFIG.read_text())
    default = config.get("default_stages", ["pre-commit"])
    return {h["id"]: h["name"] for r in config["repos"] for h in r["hooks"]
            if stage is None or stage in h.get("stages", default)}


CHECKS = ("validate", "secrets", "render-check", "cfn-lint", "kubeconform")


def check_states(output: str) -> dict[str, str]:
    """`hubgen hook all`'s summary: check -> passed / failed / skipped / not run."""
    return dict(re.findall(rf"^  ({'|'.join(CHECKS)}) +(passed|failed|skipped|not run)", output, re.M))


def states(*statuses: str) -> dict[str, str]:
    """The expected summary: one status per check, in the order of CHECKS."""
    return dict(zip(CHECKS, statuses, strict=True))


# ------------------------------------------------------------------ the configuration itself
def test_config_uses_only_local_hooks_with_pinned_dependencies():
    config = yaml.safe_load(CONFIG.read_text())
    for repo in config["repos"]:
        assert repo["repo"] == "local", f"{repo['repo']}: hooks must not be cloned from anywhere"
        for hook in repo["hooks"]:
            assert hook["language"] in ("python", "system"), hook["id"]
            for dep in hook.get("additional_dependencies", []):
                assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.+-]*", dep), f"{hook['id']}: {dep} is not pinned"
            if hook["entry"].startswith("hubgen "):
                assert hook.get("require_serial") is True, f"{hook['id']}: one invocation must see every file"


def test_config_and_hook_manifest_are_valid_for_pre_commit():
    from pre_commit.clientlib import load_config, load_manifest

    load_config(str(CONFIG))
    manifest = load_manifest(str(HOOKS_MANIFEST))
    local = {h["id"]: h for r in yaml.safe_load(CONFIG.read_text())["repos"] for h in r["hooks"]}
    for hook in manifest:
        # The published hooks run the same commands as this repository's own hooks.
        assert hook["id"] in local and hook["entry"] == local[hook["id"]]["entry"], hook["id"]
        assert hook["files"] == local[hook["id"]]["files"], hook["id"]
    assert {h["id"] for h in manifest} == {i for i in local if i.startswith("hubgen")}


def test_one_hubgen_hook_runs_on_commit_and_the_single_ones_are_manual():
    """The default configuration runs hubgen's checks as one hook (one process); the single-check hooks are there
    for `pre-commit run --hook-stage manual <id>` and for configurations that want them."""
    on_commit = [i for i in hook_names() if i.startswith("hubgen")]
    assert on_commit == ["hubgen"]
    local = {h["id"]: h for r in yaml.safe_load(CONFIG.read_text())["repos"] for h in r["hooks"]}
    assert local["hubgen"]["entry"] == "hubgen hook all"
    single = [i for i in local if i.startswith("hubgen-")]
    assert sorted(single) == ["hubgen-cfn-lint", "hubgen-kubeconform", "hubgen-render-check", "hubgen-secrets",
                              "hubgen-validate"]
    assert all(local[i].get("stages") == ["manual"] for i in single)
    # The one hook starts for every file any single hook starts for.
    pattern = re.compile(local["hubgen"]["files"])
    for path in ("environments/dev/environment.yaml", "environments/dev/hubs/dev/helmrelease.yaml",
                 "environments/dev/secrets/dev.secret.yaml", "manifests/cloudformation/cluster.yaml",
                 "schema/environment.schema.json", "generator/model.py", "pyproject.toml", "other/x.secret.yaml"):
        assert pattern.search(path), path
        assert any(re.search(local[i]["files"], path) for i in single), path
    assert not pattern.search("docs/workflow.md") and not pattern.search("README.md")


def test_every_hook_entry_is_a_real_command():
    from typer.testing import CliRunner

    from generator.cli.app import app

    entries = {h["entry"] for h in yaml.safe_load(HOOKS_MANIFEST.read_text())}
    entries |= {h["entry"] for r in yaml.safe_load(CONFIG.read_text())["repos"] for h in r["hooks"]
                if h["entry"].startswith("hubgen ")}
    for entry in sorted(entries):
        args = entry.split()[1:]
        first_option = next((i for i, a in enumerate(args) if a.startswith("--")), len(args))
        result = CliRunner().invoke(app, [*args[:first_option], "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, f"{entry}: {result.output}"
        for option in args[first_option:]:
            if option.startswith("--"):
                assert option in result.output, f"{entry}: no option {option}"


# ------------------------------------------------------------------ acceptance
def test_all_files_pass_and_no_hook_modifies_anything(hooked, hook_env):
    before = git(hooked, "status", "--porcelain")
    result = run([sys.executable, "-m", "pre_commit", "run", "--all-files"], hooked, hook_env)
    assert result.rc == 0, result
    assert git(hooked, "status", "--porcelain") == before == ""
    states = hook_lines(result.output)
    assert states == {name: "Passed" for name in hook_names().values()}, result


def test_clean_commit_passes(hooked, hook_env, run_hubgen):
    replace_once(hooked / DEV_SPEC, "maxSize: 4", "maxSize: 5")
    rendered = run_hubgen(["render", "dev"], cwd=hooked)
    assert rendered.rc == 0, rendered
    result = commit(hooked, hook_env, "dev: four to five nodes at most")
    assert result.rc == 0, result
    states = hook_lines(result.output)
    assert states[hook_names()["hubgen"]] == "Passed", result
    assert git(hooked, "log", "-1", "--format=%s").strip() == "dev: four to five nodes at most"


def test_spec_edit_without_render_is_rejected_with_the_fix_command(hooked, hook_env):
    replace_once(hooked / DEV_SPEC, "maxSize: 4", "maxSize: 5")
    head = git(hooked, "rev-parse", "HEAD")
    result = commit(hooked, hook_env)
    assert result.rc != 0, result
    assert hook_lines(result.output)[hook_names()["hubgen"]] == "Failed"
    assert check_states(result.output) == states("passed", "passed", "failed", "passed", "passed"), result
    assert "environments/dev/cloudformation/cluster.template-configuration.json" in result.output
    assert "HG401" in result.output
    fix = [line.strip() for line in result.output.splitlines() if line.strip().startswith("hubgen render")]
    assert fix == ["hubgen render dev"], result  # exactly one command, naming only the touched environment
    assert git(hooked, "rev-parse", "HEAD") == head  # nothing was committed


def test_unencrypted_secret_file_is_rejected(hooked, hook_env):
    secret = hooked / "environments/dev/secrets/x.secret.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: dev\n"
                      "type: Opaque\nstringData:\n  token: not-encrypted-at-all\n")
    result = commit(hooked, hook_env)
    assert result.rc != 0, result
    assert hook_lines(result.output)[hook_names()["hubgen"]] == "Failed"
    assert check_states(result.output) == states("passed", "failed", "passed", "passed", "passed"), result
    assert re.search(r"environments/dev/secrets/x\.secret\.yaml(:\d+:\d+)?: error HG304", result.output), result
    assert "not-encrypted-at-all" not in result.output  # the plaintext is never echoed


def test_broken_spec_is_rejected_with_its_location(hooked, hook_env):
    path = hooked / DEV_SPEC
    replace_once(path, "      instanceTypes: [m5.xlarge]\n",
                 "      instanceTypes: [m5.xlarge]\n      instanceTypo: m5.large\n")
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "instanceTypo" in text)
    column = lines[line - 1].index("instanceTypo") + 1
    result = commit(hooked, hook_env)
    assert result.rc != 0, result
    assert hook_lines(result.output)[hook_names()["hubgen"]] == "Failed"
    assert f"{DEV_SPEC}:{line}:{column}: error HG102" in result.output, result
    # The spec cannot be rendered: the checks that need it say so instead of passing.
    assert check_states(result.output) == states("failed", "passed", "not run", "not run", "not run"), result


def test_commit_touching_no_environment_runs_no_hubgen_hook(hooked, hook_env):
    (hooked / "NOTES.md").write_text("notes\n")
    result = commit(hooked, hook_env)
    assert result.rc == 0, result
    states = hook_lines(result.output)
    assert states[hook_names()["hubgen"]] == "Skipped", result


# ------------------------------------------------------------------ the one hook: several problems in one commit
def test_one_commit_with_several_problems_names_each_failed_check(hooked, hook_env, run_hubgen):
    """A commit with a spec error in one environment, stale generated files in another and an unencrypted secret
    file: one hook run reports all three, each under the check that found it, and the one fixing command."""
    replace_once(hooked / "environments/prod/environment.yaml", "maxSize: 10", "maxSize: ten")
    replace_once(hooked / DEV_SPEC, "maxSize: 4", "maxSize: 5")  # not rendered
    (hooked / "environments/dev/secrets/x.secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: dev\ntype: Opaque\n"
        "stringData:\n  token: not-encrypted-at-all\n")
    result = commit(hooked, hook_env)
    assert result.rc != 0, result
    assert hook_lines(result.output)[hook_names()["hubgen"]] == "Failed"
    assert check_states(result.output) == states("failed", "failed", "failed", "passed", "passed"), result
    # prod cannot be rendered; dev is rendered and linted all the same.
    assert re.search(r"render-check +failed .*not checked: prod", result.output), result
    assert "environments/prod/environment.yaml" in result.output and "HG304" in result.output
    fix = [line.strip() for line in result.output.splitlines() if line.strip().startswith("hubgen render")]
    assert fix == ["hubgen render dev"], result
    assert "not-encrypted-at-all" not in result.output


def test_the_single_hooks_run_at_the_manual_stage(hooked, hook_env):
    replace_once(hooked / DEV_SPEC, "maxSize: 4", "maxSize: 5")  # not rendered
    git(hooked, "add", "-A")
    result = run([sys.executable, "-m", "pre_commit", "run", "--hook-stage", "manual", "hubgen-render-check",
                  "--files", DEV_SPEC], hooked, hook_env)
    assert result.rc == 1, result
    assert hook_lines(result.output) == {hook_names(None)["hubgen-render-check"]: "Failed"}, result
    assert "    hubgen render dev" in result.output
