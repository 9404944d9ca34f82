"""manifests/cloudformation/cluster.yaml (version 2: core and user node groups, add-ons, pod identities, access
entries by authentication mode) against the parameters hubgen writes for it, and the deploy roles that create it.

Environments are the example specs (environments/dev, environments/prod) read with hubgen's loader and built into
the model, plus variants of prod's spec (five operators, CONFIG_MAP). The template is evaluated two ways: by cfn-lint
1.58 with each environment's parameters (hubgen's own cfn-lint job), and by a small evaluator here for what cfn-lint
does not tell (which resources exist for a parameter set, and what their labels and taints resolve to).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import decode_str

from generator.checks import EnvContext
from generator.engines import cfnlint as cfn
from generator.engines.base import EnvArtifacts, Template
from generator.engines.template_params import check_environment, parse_parameters
from generator.loader.yaml_loader import load_yaml_file
from generator.model import Environment, build
from generator.paths import CLUSTER_TEMPLATE, EnvPaths
from generator.platform import nodes
from generator.render.cloudformation import (MAX_OPERATORS, MAX_USER_GROUPS, USER_GROUP_FIELDS, USER_GROUP_LISTS,
                                             parameter_sources, parameters)
from tests.conftest import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / CLUSTER_TEMPLATE
GITHUB_OIDC = REPO_ROOT / "manifests/cloudformation/github-oidc.yaml"
PIPELINE = REPO_ROOT / "manifests/cloudformation/pipeline.yaml"
NO_VALUE = object()
#: Kubernetes' taint effects in EKS's spelling (AWS::EKS::Nodegroup Taints).
EKS_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
NODE_TEMPLATE_LABEL = "k8s.io/cluster-autoscaler/node-template/label/"


# --- inputs -----------------------------------------------------------------------------------------------------

def _plain(node: Any) -> Any:
    """cfn-lint's decoded nodes as plain dicts, lists and strs."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def _decode(path: Path) -> dict:
    decoded, errors = decode_str(path.read_text(encoding="utf-8"))
    assert not errors, errors
    return _plain(decoded)


@pytest.fixture(scope="module")
def text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def template() -> dict:
    return _decode(TEMPLATE_PATH)


def _spec(name: str):
    rel = f"environments/{name}/environment.yaml"
    loaded = load_yaml_file(REPO_ROOT / rel, rel)
    assert not loaded.problems, loaded.problems
    return loaded


def _variant(loaded, name: str, change) -> EnvArtifacts:
    """An environment built from a copy of ``loaded``'s spec after ``change(spec)``; positions are the original's."""
    spec = copy.deepcopy(loaded.data)
    change(spec)
    return _artifacts(name, copy.copy(loaded), spec)


def _artifacts(name: str, loaded, spec: dict | None = None) -> EnvArtifacts:
    if spec is not None:
        loaded.data = spec
    model = build(loaded.data)
    return EnvArtifacts(EnvContext(name, EnvPaths(name), loaded, model), ())


def _five_operators(spec: dict) -> None:
    """prod has two operators (one per hub); three more fill every slot, across both hubs."""
    extra = [("course", "arn:aws:iam::553778890976:role/ta-2", "view"),
             ("research", "arn:aws:iam::553778890976:role/postdoc", "view"),
             ("research", "arn:aws:iam::553778890976:user/pi", "edit")]
    hubs = {h["namespace"]: h for h in spec["hubs"]}
    for namespace, arn, access in extra:
        hubs[namespace].setdefault("operators", []).append({"arn": arn, "access": access})


@pytest.fixture(scope="module")
def envs() -> dict[str, EnvArtifacts]:
    """dev, prod, prod with five operators, dev in CONFIG_MAP mode, prod without the autoscaler and with pins."""
    dev, prod = _spec("dev"), _spec("prod")

    def pinned(spec: dict) -> None:
        spec["cluster"]["autoscaler"] = {"enabled": False}
        spec["cluster"]["nodeGroups"][0]["imageId"] = "ami-0123456789abcdef0"
        spec["cluster"]["nodeGroups"][1]["releaseVersion"] = "1.35.0-20260120"

    return {
        "dev": _artifacts("dev", dev),
        "prod": _artifacts("prod", prod),
        "operators": _variant(prod, "operators", _five_operators),
        "configmap": _variant(dev, "configmap", lambda s: s["cluster"].update(authenticationMode="CONFIG_MAP")),
        "pinned": _variant(prod, "pinned", pinned),
    }


