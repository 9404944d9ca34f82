"""A small, dated table of EC2 instance types: vCPUs, memory, NVIDIA GPUs, CPU architecture and the VPC CNI's
maximum pods, for the families a JupyterHub on EKS typically runs on.

Why a table and not the EC2 API: hubgen validates offline (no credentials, no network), so the checks that
need an instance's size (HG232 a size its family does not have, HG233 a family hubgen does not know, HG236
GPUs, HG237 whether a profile fits its nodes) and the renderers that need its architecture or GPUs (AMI type,
NVIDIA device plugin) read this table. It is dated (:data:`TABLE_DATE`): a test fails when it is more than a
year old, so someone re-checks it against AWS's pages.

A family is listed completely (every size AWS offers) or not at all: a listed family with a missing size
would make HG232 call a real instance type nonexistent. Families hubgen does not list get a warning (HG233),
never silence and never an error.

Sources (:data:`TABLE_SOURCE`): vCPUs, memory and GPUs from the Amazon EC2 instance type specifications
(https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, co.html, mo.html, ac.html); maximum pods from
the EKS AMI's ``eni-max-pods.txt`` (awslabs/amazon-eks-ami, templates/shared/runtime/eni-max-pods.txt), which
applies the VPC CNI formula ``ENIs * (IPv4 addresses per ENI - 1) + 2`` to the EC2 API's network limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

TABLE_DATE = "2026-12-01"
TABLE_SOURCE = (
    "Amazon EC2 instance type specifications (https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, "
    "co.html, mo.html, ac.html) for vCPUs, memory and GPUs; awslabs/amazon-eks-ami "
    "templates/shared/runtime/eni-max-pods.txt (the VPC CNI formula) for maximum pods"
)

X86 = "x86_64"
ARM = "arm64"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int
    arch: str  # X86 or ARM
    #: Pods the VPC CNI can give addresses to (eni-max-pods.txt), before any cap a node group applies.
    eni_max_pods: int

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def size(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


@dataclass(frozen=True)
class _Family:
    arch: str
    #: size -> (vCPUs, memory GiB, NVIDIA GPUs, ENI max pods)
    sizes: dict[str, tuple[int, float, int, int]]


def _gp(sizes: str, *extra: tuple[str, int, float, int]) -> dict[str, tuple[int, float, int, int]]:
    """Sizes of a general purpose family (4 GiB per vCPU, no GPUs): see :func:`_ladder`."""
    return _ladder(sizes, 4, *extra)


def _ladder(sizes: str, gib_per_vcpu: float, *extra: tuple[str, int, float, int]
            ) -> dict[str, tuple[int, float, int, int]]:
    """Sizes of a family without GPUs on the standard size ladder (:data:`_STEPS`): ``sizes`` names the steps
    the family has, each with ``gib_per_vcpu`` GiB per vCPU; ``extra`` adds (size, vCPUs, GiB, max pods) rows
    off the ladder (metal sizes)."""
    out = {}
    for size in sizes.split():
        vcpus, pods = _STEPS[size]
        out[size] = (vcpus, vcpus * gib_per_vcpu, 0, pods)
    for size, vcpus, gib, pods in extra:
        out[size] = (vcpus, gib, 0, pods)
    return out


#: The standard size ladder of Nitro families: size -> (vCPUs, ENI max pods). Every family below that uses it
#: has these max pods in eni-max-pods.txt for these sizes (checked per family when the table was dated).
_STEPS = {
    "medium": (1, 8), "large": (2, 29), "xlarge": (4, 58), "2xlarge": (8, 58), "4xlarge": (16, 234),
    "8xlarge": (32, 234), "12xlarge": (48, 234), "16xlarge": (64, 737), "24xlarge": (96, 737),
    "32xlarge": (128, 737), "48xlarge": (192, 737),
}
_INTEL_5 = "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge"
_INTEL_6 = _INTEL_5 + " 32xlarge"
_INTEL_7 = _INTEL_5 + " 48xlarge"
_GRAVITON = "medium large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge"

_FAMILIES: dict[str, _Family] = {
    # --- general purpose (4 GiB per vCPU) ---
    "m5": _Family(X86, _gp(_INTEL_5, ("metal", 96, 384, 737))),
    "m5a": _Family(X86, _gp(_INTEL_5)),
    "m6i": _Family(X86, _gp(_INTEL_6, ("metal", 128, 512, 737))),
    "m6a": _Family(X86, _gp(_INTEL_6 + " 48xlarge", ("metal", 192, 768, 737))),
    "m7i": _Family(X86, _gp(_INTEL_7, ("metal-24xl", 96, 384, 737), ("metal-48xl", 192, 768, 737))),
    "m7a": _Family(X86, _gp("medium " + _INTEL_6 + " 48xlarge", ("metal-48xl", 192, 768, 737))),
    "m6g": _Family(ARM, _gp(_GRAVITON, ("metal", 64, 256, 737))),
    "m7g": _Family(ARM, _gp(_GRAVITON, ("metal", 64, 256, 737))),
    # Burstable: nano-large have 2 vCPUs; max pods differ from the Nitro ladder (and t3a.small from t3.small).
    "t3": _Family(X86, {"nano": (2, 0.5, 0, 4), "micro": (2, 1, 0, 4), "small": (2, 2, 0, 11),
                        "medium": (2, 4, 0, 17), "large": (2, 8, 0, 35), "xlarge": (4, 16, 0, 58),
                        "2xlarge": (8, 32, 0, 58)}),
    "t3a": _Family(X86, {"nano": (2, 0.5, 0, 4), "micro": (2, 1, 0, 4), "small": (2, 2, 0, 8),
                         "medium": (2, 4, 0, 17), "large": (2, 8, 0, 35), "xlarge": (4, 16, 0, 58),
                         "2xlarge": (8, 32, 0, 58)}),
    # --- compute optimized (2 GiB per vCPU) ---
    "c5": _Family(X86, {"large": (2, 4, 0, 29), "xlarge": (4, 8, 0, 58), "2xlarge": (8, 16, 0, 58),
                        "4xlarge": (16, 32, 0, 234), "9xlarge": (36, 72, 0, 234), "12xlarge": (48, 96, 0, 234),
                        "18xlarge": (72, 144, 0, 737), "24xlarge": (96, 192, 0, 737),
                        "metal": (96, 192, 0, 737)}),
    "c6i": _Family(X86, _ladder(_INTEL_6, 2, ("metal", 128, 256, 737))),
    "c7i": _Family(X86, _ladder(_INTEL_7, 2, ("metal-24xl", 96, 192, 737), ("metal-48xl", 192, 384, 737))),
    "c6g": _Family(ARM, _ladder(_GRAVITON, 2, ("metal", 64, 128, 737))),
    "c7g": _Family(ARM, _ladder(_GRAVITON, 2, ("metal", 64, 128, 737))),
    # --- memory optimized (8 GiB per vCPU) ---
    "r5": _Family(X86, _ladder(_INTEL_5, 8, ("metal", 96, 768, 737))),
    "r6i": _Family(X86, _ladder(_INTEL_6, 8, ("metal", 128, 1024, 737))),
    "r7i": _Family(X86, _ladder(_INTEL_7, 8, ("metal-24xl", 96, 768, 737), ("metal-48xl", 192, 1536, 737))),
    "r6g": _Family(ARM, _ladder(_GRAVITON, 8, ("metal", 64, 512, 737))),
    # --- GPU (NVIDIA): (vCPUs, GiB, GPUs, max pods) per size; max pods do not follow the ladder ---
    # g4dn: NVIDIA T4.
    "g4dn": _Family(X86, {"xlarge": (4, 16, 1, 29), "2xlarge": (8, 32, 1, 29), "4xlarge": (16, 64, 1, 29),
                          "8xlarge": (32, 128, 1, 58), "12xlarge": (48, 192, 4, 234), "16xlarge": (64, 256, 1, 58),
                          "metal": (96, 384, 8, 737)}),
    # g5: NVIDIA A10G.
    "g5": _Family(X86, {"xlarge": (4, 16, 1, 58), "2xlarge": (8, 32, 1, 58), "4xlarge": (16, 64, 1, 234),
                        "8xlarge": (32, 128, 1, 234), "12xlarge": (48, 192, 4, 737), "16xlarge": (64, 256, 1, 234),
                        "24xlarge": (96, 384, 4, 737), "48xlarge": (192, 768, 8, 345)}),
    # g6: NVIDIA L4.
    "g6": _Family(X86, {"xlarge": (4, 16, 1, 58), "2xlarge": (8, 32, 1, 58), "4xlarge": (16, 64, 1, 234),
                        "8xlarge": (32, 128, 1, 234), "12xlarge": (48, 192, 4, 234), "16xlarge": (64, 256, 1, 737),
                        "24xlarge": (96, 384, 4, 737), "48xlarge": (192, 768, 8, 737)}),
    # g6e: NVIDIA L40S.
    "g6e": _Family(X86, {"xlarge": (4, 32, 1, 58), "2xlarge": (8, 64, 1, 58), "4xlarge": (16, 128, 1, 234),
                         "8xlarge": (32, 256, 1, 234), "12xlarge": (48, 384, 4, 292), "16xlarge": (64, 512, 1, 737),
                         "24xlarge": (96, 768, 4, 492), "48xlarge": (192, 1536, 8, 492)}),
    # p3: NVIDIA V100.
    "p3": _Family(X86, {"2xlarge": (8, 61, 1, 58), "8xlarge": (32, 244, 4, 234), "16xlarge": (64, 488, 8, 234)}),
    # p4d: NVIDIA A100.
    "p4d": _Family(X86, {"24xlarge": (96, 1152, 8, 737)}),
    # p5: NVIDIA H100 (p5.4xlarge is the single-GPU size).
    "p5": _Family(X86, {"4xlarge": (16, 256, 1, 118), "48xlarge": (192, 2048, 8, 100)}),
}


def _build() -> dict[str, InstanceType]:
    table = {}
    for family, f in _FAMILIES.items():
        for size, (vcpus, gib, gpus, pods) in f.sizes.items():
            name = f"{family}.{size}"
            table[name] = InstanceType(name, vcpus, int(gib * 1024), gpus, f.arch, pods)
    return table


TABLE: dict[str, InstanceType] = _build()


def lookup(name: str) -> InstanceType | None:
    """The instance type, or None when hubgen's table does not know it (unknown family or size)."""
    return TABLE.get(name)


