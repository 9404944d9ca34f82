"""`hubgen init DIR` (a whole repository) and `hubgen init --update/--check` (its managed files)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import git

from generator import __version__
from generator.scaffold import managed

from .util import ROOT, SOURCE, set_args


def init(hubgen_fast, target: Path, age: str, *extra: str, source: str | None = SOURCE):
    given = ["--hubgen-source", source] if source is not None else []
    return hubgen_fast(["init", target, "--no-input", "--sops-age", age, "--project", "Course hubs", *set_args(),
                        *given, *extra])


@pytest.fixture(scope="module")
def made(tmp_path_factory, age_key) -> Path:
    """One repository made by `hubgen init`, shared by the read-only checks below."""
    from .util import run_fast

    target = tmp_path_factory.mktemp("init") / "hubs"
    r = init(run_fast, target, age_key[0])
    assert r.rc == 0, r
    git(target, "init", "-q")
    return target


def test_init_makes_a_complete_repository(made: Path):
    files = {p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file() and ".git" not in p.parts}
    shipped = managed.shipped()
    # Every managed file the installed hubgen ships, byte for byte.
    for rel, content in shipped.items():
        assert (made / rel).read_bytes() == content, rel
    assert {"schema/environment.schema.json", "manifests/cloudformation/cluster.yaml"} <= set(shipped)
    assert {"README.md", ".gitignore", ".sops.yaml", ".hubgen.yaml", "environments/dev/environment.yaml",
            "environments/dev/secrets/dev.secret.yaml", "environments/dev/hubs/dev/helmrelease.yaml",
            "environments/dev/cloudformation/cluster.parameters.json"} <= files
    assert ".hubgen/" in (made / ".gitignore").read_text().splitlines()
    readme = (made / "README.md").read_text()
    assert readme.startswith("# Course hubs\n") and "hubgen init --update" in readme
    record = yaml.safe_load((made / ".hubgen.yaml").read_text())
    assert record == {"hubgen": __version__, "hubgen-source": SOURCE, "managed": sorted(shipped)}
    sops = yaml.safe_load((made / ".sops.yaml").read_text())
    assert sops["creation_rules"][0]["encrypted_regex"] == "^(data|stringData)$"
    spec = yaml.safe_load((made / "environments/dev/environment.yaml").read_text())
    assert spec["secrets"] == {"provider": "age"}  # only an age key was given
    secret = (made / "environments/dev/secrets/dev.secret.yaml").read_text()
    assert "ENC[AES256_GCM" in secret and "password:" in secret


def test_new_repository_passes_validate_render_lint_and_pre_commit(hubgen, hubgen_fast, made: Path,
                                                                   tmp_path: Path, engine_env):
    for args in (["validate"], ["render", "--check"], ["init", "--check"]):
        r = hubgen_fast(["--repo", made, *args])
        assert r.rc == 0, r
    if hubgen_fast(["lint", "--help"]).rc == 0:  # `hubgen lint` is part of this hubgen
        r = hubgen(["lint"], cwd=made, env=engine_env)
        assert r.rc == 0, r
        if engine_env["HUBGEN_CHARTS_FETCHED"] == "1":
            assert "no problems" in r.stdout, r
        else:  # no reference charts beside the repository (a user's clone): the chart engines say so, only
            codes = re.findall(r": (error|warning) (HG\d{3}) ", r.stdout)
            assert codes and set(codes) == {("warning", "HG504")}, r
    if not (made / ".pre-commit-config.yaml").exists():
        return  # this hubgen ships no hook configuration
    pre_commit = ROOT / ".venv" / "bin" / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed in .venv (pip install -e '.[test]')")
    repo = tmp_path / "hooks"
    shutil.copytree(made, repo, symlinks=True)
    git(repo, "add", "-A")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUBGEN_")}, **engine_env,
           "PATH": f"{pre_commit.parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    proc = subprocess.run([str(pre_commit), "run", "--all-files"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Failed" not in proc.stdout


def test_init_prompts_from_stdin(hubgen, hubgen_fast, tmp_path: Path, age_key):
    target = tmp_path / "asked"
    answers = [
        "Research computing",  # project
        "arn:aws:kms:nope",  # KMS key: refused
        "-",  # no KMS key
        age_key[0],  # age recipient
        "", "",  # tier, description
        "123456789012", "us-east-1", "arn:aws:iam::123456789012:role/hub-deploy",
        "", "",  # stack name, kubernetes version
        "vpc-0123abcd", "subnet-0123abcd:us-east-1a,subnet-4567abcd:us-east-1b",
        "", "", "", "", "",  # node groups: core type; user types, capacity, max size, zone (no AMI id)
        "arn:aws:acm:us-east-1:123456789012:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5",
        "10.0.0.0/8", "",  # CIDRs, cluster admins
        "",  # secrets provider [age]
        "", "",  # host, login
        "alice", "yes",  # admins, shared-password admins acknowledged
        "", "", "", "", "",  # allowed users, image, tag, IRSA role, gitpuller
    ]
    r = hubgen(["init", target, "--env", "lab", "--hubgen-source", SOURCE], input="\n".join(answers) + "\n")
    assert r.rc == 0, r
    assert "invalid: expected arn:aws:kms" in r.stderr
    assert (target / "README.md").read_text().startswith("# Research computing\n")
    assert yaml.safe_load((target / "environments/lab/environment.yaml").read_text())["secrets"]["provider"] == "age"
    assert hubgen_fast(["--repo", target, "validate"]).rc == 0


@pytest.mark.parametrize("case, setup, args, rc, expect", [
    ("folder not empty", "file", [], 2, "is not empty"),
    ("no key for secrets", None, ["--no-sops"], 2, "no key for secrets"),
    ("bad age key", None, ["--sops-age", "age1nope"], 1, "expected age public key"),
    ("invalid input", None, ["--set", "cluster.vpcId=vpc-xyz"], 1, "HG104"),
    ("unknown key", None, ["--set", "cluster.vpc=vpc-0123abcd"], 2, "did you mean 'cluster.vpcId'"),
    ("--update options", None, ["--update"], 2, "only apply when creating a repository"),
])
def test_init_refuses_and_writes_nothing(hubgen_fast, tmp_path: Path, age_key, snapshot, case, setup, args, rc,
                                         expect):
    parent = tmp_path / "parent"
    parent.mkdir()
    target = parent / "repo"
    if setup == "file":
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    before = snapshot(parent)
    base = ["init", target, "--no-input", "--project", "P", *set_args(), "--hubgen-source", SOURCE]
    if "--no-sops" in args:
        args = [a for a in args if a != "--no-sops"]
    elif not any(a == "--sops-age" for a in args):
        base += ["--sops-age", age_key[0]]
    r = hubgen_fast([*base, *args])
    assert r.rc == rc, r
    assert expect in r.output, (case, r)
    assert "Traceback" not in r.output
    assert snapshot(parent) == before, case  # no repository, no staging folder left behind


def test_init_into_fresh_git_repository(hubgen_fast, tmp_path: Path, age_key):
    target = tmp_path / "withgit"
    target.mkdir()
    git(target, "init", "-q")
    r = init(hubgen_fast, target, age_key[0])
    assert r.rc == 0, r
    assert (target / ".git").is_dir() and (target / "environments/dev/environment.yaml").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != "withgit"]  # staging folder removed


# --- upgrades --------------------------------------------------------------------------------------------


def test_update_brings_managed_files_current_and_leaves_the_rest(hubgen_fast, made: Path, tmp_path: Path):
    repo = tmp_path / "old"
    shutil.copytree(made, repo, symlinks=True)
    # An "older hubgen" wrote this repository: one managed file differs, one is missing, one it
    # shipped then is no longer shipped, and the record names the old version.
    (repo / "manifests/cloudformation/cluster.yaml").write_text("# the template of an older hubgen\n")
    (repo / "schema/environment.schema.json").unlink()
    (repo / "manifests/cloudformation/retired.yaml").write_text("# no longer shipped\n")
    record = yaml.safe_load((repo / ".hubgen.yaml").read_text())
    (repo / ".hubgen.yaml").write_text(yaml.safe_dump(
        {"hubgen": "0.0.1", "hubgen-source": SOURCE, "managed": record["managed"] + [
            "manifests/cloudformation/retired.yaml",
            # A hand-edited record cannot make an update delete what hubgen does not manage.
            "README.md", "environments/dev/environment.yaml", "../outside.yaml"]}))
    (tmp_path / "outside.yaml").write_text("# not in the repository\n")
    # The team's own files: never touched.
    (repo / ".github/workflows").mkdir(parents=True, exist_ok=True)
    (repo / ".github/workflows/team.yml").write_text("name: ours\n")
    (repo / "manifests/cloudformation/extra.yaml").write_text("# ours\n")
    spec = repo / "environments/dev/environment.yaml"
    spec.write_text(spec.read_text() + "# edited by the team\n")
    untouched = {p: p.read_bytes() for p in (repo / "environments").rglob("*") if p.is_file()}
    untouched.update({p: p.read_bytes() for p in (repo / ".github/workflows/team.yml",
                                                  repo / "manifests/cloudformation/extra.yaml",
                                                  repo / "README.md", repo / ".sops.yaml")})

    check = hubgen_fast(["--repo", repo, "init", "--check"])
    assert check.rc == 1, check
    assert "--- a/manifests/cloudformation/cluster.yaml\n+++ b/manifests/cloudformation/cluster.yaml" in check.stdout
    assert "-# the template of an older hubgen" in check.stdout
    assert "+++ b/schema/environment.schema.json" in check.stdout
    assert "--- a/manifests/cloudformation/retired.yaml\n+++ /dev/null" in check.stdout
    assert check.stdout.count("HG405") == 3
    as_json = hubgen_fast(["--repo", repo, "--format", "json", "init", "--check"])
    assert as_json.rc == 1
    assert {(c["path"], c["action"]) for c in json.loads(as_json.stdout)["changes"]} == {
        ("manifests/cloudformation/cluster.yaml", "update"), ("schema/environment.schema.json", "create"),
        ("manifests/cloudformation/retired.yaml", "remove")}

    update = hubgen_fast(["init", "--update", repo])
    assert update.rc == 0, update
    assert "+++ b/manifests/cloudformation/cluster.yaml" in update.stdout
    assert "1 created, 1 updated, 1 removed; environments/ untouched" in update.stdout
    for rel, content in managed.shipped().items():
        assert (repo / rel).read_bytes() == content, rel
    assert not (repo / "manifests/cloudformation/retired.yaml").exists()
    for path, content in untouched.items():
        assert path.read_bytes() == content, path
    assert (tmp_path / "outside.yaml").exists()
    assert yaml.safe_load((repo / ".hubgen.yaml").read_text()) == {
        "hubgen": __version__, "hubgen-source": SOURCE, "managed": sorted(managed.shipped())}
    # Kept, and said so: CI still installs the recorded (older) hubgen.
    assert "kept hubgen-source" in update.stdout and "hubgen 0.0.1" in update.stdout
    again = hubgen_fast(["--repo", repo, "init", "--check"])
    assert again.rc == 0, again
    assert "up to date" in again.stdout


def test_update_outside_a_repository_is_a_usage_error(hubgen_fast, tmp_path: Path):
    r = hubgen_fast(["init", "--check", tmp_path])
    assert r.rc == 2, r
    assert "not a hubgen repository" in r.stderr