def model(envs: dict[str, EnvArtifacts], name: str) -> Environment:
    return envs[name].context.model


# --- a small evaluator: conditions, Ref, Fn::If, Fn::Sub --------------------------------------------------------

class Evaluation:
    """The template under one parameter set: which conditions hold, what a property resolves to."""

    def __init__(self, template: dict, params: dict[str, Any]):
        self.template = template
        self.params = params
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        (fn, args), = node.items()
        if fn == "Fn::Equals":
            a, b = (self.resolve(x) for x in args)
            return str(a) == str(b)
        if fn == "Fn::Not":
            return not self._truth(args[0])
        if fn == "Fn::And":
            return all(self._truth(x) for x in args)
        if fn == "Fn::Or":
            return any(self._truth(x) for x in args)
        if fn == "Condition":
            return self.condition(args)
        raise AssertionError(f"condition function {fn} not understood")

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1:
                (fn, args), = node.items()
                if fn == "Ref":
                    if args == "AWS::NoValue":
                        return NO_VALUE
                    if args in self.params:
                        return self.params[args]
                    return {"Ref": args}  # a resource or pseudo parameter: left as it is
                if fn == "Fn::If":
                    return self.resolve(args[1] if self.condition(args[0]) else args[2])
                if fn == "Fn::Sub" and isinstance(args, list):
                    variables = {k: self.resolve(v) for k, v in args[1].items()}
                    return re.sub(r"\$\{([^}!]+)\}", lambda m: str(variables.get(m.group(1), self.params.get(
                        m.group(1), m.group(0)))), args[0])
                if fn == "Condition":
                    return self.condition(args)
            out = {k: self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not NO_VALUE]
        return node

    def resources(self) -> dict[str, dict]:
        """The resources that exist for this parameter set."""
        return {name: r for name, r in self.template["Resources"].items()
                if "Condition" not in r or self.condition(r["Condition"])}

    def properties(self, logical_id: str) -> dict:
        return self.resolve(self.template["Resources"][logical_id]["Properties"])


def evaluation(template: dict, envs: dict[str, EnvArtifacts], name: str) -> Evaluation:
    return Evaluation(template, parameters(model(envs, name)))