def family_sizes(family: str) -> tuple[str, ...] | None:
    """The sizes of a family hubgen lists, smallest first; None when the family is not in the table."""
    f = _FAMILIES.get(family)
    if f is None:
        return None
    return tuple(sorted(f.sizes, key=lambda s: (f.sizes[s][0], f.sizes[s][1], s)))


def families() -> tuple[str, ...]:
    return tuple(_FAMILIES)


# --------------------------------------------------------------------------------------- what a node can allocate
#: kubelet's hard eviction threshold for memory on the EKS AMIs (``evictionHard: memory.available: 100Mi``).
EVICTION_MEMORY_MIB = 100
#: EKS managed node groups cap maxPods at 110 on instances with fewer than 30 vCPUs and at 250 above
#: (EKS User Guide, "Increase the available IP addresses": "Managed node groups enforces a maximum number on
#: the value of maxPods").
MANAGED_MAX_PODS_CAP = (30, 110, 250)


@dataclass(frozen=True)
class Allocatable:
    """What the scheduler can place on an empty node: capacity less kube-reserved less the eviction threshold."""

    cpu_millicores: int
    memory_mib: int
    max_pods: int


def max_pods(t: InstanceType, *, managed: bool = True) -> int:
    """The kubelet's maxPods on an EKS AL2023 node: the VPC CNI's ENI limit (what nodeadm sets on a
    self-managed node), capped as EKS managed node groups cap it when ``managed``."""
    if not managed:
        return t.eni_max_pods
    threshold, small, large = MANAGED_MAX_PODS_CAP
    return min(t.eni_max_pods, small if t.vcpus < threshold else large)


