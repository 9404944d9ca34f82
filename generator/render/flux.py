"""Flux manifests: the cluster entry point and, per hub, Namespace, ServiceAccount and HelmRelease.

Layout (see :mod:`generator.paths`)::

    cluster/hubs.yaml              Flux Kustomizations applied by `flux bootstrap --path=<env>/cluster`:
                                   <env>-secrets (sops decryption) and <env>-hubs (depends on secrets);
                                   <env>-extra when the team keeps manifests of its own in extra/
    cluster/namespaces.yaml        the hubs' Namespaces: applied with the entry point, before the
                                   Secrets of <env>-secrets need them (no ordering deadlock)
    hubs/kustomization.yaml        kustomize entry point of the hubs folder
    hubs/helmrepository.yaml       the JupyterHub chart repository
    hubs/<hub>/serviceaccount.yaml IRSA service account for notebook pods (when the hub uses IRSA)
    hubs/<hub>/helmrelease.yaml
"""

from __future__ import annotations

from posixpath import relpath

from generator import paths, versions
from generator.artifacts import Kind, RenderedFile
from generator.model import Environment, Hub
from generator.render.common import dump_yaml, with_header
from generator.render.values import release_values, values_from

FLUX_NAMESPACE = "flux-system"
HELM_REPOSITORY_NAME = "jupyterhub"
LABELS = {"app.kubernetes.io/managed-by": "hubgen"}


def _meta(name: str, namespace: str | None = None, env: str | None = None) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    labels = dict(LABELS)
    if env:
        labels["hubgen.dev/environment"] = env
    meta["labels"] = labels
    return meta


def helm_repository(env: Environment) -> dict:
    return {
        "apiVersion": versions.FLUX_HELMREPOSITORY_API,
        "kind": "HelmRepository",
        "metadata": _meta(HELM_REPOSITORY_NAME, FLUX_NAMESPACE, env.name),
        "spec": {"interval": "1h", "url": versions.CHART_REPOSITORY_URL},
    }


def namespace(env: Environment, hub: Hub) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(hub.namespace, env=env.name)}


def service_account(env: Environment, hub: Hub) -> dict:
    meta = _meta(hub.service_account, hub.namespace, env.name)
    meta["annotations"] = {"eks.amazonaws.com/role-arn": hub.singleuser.aws_role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def helm_release(env: Environment, hub: Hub) -> dict:
    spec: dict = {
        "interval": "10m",
        "releaseName": hub.name,
        "timeout": "15m",
        "chart": {
            "spec": {
                "chart": versions.CHART_NAME,
                "version": hub.chart_version,
                "sourceRef": {"kind": "HelmRepository", "name": HELM_REPOSITORY_NAME, "namespace": FLUX_NAMESPACE},
                "interval": "1h",
            }
        },
        "install": {"remediation": {"retries": 3}},
        "upgrade": {"cleanupOnFail": True, "remediation": {"retries": 3, "strategy": "rollback"}},
    }
    vf = values_from(hub)
    if vf:
        spec["valuesFrom"] = vf
    spec["values"] = release_values(hub)
    return {
        "apiVersion": versions.FLUX_HELMRELEASE_API,
        "kind": "HelmRelease",
        "metadata": _meta(hub.name, hub.namespace, env.name),
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
                "metadata": _meta(name, FLUX_NAMESPACE, env.name), "spec": spec}

    docs = []
    has_secrets = any(h.secret_refs() for h in env.hubs)
    hubs_extra: dict = {}
    if has_secrets:
        docs.append(ks(f"{env.name}-secrets", p.secrets_dir, {"decryption": decryption(env)}))
        hubs_extra["dependsOn"] = [{"name": f"{env.name}-secrets"}]
    docs.append(ks(f"{env.name}-hubs", p.hubs_dir, hubs_extra))
    if extra_manifests:
        # The team's own manifests (environments/<env>/extra/, never written by hubgen): Flux builds the
        # folder's kustomization.yaml, or generates one from every manifest in it. sops-encrypted Secrets
        # are decrypted like the hubs' own. Independent of the hubs, so a broken manifest there never
        # holds a hub upgrade back (and the reverse).
        docs.append(ks(f"{env.name}-extra", p.extra_dir, {"decryption": decryption(env)}))
    return docs


def kustomization(env: Environment, files: list[str]) -> dict:
    p = paths.EnvPaths(env.name)
    return {
        "apiVersion": versions.KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": [relpath(f, p.hubs_dir) for f in files],
    }


def render(env: Environment, extra_manifests: bool = False) -> list[RenderedFile]:
    """``extra_manifests``: the environment's extra/ folder holds manifests (see paths.EXTRA_DIR)."""
    p = paths.EnvPaths(env.name)

    def manifest(path: str, *docs: dict) -> RenderedFile:
        body = "---\n".join(dump_yaml(d) for d in docs)
        return RenderedFile(path, with_header(body, p.spec, env.name), Kind.K8S_MANIFEST, env.name)

    out = [manifest(p.flux_entrypoint, *flux_kustomizations(env, extra_manifests)),
           manifest(p.namespaces, *(namespace(env, hub) for hub in env.hubs)),
           manifest(p.helm_repository, helm_repository(env))]
    for hub in env.hubs:
        if hub.service_account:
            out.append(manifest(p.hub_service_account(hub.name), service_account(env, hub)))
        out.append(manifest(p.hub_release(hub.name), helm_release(env, hub)))
    resources = [f.path for f in out if f.path.startswith(p.hubs_dir + "/")]
    out.append(RenderedFile(p.hubs_kustomization,
                            with_header(dump_yaml(kustomization(env, resources)), p.spec, env.name),
                            Kind.KUSTOMIZE, env.name))
    return out
