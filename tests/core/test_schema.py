"""Contract tests of schema/environment.schema.json, the spec's single source of truth.

Every object that declares properties rejects unknown keys (so typos never pass), every array says what
its items are, the examples point editors at the schema (yaml-language-server), and the copy the package
ships is the same file.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

import jsonschema
import pytest

from generator.validate import schema as schema_module

from .specs import REPO_ROOT, example_data, example_text

SCHEMA_PATH = REPO_ROOT / "schema" / "environment.schema.json"
PACKAGE_COPY = REPO_ROOT / "generator" / "data" / "environment.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/environment.schema.json"
EXAMPLES = sorted(p.name for p in (REPO_ROOT / "environments").iterdir() if (p / "environment.yaml").is_file())

#: Keywords whose values are subschemas that *define* data (as opposed to conditions such as if/then/not).
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs")
_SCHEMA_KEYWORDS = ("items", "additionalProperties", "propertyNames", "contains")
#: Keywords whose subschemas only constrain data defined elsewhere (walked for "array has items" only).
_CONDITION_KEYWORDS = ("allOf", "anyOf", "oneOf", "if", "then", "else", "not")


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _definitions(node: Any, where: str = "#") -> Iterator[tuple[str, dict]]:
    """Every subschema in a defining position (root, $defs, properties, items, ...)."""
    if not isinstance(node, dict):
        return
    yield where, node
    for kw in _SCHEMA_MAP_KEYWORDS:
        for name, sub in node.get(kw, {}).items():
            yield from _definitions(sub, f"{where}/{kw}/{name}")
    for kw in _SCHEMA_KEYWORDS:
        if isinstance(node.get(kw), dict):
            yield from _definitions(node[kw], f"{where}/{kw}")


def _all_subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            if k in ("enum", "const", "required", "examples", "default"):
                continue
            yield from _all_subschemas(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _all_subschemas(v, f"{where}/{i}")


def test_schema_is_valid_draft_2020_12() -> None:
    s = _schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)


def test_walkers_see_the_whole_schema() -> None:
    """Guard for the walkers below: they reach the deepest definitions (else the contract tests are vacuous)."""
    where = {w for w, _ in _definitions(_schema())}
    assert "#/$defs/hub/properties/singleuser/properties/gitpuller" in where
    assert "#/properties/cluster/properties/subnets/items" in where
    assert len(where) > 60


def test_objects_with_properties_reject_unknown_keys() -> None:
    offenders = [w for w, s in _definitions(_schema())
                 if "properties" in s and s.get("additionalProperties") is not False]
    assert offenders == []


def test_objects_declare_their_properties_or_value_schema() -> None:
    """An object either lists its properties, or says what its values are (tags, extraEnv), or is the
    documented free-form `values` escape hatch."""
    for where, s in _definitions(_schema()):
        if s.get("type") != "object":
            continue
        if where.endswith("/properties/values"):
            assert "Raw Helm values" in s.get("description", ""), where
            continue
        assert "properties" in s or "patternProperties" in s or isinstance(s.get("additionalProperties"), dict), where


def test_every_array_has_items() -> None:
    arrays = [(w, s) for w, s in _all_subschemas(_schema()) if s.get("type") == "array"]
    assert len(arrays) >= 5
    assert [w for w, s in arrays if not isinstance(s.get("items"), dict)] == []


def test_every_property_is_described_or_self_explanatory() -> None:
    """Objects and $defs carry a description: editors show it on hover."""
    s = _schema()
    for name, d in s["$defs"].items():
        assert d.get("description") or name in ("envVarName", "tagKey"), name
    for where, d in _definitions(s):
        if d.get("type") == "object" and where != "#" and "/items" not in where:
            assert d.get("description"), where


def test_every_ref_resolves() -> None:
    s = _schema()
    refs = [v["$ref"] for _, v in _all_subschemas(s) if "$ref" in v]
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref.rsplit("/", 1)[1] in s["$defs"], ref


@pytest.mark.parametrize("env", EXAMPLES)
def test_examples_carry_the_schema_line_and_validate(env: str) -> None:
    assert example_text(env).split("\n", 1)[0] == SCHEMA_LINE
    # The relative path in that line really leads to the schema.
    target = (REPO_ROOT / "environments" / env / SCHEMA_LINE.split("$schema=", 1)[1]).resolve()
    assert target == SCHEMA_PATH.resolve()
    errors = list(jsonschema.Draft202012Validator(_schema()).iter_errors(example_data(env)))
    assert errors == [], [e.message for e in errors]


def test_examples_exist() -> None:
    assert {"dev", "prod"} <= set(EXAMPLES)


def test_package_schema_is_the_same_file() -> None:
    if PACKAGE_COPY.is_symlink():
        assert PACKAGE_COPY.resolve() == SCHEMA_PATH.resolve()
        assert not os.path.isabs(os.readlink(PACKAGE_COPY)), "a relative link survives moving the checkout"
    assert PACKAGE_COPY.read_bytes() == SCHEMA_PATH.read_bytes()
    # ... and it is what the validator actually uses.
    assert schema_module.schema() == _schema()
