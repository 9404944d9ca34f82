"""The environment template: it writes back exactly the spec it is given, and explains every field."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from generator.loader import load_yaml_text
from generator.scaffold import fields as F
from generator.scaffold.environment import Draft, render_text

from .util import ROOT

TEMPLATE = ROOT / "generator/scaffold/templates/environment/{{cookiecutter.env}}/environment.yaml"


def maximal_spec() -> dict:
    """prod, with every optional field of the schema set, and values YAML and Jinja could misread."""
    spec = yaml.safe_load((ROOT / "environments/prod/environment.yaml").read_text())
    spec["name"] = "max"
    spec["description"] = "yes: {{ cookiecutter.env }} {% raw %} # not a comment\nsecond line"
    spec["secrets"] = {"provider": "age"}
    spec["tags"].update({"yes": "no", "number": "0123", "empty": "", "quote": "it's \"quoted\""})
    spec["cluster"]["loadBalancer"].update({"allowedCidrs": ["0.0.0.0/0"], "public": True})
    cluster = spec["cluster"]
    cluster["authenticationMode"] = "CONFIG_MAP"
    cluster["nodeGroups"][0].update({"imageId": "ami-0123456789abcdef0", "capacityType": "on-demand"})
    cluster["nodeGroups"][1]["releaseVersion"] = "1.35.0-20260120"
    cluster["storage"]["classes"][1].update({"volumeType": "io2", "default": False,
                                            "kmsKeyArn": "arn:aws:kms:us-west-2:553778890976:key/"
                                                         "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"})
    cluster["autoscaler"] = {"enabled": False}
    course = spec["hubs"][0]
    course["auth"]["allowSharedPasswordAdmins"] = False  # (meaningless for github: only the template is tested)
    course["profiles"][0].update({"image": {"name": "quay.io/jupyter/scipy-notebook", "tag": "2026-01-05"},
                                  "cpu": {"guarantee": 0.5, "limit": 2}, "memory": {"limit": "8G"}})
    course["operators"].append({"arn": "arn:aws:iam::553778890976:user/yes", "access": "edit"})
    hub = spec["hubs"][1]
    hub["auth"] = {"type": "generic-oauth", "admins": ["on", "1.5"], "allowedUsers": ["on", "1.5", "null"],
                   "oauth": {"clientId": "client:{{x}}", "clientSecret": {"name": "r-oauth", "key": "k"},
                             "callbackUrl": "https://research.jupyter.asf.alaska.edu/hub/oauth_callback",
                             "authorizeUrl": "https://login.example.org/authorize",
                             "tokenUrl": "https://login.example.org/token",
                             "userdataUrl": "https://login.example.org/userinfo", "usernameClaim": "sub",
                             "scope": ["openid", "on"], "groups": {"claim": "cognito:groups", "allowed": ["no"],
                                                                   "admin": ["1.5", "{{ x }}"]}}}
    hub["singleuser"]["cpu"] = {"guarantee": 0.25, "limit": 4}
    hub["singleuser"]["extraEnv"] = {"A": "true", "B": "", "C": "- list?", "D": "{{ jinja }}"}
    hub["singleuser"]["gitpuller"] = {"repo": "https://github.com/x/y.git", "branch": "2024.1", "targetDir": "a/b"}
    hub["culling"] = {"enabled": False, "timeout": 60, "every": 10}
    hub["values"]["hub"] = {"extraConfig": {"00-x": "c.A = '{{ not jinja }}'\nprint(1)\n"}, "empty": {},
                            "list": [1, "two", None, True]}
    return spec


def written(spec: dict) -> str:
    return render_text(Draft(spec["name"], copy.deepcopy(spec), source="prod"))


@pytest.mark.parametrize("source", ["dev", "prod", "maximal"])
def test_template_writes_back_exactly_the_spec(source):
    spec = maximal_spec() if source == "maximal" else yaml.safe_load(
        (ROOT / f"environments/{source}/environment.yaml").read_text())
    text = written(spec)
    loaded = load_yaml_text(text.encode(), "environments/x/environment.yaml")  # hubgen's strict loader
    assert loaded.problems == []
    assert loaded.data == spec
    assert yaml.safe_load(text) == spec  # and a plain YAML 1.1 reader agrees
    assert text.startswith("# yaml-language-server: $schema=../../schema/environment.schema.json\n")


def _schema_properties(node, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.get("properties", {}).items():
            out.add(k)
        for v in node.values():
            _schema_properties(v, out)
    elif isinstance(node, list):
        for v in node:
            _schema_properties(v, out)
    return out


def test_template_names_and_explains_every_schema_field():
    schema = json.loads((ROOT / "schema/environment.schema.json").read_text())
    template = TEMPLATE.read_text()
    missing = [p for p in sorted(_schema_properties(schema, set()))
               if not re.search(rf"(^|\s|'){re.escape(p)}(:|')", template)]
    assert missing == [], f"schema fields the environment template does not write: {missing}"
    # Comments: at least one comment line per block the template writes.
    fields = [line for line in template.splitlines() if re.match(r"\s*-?\s*[A-Za-z{][^#]*:", line)
              and not line.lstrip().startswith("{%")]
    comments = [line for line in template.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 45 and len(comments) * 2 >= len(fields), (len(comments), len(fields))


def test_every_field_key_is_a_schema_path():
    for f in F.FIELDS:
        assert F.subschema(f.path) is not None, f.key
        if f.choices:
            assert list(f.choices) == F.subschema(f.path)["enum"], f.key


@pytest.mark.parametrize("key, raw, value", [
    ("cluster.nodeGroups.1.maxSize", "6", 6),
    ("cluster.nodeGroups.1.maxSize", "six", "six"),  # kept as text: the schema reports it
    ("cluster.nodeGroups.0.instanceTypes", "m6i.large", ["m6i.large"]),
    ("cluster.nodeGroups.1.instanceTypes", "m6i.2xlarge, m6a.2xlarge", ["m6i.2xlarge", "m6a.2xlarge"]),
    ("cluster.nodeGroups.2.capacityType", "spot", "spot"),
    ("cluster.storage.classes", "[{name: gp3, default: true}]", [{"name": "gp3", "default": True}]),
    ("cluster.autoscaler.enabled", "no", False),
    ("hubs.0.profiles.0.gpus", "1", 1),
    ("hubs.0.auth.allowSharedPasswordAdmins", "yes", True),
    ("cluster.loadBalancer.public", "yes", True),
    ("hubs.0.singleuser.cpu.limit", "0.5", 0.5),
    ("hubs.0.auth.admins", "a, b,,c", ["a", "b", "c"]),
    ("cluster.subnets", "subnet-1:us-east-1a", [{"id": "subnet-1", "availabilityZone": "us-east-1a"}]),
    ("cluster.admins", "arn:aws:iam::1:role/x", [{"arn": "arn:aws:iam::1:role/x"}]),
    ("cluster.admins", "[{arn: 'arn:aws:iam::1:role/x', username: x}]", [{"arn": "arn:aws:iam::1:role/x",
                                                                         "username": "x"}]),
    ("aws.accountId", "012345678901", "012345678901"),
    ("tags.a.b/c", "0123", "0123"),
    ("hubs.0.values.singleuser.defaultUrl", "/lab", "/lab"),
])
def test_set_values_are_typed_by_the_schema(key, raw, value):
    path = F.parse_key(key)
    assert F.parse_value(path, raw) == value
    if not isinstance(value, str) or key.startswith(("aws", "tags")):
        assert F.parse_value(path, F.format_value(path, value)) == value


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(F.UnknownKey, match="did you mean 'cluster.nodeGroups.0.maxSize'"):
        F.parse_key("cluster.nodeGroups.0.maxsize")
    # The version 1 block is gone: its key points at what replaced it.
    with pytest.raises(F.UnknownKey, match="did you mean 'cluster.nodeGroups'"):
        F.parse_key("cluster.nodes.maxSize")
    with pytest.raises(F.UnknownKey, match="is a list; use an index"):
        F.parse_key("hubs.name")