def refs(node: Any) -> Iterator[str]:
    """Names a node references: Ref and Fn::GetAtt targets and ${Name} in Fn::Sub strings."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                yield v
            elif k == "Fn::GetAtt":
                yield v[0] if isinstance(v, list) else str(v).split(".", 1)[0]
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                yield from re.findall(r"\$\{([^}!.]+)\}", text)
                if isinstance(v, list):
                    yield from refs(v[1])
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


# --- cfn-lint and the params engine -----------------------------------------------------------------------------

def test_template_is_cfn_lint_clean_in_every_example_region(text, envs):
    for region in sorted({model(envs, n).region for n in envs}):
        assert cfn.lint_template(text, region)["findings"] == [], region


def test_cfn_lint_clean_with_each_environments_parameters(text, envs):
    """hubgen's own cfn-lint job, as `hubgen lint` runs it: every environment's parameter set, batched."""
    jobs = [(name, model(envs, name).region, parameters(model(envs, name))) for name in envs]
    found = cfn.evaluate_environments(text, jobs, {})
    assert set(found) == set(envs)
    assert {name: found[name]["findings"] for name in envs} == {name: [] for name in envs}


def test_cfn_lint_really_evaluates_the_user_groups(text, envs):
    """A value the spec schema would never produce reaches the node group, and cfn-lint reports it there: the clean
    results above come from evaluating the slots, not from skipping them."""
    bad = dict(parameters(model(envs, "prod")), UserNodeGroup1CapacityType="ONDEMAND")
    [finding] = cfn.evaluate_environments(text, [("bad", "us-west-2", bad)], {})["bad"]["findings"]
    assert finding["rule"] == "W1030" and finding["parameter"] == "UserNodeGroup1CapacityType"
    assert finding["path"][:3] == ["Resources", "UserNodeGroup1", "Properties"]


def test_ssm_typed_parameters_are_left_to_cloudformation(template):
    """CoreNodeImageParameter holds an SSM parameter name; CloudFormation passes the template the AMI id it names."""
    assert template["Parameters"]["CoreNodeImageParameter"]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert cfn.ssm_value_parameters(template["Parameters"]) == {"CoreNodeImageParameter"}


def test_params_engine_accepts_every_generated_parameter(text, envs):
    tpl = Template(CLUSTER_TEMPLATE, text.encode())
    parsed = parse_parameters(tpl)
    assert parsed.problems == [] and parsed.unreadable is None
    for name, env in envs.items():
        params = parameters(env.context.model)
        assert set(params) == set(parsed.declarations), name  # every declared parameter written, nothing else
        assert check_environment(tpl, parsed, env, params) == [], name


def test_every_parameter_has_a_spec_source(envs):
    for name, env in envs.items():
        m = env.context.model
        assert set(parameter_sources(m)) == set(parameters(m)), name


# --- slots ------------------------------------------------------------------------------------------------------

def _slot_of(param: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"UserNodeGroup(\d+)[A-Za-z]*", param) or re.fullmatch(r"Operator[A-Za-z]+?(\d+)", param)
    if m is None:
        return None
    return ("user" if param.startswith("User") else "operator", int(m.group(1)))


SLOT_CONDITION = {"user": "HasUserNodeGroup{}", "operator": "HasOperator{}"}


def test_every_resource_using_a_slot_is_conditioned_on_it(template):
    """A slot's resources (and outputs) exist only when the slot is filled: an empty slot never reaches AWS."""
    checked = set()
    for section in ("Resources", "Outputs"):
        for name, body in template[section].items():
            slots = {s for p in refs(body) if (s := _slot_of(p)) is not None}
            assert len(slots) <= 1, (name, slots)
            for kind, i in slots:
                assert body.get("Condition") == SLOT_CONDITION[kind].format(i), name
                checked.add(name)
    expected = {f"UserNodeGroup{i}{suffix}" for i in range(1, MAX_USER_GROUPS + 1)
                for suffix in ("", "LaunchTemplate", "NodegroupName")}
    expected |= {f"OperatorAccessEntry{j}" for j in range(1, MAX_OPERATORS + 1)}
    assert checked == expected


def test_unused_slots_are_empty_and_their_resources_absent(template, envs):
    dev = parameters(model(envs, "dev"))
    for i in range(1, MAX_USER_GROUPS + 1):
        for field in USER_GROUP_FIELDS:
            assert dev[f"UserNodeGroup{i}{field}"] == ([] if field in USER_GROUP_LISTS else "")
    for j in range(1, MAX_OPERATORS + 1):
        assert [dev[f"Operator{k}{j}"] for k in ("PrincipalArn", "Namespace", "Access")] == ["", "", ""]
    present = set(Evaluation(template, dev).resources())
    assert not {r for r in present if r.startswith(("UserNodeGroup", "OperatorAccessEntry"))}
    prod = set(evaluation(template, envs, "prod").resources())
    assert {r for r in prod if r.startswith("UserNodeGroup")} == {
        f"UserNodeGroup{i}{suffix}" for i in (1, 2, 3) for suffix in ("", "LaunchTemplate")}
    assert {r for r in prod if r.startswith("OperatorAccessEntry")} == {"OperatorAccessEntry1", "OperatorAccessEntry2"}


def test_user_groups_fill_the_slots_in_spec_order(template, envs):
    m = model(envs, "prod")
    p = parameters(m)
    zone_subnets = {s.availability_zone: [] for s in m.cluster.subnets}
    for s in m.cluster.subnets:
        zone_subnets[s.availability_zone].append(s.id)
    for i, g in enumerate(m.cluster.user_groups, start=1):
        assert p[f"UserNodeGroup{i}Name"] == g.name
        assert p[f"UserNodeGroup{i}InstanceTypes"] == list(g.instance_types)
        assert p[f"UserNodeGroup{i}CapacityType"] == ("SPOT" if g.spot else "ON_DEMAND")
        assert p[f"UserNodeGroup{i}Subnets"] == zone_subnets[g.availability_zone]
        assert p[f"UserNodeGroup{i}AmiType"] == nodes.ami_type(g)
        assert p[f"UserNodeGroup{i}Gpu"] == ("true" if nodes.has_gpus(g) else "false")
        assert (p[f"UserNodeGroup{i}MinSize"], p[f"UserNodeGroup{i}MaxSize"]) == (str(g.min_size), str(g.max_size))
    assert [p[f"UserNodeGroup{i}Name"] for i in (1, 2, 3, 4)] == ["user", "user-spot", "gpu", ""]
    assert p["UserNodeGroup3AmiType"] == "AL2023_x86_64_NVIDIA" and p["UserNodeGroup2CapacityType"] == "SPOT"
    # Where HG505 and cfn-lint findings about a slot land: the group's own fields.
    src = parameter_sources(m)
    assert src["UserNodeGroup2InstanceTypes"] == ("cluster", "nodeGroups", 2, "instanceTypes")
    assert src["UserNodeGroup3Subnets"] == ("cluster", "nodeGroups", 3, "availabilityZone")
    assert src["UserNodeGroup4Name"] == ("cluster", "nodeGroups")


