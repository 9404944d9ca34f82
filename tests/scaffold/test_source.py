"""Where a repository made by `hubgen init` installs hubgen from (`--hubgen-source`, `hubgen-source:` in
.hubgen.yaml), what its workflows install, what its README names, and `hubgen --version`.

The default source is the PEP 610 record of the running hubgen (``direct_url.json``); tests that need a hubgen
"installed from git" replace :func:`generator.scaffold.install._direct_url` (tests/packaging installs real wheels).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from generator import __version__
from generator.scaffold import install, managed
from generator.versions import GO_TOOLS

from .readme_check import readme_problems
from .util import ROOT, SOURCE, run_fast, set_args

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"  # pragma: allowlist secret (a made-up commit id)
OTHER = f"hubgen @ git+https://git.example.org/platform/hubgen.git@{COMMIT}"


def _git_record(url: str = "https://github.com/example/hubgen", commit: str = COMMIT, **extra) -> str:
    return json.dumps({"url": url, "vcs_info": {"vcs": "git", "commit_id": commit, **extra}})


@pytest.fixture
def from_git(monkeypatch):
    """Make the running hubgen look installed with `pip install 'hubgen @ git+https://...@v0.1.0'`."""
    monkeypatch.setattr(install, "_direct_url", lambda: _git_record(requested_revision="v0.1.0"))
    return f"hubgen @ git+https://github.com/example/hubgen@{COMMIT}"


def _init(target: Path, age: str, *extra: str):
    return run_fast(["init", target, "--no-input", "--sops-age", age, "--project", "P", *set_args(), *extra])


# --- parsing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, recorded", [
    (SOURCE, SOURCE),
    ("hubgen@git+https://github.com/example/hubgen@v0.1.0", "hubgen @ git+https://github.com/example/hubgen@v0.1.0"),
    ("  git+https://github.com/example/hubgen.git@v1.2.3rc1 ",
     "hubgen @ git+https://github.com/example/hubgen.git@v1.2.3rc1"),
    ("hubgen @ git+ssh://git@github.com/example/hubgen.git@refs/tags/stable#subdirectory=py",
     "hubgen @ git+ssh://git@github.com/example/hubgen.git@refs/tags/stable#subdirectory=py"),
    ("HUBGEN @ git+https://github.com/example/hubgen@hubgen-0.1.0",
     "hubgen @ git+https://github.com/example/hubgen@hubgen-0.1.0"),
])
def test_pinned_git_sources_are_accepted(given, recorded):
    assert install.parse_source(given) == recorded
    # What the record holds is read back unchanged by YAML and by the workflows' sed.
    text = managed.record_text([], recorded)
    assert yaml.safe_load(text)["hubgen-source"] == recorded
    assert f"\nhubgen-source: {recorded}\n" in text


@pytest.mark.parametrize("given, why", [
    ("hubgen==0.1.0", "not registered on the package index"),
    ("hubgen", "not registered on the package index"),
    ("hubgen>=0.1", "not registered on the package index"),
    ("hubgen @ git+https://github.com/example/hubgen", "not pinned"),
    ("hubgen @ git+https://github.com/example/hubgen@main", "looks like a branch"),
    ("hubgen @ git+https://github.com/example/hubgen@0123abcd", "abbreviated"),
    ("hubgen @ git+http://github.com/example/hubgen@v0.1.0", "not encrypted"),
    ("hubgen @ git+git://github.com/example/hubgen@v0.1.0", "not encrypted"),
    (f"hubgen @ git+file:///srv/hubgen@{COMMIT}", "CI cannot reach"),
    ("hubgen @ git+https://user:token@github.com/example/hubgen@v0.1.0", "credentials"),  # pragma: allowlist secret
    ("hubgen @ git+https://token@github.com/example/hubgen@v0.1.0", "credentials"),
    ("hubgen @ https://example.org/hubgen-0.1.0-py3-none-any.whl", "not a git URL"),
    ("requests==2.0", "the requirement must be for 'hubgen'"),
    ("other @ git+https://github.com/example/hubgen@v0.1.0", "the requirement must be for 'hubgen'"),
    ("hubgen[x] @ git+https://github.com/example/hubgen@v0.1.0", "extras"),
    ("hubgen @ git+https://github.com/example/hubgen@v0.1.0#egg=hubgen", "only #subdirectory"),
    ("hubgen @ git+https://github.com/example/hubgen@v0.1.0 ; python_version>'3'", "shell"),
    ("hubgen @ git+https://github.com/x/hubgen@$(id)", "shell"),
    ("", "empty"),
])
def test_other_sources_are_refused_with_the_reason(given, why):
    with pytest.raises(install.SourceError, match=None) as e:
        install.parse_source(given)
    assert why in str(e.value)


# --- the default: how the running hubgen was installed ------------------------------------------------------------

@pytest.mark.parametrize("record, kind, default", [
    (_git_record(requested_revision="v0.1.0"), "git", f"hubgen @ git+https://github.com/example/hubgen@{COMMIT}"),
    (json.dumps({"url": "ssh://git@github.com/example/hubgen.git", "subdirectory": "py",
                 "vcs_info": {"vcs": "git", "commit_id": COMMIT}}), "git",
     f"hubgen @ git+ssh://git@github.com/example/hubgen.git@{COMMIT}#subdirectory=py"),
    (json.dumps({"url": "file:///work/hubgen", "dir_info": {"editable": True}}), "editable", None),
    (json.dumps({"url": "file:///tmp/hubgen-0.1.0-py3-none-any.whl", "archive_info": {}}), "archive", None),
    (_git_record(url="file:///srv/hubgen"), "git", None),
    (None, "unrecorded", None),
    ("{not json", "unrecorded", None),
])
def test_default_source_is_the_git_commit_hubgen_was_installed_from(monkeypatch, record, kind, default):
    monkeypatch.setattr(install, "_direct_url", lambda: record)
    assert install.installed().kind == kind
    if default is not None:
        assert install.default_source() == default
        return
    with pytest.raises(install.SourceError) as e:
        install.default_source()
    assert "--hubgen-source" in str(e.value) and install.FORM in str(e.value)


def test_this_checkout_gives_no_default():
    """The test suite runs an editable install: `init` must be told where CI installs hubgen from."""
    assert install.installed().kind == "editable"
    with pytest.raises(install.SourceError, match="editable install"):
        install.default_source()


# --- init -----------------------------------------------------------------------------------------------------------

def test_init_without_a_source_refuses_before_asking_anything(tmp_path: Path, age_key, snapshot):
    before = snapshot(tmp_path)
    r = _init(tmp_path / "repo", age_key[0])
    assert r.rc == 2, r
    assert "--hubgen-source" in r.stderr and install.FORM in r.stderr and "editable install" in r.stderr
    assert snapshot(tmp_path) == before
    # Interactive too: refused before the first question.
    asked = run_fast(["init", tmp_path / "repo"], input="Team\n")
    assert asked.rc == 2 and "--hubgen-source" in asked.stderr and "Team or project" not in asked.output, asked
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("given, why", [
    ("hubgen==0.1.0", "not registered on the package index"),
    ("hubgen @ git+https://github.com/example/hubgen", "not pinned"),
    ("hubgen @ git+https://github.com/example/hubgen@main", "looks like a branch"),
])
def test_init_refuses_an_unusable_source(tmp_path: Path, age_key, snapshot, given, why):
    before = snapshot(tmp_path)
    r = _init(tmp_path / "repo", age_key[0], "--hubgen-source", given)
    assert r.rc == 2, r
    assert why in r.stderr and install.FORM in r.stderr, r
    assert snapshot(tmp_path) == before


def test_init_json_names_the_source(tmp_path: Path, age_key):
    r = run_fast(["--format", "json", "init", tmp_path / "repo", "--no-input", "--sops-age", age_key[0],
                  *set_args(), "--hubgen-source", SOURCE])
    assert r.rc == 0, r
    assert json.loads(r.stdout)["hubgenSource"] == SOURCE


def test_init_defaults_to_the_source_hubgen_was_installed_from(tmp_path: Path, age_key, from_git):
    target = tmp_path / "repo"
    r = _init(target, age_key[0])
    assert r.rc == 0, r
    assert f"CI installs hubgen from {from_git}" in r.stdout
    assert yaml.safe_load((target / ".hubgen.yaml").read_text())["hubgen-source"] == from_git
    readme = (target / "README.md").read_text()
    assert f"'{from_git}'" in readme and "https://github.com/example/hubgen/tree/" + COMMIT in readme


# --- init --update / --check ------------------------------------------------------------------------------------------

@pytest.fixture
def made(tmp_path: Path, age_key) -> Path:
    target = tmp_path / "made"
    r = _init(target, age_key[0], "--hubgen-source", SOURCE)
    assert r.rc == 0, r
    return target


def _record(repo: Path) -> dict:
    return yaml.safe_load((repo / ".hubgen.yaml").read_text())


def test_update_keeps_the_recorded_source(made: Path):
    r = run_fast(["init", "--update", made])
    assert r.rc == 0, r
    assert _record(made)["hubgen-source"] == SOURCE
    assert "CI now installs" not in r.stdout


def test_update_records_a_given_source(made: Path):
    r = run_fast(["init", "--update", made, "--hubgen-source", OTHER])
    assert r.rc == 0, r
    assert _record(made)["hubgen-source"] == OTHER
    assert f"CI now installs hubgen from {OTHER} (was {SOURCE})" in r.stdout
    as_json = run_fast(["--format", "json", "init", "--update", made])
    assert json.loads(as_json.stdout)["hubgenSource"] == OTHER


def test_update_records_the_source_a_git_installed_hubgen_came_from(made: Path, from_git):
    r = run_fast(["init", "--update", made])
    assert r.rc == 0, r
    assert _record(made)["hubgen-source"] == from_git


def test_update_refuses_an_unusable_source_and_writes_nothing(made: Path, snapshot):
    before = snapshot(made)
    r = run_fast(["init", "--update", made, "--hubgen-source", "hubgen==0.1.0"])
    assert r.rc == 2 and "not registered on the package index" in r.stderr, r
    assert snapshot(made) == before


def test_a_record_without_source_is_reported_and_needs_one(made: Path, snapshot):
    record = _record(made)
    del record["hubgen-source"]
    (made / ".hubgen.yaml").write_text(yaml.safe_dump(record))
    check = run_fast(["--repo", made, "init", "--check"])
    assert check.rc == 1 and "HG405" in check.stdout and "records no hubgen-source" in check.stdout, check
    before = snapshot(made)
    update = run_fast(["init", "--update", made])
    assert update.rc == 2 and "--hubgen-source" in update.stderr and "nothing was written" in update.stderr, update
    assert snapshot(made) == before
    fixed = run_fast(["init", "--update", made, "--hubgen-source", SOURCE])
    assert fixed.rc == 0, fixed
    assert run_fast(["--repo", made, "init", "--check"]).rc == 0


def test_check_takes_no_source(made: Path):
    r = run_fast(["--repo", made, "init", "--check", "--hubgen-source", SOURCE])
    assert r.rc == 2 and "not with --check" in r.stderr, r


# --- the workflows install exactly the recorded source ------------------------------------------------------------

def _install_scripts(repo: Path) -> list[tuple[str, str]]:
    out = []
    for wf in sorted((repo / ".github/workflows").glob("*.yml")):
        for name, job in yaml.safe_load(wf.read_text())["jobs"].items():
            for step in job.get("steps", []):
                if step.get("name") == "Install hubgen":
                    out.append((f"{wf.name}:{name}", step["run"]))
    return out


def _fake_bin(tmp_path: Path) -> Path:
    """`python` and `hubgen` that only write down how they were called."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for tool in ("python", "hubgen"):
        script = fake / tool
        script.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$CALLS/{tool}.$$"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return fake


