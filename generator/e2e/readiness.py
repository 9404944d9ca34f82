"""Is an environment's cluster running what its repository says? The readiness assertions shared by
``hubgen verify`` (a real cluster, after Flux reconciled) and the end-to-end tests (a loopback cluster).

What is expected comes from the committed, generated files (what Flux applies) and the stack parameters (what
the load balancer targets), never from the cluster itself:

* every Flux ``Kustomization`` under ``environments/<env>/cluster/`` is Ready (and, when a revision is given,
  has applied that commit);
* every ``HelmRelease`` under ``platform/`` and ``hubs/`` is Ready at its current generation, its last
  release deployed at the pinned chart version (hooks included: Helm marks a release deployed only after its
  hooks succeeded);
* each hub's ``hub`` and ``proxy`` Deployments are available with every replica updated;
* each hub's database volume claim (``hub.db.type: sqlite-pvc``, the chart's default) is Bound, to the
  StorageClass the values name or else the one the environment renders as the default;
* each hub's ``proxy-public`` Service exposes the nodePort the stack's load balancer targets
  (``NodeProxyPort``, ``Hub2NodeProxyPort``, ... in ``cloudformation/cluster.template-configuration.json``);
* each node group with ``minSize`` >= 1 has a Ready node carrying the group's labels.

The chart's objects are found by the labels z2jh puts on them (``release``, ``component``), in the release's
namespace, so a ``fullnameOverride`` in ``values`` does not break the lookup.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from generator.e2e.kubeapi import Client, KubeError, condition
from generator.model import Environment
from generator.paths import EnvPaths, RepoPaths

HELMRELEASE_API = "helm.toolkit.fluxcd.io/v2"
KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
#: Stack parameter holding the nodePort of the environment's n-th hub (1-based).
NODE_PORT_PARAMETERS = {1: "NodeProxyPort", 2: "Hub2NodeProxyPort", 3: "Hub3NodeProxyPort"}
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: Seconds between two looks at the cluster while waiting.
POLL_INTERVAL = 1.0
#: The problem code (generator/codes.py) of each check, when it fails.
CODES = {
    "kustomization ready": "HG701",
    "helmrelease ready": "HG702",
    "hub available": "HG703",
    "proxy available": "HG703",
    "hub volume bound": "HG704",
    "proxy nodePort": "HG705",
    "node group": "HG706",
    "cluster": "HG707",
}


@dataclass(frozen=True)
class Ref:
    """One object the checks look at."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``ok``, and what was seen (the reason when not ok)."""

    check: str
    ref: Ref
    ok: bool
    detail: str
    #: The generated file that declares what was expected.
    source: str = ""

    @property
    def code(self) -> str:
        return CODES["node group" if self.check.startswith("node group") else self.check]


@dataclass(frozen=True)
class HubRelease:
    hub: str
    namespace: str
    release: str
    node_port: int | None
    storage_class: str | None
    uses_db_pvc: bool
    source: str


@dataclass(frozen=True)
class NodeGroupExpectation:
    name: str
    labels: dict[str, str]
    min_size: int


@dataclass
class Expected:
    """What the environment's generated files say the cluster runs."""

    environment: str
    #: The spec (where node groups are declared), repository-relative.
    spec: str = ""
    kustomizations: list[tuple[Ref, str]] = field(default_factory=list)
    helmreleases: list[tuple[Ref, dict, str]] = field(default_factory=list)
    hubs: list[HubRelease] = field(default_factory=list)
    node_groups: list[NodeGroupExpectation] = field(default_factory=list)


class NotRendered(Exception):
    """The environment's generated files are missing or unreadable (run `hubgen render`)."""


def _documents(path: Path) -> list[dict]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as e:
        raise NotRendered(f"cannot read {path}: {e}") from None


def _files(root: Path, folder: str) -> list[Path]:
    base = root / folder
    return sorted(p for p in base.rglob("*.yaml") if p.is_file()) if base.is_dir() else []


