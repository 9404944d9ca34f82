"""CloudFormation stack inputs in the three shapes the deploy routes read.

* CodePipeline: template configuration ``{"Parameters": {}, "Tags": {}}``
* AWS CLI / GitHub Actions: ``[{"ParameterKey": ..., "ParameterValue": ...}]``
* CloudFormation Git sync: deployment file (``template-file-path``, ``parameters``, ``tags``)

Every parameter the template declares is written, including empty optional
ones: a parameter left out of an update would silently keep its previous value.
Secrets are never stack parameters.

Tags (docs/costs.md): the stack tags (:func:`tags`) reach every resource CloudFormation creates and can tag;
what the stack creates indirectly (the node groups' instances, root volumes and network interfaces) gets the
allocation tags (:func:`allocation_tags`) through the launch templates' parameter slots CostTagKey/Value1..8,
and the EBS CSI driver's volumes get the same through the StorageClasses (generator/render/platform.py).
"""

from __future__ import annotations

import hashlib
import json
import re

from generator import paths
from generator.artifacts import Kind, RenderedFile
from generator.model import CORE, MAX_ALLOCATION_TAGS, Budget, Cluster, Environment, NodeGroup, Operator
from generator.platform import nodes
from generator.render.common import dump_json, dump_yaml, with_header

MAX_EXTRA_HUBS = 2
MAX_CIDRS = 3
#: Cluster admins are fixed parameter slots AdminPrincipalArn1..10 (the template cannot loop
#: without a transform that cfn-lint cannot evaluate with parameters). Admins fill the slots in
#: spec order; the deploy role has a parameter of its own and never takes a slot.
MAX_ADMINS = 10
#: User node groups are slots UserNodeGroup1..4 (the schema allows five groups, exactly one of them core),
#: filled in spec order; an unused slot's parameters are all empty and its resources conditioned away.
MAX_USER_GROUPS = 4
#: Namespace operators are slots Operator*1..5, filled from every hub's operators in hub order (HG243
#: refuses more).
MAX_OPERATORS = 5
#: The parameters of one user node group slot, by suffix (UserNodeGroup<i><suffix>).
USER_GROUP_FIELDS = ("Name", "InstanceTypes", "CapacityType", "MinSize", "MaxSize", "DiskSize", "Subnets", "AmiType",
                     "ReleaseVersion", "Gpu")
#: The List-typed ones (CommaDelimitedList: an unused slot's value is empty, which List<AWS::EC2::...> refuses).
USER_GROUP_LISTS = ("InstanceTypes", "Subnets")
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
#: Budget alerts and emails are slots BudgetAlert1..3 / BudgetEmail1..3 (the schema allows three of each).
MAX_BUDGET_ALERTS = 3
MAX_BUDGET_EMAILS = 3


