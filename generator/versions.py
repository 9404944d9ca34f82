"""Every pinned version hubgen depends on, in one place.

This module is imported by the package and also executed standalone by
``.ci/install-tools`` (``python3 generator/versions.py go-tools``) before the
package is installed, so it must not import anything outside the standard
library.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

#: JupyterHub Helm chart that examples and ``hubgen new`` pin by default.
DEFAULT_CHART_VERSION = "4.4.0"
#: Where Flux pulls the JupyterHub chart from.
CHART_REPOSITORY_URL = "https://hub.jupyter.org/helm-chart/"
CHART_NAME = "jupyterhub"
#: Single-user image ``hubgen new`` proposes: the chart's own sample image, tagged with the chart version.
DEFAULT_SINGLEUSER_IMAGE = "quay.io/jupyterhub/k8s-singleuser-sample"
#: EKS Kubernetes minor version ``hubgen new`` proposes for a new cluster.
DEFAULT_KUBERNETES_VERSION = "1.35"


class PlatformChart(NamedTuple):
    """A Helm chart hubgen installs on every cluster it renders (environments/<env>/platform/)."""

    name: str
    version: str
    repository: str


#: cluster-autoscaler (app 1.35.0): sizes the node groups between their minSize and maxSize.
CLUSTER_AUTOSCALER_CHART = PlatformChart("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
#: cluster-autoscaler image per EKS minor version: the newest patch release tagged for that minor in
#: kubernetes/autoscaler (tags ``cluster-autoscaler-<version>``, each built and published as
#: registry.k8s.io/autoscaling/cluster-autoscaler:v<version>), as of 2026-08-22. The project supports an
#: autoscaler only with the Kubernetes minor it was built for. A minor missing here keeps the chart's own
#: default image (v1.35.0 in chart 9.59.0).
CLUSTER_AUTOSCALER_IMAGE_TAGS = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}
#: NVIDIA device plugin: advertises the GPUs of GPU nodes as the ``nvidia.com/gpu`` resource.
NVIDIA_DEVICE_PLUGIN_CHART = PlatformChart("nvidia-device-plugin", "0.20.0",
                                           "https://nvidia.github.io/k8s-device-plugin")

#: Flux 2.9 served API versions (helm-controller v1.6, source-controller v1.9,
#: kustomize-controller v1.9).
FLUX_HELMRELEASE_API = "helm.toolkit.fluxcd.io/v2"
FLUX_HELMREPOSITORY_API = "source.toolkit.fluxcd.io/v1"
FLUX_GITREPOSITORY_API = "source.toolkit.fluxcd.io/v1"
FLUX_KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"

#: The Flux controllers whose CustomResourceDefinitions kubeconform validates against: Go module ->
#: version (Flux 2.9.5's controllers; notification-controller v1.9.3 because the Go proxy refuses
#: v1.9.4, whose API types are identical). Their CRDs come from the modules' ``config/crd/bases``
#: (``go mod download``; see generator/engines/flux_crds.py).
FLUX_CONTROLLERS = {
    "github.com/fluxcd/source-controller": "v1.9.5",
    "github.com/fluxcd/kustomize-controller": "v1.9.5",
    "github.com/fluxcd/helm-controller": "v1.6.4",
    "github.com/fluxcd/notification-controller": "v1.9.3",
}

#: Kubernetes schema version kubeconform validates core objects against when no environment is involved
#: (``python -m generator.engines.k8s_schemas``, manifests outside any environment): each environment's
#: manifests are validated against its own ``cluster.kubernetesVersion``.
KUBERNETES_SCHEMA_VERSION = f"{DEFAULT_KUBERNETES_VERSION}.0"

#: Go-installed tools: module path -> version. Installed by .ci/install-tools.
GO_TOOLS = {
    "kubeconform": ("github.com/yannh/kubeconform/cmd/kubeconform", "v0.7.0"),
    "actionlint": ("github.com/rhysd/actionlint/cmd/actionlint", "v1.7.7"),
    "age": ("filippo.io/age/cmd/age", "v1.2.1"),
    "age-keygen": ("filippo.io/age/cmd/age-keygen", "v1.2.1"),
}

#: Python tools that run in their own virtual environment (their pins clash with hubgen's own:
#: checkov 3.3.30 requires boto3<1.36), installed by scripts/checkov.sh into .tools/.
CHECKOV_VERSION = "3.3.30"


def _main(argv: list[str]) -> int:
    if argv[1:] == ["chart-version"]:
        print(DEFAULT_CHART_VERSION)
        return 0
    if argv[1:] == ["go-tools"]:
        for name, (module, version) in GO_TOOLS.items():
            print(f"{name} {module}@{version}")
        return 0
    if argv[1:] == ["flux-modules"]:
        for module, version in FLUX_CONTROLLERS.items():
            print(f"{module}@{version}")
        return 0
    print("usage: versions.py go-tools|flux-modules|chart-version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv))
