"""Every pinned version hubgen depends on, in one place.

This module is imported by the package and also executed standalone by
``.ci/install-tools`` and ``.ci/build-engines`` (``python3 generator/versions.py go-tools``,
``... engines``) before the package is installed, so it must not import anything outside the
standard library.
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

#: Kubernetes the engines' control plane is built at: kube-apiserver, kube-controller-manager and
#: kube-scheduler from ``k8s.io/kubernetes`` at this version, each ``k8s.io/<staging repo>`` at its
#: published ``v0.<minor>.<patch>``.
KUBERNETES_ENGINE_VERSION = "v1.33.13"

#: The engines hubgen's tests run (helm, kustomize, Flux, a Kubernetes control plane, etcd, kwok), built
#: from the Go module proxy into ``.tools/bin`` by ``.ci/build-engines``: binary name -> (recipe, module,
#: version, package inside the module). Recipes:
#:
#: ``install``     ``go install <module>/<package>@<version>``;
#: ``kubernetes``  a wrapper module that requires ``k8s.io/kubernetes`` and re-points each of its
#:                 ``replace k8s.io/<staging> => ./staging/...`` to the published staging module (one
#:                 wrapper builds all three binaries; their ``main`` is the upstream one);
#: ``copy``        a writable copy of the module source whose local ``replace`` directives
#:                 (``.../api => ./api``, etcd's ``=> ../api``) are dropped, so the published sibling
#:                 modules its go.mod requires (at the same version) are used.
ENGINES = {
    "helm": ("install", "helm.sh/helm/v3", "v3.22.0", "cmd/helm"),
    "kustomize": ("install", "sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2", "."),  # v5.8.3 needs Go 1.27
    "kwok": ("install", "sigs.k8s.io/kwok", "v0.8.0", "cmd/kwok"),
    "kube-apiserver": ("kubernetes", "k8s.io/kubernetes", KUBERNETES_ENGINE_VERSION, "cmd/kube-apiserver"),
    "kube-controller-manager": ("kubernetes", "k8s.io/kubernetes", KUBERNETES_ENGINE_VERSION,
                                "cmd/kube-controller-manager"),
    "kube-scheduler": ("kubernetes", "k8s.io/kubernetes", KUBERNETES_ENGINE_VERSION, "cmd/kube-scheduler"),
    "etcd": ("copy", "go.etcd.io/etcd/server/v3", "v3.6.16", "."),
    "flux": ("copy", "github.com/fluxcd/flux2/v2", "v2.9.5", "cmd/flux"),
    **{module.rsplit("/", 1)[1]: ("copy", module, FLUX_CONTROLLERS[module], ".")
       for module in ("github.com/fluxcd/source-controller", "github.com/fluxcd/kustomize-controller",
                      "github.com/fluxcd/helm-controller", "github.com/fluxcd/notification-controller")},
}

#: Modules an engine's build pins (as ``replace`` directives) away from what its go.mod asks for:
#: engine -> {module: version}. source-controller v1.9.5 requires github.com/fluxcd/pkg/artifact v0.18.3,
#: which the Go module proxy refuses (so is v0.18.2).
ENGINE_PINS = {
    "source-controller": {"github.com/fluxcd/pkg/artifact": "v0.18.1"},
}

#: The engines `hubgen lint` runs (its chart engine: helm template, kustomize build); the others serve the
#: end-to-end suite. The pull-request workflow's check job builds only these.
LINT_ENGINES = ("helm", "kustomize")

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
    if argv[1:] in (["engines"], ["lint-engines"]):
        # One line per engine: name recipe module version package pins (pins: module@version,... or -).
        for name, (recipe, module, version, package) in ENGINES.items():
            if argv[1] == "lint-engines" and name not in LINT_ENGINES:
                continue
            pins = ",".join(f"{m}@{v}" for m, v in ENGINE_PINS.get(name, {}).items()) or "-"
            print(f"{name} {recipe} {module} {version} {package} {pins}")
        return 0
    print("usage: versions.py go-tools|flux-modules|engines|lint-engines|chart-version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv))