def parameters(env: Environment) -> dict[str, str | list[str]]:
    """Stack parameters by name. List-typed parameters are lists (joined with ',' on output)."""
    c = env.cluster
    cidrs = list(c.load_balancer.allowed_cidrs) + [""] * (MAX_CIDRS - len(c.load_balancer.allowed_cidrs))
    params: dict[str, str | list[str]] = {
        "KubernetesVersion": c.kubernetes_version,
        "VpcId": c.vpc_id,
        "Subnets": [s.id for s in c.subnets],
        "AuthenticationMode": c.authentication_mode,
        "ClusterAutoscaler": _bool(c.autoscaler),
        "CertificateArn": c.load_balancer.certificate_arn,
        "LoadBalancerCidrBlock": cidrs[0],
        "LoadBalancerCidrBlock2": cidrs[1],
        "LoadBalancerCidrBlock3": cidrs[2],
        "NodeProxyPort": str(env.hubs[0].node_port),
        "DeployRoleArn": env.deploy_role_arn,
        **_core_group_parameters(c),
        **_user_group_parameters(c),
        **_operator_parameters(env),
        **_cost_parameters(env),
    }
    admins = [p.arn for p in env.admin_principals if p.arn != env.deploy_role_arn]
    admins += [""] * (MAX_ADMINS - len(admins))
    for i, arn in enumerate(admins, start=1):
        params[f"AdminPrincipalArn{i}"] = arn
    extra = list(env.hubs[1:]) + [None] * (MAX_EXTRA_HUBS - len(env.hubs[1:]))
    for i, hub in enumerate(extra, start=2):
        params[f"Hub{i}NodeProxyPort"] = str(hub.node_port) if hub else ""
        params[f"Hub{i}Hostname"] = (hub.host or "") if hub else ""
    return dict(sorted(params.items(), key=lambda kv: _natural(kv[0])))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _core_group_parameters(c: Cluster) -> dict[str, str]:
    """The core group: one instance type (HG229), its AMI from AWS's public SSM parameter unless pinned."""
    core = c.core_group
    return {
        "CoreNodeGroupName": core.name,
        "CoreNodeInstanceType": core.instance_types[0],
        "CoreNodeMinSize": str(core.min_size),
        "CoreNodeMaxSize": str(core.max_size),
        "CoreNodeVolumeSize": str(core.disk_size),
        "CoreNodeImageId": core.image_id or "",
        "CoreNodeImageParameter": nodes.ami_parameter(core, c.kubernetes_version),
    }


def _user_group_parameters(c: Cluster) -> dict[str, str | list[str]]:
    """Slots 1..MAX_USER_GROUPS in spec order; every parameter of an unused slot is empty."""
    groups: list[NodeGroup | None] = list(c.user_groups)
    groups += [None] * (MAX_USER_GROUPS - len(groups))
    out: dict[str, str | list[str]] = {}
    for i, g in enumerate(groups, start=1):
        values = _user_group_values(c, g) if g is not None else {
            f: ([] if f in USER_GROUP_LISTS else "") for f in USER_GROUP_FIELDS}
        out.update({f"UserNodeGroup{i}{f}": v for f, v in values.items()})
    return out


def _user_group_values(c: Cluster, g: NodeGroup) -> dict[str, str | list[str]]:
    """One user group's slot values; labels, taints and AMI type follow from nodes.py (its GPUs, architecture)."""
    return {
        "Name": g.name,
        "InstanceTypes": list(g.instance_types),
        "CapacityType": CAPACITY_TYPES[g.capacity_type],
        "MinSize": str(g.min_size),
        "MaxSize": str(g.max_size),
        "DiskSize": str(g.disk_size),
        # User volumes are zonal: the group runs in the cluster's subnets of its one zone (HG234 when none).
        "Subnets": [s.id for s in c.subnets if s.availability_zone == g.availability_zone],
        "AmiType": nodes.ami_type(g),
        "ReleaseVersion": g.release_version or "",
        "Gpu": _bool(nodes.has_gpus(g)),
    }


def _operators(env: Environment) -> list[tuple[int, int, Operator]]:
    """(hub index, operator index, operator) of every hub's operators, hub by hub: the slot order."""
    return [(h, o, op) for h, hub in enumerate(env.hubs) for o, op in enumerate(hub.operators)]


def _operator_parameters(env: Environment) -> dict[str, str]:
    """Operator slots, empty when unused. More operators than slots (HG243) get slots the template does not
    declare, which the params engine reports (HG505), as for admins: nothing is dropped silently."""
    ops = [op for _, _, op in _operators(env)]
    out: dict[str, str] = {}
    for j in range(1, max(MAX_OPERATORS, len(ops)) + 1):
        op = ops[j - 1] if j <= len(ops) else None
        out[f"OperatorPrincipalArn{j}"] = op.arn if op else ""
        out[f"OperatorNamespace{j}"] = op.namespace if op else ""
        out[f"OperatorAccess{j}"] = op.access if op else ""
    return out