@pytest.mark.parametrize("override", [None, OTHER])
def test_workflows_install_the_recorded_source(made: Path, tmp_path: Path, override):
    scripts = _install_scripts(made)
    assert len(scripts) >= 5, scripts  # pull request: check, plan; deploy: plan, staging, production
    fake = _fake_bin(tmp_path)
    for where, script in scripts:
        calls = tmp_path / "calls" / where.replace(":", "-") / str(bool(override))
        calls.mkdir(parents=True)
        env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls),
               "PRE_COMMIT_VERSION": "4.7.0", "HUBGEN_PIP_SPEC": override or ""}
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=made, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 0, (where, proc.stdout, proc.stderr)
        pip = [p.read_text().splitlines() for p in calls.glob("python.*")]
        assert len(pip) == 1, where
        args = pip[0]
        assert args[:3] == ["-m", "pip", "install"], (where, args)
        assert args[3] == (override or SOURCE), (where, args)
        assert all(not a.startswith("hubgen==") for a in args)
        assert set(args[4:]) <= {"pre-commit==4.7.0"}, (where, args)


def test_workflows_refuse_a_repository_without_a_source(made: Path, tmp_path: Path):
    (made / ".hubgen.yaml").write_text("hubgen: 0.1.0\nmanaged: []\n")
    fake = _fake_bin(tmp_path)
    for where, script in _install_scripts(made):
        calls = tmp_path / "calls" / where.replace(":", "-")
        calls.mkdir(parents=True)
        env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls), "PRE_COMMIT_VERSION": "4.7.0",
               "HUBGEN_PIP_SPEC": ""}
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=made, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 1, where
        assert "::error file=.hubgen.yaml::" in proc.stdout and "--hubgen-source" in proc.stdout, where
        assert not list(calls.glob("python.*")), where  # nothing installed


