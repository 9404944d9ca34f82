"""The JSON Schema is the one source of truth for the spec's shape; everything else is checked against it.

The spec's shape is read in four places: ``schema/environment.schema.json`` (the published contract),
:func:`generator.model.build` (the typed model), :func:`generator.render.cloudformation.parameter_sources`
(where each stack parameter comes from) and :data:`generator.render.values.VALUE_SOURCES` (where each owned
chart value comes from). These tests hold the last three to the first:

* every field the schema accepts is read by ``build()`` (a field the schema accepts and the model ignores
  is the opensarlab mistake: a setting that silently does nothing);
* every default the schema documents is the default the model applies;
* every spec path that parameter_sources and VALUE_SOURCES name exists in the schema.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest

from generator.model import build
from generator.render.cloudformation import parameter_sources
from generator.render.values import OWNED_VALUES, VALUE_SOURCES
from generator.validate.schema import schema, validator

from .specs import example_data

#: Schema fields build() does not read field by field, and why.
OPAQUE = {
    "hubs[].values": "the raw Helm values: passed through whole, merged last",
    "specVersion": "read before the model is built: an older or newer spec never reaches build() (HG011, HG012)",
}


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {**schema()["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        node = merged
    return node


def schema_fields(node: dict | None = None, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Every (path, sub-schema) the schema declares, arrays written ``[]`` (``hubs[].auth.type``)."""
    node = _resolve(node if node is not None else schema())
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        sub = _resolve(sub)
        yield path, sub
        if path in OPAQUE:
            continue
        if sub.get("type") == "object" and "properties" in sub:
            yield from schema_fields(sub, path)
        elif sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            items = _resolve(sub["items"])
            if "properties" in items:
                yield from schema_fields(items, f"{path}[]")


class Tracking(dict):
    """A spec mapping that records the path of every key ``build()`` reads."""

    def __init__(self, data: dict, path: str, seen: set[str]):
        super().__init__(data)
        self._path, self._seen = path, seen

    def _child(self, key: str, value: Any) -> Any:
        path = f"{self._path}.{key}" if self._path else key
        self._seen.add(path)
        if isinstance(value, dict):
            return Tracking(value, path, self._seen)
        if isinstance(value, list):
            return [Tracking(v, f"{path}[]", self._seen) if isinstance(v, dict) else v for v in value]
        return value

    def __getitem__(self, key):
        return self._child(key, super().__getitem__(key))

    def get(self, key, default=None):
        return self._child(key, super().__getitem__(key)) if key in self else default

    def items(self):
        return [(k, self[k]) for k in self.keys()]


def fields_read(spec: dict) -> set[str]:
    seen: set[str] = set()
    build(Tracking(copy.deepcopy(spec), "", seen))
    return seen