def _cost_parameters(env: Environment) -> dict[str, str]:
    """The environment's name (tag hubgen:environment), the allocation tag slots and the budget's parameters."""
    return {"EnvironmentName": env.name, **_cost_tag_parameters(env), **_budget_parameters(env)}


def _cost_tag_parameters(env: Environment) -> dict[str, str]:
    """Allocation tag slots in spec order, empty when unused. More tags than slots (HG247 refuses them) get
    slots the template does not declare, which the params engine reports (HG505): nothing is dropped silently."""
    pairs = list(env.allocation_tags)
    out: dict[str, str] = {}
    for i in range(1, max(MAX_ALLOCATION_TAGS, len(pairs)) + 1):
        key, value = pairs[i - 1] if i <= len(pairs) else ("", "")
        out[f"CostTagKey{i}"] = key
        out[f"CostTagValue{i}"] = value
    return out


def _budget_parameters(env: Environment) -> dict[str, str]:
    """The budget's slots; all empty (and BudgetForecast "false") without `costs.budget`."""
    b = env.budget
    alerts = [str(a) for a in b.alert_at] if b else []
    emails = list(b.emails) if b else []
    out = {
        "BudgetName": budget_name(env) if b else "",
        "BudgetLimit": _amount(b.monthly_limit) if b else "",
        "BudgetCostFilter": budget_cost_filter(env) if b else "",
        "BudgetForecast": _bool(bool(b and b.forecast)),
        "BudgetSnsTopicArn": (b.sns_topic_arn or "") if b else "",
    }
    for i in range(1, max(MAX_BUDGET_ALERTS, len(alerts)) + 1):
        out[f"BudgetAlert{i}"] = alerts[i - 1] if i <= len(alerts) else ""
    for i in range(1, max(MAX_BUDGET_EMAILS, len(emails)) + 1):
        out[f"BudgetEmail{i}"] = emails[i - 1] if i <= len(emails) else ""
    return out


def budget_cost_filter(env: Environment) -> str:
    """The budget's TagKeyValue filter: the costs tagged ``hubgen:environment=<env>`` (AWS Budgets' form
    ``user:<key>$<value>`` for a user-defined cost allocation tag)."""
    return f"user:{HUBGEN_TAG_PREFIX}environment${env.name}"


def _amount(usd: float) -> str:
    """USD as AWS Budgets takes it: a decimal string, at most two decimals, no trailing zeros (500, 1250.5)."""
    return f"{usd:.2f}".rstrip("0").rstrip(".")


def budget_name(env: Environment) -> str:
    """``<stack>-budget-<8 hex digits>``. A budget's notifications cannot change in place: CloudFormation replaces
    the budget, creating the new one before deleting the old, and AWS Budgets refuses a second budget of the same
    name. The suffix is a digest of the notifications, so every change that replaces the budget renames it, and
    nothing else does (a new limit keeps the budget and its history)."""
    assert env.budget is not None
    return f"{env.cluster.stack_name}-budget-{_notifications_digest(env.budget)}"


def _notifications_digest(b: Budget) -> str:
    data = {"alertAt": list(b.alert_at), "forecast": b.forecast, "emails": list(b.emails), "sns": b.sns_topic_arn}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


