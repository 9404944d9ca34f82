"""The engines one by one, on real inputs (real cfn-lint, real kubeconform, the real chart schema)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from generator import codes
from generator.artifacts import Kind
from generator.engines.base import EnvArtifacts, LintInputs, Template
from generator.engines.cache import ResultCache
from generator.engines.cfnlint import lint_environments, lint_text, weakly_resolved_parameters
from generator.engines.chart_values import helm_merge
from generator.engines.template_params import check_environment, parse_parameters
from generator.lint import KubeconformEngine, collect_templates
from generator.paths import CLUSTER_TEMPLATE, RepoPaths
from generator.render import render_environment
from generator.render.cloudformation import parameter_sources, parameters
from generator.render.values import VALUE_SOURCES, generated_values
from generator.validate.environments import validate
from tests.lint.helpers import position


def environments(repo: Path) -> dict[str, EnvArtifacts]:
    validation = validate(RepoPaths(repo), files=False)
    out = {}
    for name, r in validation.environments.items():
        assert r.ok, r.problems
        out[name] = EnvArtifacts(r.context, tuple(render_environment(r.context.model)))
    return out


# --- kubeconform: a hand-broken HelmRelease -------------------------------------------------

def test_wrong_flux_field_in_a_helmrelease(repo, tmp_path, lint_env, kubeconform_bin):
    env = environments(repo)["prod"]
    release = "environments/prod/hubs/research/helmrelease.yaml"
    [original] = [f for f in env.files if f.path == release]
    text = original.content.decode()
    assert "  interval: 10m\n" in text
    broken_text = text.replace("  interval: 10m\n", "  intervall: 10m\n", 1)
    broken = replace(original, content=broken_text.encode())
    files = tuple(broken if f.path == release else f for f in env.files)
    inputs = LintInputs(RepoPaths(repo), {}, [EnvArtifacts(env.context, files)],
                        ResultCache(tmp_path / "cache", enabled=False))
    result = KubeconformEngine().check(inputs)
    assert result.units == 1
    assert {p.code for p in result.problems} == {"HG502"}
    # The unknown field, at its key; and the required field it was meant to be.
    [p] = [p for p in result.problems if "intervall" in p.message]
    assert p.environment == "prod"
    assert (p.location.file, p.location.line, p.location.column) == (release, *position(broken_text, "intervall"))
    [missing] = [p for p in result.problems if "intervall" not in p.message]
    assert "'interval'" in missing.message and missing.location.file == release
    # kustomization.yaml (kustomize's own config) is not a cluster object and is never sent to kubeconform.
    assert any(f.kind is Kind.KUSTOMIZE for f in files)


# --- template parameters, type by type --------------------------------------------------------

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Size:
    Type: Number
    MinValue: 20
    MaxValue: 100
  Tier:
    Type: String
    AllowedValues: [small, large]
  Label:
    Type: String
    MinLength: 3
    MaxLength: 5
  Ports:
    Type: List<Number>
    MaxValue: 32767
  Names:
    Type: CommaDelimitedList
    AllowedPattern: ^[a-z]+$
  Vpc:
    Type: AWS::EC2::VPC::Id
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
  Image:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/eks/optimized-ami
  Required:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
"""


@pytest.fixture
def prod(repo, lint_env) -> EnvArtifacts:
    return environments(repo)["prod"]


