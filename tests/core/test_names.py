"""One environment name rule, everywhere (issue 10, item 10), and the IAM names aws-auth matches.

The rule lives in generator/paths.py (ENV_NAME_MAX_LENGTH, ENV_NAME_PATTERN, ENV_NAME_RE, env_name_problem).
These tests hold every user of it to the one definition -- the schema's `name`, the commands, the pre-commit
hook -- and check that its maximum length is what the names built from an environment name allow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from generator import paths
from generator.generate import plan
from generator.model import build
from generator.paths import (DEFAULT_STACK_PREFIX, ENV_NAME_MAX_LENGTH, ENV_NAME_PATTERN, ENV_NAME_RE,
                             LABEL_VALUE_MAX_LENGTH, RepoPaths, env_name_problem, suggest_env_name)
from generator.render import aws_auth, cloudformation
from generator.scaffold.fields import FIELDS

from .specs import REPO_ROOT, example_data, example_text, replace_once, spec_path

SCHEMA = json.loads((REPO_ROOT / "schema" / "environment.schema.json").read_text(encoding="utf-8"))
LONGEST = "a" * ENV_NAME_MAX_LENGTH
TOO_LONG = "a" * (ENV_NAME_MAX_LENGTH + 1)
SAMPLES = ["a", "dev", "dev-2", "0", "9lives", LONGEST, TOO_LONG, "a" * 63, "", "-dev", "dev-", "Dev", "dev_2",
           "dev.2", "dev 2", "d\u00e9v", "../dev", "dev/x", ".", "..", "dev\n", "\ndev", "a--b"]


def _schema_accepts(name: str) -> bool:
    s = SCHEMA["properties"]["name"]
    return re.fullmatch(s["pattern"].lstrip("^").rstrip("$"), name) is not None and len(name) <= s["maxLength"]


# --- the rule and its users -------------------------------------------------------------------------------------


def test_schema_name_is_the_name_rule() -> None:
    name = SCHEMA["properties"]["name"]
    assert name["pattern"] == ENV_NAME_PATTERN
    assert name["maxLength"] == ENV_NAME_MAX_LENGTH
    assert f"at most {ENV_NAME_MAX_LENGTH} characters" in name["description"]


@pytest.mark.parametrize("name", SAMPLES, ids=repr)
def test_every_form_of_the_rule_agrees(name: str) -> None:
    valid = env_name_problem(name) is None
    assert (ENV_NAME_RE.match(name) is not None) == valid
    assert _schema_accepts(name) == valid
    assert (suggest_env_name(name) == name) == valid


@pytest.mark.parametrize("name", SAMPLES, ids=repr)
def test_suggestions_are_valid_names(name: str) -> None:
    suggestion = suggest_env_name(name)
    assert suggestion is None or env_name_problem(suggestion) is None, suggestion


def test_problem_says_why() -> None:
    assert env_name_problem(TOO_LONG) == f"it has 45 characters, at most {ENV_NAME_MAX_LENGTH} are allowed"
    assert "'D'" in env_name_problem("Dev")
    assert "start and end" in env_name_problem("dev-")


def test_max_length_is_what_names_built_from_it_allow(tmp_path: Path) -> None:
    """The longest valid name keeps every name built from it valid: the default stack name of `hubgen new`
    (schema `cluster.stackName`) and every Kubernetes name and label value of its rendered manifests."""
    stack = SCHEMA["properties"]["cluster"]["properties"]["stackName"]
    [field] = [f for f in FIELDS if f.key == "cluster.stackName"]
    default = field.default_for({}, LONGEST)
    assert default == DEFAULT_STACK_PREFIX + LONGEST
    assert len(default) == stack["maxLength"] and re.fullmatch(stack["pattern"].strip("^$"), default)
    assert len(DEFAULT_STACK_PREFIX + TOO_LONG) > stack["maxLength"]

    text = replace_once(example_text("dev"), "\nname: dev\n", f"\nname: {LONGEST}\n")
    (tmp_path / spec_path(LONGEST)).parent.mkdir(parents=True)
    (tmp_path / spec_path(LONGEST)).write_text(text, encoding="utf-8")
    result = plan(RepoPaths(tmp_path), [LONGEST])
    assert result.ok, [f"{p.code} {p.message}" for p in result.problems]
    names: list[str] = []
    for f in result.files[LONGEST]:
        if f.path.endswith(".yaml") and "/cloudformation/" not in f.path:
            for doc in yaml.safe_load_all(f.content):
                meta = doc.get("metadata", {})
                names += [*meta.get("name", "").split(), *meta.get("labels", {}).values()]
    assert f"{LONGEST}-secrets" in names and LONGEST in names
    assert max(len(n) for n in names) <= LABEL_VALUE_MAX_LENGTH


# --- the commands agree: validate, render and the pre-commit hook ------------------------------------------------


def _add_environment(repo: Path, name: str) -> str:
    text = replace_once(example_text("dev"), "\nname: dev\n", f"\nname: {name}\n")
    text = replace_once(text, "  stackName: jupyter-dev\n", "  stackName: jupyter-names\n")
    spec = repo / spec_path(name)
    spec.parent.mkdir(parents=True)
    spec.write_text(text, encoding="utf-8")
    (spec.parent / "secrets").mkdir()
    for secret in (repo / "environments" / "dev" / "secrets").iterdir():
        (spec.parent / "secrets" / secret.name).write_bytes(secret.read_bytes())
    return spec_path(name)


def _codes(r) -> list[str]:
    return [p["code"] for p in json.loads(r.stdout)["problems"]]


def test_longest_name_passes_every_command(repo: Path, invoke_hubgen) -> None:
    spec = _add_environment(repo, LONGEST)
    for args in (["validate"], ["validate", LONGEST], ["render", LONGEST], ["hook", "validate", spec]):
        r = invoke_hubgen(["--repo", repo, "--format", "json", *args])
        assert r.rc == 0, (args, r)


@pytest.mark.parametrize("args", [["validate"], ["validate", TOO_LONG], ["render"], ["render", TOO_LONG],
                                  ["render", "--check"], ["hook", "validate", "schema/environment.schema.json"]],
                         ids=" ".join)
def test_too_long_name_is_one_coded_problem_for_every_command(args: list[str], repo: Path, invoke_hubgen,
                                                               tree_hashes) -> None:
    spec = _add_environment(repo, TOO_LONG)
    before = tree_hashes(repo)
    r = invoke_hubgen(["--repo", repo, "--format", "json", *args])
    assert r.rc == 1, r
    assert "Traceback" not in r.output
    [problem] = json.loads(r.stdout)["problems"]  # the other environments are fine, and still checked
    assert (problem["code"], problem["file"], problem["line"]) == ("HG225", spec, 1)
    assert f"at most {ENV_NAME_MAX_LENGTH}" in problem["message"]
    assert f"environments/{'a' * ENV_NAME_MAX_LENGTH}/" in problem["hint"]
    assert tree_hashes(repo) == before


def test_hook_on_the_files_of_a_too_long_name(repo: Path, invoke_hubgen) -> None:
    spec = _add_environment(repo, TOO_LONG)
    r = invoke_hubgen(["--repo", repo, "--format", "json", "hook", "validate", spec])
    assert (r.rc, _codes(r)) == (1, ["HG225"]), r


def test_unknown_invalid_name_is_a_usage_error_saying_why(repo: Path, invoke_hubgen) -> None:
    for args in (["validate", TOO_LONG], ["render", "Dev"], ["validate", "../dev"]):
        r = invoke_hubgen(["--repo", repo, *args])
        assert r.rc == 2, r
        assert "is not a valid environment name: it" in r.output


def test_folder_mismatch_hint_suggests_only_valid_names(repo: Path, invoke_hubgen) -> None:
    spec = repo / spec_path("dev")
    spec.write_text(replace_once(spec.read_text(encoding="utf-8"), "\nname: dev\n", "\nname: dev-x\n"),
                    encoding="utf-8")
    r = invoke_hubgen(["--repo", repo, "--format", "json", "validate", "dev"])
    [problem] = json.loads(r.stdout)["problems"]
    assert problem["code"] == "HG205"
    assert problem["hint"] == "Set `name: dev` or move the file to environments/dev-x/."


# --- IAM names in aws-auth: roles without their path ---------------------------------------------------------------


def test_aws_auth_maps_roles_without_path_and_access_entries_keep_it() -> None:
    """aws-auth is matched against the role ARN without its path (EKS user guide, Troubleshooting IAM); access
    entries take the real ARN, path included (EKS user guide, Create access entries). Users keep theirs."""
    spec = example_data("dev")
    spec["cluster"]["admins"] = [{"arn": "arn:aws:iam::553778890976:role/team/admins/ops"},
                                 {"arn": "arn:aws:iam::553778890976:user/ops/bob", "username": "bob"}]
    env = build(spec)
    data = aws_auth.config_map(env)["data"]
    roles, users = yaml.safe_load(data["mapRoles"]), yaml.safe_load(data["mapUsers"])
    assert {"rolearn": "arn:aws:iam::553778890976:role/ops", "username": "ops", "groups": ["system:masters"]} in roles
    assert users == [{"userarn": "arn:aws:iam::553778890976:user/ops/bob", "username": "bob",
                      "groups": ["system:masters"]}]
    params = cloudformation.parameters(env)
    assert params["AdminPrincipalArn1"] == "arn:aws:iam::553778890976:role/team/admins/ops"
    assert params["AdminPrincipalArn2"] == "arn:aws:iam::553778890976:user/ops/bob"


def test_limit_is_deliberate() -> None:
    """A change of a limit the rule derives from changes the rule: this makes it a visible decision."""
    assert paths.ENV_NAME_MAX_LENGTH == 44