def _natural(name: str) -> list:
    """Sort key putting AdminPrincipalArn2 before AdminPrincipalArn10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def parameter_sources(env: Environment) -> dict[str, tuple]:
    """The spec path feeding each stack parameter (for locating parameter problems in the spec)."""
    src: dict[str, tuple] = {
        "KubernetesVersion": ("cluster", "kubernetesVersion"),
        "VpcId": ("cluster", "vpcId"),
        "Subnets": ("cluster", "subnets"),
        "AuthenticationMode": ("cluster", "authenticationMode"),
        "ClusterAutoscaler": ("cluster", "autoscaler", "enabled"),
        "CertificateArn": ("cluster", "loadBalancer", "certificateArn"),
        "LoadBalancerCidrBlock": ("cluster", "loadBalancer", "allowedCidrs", 0),
        "LoadBalancerCidrBlock2": ("cluster", "loadBalancer", "allowedCidrs", 1),
        "LoadBalancerCidrBlock3": ("cluster", "loadBalancer", "allowedCidrs", 2),
        "NodeProxyPort": ("hubs", 0, "nodePort"),
        "DeployRoleArn": ("aws", "deployRoleArn"),
        **_node_group_sources(env.cluster),
        **_operator_sources(env),
        **_cost_sources(env),
    }
    for i in range(2, MAX_EXTRA_HUBS + 2):
        src[f"Hub{i}NodeProxyPort"] = ("hubs", i - 1, "nodePort")
        src[f"Hub{i}Hostname"] = ("hubs", i - 1, "host")
    # Slots follow cluster.admins in order, skipping an entry equal to the deploy role.
    slot = 1
    for j, a in enumerate(env.cluster.admins):
        if a.arn != env.deploy_role_arn:
            src[f"AdminPrincipalArn{slot}"] = ("cluster", "admins", j, "arn")
            slot += 1
    for k in range(slot, MAX_ADMINS + 1):
        src[f"AdminPrincipalArn{k}"] = ("cluster", "admins")
    return src


#: Spec field (of the node group) feeding each user slot parameter. Subnets come from the group's zone;
#: the AMI type and GPU flag from its instance types.
USER_GROUP_SOURCES = {"Name": "name", "InstanceTypes": "instanceTypes", "CapacityType": "capacityType",
                      "MinSize": "minSize", "MaxSize": "maxSize", "DiskSize": "diskSize",
                      "Subnets": "availabilityZone", "AmiType": "instanceTypes", "ReleaseVersion": "releaseVersion",
                      "Gpu": "instanceTypes"}


def _node_group_sources(c: Cluster) -> dict[str, tuple]:
    """The core group's fields and each user slot's group's; an unused slot points at the node group list."""
    groups = ("cluster", "nodeGroups")
    out: dict[str, tuple] = {}
    slot = 1
    for j, g in enumerate(c.node_groups):  # the model keeps the spec's order
        if g.purpose == CORE:
            out.update({
                "CoreNodeGroupName": (*groups, j, "name"),
                "CoreNodeInstanceType": (*groups, j, "instanceTypes", 0),
                "CoreNodeMinSize": (*groups, j, "minSize"),
                "CoreNodeMaxSize": (*groups, j, "maxSize"),
                "CoreNodeVolumeSize": (*groups, j, "diskSize"),
                "CoreNodeImageId": (*groups, j, "imageId"),
                # The version and the core instance type's architecture name the parameter.
                "CoreNodeImageParameter": ("cluster", "kubernetesVersion"),
            })
        else:
            out.update({f"UserNodeGroup{slot}{f}": (*groups, j, field) for f, field in USER_GROUP_SOURCES.items()})
            slot += 1
    for k in range(slot, MAX_USER_GROUPS + 1):
        out.update({f"UserNodeGroup{k}{f}": groups for f in USER_GROUP_FIELDS})
    return out


def _operator_sources(env: Environment) -> dict[str, tuple]:
    """Each operator slot's operator (its namespace is its hub's); an unused slot points at the hubs."""
    ops = _operators(env)
    out: dict[str, tuple] = {}
    for j in range(1, max(MAX_OPERATORS, len(ops)) + 1):
        if j <= len(ops):
            h, o, _ = ops[j - 1]
            out[f"OperatorPrincipalArn{j}"] = ("hubs", h, "operators", o, "arn")
            out[f"OperatorNamespace{j}"] = ("hubs", h, "namespace")
            out[f"OperatorAccess{j}"] = ("hubs", h, "operators", o, "access")
        else:
            out.update({f"Operator{k}{j}": ("hubs",) for k in ("PrincipalArn", "Namespace", "Access")})
    return out


BUDGET = ("costs", "budget")


