"""The aws-auth ConfigMap (kube-system), rendered only when the cluster reads it.

EKS reads aws-auth in the authentication modes ``CONFIG_MAP`` and ``API_AND_CONFIG_MAP``
(:attr:`generator.model.Cluster.reads_aws_auth`); in ``API`` it is dead configuration and is not rendered
(the writer removes a copy hubgen wrote earlier). In ``CONFIG_MAP`` it is the only way into the cluster:
the nodes' role (the core group's and the managed user groups', which share it) and the admins. In
``API_AND_CONFIG_MAP`` it mirrors the stack's access entries for the same principals, which take precedence,
so that the cluster keeps working whichever one is read while a migration from the hand-run setup is checked.
Namespace operators (``hubs[].operators``) are EKS access policies, which only access entries carry: they are
not in aws-auth.

The node role ARN is computed from the fixed name the cluster template gives
its node role (``<stack>-node``), so this file can be written before the stack
exists. Admin principals come from the same list as the stack's EKS access
entries (:attr:`Environment.admin_principals`).

Role ARNs are written without their IAM path. aws-auth is matched by the AWS IAM
Authenticator against the role ARN it derives from the caller's STS assumed-role ARN,
which carries the role name but not its path, so a `rolearn` with a path never matches:
"AWS IAM Authenticator does not permit a path in the role ARN used in the ConfigMap.
Therefore, before you specify rolearn, remove the path"
(https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting_iam.html;
kubernetes-sigs/aws-iam-authenticator#153 and #268). EKS access entries, in contrast,
take the role's real ARN, path included ("If the ARN is for an IAM role, it can include
a path. ARNs in aws-auth ConfigMap entries, can't include a path",
https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html), so the
stack parameters keep the spec's ARN. Dropping the path names the same role: IAM role
names are unique within an account whatever their path. IAM *user* ARNs are matched as
the caller's identity ARN, which keeps the path, so they are written as they are.
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
            roles.append({"rolearn": p.arn_without_path, "username": p.username, "groups": ADMIN_GROUPS})
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
    """``cluster/aws-auth.yaml`` when the cluster reads aws-auth, else nothing."""
    if not env.cluster.reads_aws_auth:
        return []
    p = paths.EnvPaths(env.name)
    return [RenderedFile(p.aws_auth, with_header(dump_yaml(config_map(env)), p.spec, env.name), Kind.K8S_MANIFEST,
                         env.name)]