def corpus() -> list[dict]:
    """Valid specs that together set every field the schema declares: the examples plus what they leave
    out (a test below fails, naming the field, when a new schema field is in none of them)."""
    dev, prod = example_data("dev"), example_data("prod")
    extra = copy.deepcopy(prod)
    extra["description"] = "every optional field"
    extra["secrets"] = {"provider": "kms"}
    extra["cluster"]["autoscaler"] = {"enabled": False, "chart": {"version": "9.59.0"}}
    extra["cluster"]["nvidiaDevicePlugin"] = {"chart": {"version": "0.20.0"}}
    extra["notifications"] = {
        "github": {"repository": "https://github.com/asfadmin/jupyter-hubs", "secret": "github-status"},  # pragma: allowlist secret
        "slack": {"channel": "#jupyter-ops", "secret": "slack-hook", "severity": "info"},  # pragma: allowlist secret
        "webhook": {"secret": "ops-hook", "severity": "error"},  # pragma: allowlist secret
    }
    extra["costs"] = {
        "allocationTags": ["project", "cost-center"],
        "budget": {"monthlyLimit": 2500, "alertAt": [50, 80, 100], "forecast": False,
                   "emails": ["jupyter-ops@alaska.edu"],
                   "snsTopicArn": "arn:aws:sns:us-west-2:553778890976:jupyter-budget"},
    }
    extra["cluster"]["nodeGroups"][0]["imageId"] = "ami-0123456789abcdef0"
    extra["cluster"]["nodeGroups"][1]["releaseVersion"] = "1.35.0-20260120"
    extra["cluster"]["storage"]["classes"][0].update(
        volumeType="gp3", kmsKeyArn="arn:aws:kms:us-west-2:553778890976:key/1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
    extra["cluster"]["admins"][1]["username"] = "oncall"
    course = extra["hubs"][0]
    course["prePuller"] = {"hook": True, "continuous": False}
    course["profiles"][0]["image"] = {"name": "quay.io/jupyter/scipy-notebook", "tag": "2026-11-30"}
    course["profiles"][0]["cpu"] = {"guarantee": 1, "limit": 2}
    course["profiles"][0]["memory"] = {"guarantee": "2G", "limit": "4G"}
    return [dev, prod, extra]


def test_corpus_specs_are_valid():
    for spec in corpus():
        errors = sorted(validator().iter_errors(spec), key=str)
        assert not errors, errors[0]


def test_build_reads_every_field_the_schema_accepts():
    declared = {p for p, _ in schema_fields()}
    read: set[str] = set()
    for spec in corpus():
        read |= fields_read(spec)
    unread = sorted(p for p in declared - read - set(OPAQUE) if not any(p.startswith(o + ".") for o in OPAQUE))
    assert not unread, (
        f"schema fields never read by generator.model.build() for the test corpus: {unread}. Either build() "
        "ignores them (a setting that does nothing), or no spec in corpus() sets them (add one)")


def test_build_reads_nothing_the_schema_does_not_declare():
    fields = dict(schema_fields())
    maps = {p for p, sub in fields.items() if sub.get("type") == "object" and "properties" not in sub}
    for spec in corpus():
        extra = {p for p in fields_read(spec) - set(fields) if p.rsplit(".", 1)[0] not in maps}
        assert not extra, f"build() reads fields the schema does not declare: {sorted(extra)}"


def _holders(spec: dict, path: str) -> list[dict]:
    """The objects in ``spec`` that hold the field at ``path`` (in document order)."""
    *parents, leaf = path.split(".")
    nodes: list[Any] = [spec]
    for part in parents:
        key, many = (part[:-2], True) if part.endswith("[]") else (part, False)
        nxt: list[Any] = []
        for n in nodes:
            if isinstance(n, dict) and key in n:
                nxt.extend(n[key] if many else [n[key]])
        nodes = nxt
    return [n for n in nodes if isinstance(n, dict) and leaf in n]


DEFAULTED = [(p, s["default"]) for p, s in schema_fields() if "default" in s]


@pytest.mark.parametrize("path,default", DEFAULTED, ids=[p for p, _ in DEFAULTED])
def test_schema_defaults_are_the_models_defaults(path: str, default: Any):
    """Leaving a field out builds the same model as writing the schema's documented default."""
    leaf = path.rsplit(".", 1)[-1]
    for spec in corpus():
        absent, written = copy.deepcopy(spec), copy.deepcopy(spec)
        holders = _holders(absent, path)
        if not holders:
            continue
        for a, w in zip(holders, _holders(written, path)):
            del a[leaf]
            w[leaf] = copy.deepcopy(default)
        if list(validator().iter_errors(absent)) or list(validator().iter_errors(written)):
            continue  # e.g. a required sibling: covered by another corpus spec
        assert build(absent) == build(written), f"{path}: the model's default is not the schema's {default!r}"
        return
    pytest.fail(f"no corpus spec sets {path}, so its default cannot be tested")


def _schema_path(spec_path: tuple) -> str:
    """("hubs", 0, "nodePort") -> "hubs[].nodePort"; an item of a list of scalars is the list's field."""
    out = ""
    spec_path = tuple(spec_path)
    while spec_path and isinstance(spec_path[-1], int):
        spec_path = spec_path[:-1]
    for part in spec_path:
        if isinstance(part, int):
            out += "[]"
        else:
            out += f".{part}" if out else part
    return out


def test_parameter_sources_name_schema_fields():
    declared = {p for p, _ in schema_fields()}
    for spec in corpus():
        for param, source in parameter_sources(build(spec)).items():
            assert _schema_path(source) in declared, f"{param} claims to come from {source}, not a schema field"


def test_value_sources_and_owned_fields_name_schema_fields():
    declared = {p for p, _ in schema_fields()}
    fields = {o.field for o in OWNED_VALUES.values() if o.field} | set(VALUE_SOURCES.values())
    for field in fields:
        assert "hubs[]." + ".".join(field) in declared, f"owned chart value points at hubs[].{'.'.join(field)}"
