"""What the cluster runs besides the hubs: ``environments/<env>/platform/``, applied by the Flux Kustomization
``<env>-platform`` before ``<env>-hubs`` (see :mod:`generator.render.flux`).

Layout (see :mod:`generator.paths`)::

    platform/storageclasses.yaml        one StorageClass per `cluster.storage.classes` (EBS CSI driver)
    platform/cluster-autoscaler.yaml    HelmRepository + HelmRelease (when `cluster.autoscaler.enabled`)
    platform/nvidia-device-plugin.yaml  HelmRepository + HelmRelease (when a node group has GPUs)
    platform/kustomization.yaml         kustomize entry point of the folder

The EBS CSI driver itself and the roles of the driver and the autoscaler are the stack's (EKS add-on, EKS Pod
Identity associations); what is rendered here only has to agree with them on names: the autoscaler runs as
``kube-system/cluster-autoscaler``, the service account the stack's pod identity association names.
"""

from __future__ import annotations

from generator import paths, versions
from generator.artifacts import RenderedFile
from generator.model import CORE, Environment, StorageClass
from generator.platform import nodes
from generator.render.cloudformation import allocation_tags
from generator.render.flux import chart_repository, kustomization_file, manifest, meta, release_spec

#: Where the platform's charts run: the namespace of the cluster's own add-ons, where the system-critical
#: priority classes the charts ask for are admitted without a ResourceQuota.
NAMESPACE = "kube-system"
#: The EBS CSI driver's provisioner name (the EKS add-on aws-ebs-csi-driver).
EBS_PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: A StorageClass's parameters, provisioner and reclaim policy are immutable: with this annotation Flux
#: deletes and recreates the class when they change (volumes already provisioned keep working), instead of
#: failing the whole platform Kustomization.
FLUX_FORCE_ANNOTATION = "kustomize.toolkit.fluxcd.io/force"

#: The service account the stack's EKS Pod Identity association gives cluster-autoscaler's IAM role
#: (namespace kube-system).
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
AUTOSCALER_RELEASE = "cluster-autoscaler"
DEVICE_PLUGIN_RELEASE = "nvidia-device-plugin"

#: cluster-autoscaler flags (the chart's ``extraArgs``, merged over its defaults logtostderr, stderrthreshold,
#: v), chosen for JupyterHub (docs/platform.md):
#:
#: * ``balance-similar-node-groups``: groups of the same shape in different zones grow evenly;
#: * ``skip-nodes-with-local-storage: false``: pods with ``emptyDir`` volumes (the hub's, the user scheduler's)
#:   do not pin a core node forever. User servers still block the scale-down of their node: they are bare pods,
#:   which cluster-autoscaler never evicts, so a node is only removed once its last server stopped or was culled;
#: * ``expander: least-waste``: when several groups could take a pending pod, the one left with the least idle
#:   CPU and memory (profiles usually pin one group, so this decides only for pods without a profile);
#: * ``scale-down-unneeded-time`` / ``scale-down-delay-after-add``: an empty node is kept 10 minutes, and no
#:   node is removed within 10 minutes of a scale-up, so a class logging in over a few minutes does not make
#:   nodes come and go.
AUTOSCALER_ARGS = {
    "balance-similar-node-groups": True,
    "skip-nodes-with-local-storage": False,
    "expander": "least-waste",
    "scale-down-unneeded-time": "10m",
    "scale-down-delay-after-add": "10m",
}


# --- StorageClasses ------------------------------------------------------------------

def ebs_parameters(env: Environment, sc: StorageClass) -> dict[str, str]:
    """The EBS CSI driver's CreateVolume parameters: type, encryption (the account's default EBS key unless
    ``kmsKeyArn``) and, for cost allocation, the tags the node groups' instances and volumes carry too
    (:func:`generator.render.cloudformation.allocation_tags`: the allocation tags and ``hubgen:environment``), so
    that a user's home volume and the node it is mounted on are counted alike (``tagSpecification_<n>:
    key=value``, numbered from 1; the driver splits each at its first ``=``). Stack tags never reach these volumes:
    the driver creates them, not CloudFormation."""
    params = {"type": sc.volume_type, "encrypted": "true"}
    if sc.kms_key_arn:
        params["kmsKeyId"] = sc.kms_key_arn
    for i, (key, value) in enumerate(allocation_tags(env).items(), 1):
        params[f"tagSpecification_{i}"] = f"{key}={value}"
    return params