# --- the README and Makefile name only what the repository has ----------------------------------------------------

def _help(command: list[str]) -> tuple[int, str]:
    r = run_fast([*command, "--help"])
    return r.rc, r.output


@pytest.mark.parametrize("extra", [[], ["--env", "lab", "--set", "hubs.0.name=course"]])
def test_readme_names_only_what_the_repository_has(tmp_path: Path, age_key, extra):
    target = tmp_path / "repo"
    r = _init(target, age_key[0], "--hubgen-source", SOURCE, *extra)
    assert r.rc == 0, r
    assert readme_problems(target, _help) == []
    readme = (target / "README.md").read_text()
    assert "make setup" not in readme and "docs/" not in readme.replace("/docs", "")
    assert f"'{SOURCE}'" in readme
    if extra:  # the README follows the starter environment's and hub's names
        assert "`environments/lab/secrets/course.secret.yaml`" in readme
        assert "hubgen secrets create lab course" in readme and "environments/dev" not in readme


def test_readme_check_finds_what_is_missing(made: Path):
    (made / "README.md").write_text(
        "Run `make setup`, read docs/workflow.md, `hubgen frobnicate`.\n\n```sh\nhubgen validate --nope\n"
        "cat environments/prod/environment.yaml\n```\n")
    problems = "\n".join(readme_problems(made, _help))
    for expected in ("make setup", "docs/workflow.md", "frobnicate", "--nope", "environments/prod/environment.yaml"):
        assert expected in problems


