"""Flux manifests: the cluster entry point and, per hub, Namespace, ServiceAccount and HelmRelease.

Layout (see :mod:`generator.paths`)::

    cluster/hubs.yaml              Flux Kustomizations applied by `flux bootstrap --path=<env>/cluster`:
                                   <env>-platform (platform/, see generator.render.platform),
                                   <env>-secrets (sops decryption) and <env>-hubs (depends on both: the
                                   hubs' volumes need the StorageClasses, their logins the Secrets);
                                   <env>-extra when the team keeps manifests of its own in extra/
    cluster/namespaces.yaml        the hubs' Namespaces: applied with the entry point, before the
                                   Secrets of <env>-secrets need them (no ordering deadlock)
    cluster/notifications.yaml     notification-controller Providers and Alerts (generator.render.notifications)
    hubs/kustomization.yaml        kustomize entry point of the hubs folder
    hubs/helmrepository.yaml       the JupyterHub chart repository
    hubs/<hub>/serviceaccount.yaml IRSA service account for notebook pods (when the hub uses IRSA)
    hubs/<hub>/helmrelease.yaml
"""

from __future__ import annotations

import posixpath

from generator import paths, versions
from generator.artifacts import Kind, RenderedFile
from generator.model import Environment, Hub
from generator.render.common import dump_yaml, with_header
from generator.render.values import release_values, values_from

FLUX_NAMESPACE = "flux-system"
HELM_REPOSITORY_NAME = "jupyterhub"
LABELS = {"app.kubernetes.io/managed-by": "hubgen"}


def meta(name: str, namespace: str | None = None, env: str | None = None) -> dict:
    """Object metadata with hubgen's labels (``app.kubernetes.io/managed-by``, ``hubgen.dev/environment``)."""
    out: dict = {"name": name}
    if namespace:
        out["namespace"] = namespace
    labels = dict(LABELS)
    if env:
        labels["hubgen.dev/environment"] = env
    out["labels"] = labels
    return out


def chart_repository(env: Environment, name: str, url: str) -> dict:
    """A Flux HelmRepository in flux-system (HelmReleases of any namespace refer to it)."""
    return {
        "apiVersion": versions.FLUX_HELMREPOSITORY_API,
        "kind": "HelmRepository",
        "metadata": meta(name, FLUX_NAMESPACE, env.name),
        "spec": {"interval": "1h", "url": url},
    }


def helm_repository(env: Environment) -> dict:
    return chart_repository(env, HELM_REPOSITORY_NAME, versions.CHART_REPOSITORY_URL)


def release_spec(release_name: str, chart: str, version: str, repository: str, *, timeout: str) -> dict:
    """A HelmRelease's spec without values: the pinned chart from a HelmRepository of flux-system, retried
    installs and upgrades that roll back on failure (one definition for the hubs and the platform charts)."""
    return {
        "interval": "10m",
        "releaseName": release_name,
        "timeout": timeout,
        "chart": {
            "spec": {
                "chart": chart,
                "version": version,
                "sourceRef": {"kind": "HelmRepository", "name": repository, "namespace": FLUX_NAMESPACE},
                "interval": "1h",
            }
        },
        "install": {"remediation": {"retries": 3}},
        "upgrade": {"cleanupOnFail": True, "remediation": {"retries": 3, "strategy": "rollback"}},
        # A hand edit of anything the chart rendered is reverted at the next reconciliation and reported
        # (helm-controller's DriftDetected warning event, which the Alerts of cluster/notifications.yaml carry).
        # No ignore rules: helm-controller compares only the fields the release's manifest sets (a server-side
        # apply dry run), so what other controllers add (status, a PVC's volumeName, defaults, the deployment
        # controller's annotations) is no drift, and none of the charts hubgen renders leaves a field it sets
        # to a controller (no HorizontalPodAutoscaler owns a `/spec/replicas`); the e2e suite proves a deployed
        # environment reports no drift.
        "driftDetection": {"mode": "enabled"},
    }


def namespace(env: Environment, hub: Hub) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(hub.namespace, env=env.name)}