def test_parameter_constraints(prod):
    template = Template(CLUSTER_TEMPLATE, TEMPLATE.encode())
    parsed = parse_parameters(template)
    assert not parsed.problems and parsed.unreadable is None
    params = {
        "Size": "10", "Tier": "medium", "Label": "ab", "Ports": ["80", "x", "40000"], "Names": ["ok", "a,b", "Up"],
        "Vpc": "vpc-123", "Subnets": ["subnet-0123abcd", "sn-1"], "Image": "/aws/service/x", "Extra": "1",
    }
    messages = sorted(p.message for p in check_environment(template, parsed, prod, params))
    expect = [
        "Size = '10' is below MinValue 20",
        "Tier = 'medium' is not one of the AllowedValues ['small', 'large']",
        "Label = 'ab' is shorter than MinLength 3",
        "Ports: value 'x' is not a number (Type List<Number>,",
        "Ports: value '40000' is above MaxValue 32767",
        "Names: value 'a,b' contains a comma",
        "Names: value 'Up' does not match the AllowedPattern '^[a-z]+$'",
        "Vpc = 'vpc-123' is not a valid AWS::EC2::VPC::Id",
        "Subnets: value 'sn-1' (from cluster.subnets) is not a valid AWS::EC2::Subnet::Id",
        "stack parameter Extra is not declared",
        "template parameter Required has no Default",
    ]
    for fragment in expect:
        assert sum(fragment in m for m in messages) == 1, (fragment, messages)
    assert len(messages) == len(expect), messages
    good = {"Size": "20", "Tier": "large", "Label": "abcde", "Ports": ["80", "443"], "Names": ["a", "b"],
            "Vpc": "vpc-0123abcd", "Subnets": ["subnet-0123abcd"], "Required": ""}
    assert check_environment(template, parsed, prod, good) == []


def test_list_given_to_a_string_parameter(prod):
    template = Template(CLUSTER_TEMPLATE, TEMPLATE.encode())
    params = {"Size": "20", "Tier": "large", "Label": ["abc", "def"], "Ports": ["80"], "Names": ["a"],
              "Vpc": "vpc-0123abcd", "Subnets": ["subnet-0123abcd"], "Required": ""}
    [p] = check_environment(template, parse_parameters(template), prod, params)
    assert "is a list" in p.message and "'abc,def'" in p.message


def test_bad_parameters_block_is_reported_at_the_template(prod):
    text = TEMPLATE.replace("    AllowedPattern: ^[a-z]+$", "    AllowedPattern: '[a-z'").replace(
        "    Type: AWS::EC2::VPC::Id", "    Type: AWS::EC2::Vpc::Id")
    parsed = parse_parameters(Template(CLUSTER_TEMPLATE, text.encode()))
    found = {p.message.split(":")[0]: p for p in parsed.problems}
    assert set(found) == {"parameter Names", "parameter Vpc has Type 'AWS"}
    assert found["parameter Names"].location.line == position(text, "[a-z'")[0]
    assert all(p.code == "HG505" and p.location.file == CLUSTER_TEMPLATE for p in parsed.problems)


#: Parameters computed from the field their source names rather than copied from it: the AMI's SSM parameter
#: (from the version), EKS's spelling of a capacity type or a boolean, a user group's subnets (from its zone), its
#: AMI type and GPU flag (from its instance types).
DERIVED_PARAMETERS = re.compile(r"CoreNodeImageParameter|ClusterAutoscaler|UserNodeGroup[0-9]+(CapacityType|Subnets|AmiType|Gpu)"
                                r"|CostTag(Key|Value)[0-9]+|BudgetName|BudgetCostFilter|BudgetForecast")


def test_parameter_sources_cover_every_parameter(repo, lint_env):
    """The param -> spec map (one place, next to parameters()) names a spec field for every value hubgen
    writes, and that field holds exactly the value written (unless the parameter is derived from it, or the
    field is left to its default: then problems are shown at the nearest field the spec has)."""
    for env in environments(repo).values():
        model, spec = env.context.model, env.context.spec
        sources = parameter_sources(model)
        for name, value in parameters(model).items():
            assert name in sources, f"{name} has no spec source in parameter_sources()"
            if value in ("", []):
                continue
            node = spec
            for step in sources[name]:
                present = step in node if isinstance(node, dict) else 0 <= step < len(node)
                if not present:
                    break
                node = node[step]
            if not present or DERIVED_PARAMETERS.fullmatch(name):
                continue
            if isinstance(value, list):
                assert [item["id"] if isinstance(item, dict) else item for item in node] == value, name
            else:
                assert str(node) == value, name


#: Generated values that are constants (not fed by any spec field).
CONSTANT_VALUES = {("proxy", "https", "enabled"), ("proxy", "service", "type"), ("singleuser", "storage", "type")}