def test_makefile_check_runs_validate_render_lint(made: Path, engine_env):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    hubgen = Path(ROOT / ".venv/bin/hubgen")
    if not hubgen.exists():
        pytest.skip("no .venv/bin/hubgen")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUBGEN_")}, **engine_env,
           "PATH": f"{hubgen.parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    dry = subprocess.run(["make", "-n", "tools"], cwd=made, env=env, capture_output=True, text=True)
    assert dry.returncode == 0 and "go install" in dry.stdout, dry.stdout + dry.stderr
    proc = subprocess.run(["make", "check"], cwd=made, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in ("validate: 1 environment, no problems", "render --check: 1 environment, no problems"):
        assert line in proc.stdout, proc.stdout


# --- hubgen --version --------------------------------------------------------------------------------------------

def test_version_names_the_install_and_the_pinned_engines(hubgen, tmp_path: Path):
    r = hubgen(["--version"], cwd=tmp_path)
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == f"hubgen {__version__}"
    assert lines[1].startswith("installed from: an editable install of ")
    for name, (module, version) in GO_TOOLS.items():
        assert any(line.split()[:2] == [name, version] and f"{module}@{version}" in line for line in lines), name
    assert any(line.split()[:2] == ["cfn-lint", metadata.version("cfn-lint")] for line in lines)
    as_json = hubgen(["--format", "json", "--version"], cwd=tmp_path)
    assert as_json.rc == 0, as_json
    info = json.loads(as_json.stdout)
    assert info["hubgen"] == __version__ and info["source"] is None and info["installed"]["kind"] == "editable"
    assert {n: e["install"] for n, e in info["engines"].items() if e["install"]} == {
        n: f"{m}@{v}" for n, (m, v) in GO_TOOLS.items()}
    assert hubgen(["--version", "-f", "json"], cwd=tmp_path).stdout == as_json.stdout


def test_version_text_of_a_git_install(from_git):
    text = install.version_text()
    assert f"installed from: {from_git} (requested v0.1.0)" in text
    assert install.version_info()["source"] == from_git