def storage_class(env: Environment, sc: StorageClass) -> dict:
    metadata = meta(sc.name, env=env.name)
    annotations = {FLUX_FORCE_ANNOTATION: "enabled"}
    if sc.default:
        annotations[DEFAULT_CLASS_ANNOTATION] = "true"
    metadata["annotations"] = annotations
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata,
        "provisioner": EBS_PROVISIONER,
        "parameters": ebs_parameters(env, sc),
        "reclaimPolicy": sc.reclaim_policy,
        # A volume is created in the zone of the node its first pod is scheduled to (EBS volumes are zonal).
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


# --- HelmReleases ---------------------------------------------------------------------

def _release(env: Environment, name: str, chart: versions.PlatformChart, values: dict) -> dict:
    spec = release_spec(name, chart.name, chart.version, chart.name, timeout="10m")
    spec["values"] = values
    return {
        "apiVersion": versions.FLUX_HELMRELEASE_API,
        "kind": "HelmRelease",
        "metadata": meta(name, NAMESPACE, env.name),
        "spec": spec,
    }


def autoscaler_image_tag(env: Environment) -> str | None:
    """The cluster-autoscaler release built for the cluster's Kubernetes minor (None: the chart's default)."""
    return versions.CLUSTER_AUTOSCALER_IMAGE_TAGS.get(env.cluster.kubernetes_version)


def autoscaler_values(env: Environment) -> dict:
    """cluster-autoscaler's chart values: auto-discovery of the node groups the stack tags with the cluster's
    name (the stack name), the region, the service account the stack's pod identity association names, and
    a place on the core nodes (the autoscaler must not run on a node it may remove)."""
    values: dict = {
        "cloudProvider": "aws",
        "awsRegion": env.region,
        "autoDiscovery": {"clusterName": env.cluster.stack_name},
        "fullnameOverride": AUTOSCALER_RELEASE,
        "rbac": {"serviceAccount": {"create": True, "name": AUTOSCALER_SERVICE_ACCOUNT}},
        "nodeSelector": {nodes.NODE_PURPOSE_LABEL: CORE},
        "extraArgs": dict(AUTOSCALER_ARGS),
    }
    tag = autoscaler_image_tag(env)
    if tag:
        values["image"] = {"tag": tag}
    return values


def device_plugin_values(env: Environment) -> dict:
    """The NVIDIA device plugin's chart values. Its default affinity selects nodes by Node Feature Discovery
    labels, which nothing on the cluster sets: it runs on the nodes hubgen labels as GPU nodes instead, and
    tolerates their taints (user nodes and GPU nodes), so that it reaches every GPU node and no other."""
    return {
        "fullnameOverride": DEVICE_PLUGIN_RELEASE,
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": nodes.GPU_LABEL, "operator": "In", "values": ["true"]}]}]}}},
        "tolerations": [nodes.USER_TAINT.toleration(), nodes.GPU_TAINT.toleration()],
    }


def has_gpus(env: Environment) -> bool:
    return any(nodes.has_gpus(g) for g in env.cluster.node_groups)


# --- files ---------------------------------------------------------------------------------

def render(env: Environment) -> list[RenderedFile]:
    p = paths.EnvPaths(env.name)
    out = [manifest(env, p.storage_classes, *(storage_class(env, sc) for sc in env.cluster.storage_classes))]
    if env.cluster.autoscaler:
        chart = versions.CLUSTER_AUTOSCALER_CHART._replace(version=env.cluster.autoscaler_chart_version)
        out.append(manifest(env, p.cluster_autoscaler, chart_repository(env, chart.name, chart.repository),
                            _release(env, AUTOSCALER_RELEASE, chart, autoscaler_values(env))))
    if has_gpus(env):
        chart = versions.NVIDIA_DEVICE_PLUGIN_CHART._replace(version=env.cluster.device_plugin_chart_version)
        out.append(manifest(env, p.nvidia_device_plugin, chart_repository(env, chart.name, chart.repository),
                            _release(env, DEVICE_PLUGIN_RELEASE, chart, device_plugin_values(env))))
    out.append(kustomization_file(env, p.platform_kustomization, [f.path for f in out]))
    return out
