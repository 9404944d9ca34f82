"""`hubgen upgrade` and the version check of every command, run as a user runs them: the real CLI on temporary
git repositories whose specs are the version 1 examples."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest

from generator import codes

from .fixtures import ENVIRONMENTS, expected_text, v1_text


def spec(env: str) -> str:
    return f"environments/{env}/environment.yaml"


@pytest.fixture
def v1_repo(repo: Path) -> Path:
    """A repository copy whose dev and prod specs are the version 1 examples (their generated files as they are)."""
    for env in ENVIRONMENTS:
        (repo / spec(env)).write_text(v1_text(env), encoding="utf-8")
    return repo


def problems(r) -> list[dict]:
    return json.loads(r.stdout)["problems"]


def test_validate_on_a_v1_spec_reports_exactly_hg011_naming_the_command(v1_repo: Path, run_hubgen) -> None:
    r = run_hubgen(["--repo", v1_repo, "validate", "dev", "--format", "json"])
    assert r.rc == 1, r
    (p,) = problems(r)
    assert p["code"] == codes.HG011.id and p["severity"] == "error"
    assert (p["file"], p["line"], p["column"]) == (spec("dev"), 5, 1)  # `name: dev`, the spec's first key
    assert "`hubgen upgrade dev`" in p["message"] and "hubgen upgrade dev" in p["hint"]
    r = run_hubgen(["--repo", v1_repo, "validate"])
    assert r.rc == 1 and r.stdout.count(" error HG011 ") == 2, r
    assert f"{spec('prod')}:5:1: error HG011 " in r.stdout


@pytest.mark.parametrize("command", [["render", "dev"], ["render", "--check", "dev"], ["lint", "dev"]])
def test_every_command_that_loads_specs_reports_hg011(v1_repo: Path, invoke_hubgen, tree_state, command) -> None:
    before = tree_state(v1_repo)
    r = invoke_hubgen(["--repo", v1_repo, *command, "--format", "json"])
    assert r.rc == 1, r
    # (lint also checks the stack templates, which belong to no environment)
    assert [p["code"] for p in problems(r) if p["file"] == spec("dev")] == [codes.HG011.id]
    assert tree_state(v1_repo) == before


def test_upgrade_check_exits_1_prints_the_diff_and_writes_nothing(v1_repo: Path, run_hubgen, tree_state) -> None:
    before = tree_state(v1_repo)
    r = run_hubgen(["--repo", v1_repo, "upgrade", "--check"])
    assert r.rc == 1, r
    assert tree_state(v1_repo) == before
    for env in ENVIRONMENTS:
        assert f"--- a/{spec(env)}\n+++ b/{spec(env)}\n" in r.stdout
        assert f"{spec(env)}:5:1: error HG011 " in r.stdout
    assert "+specVersion: 2\n" in r.stdout and "-  nodes:\n" in r.stdout and "+  nodeGroups:\n" in r.stdout
    assert "upgrade --check: 2 environments, 2 error(s)" in r.stdout


def test_upgrade_writes_the_goldens_and_a_second_run_changes_nothing(v1_repo: Path, run_hubgen, invoke_hubgen,
                                                                      tree_state) -> None:
    before = tree_state(v1_repo)
    r = run_hubgen(["--repo", v1_repo, "upgrade"])
    assert r.rc == 0, r
    after = tree_state(v1_repo)
    assert {k for k in after if after[k] != before.get(k)} == {spec(env) for env in ENVIRONMENTS}, \
        "upgrade changes the specs only (it does not render)"
    for env in ENVIRONMENTS:
        assert (v1_repo / spec(env)).read_text(encoding="utf-8") == expected_text(env)
        assert f"{env}: spec version 1 -> 2 ({spec(env)})" in r.stdout
    assert "desiredCapacity 2 dropped" in r.stdout and "desiredCapacity 3 dropped" in r.stdout
    assert "upgrade: 2 environment(s), 2 upgraded" in r.stdout
    assert "`hubgen render dev prod`" in r.stdout
    assert not list(v1_repo.glob("environments/*/.*.tmp")), "no temporary file left behind"
    r = run_hubgen(["--repo", v1_repo, "upgrade"])
    assert r.rc == 0, r
    assert "dev: spec version 2, up to date" in r.stdout and "upgrade: 2 environment(s), 0 upgraded" in r.stdout
    assert tree_state(v1_repo) == after, "an up-to-date spec is left byte-identical (and untouched)"
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "--check"])
    assert r.rc == 0 and r.stdout == "upgrade --check: 2 environments, no problems\n", r


def test_upgraded_specs_pass_the_schema_and_the_checks_but_the_decisions_left_to_people(
        v1_repo: Path, run_hubgen) -> None:
    """After the upgrade only what the new version asks a person to decide is reported: dev's Kubernetes 1.31 is
    past EKS support (HG226) and its shared-password hub names an admin (HG241, to acknowledge or change);
    prod's 1.32 is in paid extended support (HG227, a warning)."""
    assert run_hubgen(["--repo", v1_repo, "upgrade"]).rc == 0
    r = run_hubgen(["--repo", v1_repo, "validate", "--format", "json"])
    found = problems(r)
    assert not [p for p in found if p["code"].startswith(("HG0", "HG1"))], r
    errors = {(p["environment"], p["code"]) for p in found if p["severity"] == "error"}
    assert errors == {("dev", codes.HG226.id), ("dev", "HG241")}, r
    assert r.rc == 1


