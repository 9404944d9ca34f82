"""CloudFormation stack inputs in the three shapes the deploy routes read.

* CodePipeline: template configuration ``{"Parameters": {}, "Tags": {}}``
* AWS CLI / GitHub Actions: ``[{"ParameterKey": ..., "ParameterValue": ...}]``
* CloudFormation Git sync: deployment file (``template-file-path``, ``parameters``, ``tags``)

Every parameter the template declares is written, including empty optional
ones: a parameter left out of an update would silently keep its previous value.
Secrets are never stack parameters.
"""

from __future__ import annotations

import re

from generator import paths
from generator.artifacts import Kind, RenderedFile
from generator.model import Environment
from generator.render.common import dump_json, dump_yaml, with_header

MAX_EXTRA_HUBS = 2
MAX_CIDRS = 3
#: Cluster admins are fixed parameter slots AdminPrincipalArn1..10 (the template cannot loop
#: without a transform that cfn-lint cannot evaluate with parameters). Admins fill the slots in
#: spec order; the deploy role has a parameter of its own and never takes a slot.
MAX_ADMINS = 10


def parameters(env: Environment) -> dict[str, str | list[str]]:
    """Stack parameters by name. List-typed parameters are lists (joined with ',' on output)."""
    c = env.cluster
    n = c.nodes
    cidrs = list(c.load_balancer.allowed_cidrs) + [""] * (MAX_CIDRS - len(c.load_balancer.allowed_cidrs))
    params: dict[str, str | list[str]] = {
        "KubernetesVersion": c.kubernetes_version,
        "VpcId": c.vpc_id,
        "Subnets": [s.id for s in c.subnets],
        "NodeImageId": n.image_id,
        "NodeInstanceType": n.instance_type,
        "NodeAutoScalingGroupMinSize": str(n.min_size),
        "NodeAutoScalingGroupDesiredCapacity": str(n.desired_capacity),
        "NodeAutoScalingGroupMaxSize": str(n.max_size),
        "NodeVolumeSize": str(n.volume_size),
        "CertificateArn": c.load_balancer.certificate_arn,
        "LoadBalancerCidrBlock": cidrs[0],
        "LoadBalancerCidrBlock2": cidrs[1],
        "LoadBalancerCidrBlock3": cidrs[2],
        "NodeProxyPort": str(env.hubs[0].node_port),
        "DeployRoleArn": env.deploy_role_arn,
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


def _natural(name: str) -> list:
    """Sort key putting AdminPrincipalArn2 before AdminPrincipalArn10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def parameter_sources(env: Environment) -> dict[str, tuple]:
    """The spec path feeding each stack parameter (for locating parameter problems in the spec)."""
    src: dict[str, tuple] = {
        "KubernetesVersion": ("cluster", "kubernetesVersion"),
        "VpcId": ("cluster", "vpcId"),
        "Subnets": ("cluster", "subnets"),
        "NodeImageId": ("cluster", "nodes", "imageId"),
        "NodeInstanceType": ("cluster", "nodes", "instanceType"),
        "NodeAutoScalingGroupMinSize": ("cluster", "nodes", "minSize"),
        "NodeAutoScalingGroupDesiredCapacity": ("cluster", "nodes", "desiredCapacity"),
        "NodeAutoScalingGroupMaxSize": ("cluster", "nodes", "maxSize"),
        "NodeVolumeSize": ("cluster", "nodes", "volumeSize"),
        "CertificateArn": ("cluster", "loadBalancer", "certificateArn"),
        "LoadBalancerCidrBlock": ("cluster", "loadBalancer", "allowedCidrs", 0),
        "LoadBalancerCidrBlock2": ("cluster", "loadBalancer", "allowedCidrs", 1),
        "LoadBalancerCidrBlock3": ("cluster", "loadBalancer", "allowedCidrs", 2),
        "NodeProxyPort": ("hubs", 0, "nodePort"),
        "DeployRoleArn": ("aws", "deployRoleArn"),
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