def test_core_group_parameters_and_ami(template, envs):
    m = model(envs, "dev")
    p = parameters(m)
    core = m.cluster.core_group
    assert (p["CoreNodeGroupName"], p["CoreNodeInstanceType"]) == (core.name, core.instance_types[0])
    assert p["CoreNodeImageParameter"] == nodes.ami_parameter(core, m.cluster.kubernetes_version) == (
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/image_id")
    image = lambda name: evaluation(template, envs, name).properties("NodeLaunchTemplate")[  # noqa: E731
        "LaunchTemplateData"]["ImageId"]
    assert image("dev") == p["CoreNodeImageParameter"]  # CloudFormation turns the name into the AMI id
    assert image("pinned") == "ami-0123456789abcdef0"


def test_five_operators_fill_every_slot_hub_by_hub(template, envs):
    p = parameters(model(envs, "operators"))
    slots = [(p[f"OperatorPrincipalArn{j}"], p[f"OperatorNamespace{j}"], p[f"OperatorAccess{j}"])
             for j in range(1, MAX_OPERATORS + 1)]
    assert slots == [
        ("arn:aws:iam::553778890976:role/jupyter-course-ta", "course", "view"),
        ("arn:aws:iam::553778890976:role/ta-2", "course", "view"),
        ("arn:aws:iam::553778890976:role/jupyter-research-lead", "research", "edit"),
        ("arn:aws:iam::553778890976:role/postdoc", "research", "view"),
        ("arn:aws:iam::553778890976:user/pi", "research", "edit"),
    ]
    ev = evaluation(template, envs, "operators")
    for j, (arn, namespace, access) in enumerate(slots, start=1):
        entry = ev.properties(f"OperatorAccessEntry{j}")
        [policy] = entry["AccessPolicies"]
        assert entry["PrincipalArn"] == arn
        assert policy["AccessScope"] == {"Type": "namespace", "Namespaces": [namespace]}
        expected = "AmazonEKSEditPolicy" if access == "edit" else "AmazonEKSViewPolicy"
        assert policy["PolicyArn"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:eks::aws:cluster-access-policy/{expected}"}


# --- no desired size --------------------------------------------------------------------------------------------

def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keys(v)
    elif isinstance(node, list):
        for v in node:
            yield from _keys(v)


def test_no_desired_size_anywhere(template):
    """The cluster-autoscaler owns the size of every group; a stack update must never reset it."""
    keys = set(_keys(template["Resources"]))
    assert not keys & {"DesiredCapacity", "DesiredSize"}
    groups = [r for r in template["Resources"].values()
              if r["Type"] in ("AWS::AutoScaling::AutoScalingGroup", "AWS::EKS::Nodegroup")]
    assert len(groups) == 1 + MAX_USER_GROUPS


# --- labels and taints: one definition (generator/platform/nodes.py) ---------------------------------------------

def test_user_group_labels_and_taints_equal_nodes_py(template, envs):
    m = model(envs, "prod")
    ev = evaluation(template, envs, "prod")
    assert any(nodes.has_gpus(g) for g in m.cluster.user_groups)  # the GPU label and taint are covered too
    for i, g in enumerate(m.cluster.user_groups, start=1):
        props = ev.properties(f"UserNodeGroup{i}")
        assert props["Labels"] == nodes.labels(g), g.name
        assert props["Taints"] == [{"Key": t.key, "Value": t.value, "Effect": EKS_EFFECTS[t.effect]}
                                   for t in nodes.taints(g)], g.name


def _core_node_labels(ev: Evaluation) -> dict[str, str]:
    data = ev.properties("NodeLaunchTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    [flag] = re.findall(r"--node-labels=(\S+)", data)
    return dict(item.split("=", 1) for item in flag.split(","))


def test_core_group_labels_equal_nodes_py(template, envs):
    """nodeadm's kubelet flags label the core nodes; the Auto Scaling group tells the autoscaler the same labels."""
    for name in ("dev", "prod"):
        core = model(envs, name).cluster.core_group
        ev = evaluation(template, envs, name)
        assert _core_node_labels(ev) == nodes.labels(core), name
        tags = {t["Key"]: t for t in ev.properties("NodeGroup")["Tags"] if isinstance(t["Key"], str)}
        template_labels = {k[len(NODE_TEMPLATE_LABEL):]: t["Value"] for k, t in tags.items()
                           if k.startswith(NODE_TEMPLATE_LABEL)}
        assert template_labels == nodes.labels(core), name
        assert tags["k8s.io/cluster-autoscaler/enabled"]["Value"] == "true"
        assert all(t["PropagateAtLaunch"] is False for k, t in tags.items() if k.startswith("k8s.io/cluster-autoscaler/"))
        owned = [t for t in ev.properties("NodeGroup")["Tags"] if not isinstance(t["Key"], str)]
        assert [t["Key"] for t in owned] == [{"Fn::Sub": "kubernetes.io/cluster/${AWS::StackName}"},
                                             {"Fn::Sub": "k8s.io/cluster-autoscaler/${AWS::StackName}"}]


# --- authentication modes ---------------------------------------------------------------------------------------

def test_access_entries_exist_exactly_when_the_cluster_reads_them(template, envs):
    for name in envs:
        m = model(envs, name)
        ev = evaluation(template, envs, name)
        entries = {r for r, body in ev.resources().items() if body["Type"] == "AWS::EKS::AccessEntry"}
        access = ev.properties("Cluster")["AccessConfig"]
        assert access["AuthenticationMode"] == m.cluster.authentication_mode
        if m.cluster.uses_access_entries:
            assert {"NodeAccessEntry", "DeployRoleAccessEntry", "AdminAccessEntry1"} <= entries, name
            assert access["BootstrapClusterCreatorAdminPermissions"] is False
        else:  # EKS refuses access entries in CONFIG_MAP mode, and requires the creator's implicit admin
            assert entries == set(), name
            assert access["BootstrapClusterCreatorAdminPermissions"] is True
            assert ev.resolve(template["Resources"]["NodeGroup"]["Metadata"]["NodeAccessEntry"]) == ""
    assert model(envs, "configmap").cluster.authentication_mode == "CONFIG_MAP"


def test_node_groups_follow_the_node_access_entry(template, envs):
    """DependsOn cannot be conditional: a Ref in Metadata orders every group after the entry when it exists."""
    ev = evaluation(template, envs, "prod")
    for name in ["NodeGroup"] + [f"UserNodeGroup{i}" for i in range(1, MAX_USER_GROUPS + 1)]:
        assert ev.resolve(template["Resources"][name]["Metadata"]["NodeAccessEntry"]) == {"Ref": "NodeAccessEntry"}


# --- add-ons and the autoscaler's role --------------------------------------------------------------------------

def test_ebs_csi_driver_uses_pod_identity_with_its_own_role(template):
    res = template["Resources"]
    addons = {r["Properties"]["AddonName"]: r for r in res.values() if r["Type"] == "AWS::EKS::Addon"}
    assert set(addons) == {"aws-ebs-csi-driver", "eks-pod-identity-agent"}
    [association] = addons["aws-ebs-csi-driver"]["Properties"]["PodIdentityAssociations"]
    assert association == {"ServiceAccount": "ebs-csi-controller-sa", "RoleArn": {"Fn::GetAtt": ["EbsCsiDriverRole", "Arn"]}}
    # The node plugin must run on the tainted user and GPU nodes too, or their volumes never mount.
    assert json.loads(addons["aws-ebs-csi-driver"]["Properties"]["ConfigurationValues"]) == {
        "node": {"tolerateAllTaints": True}}
    role = res["EbsCsiDriverRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"}]
    assert "Policies" not in role
    _assert_pod_identity_trust(role, "ebs-csi-controller-sa")


def _assert_pod_identity_trust(role: dict, service_account: str) -> None:
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == "kube-system"
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == service_account
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] == {"Fn::GetAtt": ["Cluster", "Arn"]}


def test_cluster_autoscaler_role_scales_only_this_clusters_groups(template, envs):
    res = template["Resources"]
    for name in ("ClusterAutoscalerRole", "ClusterAutoscalerPodIdentity"):
        assert res[name]["Condition"] == "HasClusterAutoscaler"
    association = res["ClusterAutoscalerPodIdentity"]["Properties"]
    assert (association["Namespace"], association["ServiceAccount"]) == ("kube-system", "cluster-autoscaler")
    role = res["ClusterAutoscalerRole"]["Properties"]
    _assert_pod_identity_trust(role, "cluster-autoscaler")
    [policy] = role["Policies"]
    by_sid = {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}
    writes = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    for sid, st in by_sid.items():
        if writes & set(st["Action"]):
            assert st["Resource"] != "*", sid
    assert by_sid["ScaleManagedGroups"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/eks:cluster-name": {"Ref": "AWS::StackName"}}}
    assert by_sid["ScaleCoreGroup"]["Resource"]["Fn::Sub"].endswith(":autoScalingGroupName/${AWS::StackName}-NodeGroup-*")
    assert by_sid["DescribeOwnNodegroups"]["Action"] == "eks:DescribeNodegroup"
    assert {"ec2:DescribeImages", "ec2:GetInstanceTypesFromInstanceRequirements", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions"} <= set(by_sid["DiscoverWithoutResourceLevelPermissions"]["Action"])
    assert "ClusterAutoscalerRole" in evaluation(template, envs, "prod").resources()
    assert "ClusterAutoscalerRole" not in evaluation(template, envs, "pinned").resources()


# --- the deploy roles -------------------------------------------------------------------------------------------

def _statements(doc: dict) -> list[dict]:
    return [s for s in doc["Statement"] if isinstance(s, dict) and "Effect" in s] + [
        s["Fn::If"][1] for s in doc["Statement"] if isinstance(s, dict) and "Fn::If" in s]


def _role_statements(tpl: dict, role: str) -> list[dict]:
    """Every statement granted to ``role``: its inline policies and the managed policies attached to it."""
    out = []
    res = tpl["Resources"]
    for p in res[role]["Properties"].get("Policies", []):
        out += _statements(p["PolicyDocument"])
    for body in res.values():
        if body["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in body["Properties"].get("Roles", []):
            out += _statements(body["Properties"]["PolicyDocument"])
    return out


def _actions(st: dict) -> set[str]:
    return {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])


def _resources(st: dict) -> list[str]:
    items = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
    return [r["Fn::Sub"] if isinstance(r, dict) else r for r in items]


#: What CloudFormation calls to create each resource type of the cluster template.
CREATE_ACTIONS = {
    "AWS::IAM::Role": "iam:CreateRole",
    "AWS::IAM::InstanceProfile": "iam:CreateInstanceProfile",
    "AWS::IAM::OIDCProvider": "iam:CreateOpenIDConnectProvider",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup",
    "AWS::EKS::Cluster": "eks:CreateCluster",
    "AWS::EKS::AccessEntry": "eks:CreateAccessEntry",
    "AWS::EKS::Addon": "eks:CreateAddon",
    "AWS::EKS::PodIdentityAssociation": "eks:CreatePodIdentityAssociation",
    "AWS::EKS::Nodegroup": "eks:CreateNodegroup",
    "AWS::EC2::SecurityGroup": "ec2:CreateSecurityGroup",
    "AWS::EC2::SecurityGroupIngress": "ec2:AuthorizeSecurityGroupIngress",
    "AWS::EC2::LaunchTemplate": "ec2:CreateLaunchTemplate",
    "AWS::AutoScaling::AutoScalingGroup": "autoscaling:CreateAutoScalingGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing:CreateLoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "elasticloadbalancing:CreateTargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener": "elasticloadbalancing:CreateListener",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "elasticloadbalancing:CreateRule",
    "AWS::Budgets::Budget": "budgets:ModifyBudget",
}


@pytest.fixture(scope="module")
def deploy_roles() -> dict[str, list[dict]]:
    """The GitHub Actions deploy role and the CodePipeline route's CloudFormation service role."""
    return {"github-oidc": _role_statements(_decode(GITHUB_OIDC), "DeployRole"),
            "pipeline": _role_statements(_decode(PIPELINE), "ClusterDeployRole")}


def test_deploy_roles_can_create_every_resource_of_the_template(template, deploy_roles):
    types = {r["Type"] for r in template["Resources"].values()}
    assert types <= set(CREATE_ACTIONS), types - set(CREATE_ACTIONS)
    role_names = {r["Properties"]["RoleName"]["Fn::Sub"].replace("${AWS::StackName}", "${ClusterStackName}")
                  for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"}
    assert {n.rsplit("-", 1)[-1] for n in role_names} == {"cluster", "node", "csi", "scaler"}
    for route, statements in deploy_roles.items():
        granted = set().union(*(_actions(st) for st in statements))
        assert {CREATE_ACTIONS[t] for t in types} <= granted, (route, {CREATE_ACTIONS[t] for t in types} - granted)
        for name in role_names:
            arn = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"
            for action in ("iam:CreateRole", "iam:PassRole", "iam:TagRole"):
                assert any(action in _actions(st) and arn in _resources(st) for st in statements), (route, name, action)
        # CloudFormation resolves the core AMI's SSM parameter with the deploying credentials.
        assert any("ssm:GetParameters" in _actions(st) and any("parameter/aws/service/eks/optimized-ami/" in r
                                                                for r in _resources(st)) for st in statements), route
        assert any("iam:CreateServiceLinkedRole" in _actions(st) and any("AWSServiceRoleForAmazonEKSNodegroup" in r
                                                                          for r in _resources(st))
                   for st in statements), route


def test_both_routes_hold_the_same_statements(deploy_roles):
    """The GitHub Actions deploy role creates the stack's resources itself; the CodePipeline route's CloudFormation
    service role does the same for the same template: the managed policies are equal, and the deploy role holds
    every action of the service role (tests/gitops/test_github_oidc.py checks the service role's inline ones)."""
    oidc, pipeline = _decode(GITHUB_OIDC)["Resources"], _decode(PIPELINE)["Resources"]
    for ours, theirs in (("ClusterPlatformPolicy", "ClusterDeployPlatformPolicy"),
                         ("ClusterComputePolicy", "ClusterDeployComputePolicy")):
        assert oidc[ours]["Properties"]["PolicyDocument"] == pipeline[theirs]["Properties"]["PolicyDocument"], ours
    granted = set().union(*(_actions(st) for st in deploy_roles["github-oidc"]))
    needed = set().union(*(_actions(st) for st in deploy_roles["pipeline"]))
    assert needed <= granted, sorted(needed - granted)


#: The longest values the policies' ${...} can take: a 55-character stack name (the spec's limit), a long region.
WORST_CASE = {"AWS::Partition": "aws-us-gov", "AWS::Region": "ap-southeast-5", "AWS::AccountId": "123456789012",
              "AWS::URLSuffix": "amazonaws.com", "ClusterStackName": "x" * 55, "TemplateBucketName": "b" * 63,
              "EnvironmentName": "e" * 63}


def _worst(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"}:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            return re.sub(r"\$\{([^}]+)\}", lambda m: WORST_CASE.get(m.group(1), "x" * 128), text)
        if set(node) == {"Ref"}:
            return WORST_CASE.get(node["Ref"], "x" * 64)
        if set(node) == {"Fn::If"}:
            return _worst(node["Fn::If"][1])
        return {k: _worst(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_worst(v) for v in node]
    return node


def _size(doc: dict) -> int:
    """Characters IAM counts against its quotas (white space outside strings is not counted)."""
    return len(json.dumps(_worst(doc), separators=(",", ":")))


def test_deploy_role_policies_fit_iam_quotas():
    """A managed policy holds at most 6,144 characters; a role's inline policies together at most 10,240."""
    for path in (GITHUB_OIDC, PIPELINE):
        for name, body in _decode(path)["Resources"].items():
            props = body.get("Properties", {})
            if body["Type"] == "AWS::IAM::ManagedPolicy":
                assert _size(props["PolicyDocument"]) <= 6144, (path.name, name)
            if body["Type"] == "AWS::IAM::Role" and props.get("Policies"):
                assert sum(_size(p["PolicyDocument"]) for p in props["Policies"]) <= 10240, (path.name, name)
