"""Spec versions: the schema's contract and CURRENT_SPEC_VERSION agree, the migrations cover every version, and
what validation says about a spec's version (HG011 older, HG012 newer, the schema for anything else)."""

from __future__ import annotations

import json

import pytest

from generator import codes
from generator.loader import load_yaml_text
from generator.migrate import CURRENT_SPEC_VERSION, FIRST_SPEC_VERSION, spec_version, version_problem
from generator.migrate.steps import STEPS
from generator.validate.schema import schema

from tests.conftest import REPO_ROOT


def test_schema_spec_version_const_is_current_version() -> None:
    published = json.loads((REPO_ROOT / "schema" / "environment.schema.json").read_text(encoding="utf-8"))
    for s in (published, schema()):
        assert s["properties"]["specVersion"]["const"] == CURRENT_SPEC_VERSION
        assert "specVersion" in s["required"]


def test_one_step_per_version_in_order() -> None:
    assert [s.source for s in STEPS] == list(range(FIRST_SPEC_VERSION, CURRENT_SPEC_VERSION))
    assert all(s.target == s.source + 1 for s in STEPS)


@pytest.mark.parametrize(("data", "version"), [
    ({"name": "x"}, 1), ({"specVersion": 1}, 1), ({"specVersion": 2}, 2), ({"specVersion": 7}, 7),
    ({"specVersion": "2"}, None), ({"specVersion": True}, None), ({"specVersion": 2.0}, None),
    ({"specVersion": 0}, None), ({"specVersion": None}, None), ([], None),
])
def test_spec_version(data, version) -> None:
    assert spec_version(data) == version


def _problem(text: str, env: str = "dev"):
    loaded = load_yaml_text(text.encode(), "environments/dev/environment.yaml")
    assert not loaded.problems
    return version_problem(loaded, "environments/dev/environment.yaml", env)


def test_missing_version_is_hg011_at_the_top_naming_the_command() -> None:
    p = _problem("# header\n# more\nname: dev\ntier: staging\n")
    assert p is not None and p.code == codes.HG011.id
    assert (p.location.line, p.location.column) == (3, 1)
    assert "`hubgen upgrade dev`" in p.message and "hubgen upgrade dev" in p.hint
    assert "hubgen render dev" in p.hint and "ENV" not in p.hint


def test_older_version_is_hg011_at_spec_version() -> None:
    p = _problem("name: dev\nspecVersion: 1\n")
    assert p is not None and p.code == codes.HG011.id
    assert (p.location.line, p.location.column) == (2, 14)
    assert "specVersion 1" in p.message


def test_newer_version_is_hg012() -> None:
    p = _problem("name: dev\nspecVersion: 3\n")
    assert p is not None and p.code == codes.HG012.id
    assert (p.location.line, p.location.column) == (2, 14)


@pytest.mark.parametrize("value", ["2", "'2'", "true", "2.5", "0", "-1", "null", "[2]"])
def test_current_or_unusable_version_is_left_to_the_schema(value: str) -> None:
    assert _problem(f"name: dev\nspecVersion: {value}\n") is None
