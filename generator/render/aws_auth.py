"""The aws-auth ConfigMap (kube-system).

The node role ARN is computed from the fixed name the cluster template gives
its node role (``<stack>-node``), so this file can be written before the stack
exists. Admin principals come from the same list as the stack's EKS access
entries (:attr:`Environment.admin_principals`).
"""

from __future__ import annotations

from generator import paths
from generator.artifacts import Kind, RenderedFile
from generator.model import Environment
from generator.render.common import dump_yaml, with_header

NODE_GROUPS = ["system:bootstrappers", "system:nodes"]
ADMIN_GROUPS = ["system:masters"]


def config_map(env: Environment) -> dict:
    roles = [{"rolearn": env.node_role_arn, "username": "system:node:{{EC2PrivateDNSName}}", "groups": NODE_GROUPS}]
    users = []
    for p in env.admin_principals:
        if p.kind == "role":
            roles.append({"rolearn": p.arn, "username": p.username, "groups": ADMIN_GROUPS})
        else:
            users.append({"userarn": p.arn, "username": p.username, "groups": ADMIN_GROUPS})
    data = {"mapRoles": dump_yaml(roles)}
    if users:
        data["mapUsers"] = dump_yaml(users)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system",
                     "labels": {"app.kubernetes.io/managed-by": "hubgen"}},
        "data": data,
    }


def render(env: Environment) -> list[RenderedFile]:
    p = paths.EnvPaths(env.name)
    return [RenderedFile(p.aws_auth, with_header(dump_yaml(config_map(env)), p.spec, env.name), Kind.K8S_MANIFEST,
                         env.name)]