def test_value_sources_cover_every_generated_value(repo, lint_env):
    def leaves(node, path=()):
        if isinstance(node, dict) and node:
            for k, v in node.items():
                yield from leaves(v, (*path, k))
        else:
            yield path

    for env in environments(repo).values():
        for hub in env.context.model.hubs:
            for path in leaves(generated_values(hub)):
                if path in CONSTANT_VALUES:
                    continue
                assert any(path[:n] in VALUE_SOURCES for n in range(len(path), 0, -1)), path


# --- Helm's coalescing ---------------------------------------------------------------------

def test_helm_merge_coalesces_like_helm():
    defaults = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "keep": True, "gone": {"x": 1}}
    values = {"a": {"c": [3], "d": None, "n": {"m": 1}}, "gone": None, "new": 1}
    assert helm_merge(defaults, values) == {"a": {"b": 1, "c": [3], "n": {"m": 1}}, "keep": True, "new": 1}
    assert defaults["a"]["d"] == {"e": 1}  # inputs are not modified


# --- cfn-lint: one run for many environments, findings attributed to each -------------------

SUB_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Vpc:
    Type: String
Resources:
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Port: 80
      Protocol: HTTP
      TargetType: instance
      VpcId: !Sub "${Vpc}"
"""


def test_weakly_resolved_parameters_split_batches_and_unnamed_findings_are_bisected():
    """Why batches are split by the values of parameters used under Fn::Sub (and Join, Select, ...):
    cfn-lint 1.58 reports an error there only when *no* parameter set's value is valid, and does not
    name the set. So environments share a batch only when those values are equal, and a finding that
    names no set is attributed by re-running the batch in halves."""
    from cfnlint.decode import decode_str

    good, bad = {"Vpc": "vpc-0123abcd"}, {"Vpc": "not-a-vpc"}
    assert lint_text(SUB_TEMPLATE, "us-east-1", [("good", good), ("bad", bad)]) == []  # hidden by the good value
    [alone] = lint_text(SUB_TEMPLATE, "us-east-1", [("bad", bad)])
    assert alone["rule"] == "W1031" and " from [" not in alone["message"]

    decoded, _ = decode_str(SUB_TEMPLATE)
    assert weakly_resolved_parameters(decoded, {"Vpc"}) == {"Vpc"}
    baseline = {(f["rule"], tuple(f["path"]), f["message"]) for f in lint_text(SUB_TEMPLATE, "us-east-1")}
    found = lint_environments(SUB_TEMPLATE, "us-east-1", [("a", bad), ("b", dict(bad))], baseline)
    assert {k: [f["rule"] for f in v] for k, v in found.items()} == {"a": ["W1031"], "b": ["W1031"]}


def test_cluster_template_batches_all_environments_of_a_region(repo):
    """The cluster template uses its parameters through Ref (and Fn::If around Refs), which cfn-lint checks per
    parameter set, except the core group's name in the core nodes' user data (Fn::Sub): environments of a region
    share batches unless their core groups are named differently."""
    from cfnlint.decode import decode_str

    decoded, errors = decode_str((repo / CLUSTER_TEMPLATE).read_text())
    assert not errors
    assert weakly_resolved_parameters(decoded, set(decoded["Parameters"])) == {"CoreNodeGroupName"}


def test_template_findings_are_not_repeated_per_environment():
    text = SUB_TEMPLATE.replace("      Port: 80\n", "      Port: 80\n      Bogus: 1\n")
    own = lint_text(text, "us-east-1")
    assert [f["rule"] for f in own] == ["E3002"]
    baseline = {(f["rule"], tuple(f["path"]), f["message"]) for f in own}
    found = lint_environments(text, "us-east-1", [("a", {"Vpc": "vpc-0123abcd"}), ("b", {"Vpc": "vpc-4567abcd"})],
                              baseline)
    assert found == {"a": [], "b": []}


def test_templates_are_collected_from_the_repository(repo):
    templates = collect_templates(RepoPaths(repo))
    assert CLUSTER_TEMPLATE in templates
    assert all(t.path.startswith("manifests/cloudformation/") for t in templates.values())
    assert codes.HG501.severity.value == "error"