def _ref(doc: dict) -> Ref:
    meta = doc.get("metadata") or {}
    return Ref(str(doc.get("kind")), str(meta.get("name")), str(meta.get("namespace") or ""))


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def expected(repo: RepoPaths, environment: str, model: Environment) -> Expected:
    """The expectations for ``environment`` (``model`` is its validated spec) from its generated files: the
    hubs in the spec's order (the n-th hub's nodePort is the stack's n-th nodePort parameter)."""
    paths = EnvPaths(environment)
    out = Expected(environment, spec=paths.spec)
    for path in _files(repo.root, paths.dir + "/cluster"):
        for doc in _documents(path):
            if doc.get("kind") == "Kustomization" and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit"):
                out.kustomizations.append((_ref(doc), repo.rel(path)))
    if not out.kustomizations:
        raise NotRendered(f"{paths.dir}/cluster/ holds no Flux Kustomization: run `hubgen render {environment}`")
    default_class = None
    hub_docs: list[tuple[dict, str]] = []
    for folder in ("platform", "hubs"):
        for path in _files(repo.root, f"{paths.dir}/{folder}"):
            for doc in _documents(path):
                if doc.get("kind") == "StorageClass" and \
                        _get(doc, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION) == "true":
                    default_class = _get(doc, "metadata", "name")
                if doc.get("kind") == "HelmRelease":
                    out.helmreleases.append((_ref(doc), doc, repo.rel(path)))
                    if folder == "hubs":
                        hub_docs.append((doc, repo.rel(path)))
    parameters = _stack_parameters(repo.root / paths.dir / "cloudformation" / "cluster.template-configuration.json")
    for i, hub in enumerate(model.hubs, start=1):
        found = [(d, s) for d, s in hub_docs
                 if _get(d, "metadata", "name") == hub.name and _get(d, "metadata", "namespace") == hub.namespace]
        if not found:
            raise NotRendered(f"no HelmRelease {hub.namespace}/{hub.name} under {paths.dir}/hubs/: "
                              f"run `hubgen render {environment}`")
        doc, source = found[0]
        values = _get(doc, "spec", "values") or {}
        port = parameters.get(NODE_PORT_PARAMETERS.get(i, ""), "")
        out.hubs.append(HubRelease(
            hub=hub.name,
            namespace=str(_get(doc, "spec", "targetNamespace") or hub.namespace),
            release=str(_get(doc, "spec", "releaseName") or hub.name),
            node_port=int(port) if str(port).isdigit() else None,
            storage_class=_get(values, "hub", "db", "pvc", "storageClassName") or default_class,
            uses_db_pvc=(_get(values, "hub", "db", "type") or "sqlite-pvc") == "sqlite-pvc",
            source=source,
        ))
    from generator.platform import nodes

    for g in model.cluster.node_groups:
        out.node_groups.append(NodeGroupExpectation(g.name, nodes.labels(g), g.min_size))
    return out