def test_upgrade_json_report(v1_repo: Path, invoke_hubgen) -> None:
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "dev", "--check", "--format", "json"])
    assert r.rc == 1, r
    doc = json.loads(r.stdout)
    assert doc["command"] == "upgrade --check" and doc["environments"] == ["dev"] and doc["written"] == []
    (up,) = doc["upgrades"]
    assert (up["environment"], up["fromVersion"], up["toVersion"], up["changed"]) == ("dev", 1, 2, True)
    assert up["steps"][0].startswith("1 -> 2: ") and up["diff"].startswith(f"--- a/{spec('dev')}\n")
    assert [p["code"] for p in doc["problems"]] == [codes.HG011.id]
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "dev", "--format", "json"])
    assert r.rc == 0, r
    doc = json.loads(r.stdout)
    assert doc["written"] == [spec("dev")] and doc["problems"] == [] and doc["upgrades"][0]["changed"]
    assert "diff" not in doc["upgrades"][0]


def test_a_spec_the_upgrade_cannot_rewrite_stops_every_write(v1_repo: Path, run_hubgen, tree_state) -> None:
    path = v1_repo / spec("prod")
    path.write_text(v1_text("prod").replace("    volumeSize: 200\n", "    volumSize: 200\n"), encoding="utf-8")
    before = tree_state(v1_repo)
    r = run_hubgen(["--repo", v1_repo, "upgrade"])
    assert r.rc == 1, r
    assert f"{spec('prod')}:31:5: error HG011 cluster.nodes.volumSize is not a field of spec version 1" in r.stdout
    assert "nothing was written" in r.stderr
    assert tree_state(v1_repo) == before, "dev is not upgraded either: all or nothing"


def test_newer_spec_is_hg012_for_validate_and_upgrade(v1_repo: Path, invoke_hubgen) -> None:
    (v1_repo / spec("dev")).write_text("specVersion: 3\n" + v1_text("dev"), encoding="utf-8")
    for command in (["validate", "dev"], ["upgrade", "dev"], ["upgrade", "--check", "dev"]):
        r = invoke_hubgen(["--repo", v1_repo, *command, "--format", "json"])
        assert r.rc == 1, r
        assert [p["code"] for p in problems(r)] == [codes.HG012.id], r


def test_byte_order_mark_and_crlf_are_kept(v1_repo: Path, invoke_hubgen) -> None:
    path = v1_repo / spec("dev")
    path.write_bytes(codecs.BOM_UTF8 + v1_text("dev").replace("\n", "\r\n").encode("utf-8"))
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "dev"])
    assert r.rc == 0, r
    assert path.read_bytes() == codecs.BOM_UTF8 + expected_text("dev").replace("\n", "\r\n").encode("utf-8")


def test_a_spec_that_is_a_link_is_not_rewritten(v1_repo: Path, invoke_hubgen, tree_state) -> None:
    path = v1_repo / spec("dev")
    real = v1_repo / "environments" / "dev" / "real.yaml"
    os.replace(path, real)
    path.symlink_to("real.yaml")
    before = tree_state(v1_repo)
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "dev", "--format", "json"])
    assert r.rc == 1, r
    assert [p["code"] for p in problems(r)] == [codes.HG009.id]
    assert tree_state(v1_repo) == before and path.is_symlink()


def test_unknown_environment_is_a_usage_error(v1_repo: Path, invoke_hubgen) -> None:
    r = invoke_hubgen(["--repo", v1_repo, "upgrade", "nope"])
    assert r.rc == 2 and "no environment 'nope'" in r.stderr, r