def service_account(env: Environment, hub: Hub) -> dict:
    metadata = meta(hub.service_account, hub.namespace, env.name)
    metadata["annotations"] = {"eks.amazonaws.com/role-arn": hub.singleuser.aws_role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def helm_release(env: Environment, hub: Hub) -> dict:
    spec = release_spec(hub.name, versions.CHART_NAME, hub.chart_version, HELM_REPOSITORY_NAME, timeout="15m")
    vf = values_from(hub)
    if vf:
        spec["valuesFrom"] = vf
    spec["values"] = release_values(hub, env.cluster)
    return {
        "apiVersion": versions.FLUX_HELMRELEASE_API,
        "kind": "HelmRelease",
        "metadata": meta(hub.name, hub.namespace, env.name),
        "spec": spec,
    }


#: Name of the Secret in flux-system holding the age private key (key ``age.agekey``), Flux's convention.
AGE_KEY_REF = "sops-age"
AGE = "age"  # spec secrets.provider value


def decryption(env: Environment) -> dict:
    """The secrets Kustomization's sops decryption: KMS through the controller's AWS identity
    (no secretRef), or age with the private key from the ``sops-age`` Secret."""
    out: dict = {"provider": "sops"}
    if env.secrets_provider == AGE:
        out["secretRef"] = {"name": AGE_KEY_REF}
    return out


def needs_secrets(env: Environment) -> bool:
    """Whether the environment reads Secrets from environments/<env>/secrets/ (a hub's login, a notifier's
    token or webhook URL), so that `<env>-secrets` is rendered to apply them."""
    return bool(env.notifiers) or any(h.secret_refs() for h in env.hubs)


def platform_kustomization_name(env: Environment) -> str:
    return f"{env.name}-platform"


def flux_kustomizations(env: Environment, extra_manifests: bool = False) -> list[dict]:
    p = paths.EnvPaths(env.name)

    def ks(name: str, path: str, extra: dict) -> dict:
        spec = {
            "interval": "10m",
            "retryInterval": "2m",
            "timeout": "15m",
            "path": f"./{path}",
            "prune": True,
            "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": FLUX_NAMESPACE},
        }
        spec.update(extra)
        return {"apiVersion": versions.FLUX_KUSTOMIZATION_API, "kind": "Kustomization",
                "metadata": meta(name, FLUX_NAMESPACE, env.name), "spec": spec}

    # The platform first: the hubs' volume claims need its StorageClasses (a claim made before its class
    # exists stays Pending), and their pods the autoscaler.
    docs = [ks(platform_kustomization_name(env), p.platform_dir, {})]
    depends = [{"name": platform_kustomization_name(env)}]
    if needs_secrets(env):
        docs.append(ks(f"{env.name}-secrets", p.secrets_dir, {"decryption": decryption(env)}))
        depends.append({"name": f"{env.name}-secrets"})
    docs.append(ks(f"{env.name}-hubs", p.hubs_dir, {"dependsOn": depends}))
    if extra_manifests:
        # The team's own manifests (environments/<env>/extra/, never written by hubgen): Flux builds the
        # folder's kustomization.yaml, or generates one from every manifest in it. sops-encrypted Secrets
        # are decrypted like the hubs' own. Independent of the hubs, so a broken manifest there never
        # holds a hub upgrade back (and the reverse).
        docs.append(ks(f"{env.name}-extra", p.extra_dir, {"decryption": decryption(env)}))
    return docs


def kustomization(files: list[str], folder: str) -> dict:
    """kustomize's entry point of ``folder``: every file of ``files`` (repository paths), relative to it."""
    return {
        "apiVersion": versions.KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": [posixpath.relpath(f, folder) for f in files],
    }


def kustomization_file(env: Environment, path: str, files: list[str]) -> RenderedFile:
    """The ``kustomization.yaml`` at ``path`` listing ``files`` (in its folder)."""
    p = paths.EnvPaths(env.name)
    body = dump_yaml(kustomization(files, posixpath.dirname(path)))
    return RenderedFile(path, with_header(body, p.spec, env.name), Kind.KUSTOMIZE, env.name)


def manifest(env: Environment, path: str, *docs: dict) -> RenderedFile:
    """A generated Kubernetes manifest: ``docs`` as one YAML stream under hubgen's header."""
    body = "---\n".join(dump_yaml(d) for d in docs)
    return RenderedFile(path, with_header(body, paths.EnvPaths(env.name).spec, env.name), Kind.K8S_MANIFEST,
                        env.name)


def render(env: Environment, extra_manifests: bool = False) -> list[RenderedFile]:
    """``extra_manifests``: the environment's extra/ folder holds manifests (see paths.EXTRA_DIR)."""
    p = paths.EnvPaths(env.name)
    out = [manifest(env, p.flux_entrypoint, *flux_kustomizations(env, extra_manifests)),
           manifest(env, p.namespaces, *(namespace(env, hub) for hub in env.hubs)),
           manifest(env, p.helm_repository, helm_repository(env))]
    for hub in env.hubs:
        if hub.service_account:
            out.append(manifest(env, p.hub_service_account(hub.name), service_account(env, hub)))
        out.append(manifest(env, p.hub_release(hub.name), helm_release(env, hub)))
    resources = [f.path for f in out if f.path.startswith(p.hubs_dir + "/")]
    out.append(kustomization_file(env, p.hubs_kustomization, resources))
    return out