def reserved_cpu_millicores(vcpus: int) -> int:
    """kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of every
    core above four (nodeadm's ``getCPUMillicoresToReserve``, the same bands as GKE's)."""
    total = vcpus * 1000
    bands = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, total, 25))
    return sum((min(total, end) - start) * basis_points // 10000 for start, end, basis_points in bands if total > start)


def reserved_memory_mib(pods: int) -> int:
    """kube-reserved memory: 255 MiB plus 11 MiB per pod the node may run (nodeadm's
    ``GetMemoryMebibytesToReserve``)."""
    return 255 + 11 * pods


def allocatable(t: InstanceType, *, managed: bool = True) -> Allocatable:
    """An estimate of node allocatable on an EKS-optimized Amazon Linux 2023 node of type ``t``.

    EKS AL2023 nodes are configured by nodeadm (awslabs/amazon-eks-ami, nodeadm/internal/kubelet/config.go):
    kube-reserved CPU by :func:`reserved_cpu_millicores`, kube-reserved memory ``11 * maxPods + 255`` MiB with
    maxPods from :func:`max_pods`, and a hard eviction threshold of 100 MiB (:data:`EVICTION_MEMORY_MIB`).

    It is an upper bound for a server: the operating system's own use of the instance's memory (the kernel
    keeps a few percent) and the DaemonSets every node runs (kube-proxy, the VPC CNI, the EBS CSI node, the
    NVIDIA device plugin) also take their share, so a guarantee just below this may still not fit. HG237
    therefore errors only when a guarantee is above this bound, which no node of the type can ever meet.
    """
    pods = max_pods(t, managed=managed)
    return Allocatable(
        cpu_millicores=t.vcpus * 1000 - reserved_cpu_millicores(t.vcpus),
        memory_mib=t.memory_mib - reserved_memory_mib(pods) - EVICTION_MEMORY_MIB,
        max_pods=pods,
    )


# --------------------------------------------------------------------------------------- Kubernetes quantities
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?\Z")
_FACTORS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity_bytes(quantity: str) -> int:
    """Bytes of a Kubernetes memory quantity as the spec's schema admits it (``2G`` = 2*10^9, ``2Gi`` = 2*2^30)."""
    m = _QUANTITY.match(quantity)
    if m is None:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return int(Decimal(m.group(1)) * _FACTORS[m.group(2)])


def quantity_mib(quantity: str) -> float:
    return quantity_bytes(quantity) / 2**20