def _cost_sources(env: Environment) -> dict[str, tuple]:
    """Allocation tag slots point at `tags`, where their keys and values are written (the schema's field: a
    tag's key is not a field of its own); the budget's slots at their fields; unused ones at their list."""
    out: dict[str, tuple] = {"EnvironmentName": ("name",)}
    for i in range(1, max(MAX_ALLOCATION_TAGS, len(env.allocation_tags)) + 1):
        out[f"CostTagKey{i}"] = out[f"CostTagValue{i}"] = ("tags",)
    b = env.budget
    out.update({"BudgetName": BUDGET, "BudgetLimit": (*BUDGET, "monthlyLimit"), "BudgetCostFilter": ("name",), "BudgetForecast": (*BUDGET, "forecast"),
                "BudgetSnsTopicArn": (*BUDGET, "snsTopicArn")})
    for i in range(1, max(MAX_BUDGET_ALERTS, len(b.alert_at) if b else 0) + 1):
        out[f"BudgetAlert{i}"] = (*BUDGET, "alertAt", i - 1) if b and i <= len(b.alert_at) else (*BUDGET, "alertAt")
    for i in range(1, max(MAX_BUDGET_EMAILS, len(b.emails) if b else 0) + 1):
        out[f"BudgetEmail{i}"] = (*BUDGET, "emails", i - 1) if b and i <= len(b.emails) else (*BUDGET, "emails")
    return out


def flat_parameters(env: Environment) -> dict[str, str]:
    """Parameters as the strings CloudFormation receives (lists comma-joined)."""
    return {k: ",".join(v) if isinstance(v, list) else v for k, v in parameters(env).items()}


#: hubgen's own stack tags start with this prefix; spec tags may not (HG224), so none is ever overwritten.
HUBGEN_TAG_PREFIX = "hubgen:"


def tags(env: Environment) -> dict[str, str]:
    """The spec's tags and hubgen's own (``hubgen:environment``, which `hubgen deploy` checks ownership by)."""
    reserved = [k for k, _ in env.tags if k.lower().startswith(HUBGEN_TAG_PREFIX)]
    if reserved:  # validation refuses them (HG224); never drop or overwrite a spec tag silently
        raise ValueError(f"spec tags {', '.join(reserved)} use the prefix {HUBGEN_TAG_PREFIX} reserved for hubgen")
    return dict(sorted({**dict(env.tags), f"{HUBGEN_TAG_PREFIX}environment": env.name}.items()))


def allocation_tags(env: Environment) -> dict[str, str]:
    """The tags of what the environment runs that stack tags cannot reach: the node groups' instances, root volumes
    and network interfaces (the template's CostTag slots and its fixed hubgen:environment) and the EBS CSI
    driver's volumes (the StorageClasses). The spec's allocation tags (`costs.allocationTags`, default every tag)
    and ``hubgen:environment``, which the budget filters costs by."""
    return dict(sorted({**dict(env.allocation_tags), f"{HUBGEN_TAG_PREFIX}environment": env.name}.items()))


def render(env: Environment) -> list[RenderedFile]:
    p = paths.EnvPaths(env.name)
    flat = flat_parameters(env)
    t = tags(env)
    template_configuration = dump_json({"Parameters": flat, "Tags": t})
    cli = dump_json([{"ParameterKey": k, "ParameterValue": v} for k, v in flat.items()])
    deployment = dump_yaml({"template-file-path": paths.CLUSTER_TEMPLATE, "parameters": flat, "tags": t})
    return [
        RenderedFile(p.template_configuration, template_configuration.encode(), Kind.CFN_TEMPLATE_CONFIGURATION, env.name),
        RenderedFile(p.parameters, cli.encode(), Kind.CFN_PARAMETERS, env.name),
        RenderedFile(p.deployment_file, with_header(deployment, p.spec, env.name), Kind.CFN_DEPLOYMENT, env.name),
    ]
