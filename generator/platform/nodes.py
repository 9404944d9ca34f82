"""How a node group's nodes look to Kubernetes: labels, taints, AMI type. One definition for every artifact
that depends on it: the cluster template (through its parameters), the chart's scheduling values and
profiles, the platform HelmReleases (NVIDIA device plugin) and the checks.

z2jh's conventions (https://z2jh.jupyter.org/en/stable/administrator/optimization.html): core nodes carry
``hub.jupyter.org/node-purpose=core``; user nodes ``hub.jupyter.org/node-purpose=user`` and the taint
``hub.jupyter.org/dedicated=user:NoSchedule``, which the chart's user pods tolerate. GPU nodes also carry
``nvidia.com/gpu=true:NoSchedule`` so that only GPU profiles (which tolerate it) land on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import CORE, USER, NodeGroup
from generator.platform import instance_types

NODE_PURPOSE_LABEL = "hub.jupyter.org/node-purpose"
NODE_GROUP_LABEL = "hubgen.dev/node-group"
GPU_LABEL = "hubgen.dev/gpu"
GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


USER_TAINT = Taint("hub.jupyter.org/dedicated", USER, "NoSchedule")
GPU_TAINT = Taint(GPU_RESOURCE, "true", "NoSchedule")

#: EKS managed node group AMI types (AWS::EKS::Nodegroup AmiType) by (architecture, GPU).
AMI_TYPES = {
    ("x86_64", False): "AL2023_x86_64_STANDARD",
    ("x86_64", True): "AL2023_x86_64_NVIDIA",
    ("arm64", False): "AL2023_ARM_64_STANDARD",
    ("arm64", True): "AL2023_ARM_64_NVIDIA",
}
#: The public SSM parameter holding the recommended EKS-optimized AL2023 AMI of a version, per architecture
#: (https://docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id.html). The core group's AMI.
AMI_SSM_PARAMETER = "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/{arch}/standard/recommended/image_id"


def gpus(group: NodeGroup) -> int:
    """GPUs of the group's smallest-GPU instance type (0 when any type has none or is unknown)."""
    known = [instance_types.lookup(t) for t in group.instance_types]
    if not known or any(k is None for k in known):
        return 0
    return min(k.gpus for k in known)


def has_gpus(group: NodeGroup) -> bool:
    return gpus(group) > 0


def arch(group: NodeGroup) -> str:
    """The CPU architecture of the group (its first type's; unknown types count as x86_64)."""
    first = instance_types.lookup(group.instance_types[0])
    return first.arch if first else "x86_64"


def ami_type(group: NodeGroup) -> str:
    return AMI_TYPES[(arch(group), has_gpus(group))]


def ami_parameter(group: NodeGroup, kubernetes_version: str) -> str:
    return AMI_SSM_PARAMETER.format(version=kubernetes_version, arch=arch(group))


def labels(group: NodeGroup) -> dict[str, str]:
    out = {NODE_PURPOSE_LABEL: group.purpose, NODE_GROUP_LABEL: group.name}
    if has_gpus(group):
        out[GPU_LABEL] = "true"
    return out


def taints(group: NodeGroup) -> tuple[Taint, ...]:
    out: list[Taint] = []
    if group.purpose == USER:
        out.append(USER_TAINT)
    if has_gpus(group):
        out.append(GPU_TAINT)
    return tuple(out)


def is_core(group: NodeGroup) -> bool:
    return group.purpose == CORE
