"""What Flux applied to the cluster, read from an environment's committed manifests.

The teardown plan names the objects Flux created from the environment's generated files (``cluster/``,
``platform/``, ``hubs/``) and from the team's own manifests (``extra/``): those files, not a re-render, are
what the cluster runs (``hubgen render --check`` keeps them equal to the spec). Everything here works on a
mapping of repository-relative path -> bytes, so the plan is unit-tested on rendered files held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from generator.paths import EnvPaths

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: The EBS CSI driver's StorageClass parameters that put tags on every volume it creates (numbered from 1).
TAG_PARAMETER_PREFIX = "tagSpecification_"


class NotRendered(Exception):
    """The environment's generated files are missing or unreadable (run `hubgen render`)."""


@dataclass(frozen=True)
class Release:
    """A HelmRelease (``folder``: "platform" or "hubs"); ``namespace`` is where the chart's objects live."""

    name: str
    namespace: str
    release_name: str
    target_namespace: str
    folder: str
    source: str
    values: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Class:
    """A StorageClass as rendered: what happens to its volumes when their claim is deleted, and their tags."""

    name: str
    reclaim_policy: str
    default: bool
    tags: tuple[tuple[str, str], ...]
    kms_key: str | None
    source: str


@dataclass(frozen=True)
class AwsObject:
    """A Kubernetes object that makes AWS create something outside the stack (a load balancer)."""

    kind: str
    namespace: str
    name: str
    source: str
    what: str


@dataclass
class Manifests:
    kustomizations: list[str] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    classes: list[Class] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    aws_objects: list[AwsObject] = field(default_factory=list)
    extra_files: list[str] = field(default_factory=list)

    @property
    def default_class(self) -> Class | None:
        return next((c for c in self.classes if c.default), None)

    def storage_class(self, name: str | None) -> Class | None:
        """The named class, or the default one for a claim that names none."""
        if name is None:
            return self.default_class
        return next((c for c in self.classes if c.name == name), None)

    def hub_release(self, name: str, namespace: str) -> Release | None:
        return next((r for r in self.releases if r.folder == "hubs" and r.name == name and r.namespace == namespace),
                    None)

    def platform_releases(self) -> list[Release]:
        return [r for r in self.releases if r.folder == "platform"]


def get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _documents(path: str, content: bytes) -> list[dict]:
    try:
        return [d for d in yaml.load_all(content.decode("utf-8"), Loader=_LOADER) if isinstance(d, dict)]
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise NotRendered(f"cannot read {path}: {e}") from None


def _tag_number(key: str) -> int:
    suffix = key[len(TAG_PARAMETER_PREFIX):]
    return int(suffix) if suffix.isdigit() else 0


def _class(doc: dict, source: str) -> Class:
    params = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
    tags = []
    for key in sorted((str(k) for k in params if str(k).startswith(TAG_PARAMETER_PREFIX)), key=_tag_number):
        tag, _, value = str(params[key]).partition("=")
        tags.append((tag, value))
    return Class(
        name=str(get(doc, "metadata", "name")),
        reclaim_policy=str(doc.get("reclaimPolicy") or "Delete"),  # Kubernetes' default
        default=str(get(doc, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION)) == "true",
        tags=tuple(tags),
        kms_key=params.get("kmsKeyId"),
        source=source,
    )


def _aws_object(doc: dict, source: str) -> AwsObject | None:
    kind = doc.get("kind")
    ns, name = str(get(doc, "metadata", "namespace") or "default"), str(get(doc, "metadata", "name"))
    if kind == "Service" and get(doc, "spec", "type") == "LoadBalancer":
        return AwsObject("Service", ns, name, source, "a load balancer (Service of type LoadBalancer)")
    if kind == "Ingress":
        return AwsObject("Ingress", ns, name, source, "a load balancer, with an ingress controller such as the AWS "
                                                      "Load Balancer Controller")
    if kind == "Gateway":
        return AwsObject("Gateway", ns, name, source, "a load balancer, with a Gateway API controller")
    return None


def read_manifests(environment: str, files: Mapping[str, bytes]) -> Manifests:
    """The objects of ``environment``'s committed manifests (``files``: repository-relative path -> bytes of the
    files under ``environments/<env>/``; other paths are ignored)."""
    paths = EnvPaths(environment)
    out = Manifests()
    folders = {"cluster": paths.cluster_dir, "platform": paths.platform_dir, "hubs": paths.hubs_dir,
               "extra": paths.extra_dir}
    for path in sorted(files):
        folder = next((f for f, d in folders.items() if path.startswith(d + "/")), None)
        if folder is None or not path.endswith((".yaml", ".yml")):
            continue
        if folder == "extra":
            out.extra_files.append(path)
        for doc in _documents(path, files[path]):
            _add(out, doc, folder, path)
    if not out.kustomizations:
        raise NotRendered(f"{paths.cluster_dir}/ holds no Flux Kustomization: run `hubgen render {environment}`")
    return out


def _add(out: Manifests, doc: dict, folder: str, path: str) -> None:
    kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
    name = str(get(doc, "metadata", "name"))
    if folder == "cluster" and kind == "Kustomization" and api.startswith("kustomize.toolkit.fluxcd.io/"):
        out.kustomizations.append(name)
    elif folder == "cluster" and kind == "Namespace":
        out.namespaces.append(name)
    elif folder in ("platform", "hubs") and kind == "HelmRelease":
        ns = str(get(doc, "metadata", "namespace") or "default")
        values = get(doc, "spec", "values")
        out.releases.append(Release(name, ns, str(get(doc, "spec", "releaseName") or name),
                                    str(get(doc, "spec", "targetNamespace") or ns), folder, path,
                                    values if isinstance(values, dict) else {}))
    elif kind == "StorageClass" and folder in ("platform", "extra"):
        out.classes.append(_class(doc, path))
    found = _aws_object(doc, path)
    if found is not None:
        out.aws_objects.append(found)