def _stack_parameters(path: Path) -> dict[str, str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    params = doc.get("Parameters") if isinstance(doc, dict) else None
    return {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}


# --- the checks ----------------------------------------------------------------------------------------------------


def _ready(obj: dict | None) -> tuple[bool, str]:
    """(Ready=True at the current generation, what the Ready condition says)."""
    if obj is None:
        return False, "not found"
    ready = condition(obj)
    if ready is None:
        return False, "no Ready condition yet"
    gen, observed = _get(obj, "metadata", "generation"), _get(obj, "status", "observedGeneration")
    text = f"Ready={ready.get('status')} {ready.get('reason', '')}: {ready.get('message', '')}".rstrip(": ")
    if ready.get("status") == "True" and gen is not None and observed is not None and observed < gen:
        return False, f"generation {gen} not yet reconciled (observed {observed}); {text}"
    return ready.get("status") == "True", text


def check_kustomization(client: Client, ref: Ref, source: str, revision: str | None = None) -> Result:
    obj = client.get(KUSTOMIZATION_API, "Kustomization", ref.name, ref.namespace)
    ok, text = _ready(obj)
    applied = _get(obj, "status", "lastAppliedRevision") or ""
    if ok and revision and not _same_commit(applied, revision):
        ok, text = False, f"applied {applied or 'nothing'}, not {revision}"
    elif applied:
        text += f" (revision {applied})"
    return Result("kustomization ready", ref, ok, text, source)


def _same_commit(applied: str, revision: str) -> bool:
    """Whether a Flux revision (``main@sha1:<id>``) is the commit ``revision`` (a full or abbreviated id)."""
    commit = applied.rsplit(":", 1)[-1]
    return len(revision) >= 7 and commit.lower().startswith(revision.lower())


def check_helmrelease(client: Client, ref: Ref, doc: dict, source: str) -> Result:
    obj = client.get(HELMRELEASE_API, "HelmRelease", ref.name, ref.namespace)
    ok, text = _ready(obj)
    want = _get(doc, "spec", "chart", "spec", "version")
    history = _get(obj, "status", "history") or []
    latest = history[0] if history else {}
    if ok and latest.get("status") != "deployed":
        ok, text = False, f"latest release {latest.get('version')} is {latest.get('status') or 'unknown'}; {text}"
    if ok and want and latest.get("chartVersion") != want:
        ok, text = False, f"chart {latest.get('chartVersion')} deployed, {want} expected"
    if not ok:  # after a remediation Ready tells the rollback; the failed action's reason is in Released
        for kind in ("Released", "Stalled"):
            extra = condition(obj, kind)
            bad = extra and extra.get("status") == ("False" if kind == "Released" else "True")
            if bad and extra.get("message") and extra["message"] not in text:
                text += f"; {kind}: {extra.get('reason', '')}: {extra['message']}"
    return Result("helmrelease ready", ref, ok, text, source)


def _one(client: Client, api: str, kind: str, namespace: str, labels: dict[str, str],
         name_hint: str) -> tuple[dict | None, Ref]:
    items = client.list(api, kind, namespace, labels)
    items.sort(key=lambda o: (_get(o, "metadata", "name") != name_hint, _get(o, "metadata", "name")))
    if not items:
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return None, Ref(kind, f"({selector})", namespace)
    return items[0], _ref({"kind": kind, **items[0]})


def check_deployment(client: Client, hub: HubRelease, component: str) -> Result:
    obj, ref = _one(client, "apps/v1", "Deployment", hub.namespace, {"release": hub.release, "component": component},
                    component)
    if obj is None:
        return Result(f"{component} available", ref, False, "not found", hub.source)
    want = _get(obj, "spec", "replicas")
    want = 1 if want is None else want
    status = obj.get("status") or {}
    available = condition(obj, "Available")
    ok = (available is not None and available.get("status") == "True"
          and status.get("observedGeneration", 0) >= _get(obj, "metadata", "generation")
          and status.get("updatedReplicas", 0) >= want and status.get("availableReplicas", 0) >= want)
    detail = (f"{status.get('availableReplicas', 0)}/{want} available, {status.get('updatedReplicas', 0)} updated"
              + (f"; {available.get('reason')}: {available.get('message')}" if available and not ok else ""))
    return Result(f"{component} available", ref, ok, detail, hub.source)


def check_hub_volume(client: Client, hub: HubRelease) -> Result:
    obj, ref = _one(client, "v1", "PersistentVolumeClaim", hub.namespace, {"release": hub.release,
                                                                            "component": "hub"}, "hub-db-dir")
    if obj is None:
        return Result("hub volume bound", ref, False, "not found", hub.source)
    phase = _get(obj, "status", "phase")
    cls = _get(obj, "spec", "storageClassName")
    ok = phase == "Bound" and (hub.storage_class is None or cls == hub.storage_class)
    detail = f"{phase} to StorageClass {cls}" + (f", expected {hub.storage_class}" if cls != hub.storage_class else "")
    return Result("hub volume bound", ref, ok, detail, hub.source)


def check_node_port(client: Client, hub: HubRelease) -> Result:
    obj, ref = _one(client, "v1", "Service", hub.namespace, {"release": hub.release, "component": "proxy-public"},
                    "proxy-public")
    if obj is None:
        return Result("proxy nodePort", ref, False, "not found", hub.source)
    ports = {p.get("name"): p.get("nodePort") for p in _get(obj, "spec", "ports") or []}
    got = ports.get("http")
    ok = hub.node_port is not None and got == hub.node_port
    return Result("proxy nodePort", ref, ok, f"http nodePort {got}, the stack's load balancer targets {hub.node_port}",
                  hub.source)


def check_node_group(group: NodeGroupExpectation, nodes: list[dict], source: str = "") -> Result:
    ref = Ref("Node", f"({','.join(f'{k}={v}' for k, v in group.labels.items())})")
    matching = [n for n in nodes if all(_get(n, "metadata", "labels", k) == v for k, v in group.labels.items())]
    ready = [n for n in matching if (condition(n) or {}).get("status") == "True"]
    ok = bool(ready) or group.min_size == 0
    return Result(f"node group {group.name}", ref, ok,
                  f"{len(ready)} Ready of {len(matching)} node(s) with the group's labels (minSize {group.min_size})",
                  source)


def check(client: Client, exp: Expected, revision: str | None = None) -> list[Result]:
    """Every readiness check of ``exp`` against the cluster, once."""
    out: list[Result] = []
    for ref, source in exp.kustomizations:
        out.append(_guard(lambda: check_kustomization(client, ref, source, revision), "kustomization ready", ref,
                          source))
    for ref, doc, source in exp.helmreleases:
        out.append(_guard(lambda: check_helmrelease(client, ref, doc, source), "helmrelease ready", ref, source))
    for hub in exp.hubs:
        hub_ref = Ref("HelmRelease", hub.hub, hub.namespace)
        for component in ("hub", "proxy"):
            out.append(_guard(lambda: check_deployment(client, hub, component), f"{component} available", hub_ref,
                              hub.source))
        if hub.uses_db_pvc:
            out.append(_guard(lambda: check_hub_volume(client, hub), "hub volume bound", hub_ref, hub.source))
        out.append(_guard(lambda: check_node_port(client, hub), "proxy nodePort", hub_ref, hub.source))
    if exp.node_groups:
        try:
            nodes = client.list("v1", "Node")
        except KubeError as e:
            return out + [Result("cluster", Ref("Node", "*"), False, str(e), exp.spec)]
        out.extend(check_node_group(group, nodes, exp.spec) for group in exp.node_groups)
    return out


def _guard(fn: Callable[[], Result], name: str, ref: Ref, source: str) -> Result:
    """The check's result; a refused or failed request is a failed check saying so."""
    try:
        return fn()
    except KubeError as e:
        return Result(name, ref, False, str(e), source)


def wait(client: Client, exp: Expected, timeout: float, *, revision: str | None = None,
         interval: float = POLL_INTERVAL, on_poll: Callable[[list[Result]], None] | None = None) -> list[Result]:
    """Check until every result is ok or ``timeout`` seconds have passed; the last results."""
    deadline = time.monotonic() + timeout
    while True:
        results = check(client, exp, revision)
        if on_poll:
            on_poll(results)
        if all(r.ok for r in results) or time.monotonic() >= deadline:
            return results
        time.sleep(interval)


def failing(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if not r.ok]


def describe(results: Iterable[Result]) -> str:
    return "\n".join(f"{'ok ' if r.ok else 'NOT'} {r.check}: {r.ref}: {r.detail}" for r in results)
