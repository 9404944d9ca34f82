"""Deploys that report back: notification-controller Providers and Alerts (spec ``notifications``).

``cluster/notifications.yaml`` (see :mod:`generator.paths`) holds, per notifier of the spec, one Provider and
one Alert in flux-system:

* ``github``: a commit status on the commit Flux applied, one per Flux Kustomization of the environment
  (``flux-system``, which applies cluster/, then ``<env>-platform``, ``<env>-secrets``, ``<env>-hubs``,
  ``<env>-extra``). notification-controller's github provider takes Kustomization events only: they carry the
  git revision (``kustomize.toolkit.fluxcd.io/revision``) and mark their Ready events as commit status updates;
  a HelmRelease event carries a chart version, which is no commit. Its context is
  ``hubgen/<env>/<kustomization>`` (``commitStatusExpr``): every environment of the repository has its own
  statuses (two clusters both run a ``flux-system`` Kustomization), and the name survives a Provider being
  recreated (the default context ends in the Provider's UID, so a rebuilt cluster would report under a new
  name and branch protection would wait for the old one forever);
* ``slack`` and ``webhook`` (notification-controller's ``generic``): the Kustomizations' events and those of
  every HelmRelease of the environment (the platform's in kube-system, each hub's in its namespace), at the
  spec's severity: ``error`` is failures and corrected drift (helm-controller reports ``DriftDetected`` as a
  warning), ``info`` every reconciliation too.

Every Alert adds ``environment`` and ``summary`` to each event's metadata (Slack shows them as fields), so one
channel can serve several environments. The credentials (a GitHub token, a webhook URL) are Secrets in
flux-system, sops-encrypted under ``environments/<env>/secrets/`` and applied by ``<env>-secrets``
(:mod:`generator.secrets.inventory`); they never appear here.

API ``notification.toolkit.fluxcd.io/v1beta3``: the only version notification-controller v1.9 (Flux 2.9)
serves and stores for Providers and Alerts. Providers and Alerts of that version have no status to wait for.
"""

from __future__ import annotations

from generator import paths
from generator.artifacts import RenderedFile
from generator.model import Environment, Notifier
from generator.render import platform
from generator.render.flux import FLUX_NAMESPACE, flux_kustomizations, manifest, meta

NOTIFICATION_API = "notification.toolkit.fluxcd.io/v1beta3"
#: spec notifier kind -> notification-controller provider type.
PROVIDER_TYPES = {"github": "github", "slack": "slack", "webhook": "generic"}
#: The Kustomization ``flux bootstrap`` creates; it applies cluster/ (this file included).
BOOTSTRAP_KUSTOMIZATION = FLUX_NAMESPACE
#: Commit status contexts start with this (then ``<env>/<kustomization>``).
COMMIT_STATUS_PREFIX = "hubgen"


def object_name(env: Environment, notifier: Notifier) -> str:
    """The Provider's and its Alert's name: ``<env>-<kind>`` (one notifier of each kind per environment)."""
    return f"{env.name}-{notifier.kind}"


def commit_status_context(env: Environment, kustomization: str) -> str:
    """The GitHub commit status context of one Kustomization's events (what branch protection can require)."""
    return f"{COMMIT_STATUS_PREFIX}/{env.name}/{kustomization}"


def commit_status_expr(env: Environment) -> str:
    """The CEL expression notification-controller evaluates into :func:`commit_status_context`."""
    return f"'{commit_status_context(env, '')}' + event.involvedObject.name"


def provider(env: Environment, notifier: Notifier) -> dict:
    spec: dict = {"type": PROVIDER_TYPES[notifier.kind]}
    if notifier.kind == "github":
        spec["address"] = notifier.address
        spec["commitStatusExpr"] = commit_status_expr(env)
    if notifier.channel:
        spec["channel"] = notifier.channel
    spec["secretRef"] = {"name": notifier.secret}
    return {"apiVersion": NOTIFICATION_API, "kind": "Provider",
            "metadata": meta(object_name(env, notifier), FLUX_NAMESPACE, env.name), "spec": spec}


def kustomization_names(env: Environment, extra_manifests: bool) -> list[str]:
    """The bootstrap Kustomization, then the environment's own (as :func:`flux.flux_kustomizations` renders)."""
    return [BOOTSTRAP_KUSTOMIZATION, *(d["metadata"]["name"] for d in flux_kustomizations(env, extra_manifests))]


def helm_releases(env: Environment) -> list[tuple[str, str]]:
    """(namespace, name) of every HelmRelease the environment renders: the platform's, then the hubs'."""
    out = []
    if env.cluster.autoscaler:
        out.append((platform.NAMESPACE, platform.AUTOSCALER_RELEASE))
    if platform.has_gpus(env):
        out.append((platform.NAMESPACE, platform.DEVICE_PLUGIN_RELEASE))
    out.extend((hub.namespace, hub.name) for hub in env.hubs)
    return out


def event_sources(env: Environment, notifier: Notifier, extra_manifests: bool) -> list[dict]:
    sources = [{"kind": "Kustomization", "name": name, "namespace": FLUX_NAMESPACE}
               for name in kustomization_names(env, extra_manifests)]
    if notifier.kind != "github":
        sources += [{"kind": "HelmRelease", "name": name, "namespace": namespace}
                    for namespace, name in helm_releases(env)]
    return sources


def alert(env: Environment, notifier: Notifier, extra_manifests: bool) -> dict:
    name = object_name(env, notifier)
    return {"apiVersion": NOTIFICATION_API, "kind": "Alert", "metadata": meta(name, FLUX_NAMESPACE, env.name),
            "spec": {
                "providerRef": {"name": name},
                "eventSeverity": notifier.severity,
                "eventSources": event_sources(env, notifier, extra_manifests),
                "eventMetadata": {"environment": env.name,
                                  "summary": f"hubgen environment {env.name} (cluster {env.cluster.stack_name})"},
            }}


def render(env: Environment, extra_manifests: bool = False) -> list[RenderedFile]:
    """cluster/notifications.yaml when the spec has notifiers (nothing otherwise)."""
    if not env.notifiers:
        return []
    docs = []
    for n in env.notifiers:
        docs += [provider(env, n), alert(env, n, extra_manifests)]
    return [manifest(env, paths.EnvPaths(env.name).notifications, *docs)]
