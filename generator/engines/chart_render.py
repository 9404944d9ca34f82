"""The ``chart`` engine: every HelmRelease rendered by Helm, every rendered object proven against kubeconform and
the environment's other artifacts, every Flux Kustomization built by kustomize.

Per environment (one cached unit, keyed by everything it reads):

1. **Render.** Each HelmRelease the environment renders (each hub's JupyterHub chart, the platform's
   cluster-autoscaler and NVIDIA device plugin): the chart package at its pinned version from its HelmRepository
   URL, through the chart cache of :mod:`generator.engines.chart_values` (index, sha256 digest, offline from the
   cache), then ``helm template <release> <chart.tgz> --namespace <ns> --kube-version <minor>.0 -f <values>``
   with the release's values as Flux computes them (each ``valuesFrom`` ``targetPath`` set to
   :data:`PLACEHOLDER`, then ``spec.values`` merged over it). A chart Helm cannot render is HG509.
2. **kubeconform** over every rendered object at the environment's Kubernetes version (HG502, the object named).
3. **Cross-object invariants** over the chart objects, hubgen's files, the team's ``extra/`` manifests, the
   sops-encrypted Secrets of ``secrets/``, KubeSpawner's user pods (from the chart values: profiles, storage,
   service account) and the stack template (``manifests/cloudformation/cluster.yaml``) evaluated with the
   environment's parameters:

   * HG510 every PersistentVolumeClaim (and StatefulSet ``volumeClaimTemplate``), and every user volume
     KubeSpawner will claim, names a StorageClass the environment renders, or none when one is the default;
   * HG511 the proxy Service (``proxy-public``) is a NodePort Service on the port the stack's target group
     for that hub forwards to;
   * HG512 every pod template's node selector, required node affinity and tolerations are met by at least one
     node group (labels and taints of :mod:`generator.platform.nodes`, plus the labels EKS and the kubelet
     put on every node, :func:`node_groups`); KubeSpawner's profiles included;
   * HG513 every IRSA role a ServiceAccount names is one the spec declares (``singleuser.awsRoleArn``, on the
     hub's own service account) and the stack has an IAM OIDC provider; every service account a platform chart
     needs AWS credentials for matches one of the stack's Pod Identity associations; every pod's service
     account exists;
   * HG514 every Secret (and key) a pod or a HelmRelease reads is rendered (by a chart, its hooks included, or
     by hubgen) or is a sops-encrypted Secret in ``environments/<env>/secrets/``;
4. **Flux Kustomizations** (HG515): the path of each (and the bootstrap path ``environments/<env>/cluster``) is
   built with ``kustomize build`` the way kustomize-controller builds it: a ``kustomization.yaml`` generated
   where the folder has none (every YAML file below it, sub-folders with a kustomization of their own as
   folders), ``spec.targetNamespace``/``patches``/``images`` applied, no load restrictions.

Findings are located where they can be fixed: a value of the hub's raw ``values`` at that key in the spec, a
value hubgen generates at the spec field feeding it (:data:`generator.render.values.VALUE_SOURCES`,
:func:`generator.render.cloudformation.parameter_sources`), a profile at its ``nodeGroup``, a stack-side
mismatch at the template line, anything else at the HelmRelease or Kustomization in the generated file.

A chart that cannot be had is HG504 (a warning: not rendered), a version the repository lacks HG507; helm,
kustomize, kubeconform or the schemas missing is HG506.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Iterator

import yaml

from generator import codes
from generator.engines.base import EngineResult, EnvArtifacts, LintInputs, Stopwatch, cached_units, unit_key
from generator.engines.cache import canonical_json
from generator.model import CORE, Environment, Hub
from generator.paths import CLUSTER_TEMPLATE, EnvPaths, RepoPaths
from generator.platform import instance_types, nodes
from generator.problems import Location, Problem, Severity
from generator.render.values import VALUE_SOURCES, effective_values, merge_values
from generator.tree import MISSING, get_path
from generator.validate.schema import pointer

NAME = "chart"
SOURCE = "chart"
#: What a ``valuesFrom`` target path holds while rendering: a string, as the Secret's value would be, never a secret.
PLACEHOLDER = "hubgen-placeholder-not-a-secret"
HELM_ENV = "HUBGEN_HELM"
KUSTOMIZE_ENV = "HUBGEN_KUSTOMIZE"
TOOLS_BIN_ENV = "HUBGEN_TOOLS_BIN"
TIMEOUT_SECONDS = 120
INSTALL_HINT = ("Install the pinned engines with `bash .ci/install-tools` (into .tools/bin), or set {var} to the "
                "binary.")
#: Any HTTP(S) request an engine might attempt goes to this dead proxy: rendering and building are offline.
_DEAD_PROXY = "http://127.0.0.1:9"
#: Bump when the engine's logic changes in a way its cached results depend on (the module's own bytes are part
#: of every key too).
REVISION = "1"

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: The stack's target group of hub i (0-based) is ``Hub<i+1>TargetGroup`` (manifests/cloudformation/cluster.yaml).
TARGET_GROUP = "Hub{n}TargetGroup"
#: Node labels set at run time by a component on the nodes it configures, which no node group declares: a pod
#: selecting one is meant to run nowhere until that happens (the NVIDIA device plugin's MPS control daemon runs
#: only on nodes the plugin configured for MPS sharing, which hubgen configures on none).
RUNTIME_NODE_LABELS = {
    "nvidia.com/mps.capable": "set by the NVIDIA device plugin on nodes it configures for MPS sharing",
}
#: Platform releases whose pods call AWS and get their credentials from EKS Pod Identity (the stack's
#: AWS::EKS::PodIdentityAssociation resources): release name -> what for.
POD_IDENTITY_RELEASES = {"cluster-autoscaler": "it resizes the node groups' Auto Scaling groups"}
#: Pod templates: kind -> path of the pod spec in the object.
POD_SPECS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.M)
_UNKNOWN_FIELD_RE = re.compile(r"unknown field '([^']+)'")
_POINTER_RE = re.compile(r"\): (/[^:\s]*): ")
_GO_VERSION_RE = re.compile(rb"path\t[\w.\-/]+\nmod\t[^\t\n]+\t(v[0-9][^\t\n]*)")


# --- the engines' binaries -------------------------------------------------------------

def find_tool(name: str, env_var: str, repo_root: Path | None) -> Path | None:
    """``$<env_var>``, ``$HUBGEN_TOOLS_BIN/<name>``, ``<repo>/.tools/bin/<name>``, then ``PATH``."""
    override = os.environ.get(env_var)
    if override:
        p = Path(override).expanduser().absolute()
        return p if p.is_file() and os.access(p, os.X_OK) else None
    bins = [os.environ.get(TOOLS_BIN_ENV)] + ([str(Path(repo_root) / ".tools" / "bin")] if repo_root else [])
    for b in bins:
        if b:
            p = (Path(b) / name).absolute()
            if p.is_file() and os.access(p, os.X_OK):
                return p
    found = shutil.which(name)
    return Path(found).absolute() if found else None


_BINARIES: dict[tuple[str, int, int], tuple[str, str]] = {}


def binary_info(path: Path) -> tuple[str, str]:
    """(sha256, version from the Go build info or "unknown") of a binary, memoised by stat."""
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _BINARIES:
        data = path.read_bytes()
        m = _GO_VERSION_RE.search(data)
        _BINARIES[memo] = (hashlib.sha256(data).hexdigest(), m.group(1).decode() if m else "unknown")
    return _BINARIES[memo]


def _tool_env(home: Path) -> dict[str, str]:
    """A process environment with no network and no access to the user's Helm configuration or clusters."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HELM_", "KUBECONFIG")) and k.lower() not in ("no_proxy",)}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[var] = _DEAD_PROXY
    env.update({"HOME": str(home), "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
                "HELM_DATA_HOME": str(home / "data"), "KUBECONFIG": str(home / "no-kubeconfig")})
    return env


def _output(proc: subprocess.CompletedProcess, limit: int = 1500) -> str:
    text = (proc.stderr or b"").decode("utf-8", "replace").strip() or (proc.stdout or b"").decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


# --- YAML --------------------------------------------------------------------------------

@dataclass
class _Doc:
    data: dict
    node: yaml.Node | None
    line: int  # 1-based line of the document in its text


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_documents(text: str) -> list[_Doc]:
    """Every mapping document of a YAML stream with its node (positions in the whole text); a document that does
    not parse is left out (kubeconform and kustomize report it)."""
    from generator.engines.kubeconform import _chunks

    out = []
    for first, chunk in _chunks(text):
        try:
            node_list = list(yaml.compose_all("\n" * first + chunk, Loader=_YAML_LOADER))
        except yaml.YAMLError:
            continue
        for node in node_list:
            if not isinstance(node, yaml.MappingNode):
                continue
            try:
                data = _construct(node)
            except (yaml.YAMLError, RecursionError):
                continue
            if isinstance(data, dict):
                out.append(_Doc(data, node, node.start_mark.line + 1))
    return out


def _node_at(node: yaml.Node | None, path: Iterable) -> tuple[int, int] | None:
    """(line, column) of the deepest key or item along ``path`` below ``node``."""
    if node is None:
        return None
    mark = node.start_mark
    for p in path:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(p)), None)
            if hit is None:
                break
            mark, node = hit[0].start_mark, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and 0 <= p < len(node.value):
            node = node.value[p]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


def _dig(data: Any, *path: Any, default: Any = None) -> Any:
    value = get_path(data, path, MISSING)
    return default if value is MISSING or value is None else value


def _labels(obj: dict) -> dict:
    labels = _dig(obj, "metadata", "labels", default={})
    return labels if isinstance(labels, dict) else {}


def _annotations(obj: dict) -> dict:
    ann = _dig(obj, "metadata", "annotations", default={})
    return ann if isinstance(ann, dict) else {}


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- findings ----------------------------------------------------------------------------------

At = dict  # {"spec": [...], "key": bool} or {"file": str, "line": int, "column": int}


def at_spec(path: Iterable, key: bool = False) -> At:
    return {"spec": list(path), "key": key}


def at_file(file: str, line: int = 1, column: int = 1) -> At:
    return {"file": file, "line": line, "column": column}


def finding(code: codes.Code, message: str, at: At, *, hint: str | None = None,
            severity: Severity | None = None) -> dict:
    out: dict[str, Any] = {"code": code.id, "message": message, "at": at}
    if hint is not None:
        out["hint"] = hint
    if severity is not None:
        out["severity"] = severity.value
    return out


def to_problem(env: EnvArtifacts, f: dict) -> Problem | None:
    """A cached finding as a problem, its spec position computed now (edits to comments never show stale lines)."""
    try:
        code = codes.CODES[f["code"]]
        at = f["at"]
        severity = Severity(f["severity"]) if "severity" in f else None
        if "spec" in at:
            path = tuple(at["spec"])
            return code.problem(str(f["message"]), env.context.loc(path, key=bool(at.get("key"))),
                                environment=env.name, path=pointer(path), hint=f.get("hint"), severity=severity,
                                source=SOURCE)
        return code.problem(str(f["message"]), Location(str(at["file"]), int(at["line"]), int(at["column"])),
                            environment=env.name, hint=f.get("hint"), severity=severity, source=SOURCE)
    except (KeyError, TypeError, ValueError):
        return None


def decode_findings(payload: Any) -> list[dict] | None:
    if isinstance(payload, list) and all(isinstance(f, dict) and "code" in f and "at" in f for f in payload):
        return payload
    return None


# --- where a value of a hub's release comes from in the spec ----------------------------------------------

def _walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any, bool]]:
    """(path, value, is_key) of every map key and every value below ``node``, in document order."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k), k, True
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))
    else:
        yield path, node, False


class HubSpec:
    """Spec paths behind the chart values of hub ``index``."""

    def __init__(self, index: int, hub: Hub, env: Environment) -> None:
        self.index, self.hub = index, hub
        self.raw = hub.values or {}
        self.effective = effective_values(hub, env.cluster)

    @property
    def root(self) -> tuple:
        return ("hubs", self.index)

    def _raw(self, vpath: tuple) -> tuple | None:
        return (*self.root, "values", *vpath) if get_path(self.raw, vpath) is not MISSING else None

    def _generated(self, vpath: tuple) -> tuple | None:
        if get_path(self.effective, vpath) is MISSING:
            return None
        t = tuple(str(p) for p in vpath)
        for n in range(len(t), 0, -1):
            src = VALUE_SOURCES.get(t[:n])
            if src is not None:
                return (*self.root, *src)
        return None

    def path_of(self, vpath: Iterable) -> tuple | None:
        """The spec field feeding chart value ``vpath`` (its nearest set ancestor), or None."""
        vpath = tuple(vpath)
        for n in range(len(vpath), 0, -1):
            hit = self._raw(vpath[:n]) or self._generated(vpath[:n])
            if hit:
                return hit
        return None

    def find_raw(self, wanted: Callable[[Any, bool, tuple], bool]) -> At | None:
        """The first key or value of the hub's raw ``values`` that ``wanted(value, is_key, path)`` accepts."""
        for path, value, is_key in _walk(self.raw):
            if wanted(value, is_key, path):
                return at_spec((*self.root, "values", *path), key=is_key)
        return None


# --- the stack template ---------------------------------------------------------------------------------

class _CfnLoader(_YAML_LOADER):  # type: ignore[misc,valid-type]
    """A YAML loader that reads CloudFormation's short-form tags (``!Ref x`` -> ``{"Ref": "x"}``)."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@dataclass
class TargetGroup:
    resource: str
    port: int | None
    parameter: str | None
    line: int
    column: int


@dataclass
class Association:
    resource: str
    namespace: str
    service_account: str
    line: int
    column: int


@dataclass
class Stack:
    """What the cluster template, evaluated with an environment's parameters, says about the cluster."""

    template: str
    parameters: dict[str, str]
    target_groups: dict[str, TargetGroup] = field(default_factory=dict)
    associations: list[Association] = field(default_factory=list)
    oidc_provider: bool = False
    readable: bool = True


def _truth(expr: Any, params: dict[str, str], conditions: dict, depth: int = 0) -> bool | None:
    """A CloudFormation condition's value (None when hubgen cannot tell)."""
    if depth > 20:
        return None
    if isinstance(expr, bool):
        return expr
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Condition":
            return _truth(conditions.get(arg), params, conditions, depth + 1)
        if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            a, b = (_scalar_value(x, params) for x in arg)
            return None if a is None or b is None else a == b
        if fn in ("Fn::Not", "Fn::And", "Fn::Or") and isinstance(arg, list):
            values = [_truth(x, params, conditions, depth + 1) for x in arg]
            if any(v is None for v in values):
                return None
            return (not values[0]) if fn == "Fn::Not" else (all(values) if fn == "Fn::And" else any(values))
    return None


def _scalar_value(expr: Any, params: dict[str, str]) -> str | None:
    if isinstance(expr, dict) and set(expr) == {"Ref"}:
        return params.get(str(expr["Ref"]))
    if isinstance(expr, (str, int, float)) and not isinstance(expr, bool):
        return str(expr)
    return None


_TEMPLATES: dict[str, tuple[Any, Any]] = {}


def _parse_template(content: bytes) -> tuple[Any, Any]:
    """(data, root node) of a template, memoised by content; (None, None) when it does not parse."""
    digest = hashlib.sha256(content).hexdigest()
    if digest not in _TEMPLATES:
        try:
            loader = _CfnLoader(content.decode("utf-8"))
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
            _TEMPLATES[digest] = (data, node)
        except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
            _TEMPLATES[digest] = (None, None)
    return _TEMPLATES[digest]


def read_stack(content: bytes | None, env: Environment) -> Stack | None:
    """The facts of the cluster template for ``env`` (None without a template)."""
    from generator.render.cloudformation import flat_parameters

    if content is None:
        return None
    params = {k: str(v) for k, v in flat_parameters(env).items()}
    stack = Stack(CLUSTER_TEMPLATE, params)
    data, node = _parse_template(content)
    if not isinstance(data, dict):
        stack.readable = False
        return stack
    for name, decl in (data.get("Parameters") or {}).items():
        if isinstance(decl, dict) and "Default" in decl and name not in params:
            params[name] = str(decl["Default"])
    conditions = data.get("Conditions") or {}
    resources = data.get("Resources") or {}
    for rname, res in resources.items():
        if not isinstance(res, dict):
            continue
        if "Condition" in res and _truth({"Condition": res["Condition"]}, params, conditions) is False:
            continue
        props = res.get("Properties") or {}
        rtype = res.get("Type")
        if rtype == "AWS::ElasticLoadBalancingV2::TargetGroup":
            port = props.get("Port")
            parameter = str(port["Ref"]) if isinstance(port, dict) and set(port) == {"Ref"} else None
            value = _scalar_value(port, params)
            line, col = _node_at(node, ("Resources", rname, "Properties", "Port")) or (1, 1)
            stack.target_groups[rname] = TargetGroup(rname, int(value) if value and value.isdigit() else None,
                                                     parameter, line, col)
        elif rtype == "AWS::EKS::PodIdentityAssociation":
            ns, sa = _scalar_value(props.get("Namespace"), params), _scalar_value(props.get("ServiceAccount"), params)
            line, col = _node_at(node, ("Resources", rname, "Properties", "ServiceAccount")) or (1, 1)
            if ns and sa:
                stack.associations.append(Association(rname, ns, sa, line, col))
        elif rtype == "AWS::IAM::OIDCProvider":
            stack.oidc_provider = True
    return stack


# --- node groups as the scheduler sees them ------------------------------------------------------------

#: A label any value of which a node may carry (hostnames, AMI ids, launch template ids).
ANY = None
KUBE_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class GroupShape:
    """A node group's nodes: label -> the values its nodes can have (ANY: any value), taints."""

    name: str
    index: int
    labels: dict
    taints: tuple


def node_groups(env: Environment) -> list[GroupShape]:
    """The declared node groups: hubgen's labels and taints (:func:`generator.platform.nodes.labels`,
    :func:`~generator.platform.nodes.taints`) plus what the kubelet, the AWS cloud provider and EKS put on every
    node (os, architecture, instance type, zone, region; for managed node groups their name and capacity type).
    EKS adds no taints of its own to these groups' nodes (only transient ones such as
    ``node.kubernetes.io/not-ready``, which Kubernetes tolerates for every pod)."""
    zones_all = frozenset(s.availability_zone for s in env.cluster.subnets)
    out = []
    for i, g in enumerate(env.cluster.node_groups):
        arch = KUBE_ARCH.get(nodes.arch(g), "amd64")
        zones = frozenset({g.availability_zone}) if g.purpose != CORE and g.availability_zone else zones_all
        labels: dict[str, frozenset | None] = {k: frozenset({v}) for k, v in nodes.labels(g).items()}
        types = frozenset(g.instance_types)
        labels.update({
            "kubernetes.io/os": frozenset({"linux"}), "beta.kubernetes.io/os": frozenset({"linux"}),
            "kubernetes.io/arch": frozenset({arch}), "beta.kubernetes.io/arch": frozenset({arch}),
            "kubernetes.io/hostname": ANY,
            "node.kubernetes.io/instance-type": types, "beta.kubernetes.io/instance-type": types,
            "topology.kubernetes.io/zone": zones, "failure-domain.beta.kubernetes.io/zone": zones,
            "topology.ebs.csi.aws.com/zone": zones, "topology.k8s.aws/zone-id": ANY,
            "topology.kubernetes.io/region": frozenset({env.region}),
            "failure-domain.beta.kubernetes.io/region": frozenset({env.region}),
        })
        if g.purpose != CORE:  # EKS managed node groups
            labels.update({
                "eks.amazonaws.com/nodegroup": frozenset({g.name}),
                "eks.amazonaws.com/capacityType": frozenset({"SPOT" if g.capacity_type == "spot" else "ON_DEMAND"}),
                "eks.amazonaws.com/nodegroup-image": ANY, "eks.amazonaws.com/sourceLaunchTemplateId": ANY,
                "eks.amazonaws.com/sourceLaunchTemplateVersion": ANY,
            })
        known = [instance_types.lookup(t) for t in g.instance_types]
        if known and all(k is not None and k.gpus for k in known):
            labels["nvidia.com/gpu.present"] = ANY  # set by NVIDIA's GPU feature discovery when it runs
        out.append(GroupShape(g.name, i, labels, tuple(nodes.taints(g))))
    return out


def _expression_ok(labels: dict, expr: dict) -> bool:
    key, op = str(expr.get("key", "")), str(expr.get("operator", ""))
    values = {str(v) for v in expr.get("values") or []}
    has, possible = key in labels, labels.get(key)
    if op == "In":
        return has and (possible is ANY or bool(possible & values))
    if op == "NotIn":
        return not has or possible is ANY or bool(possible - values)
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        if not has:
            return False
        if possible is ANY:
            return True
        try:
            bound = int(next(iter(values)))
            return any((int(v) > bound) if op == "Gt" else (int(v) < bound) for v in possible)
        except (StopIteration, ValueError):
            return False
    return True


def _term_ok(labels: dict, term: dict) -> bool:
    return all(_expression_ok(labels, e) for e in _dicts(term.get("matchExpressions")))


def _selector_ok(labels: dict, selector: dict) -> bool:
    return all(k in labels and (labels[k] is ANY or str(v) in labels[k]) for k, v in selector.items())


def _tolerates(toleration: dict, taint: nodes.Taint) -> bool:
    effect = toleration.get("effect")
    if effect and effect != taint.effect:
        return False
    key, op = toleration.get("key"), toleration.get("operator") or "Equal"
    if not key:
        return op == "Exists"
    if key != taint.key:
        return False
    return op == "Exists" or str(toleration.get("value") or "") == taint.value


def _untolerated(tolerations: list[dict], taints: tuple) -> list:
    return [t for t in taints if t.effect in ("NoSchedule", "NoExecute")
            and not any(_tolerates(tol, t) for tol in tolerations)]


def _taint_text(t: nodes.Taint) -> str:
    return f"{t.key}={t.value}:{t.effect}"


def _terms_text(terms: list[dict]) -> str:
    def expr(e: dict) -> str:
        values = ",".join(str(v) for v in e.get("values") or [])
        return f"{e.get('key')} {e.get('operator')}" + (f" ({values})" if values else "")
    return " or ".join(" and ".join(expr(e) for e in _dicts(t.get("matchExpressions"))) or "(any node)"
                       for t in terms)


@dataclass
class Placement:
    """Why a pod fits no node group: the text, and what to look for in the values that caused it."""

    reason: str
    label_keys: tuple[str, ...] = ()
    tolerations: bool = False


def placement(groups: list[GroupShape], selector: dict, terms: list[dict], tolerations: list[dict]) -> Placement | None:
    """None when some node group takes the pod (or it selects a label set at run time: dormant by design)."""
    selector = {str(k): v for k, v in (selector or {}).items()}
    keys = set(selector) | {str(e.get("key")) for t in terms for e in _dicts(t.get("matchExpressions"))}
    if keys & set(RUNTIME_NODE_LABELS):
        return None
    matching = [g for g in groups if _selector_ok(g.labels, selector)
                and (not terms or any(_term_ok(g.labels, t) for t in terms))]
    fitting = [g for g in matching if not _untolerated(tolerations, g.taints)]
    if fitting:
        return None
    if not matching:
        unmet = {k: v for k, v in selector.items() if not any(_selector_ok(g.labels, {k: v}) for g in groups)}
        by_terms = [g for g in groups if any(_term_ok(g.labels, t) for t in terms)] if terms else groups
        parts, culprits = [], set(unmet)
        if unmet:
            parts.append(f"nodeSelector {', '.join(f'{k}={v}' for k, v in unmet.items())}: no node group's nodes "
                         "carry it")
        if not by_terms:
            parts.append(f"required node affinity {_terms_text(terms)}: no node group's nodes match it")
            culprits |= {str(e.get("key")) for t in terms for e in _dicts(t.get("matchExpressions"))}
        if not parts:
            by_selector = [g.name for g in groups if _selector_ok(g.labels, selector)]
            parts.append(f"nodeSelector {', '.join(f'{k}={v}' for k, v in selector.items())} matches node group(s) "
                         f"{', '.join(by_selector)}, required node affinity {_terms_text(terms)} matches "
                         f"{', '.join(g.name for g in by_terms)}: none matches both")
            culprits = keys
        return Placement(f"{'; '.join(parts)} (declared node groups: {', '.join(g.name for g in groups)})",
                         tuple(sorted(culprits)))
    detail = "; ".join(f"{g.name} has {', '.join(_taint_text(t) for t in _untolerated(tolerations, g.taints))}"
                       for g in matching)
    return Placement(f"it matches node group(s) {', '.join(g.name for g in matching)} but does not tolerate their "
                     f"taints ({detail})", (), True)


def pod_affinity_terms(pod: dict) -> list[dict]:
    return _dicts(_dig(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                       "nodeSelectorTerms"))


# --- the objects of an environment -------------------------------------------------------------------

@dataclass
class Release:
    """One HelmRelease and what rendering it produced."""

    name: str
    namespace: str
    release_name: str
    target_namespace: str
    chart: str
    version: str
    url: str | None
    values: dict
    values_from: list[dict]
    file: str
    doc: _Doc
    hub_index: int | None = None
    hub: HubSpec | None = None
    package: Any = None  # chart_values.ChartPackage
    output: str | None = None
    objects: list["Obj"] = field(default_factory=list)
    user_pods: list | None = None

    @property
    def label(self) -> str:
        return f"HelmRelease {self.namespace}/{self.name} (chart {self.chart} {self.version})"

    def anchor(self, *path: Any) -> At:
        line, col = _node_at(self.doc.node, path or ("metadata", "name")) or (self.doc.line, 1)
        return at_file(self.file, line, col)

    def default_at(self) -> At:
        return at_spec(self.hub.root, key=True) if self.hub else self.anchor()


@dataclass
class Obj:
    kind: str
    name: str
    namespace: str
    data: dict
    file: str | None = None
    doc: _Doc | None = None
    release: Release | None = None
    #: The chart template it came from (``# Source:``).
    source: str = ""

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def origin(self) -> str:
        if self.release is not None:
            return f"rendered by {self.release.label}" + (f" from {self.source}" if self.source else "")
        return f"in {self.file}"

    @property
    def hook(self) -> bool:
        return "helm.sh/hook" in _annotations(self.data)


@dataclass
class EnvState:
    """Everything the invariants of one environment look at."""

    env: EnvArtifacts
    tree: dict[str, bytes]
    objects: list[Obj] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    stack: Stack | None = None
    findings: list[dict] = field(default_factory=list)

    @property
    def model(self) -> Environment:
        return self.env.context.model

    @property
    def paths(self) -> EnvPaths:
        return self.env.context.paths

    def add(self, f: dict) -> None:
        if f not in self.findings:
            self.findings.append(f)


def env_tree(repo: RepoPaths, env: EnvArtifacts) -> dict[str, bytes]:
    """The environment's folder as Flux will see it after this render: the rendered files, and every other file
    there (the sops-encrypted secrets, the team's extra/, foreign files, a bootstrap's flux-system/), read without
    following links. A generated file on disk that this render no longer produces is left out (render removes it)."""
    from generator.render.common import HEADER_MARK
    from generator.safefs import Refused, read_file

    paths = env.context.paths
    out = {f.path: f.content for f in env.files}
    base = repo.abs(paths.dir)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for fname in sorted(filenames):
            rel = Path(dirpath, fname).relative_to(repo.root).as_posix()
            if rel in out or rel == paths.spec or not (fname.endswith((".yaml", ".yml")) or fname == "Kustomization"):
                continue
            try:
                data = read_file(repo.root, rel)
            except (Refused, OSError):
                continue
            if data is None or len(data) > 1024 * 1024:
                continue
            if paths.is_generated_path(rel) and (data.startswith(HEADER_MARK.encode())
                                                 or paths.is_headerless_output(rel)):
                continue
            out[rel] = data
    return dict(sorted(out.items()))


def _is_manifest_path(paths: EnvPaths, rel: str) -> bool:
    name = PurePosixPath(rel).name
    return (name.endswith((".yaml", ".yml")) and name not in KUSTOMIZATION_FILES
            and not rel.startswith(paths.cloudformation_dir + "/"))


def file_objects(state: EnvState) -> None:
    for rel, content in state.tree.items():
        if not _is_manifest_path(state.paths, rel):
            continue
        for doc in parse_documents(content.decode("utf-8", "replace")):
            kind, name = doc.data.get("kind"), _dig(doc.data, "metadata", "name")
            if isinstance(kind, str) and isinstance(name, str) and doc.data.get("apiVersion"):
                ns = _dig(doc.data, "metadata", "namespace", default="default")
                state.objects.append(Obj(kind, name, str(ns), doc.data, rel, doc))


def _set_dotted(values: dict, dotted: str, value: Any) -> None:
    node = values
    parts = [p for p in dotted.split(".") if p]
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    if parts:
        node[parts[-1]] = value


def releases(state: EnvState) -> None:
    """Every HelmRelease of hubgen's files, with its HelmRepository's URL and the values Flux hands to Helm."""
    repositories = {(o.namespace, o.name): o for o in state.objects if o.kind == "HelmRepository"}
    hub_files = {state.paths.hub_release(h.name): i for i, h in enumerate(state.model.hubs)}
    rendered = {f.path for f in state.env.files if not f.path.startswith(state.paths.extra_dir + "/")}
    for o in state.objects:
        if o.kind != "HelmRelease" or o.file not in rendered or o.doc is None:
            continue
        spec = o.data.get("spec") or {}
        chart = _dig(spec, "chart", "spec", default={})
        source = chart.get("sourceRef") or {}
        repo_obj = repositories.get((str(source.get("namespace") or o.namespace), str(source.get("name"))))
        helm_repository = repo_obj is not None and source.get("kind", "HelmRepository") == "HelmRepository"
        url = _dig(repo_obj.data, "spec", "url") if helm_repository else None
        values: dict = {}
        values_from = _dicts(spec.get("valuesFrom"))
        for ref in values_from:
            if ref.get("targetPath"):
                _set_dotted(values, str(ref["targetPath"]), PLACEHOLDER)
        values = merge_values(values, spec.get("values") or {})
        target = str(spec.get("targetNamespace") or o.namespace)
        release_name = str(spec.get("releaseName")
                           or (f"{target}-{o.name}" if spec.get("targetNamespace") else o.name))
        r = Release(o.name, o.namespace, release_name, target, str(chart.get("chart")), str(chart.get("version")),
                    str(url) if url else None, values, values_from, o.file, o.doc)
        if o.file in hub_files:
            i = hub_files[o.file]
            r.hub_index, r.hub = i, HubSpec(i, state.model.hubs[i], state.model)
        state.releases.append(r)


# --- rendering -------------------------------------------------------------------------------------

def helm_command(helm: Path, r: Release, package: Path, values_file: Path, kubernetes_version: str) -> list[str]:
    """The exact `helm template` invocation (docs/lint.md)."""
    return [str(helm), "template", r.release_name, str(package), "--namespace", r.target_namespace,
            "--kube-version", f"{kubernetes_version}.0", "--include-crds", "--skip-tests", "-f", str(values_file)]


def run_helm(state: EnvState, r: Release, helm: Path, work: Path) -> subprocess.CompletedProcess | Exception:
    """`helm template` of one release (no network, no Helm configuration of the user's)."""
    values_file = work / f"{r.namespace}-{r.name}.values.yaml"
    values_file.write_text(yaml.safe_dump(r.values, sort_keys=True), encoding="utf-8")
    home = work / f"helm-home-{r.namespace}-{r.name}"
    home.mkdir(exist_ok=True)
    cmd = helm_command(helm, r, r.package.path, values_file, state.model.cluster.kubernetes_version)
    try:
        return subprocess.run(cmd, cwd=work, env=_tool_env(home), capture_output=True, timeout=TIMEOUT_SECONDS,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return e


def accept_render(state: EnvState, r: Release, helm: Path, proc: subprocess.CompletedProcess | Exception) -> None:
    """The rendered objects of one release into ``r.output``/``r.objects``; HG509 when Helm refused."""
    if isinstance(proc, Exception):
        state.add(finding(codes.HG506, f"{r.label}: helm ({helm}) could not run: {proc}; the chart was not rendered",
                          r.anchor()))
        return
    if proc.returncode != 0:
        # The hub's raw `values` are the likely cause; hubgen's own values are tested against the chart.
        at = at_spec((*r.hub.root, "values"), key=True) if r.hub and r.hub.raw else r.default_at()
        state.add(finding(codes.HG509, f"{r.label}: `helm template` fails: {_output(proc)}", at,
                          hint="Fix the value Helm names (usually in the hub's `values`); `helm template` with the "
                               "HelmRelease's values shows the same error."))
        return
    r.output = proc.stdout.decode("utf-8", "replace")
    sources = [(m.start(), m.group(1)) for m in _SOURCE_RE.finditer(r.output)]
    for doc in parse_documents(r.output):
        kind, name = doc.data.get("kind"), _dig(doc.data, "metadata", "name")
        if not isinstance(kind, str) or not isinstance(name, str):
            continue
        offset = _line_offset(r.output, doc.line)
        source = next((s for pos, s in reversed(sources) if pos <= offset), "")
        ns = str(_dig(doc.data, "metadata", "namespace", default=r.target_namespace))
        obj = Obj(kind, name, ns, doc.data, None, doc, r, source)
        r.objects.append(obj)
        state.objects.append(obj)


def render_all(jobs: list[tuple[EnvState, Release]], helm: Path, work: Path) -> None:
    """Every release of ``jobs`` rendered, up to :func:`generator.parallel.jobs` helm processes at a time; the
    results are taken in order, so findings never depend on timing."""
    from concurrent.futures import ThreadPoolExecutor

    from generator.parallel import jobs as cpus

    if not jobs:
        return
    dirs = []
    for i, (_s, _r) in enumerate(jobs):
        d = work / f"render-{i}"
        d.mkdir(parents=True, exist_ok=True)
        dirs.append(d)
    with ThreadPoolExecutor(max_workers=max(1, min(cpus(), len(jobs)))) as pool:
        procs = list(pool.map(lambda i: run_helm(jobs[i][0], jobs[i][1], helm, dirs[i]), range(len(jobs))))
    for (s, r), proc in zip(jobs, procs):
        accept_render(s, r, helm, proc)


def _line_offset(text: str, line: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def _kubeconform_messages(result: dict) -> list[str]:
    """kubeconform's findings on one object, worded as the kubeconform engine words them."""
    from generator.engines import kubeconform as kc

    kind, name, version = result.get("kind", ""), result.get("name", ""), result.get("version", "")
    label = kc._label(kind, name, version)
    msg = " ".join((result.get("msg") or "").split())
    if result.get("status") == "statusInvalid":
        out = []
        for path, text in kc._findings(result):
            extra = kc._ADDITIONAL_RE.match(text)
            if extra:
                for n in kc._QUOTED_RE.findall(extra.group(1)):
                    n = n.replace("''", "'")
                    out.append(f"{label}: {path}/{n}: unknown field {n!r} (strict schema: additional properties "
                               "not allowed)")
            else:
                out.append(f"{label}: {path or '/'}: {text}")
        return out or [f"{label}: {msg}"]
    if msg.startswith("could not find schema"):
        return [f"{label}: no schema for apiVersion {version!r} kind {kind!r}"]
    return [f"{label}: {msg}"]


def kubeconform_outputs(state: EnvState, kubeconform: Path, schema_dir: Path, kubernetes_version: str,
                        work: Path) -> None:
    """kubeconform (strict, offline schemas of the environment's version) over every release's rendered objects,
    in one run; HG502 at the release (or at the key of the hub's raw `values` that put the field there), naming
    the object and the chart template it came from."""
    import json

    from generator.engines import kubeconform as kc

    rendered = {f"{i:03d}.yaml": r for i, r in enumerate(r for r in state.releases if r.output)}
    if not rendered:
        return
    folder = work / "kubeconform"
    folder.mkdir(parents=True, exist_ok=True)
    for name, r in rendered.items():
        (folder / name).write_text(r.output or "", encoding="utf-8")
    cmd = kc.kubeconform_command(kubeconform, schema_dir.resolve(), kubernetes_version, list(rendered))
    env = _tool_env(work / "kubeconform-home")
    try:
        proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        results = json.loads(proc.stdout.decode("utf-8", "replace")).get("resources") or []
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError) as e:
        state.add(finding(codes.HG506, f"kubeconform ({kubeconform}) could not validate the rendered charts: {e}",
                          at_file(state.paths.spec)))
        return
    if proc.returncode not in (0, 1):
        state.add(finding(codes.HG506, f"kubeconform ({kubeconform}) failed (exit {proc.returncode}): "
                                       f"{_output(proc, 500)}", at_file(state.paths.spec)))
        return
    for result in results:
        r = rendered.get(result.get("filename", ""))
        if r is None:
            continue
        obj = next((o for o in r.objects if (o.kind, o.name) == (result.get("kind"), result.get("name"))), None)
        where = f" ({obj.source})" if obj is not None and obj.source else ""
        for message in _kubeconform_messages(result):
            # A field the hub's raw `values` put there (z2jh passes many through) is reported at that key.
            m = _UNKNOWN_FIELD_RE.search(message) or _POINTER_RE.search(message)
            field_ = m.group(1).rsplit("/", 1)[-1] if m else ""
            at = (r.hub.find_raw(lambda v, is_key, path: is_key and v == field_) if r.hub and field_ and
                  not field_.isdigit() else None)
            state.add(finding(codes.HG502, f"{r.label} renders {message}{where}", at or r.anchor("spec", "values")))


# --- the invariants ----------------------------------------------------------------------------------

def _where(state: EnvState, r: Release | None, *, raw: Callable[[Any, bool, tuple], bool] | None = None,
           vpath: Iterable | None = None, fallback: At | None = None) -> At:
    """Where to report a problem of release ``r``: the raw values a predicate finds, the spec field behind a
    chart value, a fallback, else the release."""
    if r is not None and r.hub is not None:
        if raw is not None:
            hit = r.hub.find_raw(raw)
            if hit:
                return hit
        if vpath is not None:
            path = r.hub.path_of(tuple(vpath))
            if path:
                return at_spec(path)
    if fallback is not None:
        return fallback
    return r.default_at() if r is not None else at_file(state.paths.spec)


def _equals(text: str) -> Callable[[Any, bool, tuple], bool]:
    return lambda value, is_key, path: isinstance(value, str) and value == text


def _obj_at(state: EnvState, o: Obj, *path: Any) -> At:
    if o.release is not None:
        return o.release.default_at()
    line, col = _node_at(o.doc.node if o.doc else None, path or ("metadata", "name")) or (1, 1)
    return at_file(o.file or state.paths.spec, line, col)


def pod_specs(state: EnvState) -> Iterator[tuple[Obj, dict]]:
    """(object, pod spec) of every chart object with a pod template that will have pods."""
    for o in state.objects:
        if o.release is None or o.kind not in POD_SPECS:
            continue
        if o.kind in ("Deployment", "StatefulSet", "ReplicaSet") and _dig(o.data, "spec", "replicas") == 0:
            continue
        pod = get_path(o.data, POD_SPECS[o.kind], None)
        if isinstance(pod, dict):
            yield o, pod


@dataclass
class UserPod:
    """A notebook server KubeSpawner will start for a hub (one per profile, or the hub's one)."""

    release: Release
    label: str
    node_selector: dict
    terms: list[dict]
    tolerations: list[dict]
    storage_class: Any  # MISSING: no dynamic volume
    service_account: str | None
    profile: int | None
    values: dict
    #: The profile sets the claim's class itself (``storage_class`` in its ``kubespawner_override``).
    own_storage_class: bool = False


def user_pods(r: Release) -> list[UserPod]:
    """KubeSpawner's pods, from the chart's values as its hub configuration reads them (z2jh's
    jupyterhub_config.py): node selector, required node affinity (``matchNodePurpose: require`` and
    ``extraNodeAffinity.required``), tolerations (``scheduling.userPods.tolerations`` + ``extraTolerations``),
    the dynamic volume's class; each profile's ``kubespawner_override`` replaces what it sets."""
    from generator.engines.chart_values import helm_merge

    if r.user_pods is not None:
        return r.user_pods
    if r.chart != "jupyterhub" or r.package is None or r.package.unavailable:
        r.user_pods = []
        return r.user_pods
    v = helm_merge(r.package.defaults, r.values)
    su = _dig(v, "singleuser", default={})
    selector = dict(_dig(su, "nodeSelector", default={}) or {})
    terms = list(_dicts(_dig(su, "extraNodeAffinity", "required")))
    if _dig(v, "scheduling", "userPods", "nodeAffinity", "matchNodePurpose") == "require":
        terms.insert(0, {"matchExpressions": [{"key": nodes.NODE_PURPOSE_LABEL, "operator": "In", "values": ["user"]}]})
    tolerations = _dicts(_dig(v, "scheduling", "userPods", "tolerations")) + _dicts(_dig(su, "extraTolerations"))
    storage = MISSING
    if _dig(su, "storage", "type") == "dynamic":
        storage = _dig(su, "storage", "dynamic", "storageClass")
    base = UserPod(r, f"hub {r.name}'s notebook servers", selector, terms, tolerations, storage,
                   _dig(su, "serviceAccountName"), None, v)
    profiles = _dicts(_dig(su, "profileList"))
    if not profiles:
        r.user_pods = [base]
        return r.user_pods
    out = []
    for i, p in enumerate(profiles):
        o = p.get("kubespawner_override") or {}
        out.append(UserPod(
            r, f"profile '{p.get('slug') or p.get('display_name')}' of hub {r.name}",
            dict(o["node_selector"]) if isinstance(o.get("node_selector"), dict) else selector,
            _dicts(o["node_affinity_required"]) if "node_affinity_required" in o else terms,
            _dicts(o["tolerations"]) if "tolerations" in o else tolerations,
            (o.get("storage_class") if "storage_class" in o else storage) if storage is not MISSING else MISSING,
            o.get("service_account", base.service_account), i, v, "storage_class" in o))
    r.user_pods = out
    return out


def _profile_at(pod: UserPod, field_: str | None = "nodeGroup") -> At | None:
    """The profile's field in the spec (the profile itself for ``field_`` None)."""
    r = pod.release
    if pod.profile is None or r.hub is None or pod.profile >= len(r.hub.hub.profiles):
        return None
    if field_ is None:
        return at_spec((*r.hub.root, "profiles", pod.profile), key=True)
    return at_spec((*r.hub.root, "profiles", pod.profile, field_))


def check_scheduling(state: EnvState) -> None:
    """HG512: every pod template, and every KubeSpawner pod, fits at least one node group."""
    groups = node_groups(state.model)
    if not groups:
        return
    hint = ("Change the node selector, affinity or tolerations (in the hub's `values`), or declare a node group "
            "whose labels and taints they match (cluster.nodeGroups).")

    def report(r: Release | None, what: str, why: Placement, fallback: At | None) -> None:
        keys = set(why.label_keys)
        raw = None
        if keys:
            raw = lambda value, is_key, path: isinstance(value, str) and value in keys  # noqa: E731
        elif why.tolerations:
            raw = lambda value, is_key, path: is_key and value in ("tolerations", "extraTolerations")  # noqa: E731
        at = _where(state, r, raw=raw, fallback=fallback or at_spec(("cluster", "nodeGroups"), key=True))
        state.add(finding(codes.HG512, f"{what} can run on no node group: {why.reason}", at, hint=hint))

    for o, pod in pod_specs(state):
        why = placement(groups, pod.get("nodeSelector") or {}, pod_affinity_terms(pod), _dicts(pod.get("tolerations")))
        if why is not None:
            report(o.release, f"{o.ref} ({o.origin})", why, None)
    for r in state.releases:
        for up in user_pods(r):
            why = placement(groups, up.node_selector, up.terms, up.tolerations)
            if why is not None:
                report(r, f"{up.label} (KubeSpawner, from {r.label})", why, _profile_at(up))


def check_storage(state: EnvState) -> None:
    """HG510: every claim names a StorageClass the environment renders (or none, with a default class)."""
    classes = {o.name: o for o in state.objects if o.kind == "StorageClass"}
    defaults = [n for n, o in classes.items()
                if any(str(_annotations(o.data).get(a, "")).lower() == "true" for a in DEFAULT_CLASS_ANNOTATIONS)]
    have = ", ".join(sorted(classes)) or "none"
    hint = "Name one of the environment's StorageClasses (cluster.storage.classes), or add the class there."

    def check(name: Any, what: str, r: Release | None, vpath: tuple | None, fallback: At | None) -> None:
        if name == "":
            return  # explicitly no class: binds a pre-provisioned volume
        if name is None:
            if defaults:
                return
            msg = f"{what} names no StorageClass, and no class the environment renders ({have}) is the default"
            raw = None
        elif str(name) in classes:
            return
        else:
            msg = f"{what} asks for StorageClass '{name}', which the environment does not render (it renders {have})"
            raw = _equals(str(name))
        state.add(finding(codes.HG510, msg + ": the volume would stay Pending",
                          _where(state, r, raw=raw, vpath=vpath, fallback=fallback), hint=hint))

    def claim_class(claim: dict) -> Any:
        spec = claim.get("spec") or {}
        if "storageClassName" in spec:
            return spec.get("storageClassName")
        return _annotations(claim).get(STORAGE_CLASS_ANNOTATION)

    for o in state.objects:
        if o.kind == "PersistentVolumeClaim":
            check(claim_class(o.data), f"{o.ref} ({o.origin})", o.release, None,
                  None if o.release else _obj_at(state, o))
        elif o.kind == "StatefulSet":
            for vct in _dicts(_dig(o.data, "spec", "volumeClaimTemplates")):
                name = _dig(vct, "metadata", "name", default="?")
                check(claim_class(vct), f"volumeClaimTemplate {name} of {o.ref} ({o.origin})", o.release, None,
                      None if o.release else _obj_at(state, o))
    for r in state.releases:
        for up in user_pods(r):
            if up.storage_class is MISSING:
                continue
            vpath = ("singleuser", "storage", "dynamic", "storageClass")
            if up.own_storage_class:
                check(up.storage_class, f"the home volume KubeSpawner claims for {up.label}", r, None,
                      _profile_at(up, None))
            else:  # the hub's setting, the same for every profile: reported once
                check(up.storage_class, f"the home volume KubeSpawner claims for hub {r.name}'s notebook servers", r,
                      vpath, None)


def _proxy_service(r: Release) -> Obj | None:
    for o in r.objects:
        if o.kind == "Service" and (_labels(o.data).get("component") == "proxy-public"
                                    or _labels(o.data).get("app.kubernetes.io/component") == "proxy-public"):
            return o
    return next((o for o in r.objects if o.kind == "Service" and o.name.endswith("proxy-public")), None)


def _same_port(actual: Any, expected: int | None) -> bool:
    try:
        return expected is not None and int(actual) == expected
    except (TypeError, ValueError):
        return False


def check_node_ports(state: EnvState) -> None:
    """HG511: each hub's proxy-public Service is a NodePort Service on the port its target group forwards to."""
    from generator.engines.base import describe_spec_path
    from generator.render.cloudformation import parameter_sources

    sources = parameter_sources(state.model)
    vpath = ("proxy", "service", "nodePorts", "http")
    for r in state.releases:
        if r.hub is None or r.output is None:
            continue
        i = r.hub_index or 0
        svc = _proxy_service(r)
        if svc is None:
            state.add(finding(codes.HG511, f"{r.label} renders no proxy-public Service: the load balancer's target "
                                           "group would forward to a port nothing listens on", r.default_at()))
            continue
        spec = svc.data.get("spec") or {}
        if spec.get("type") != "NodePort":
            state.add(finding(codes.HG511, f"{svc.ref} ({svc.origin}) is of type {spec.get('type') or 'ClusterIP'}, "
                                           "not NodePort: the stack's load balancer forwards to a node port",
                              _where(state, r, vpath=("proxy", "service", "type"))))
            continue
        http = next((p for p in _dicts(spec.get("ports")) if p.get("name") == "http"), None)
        actual = http.get("nodePort") if http else None
        # What the stack forwards to: hub i's target group's port (a parameter, evaluated), else the parameter.
        param = "NodeProxyPort" if i == 0 else f"Hub{i + 1}NodeProxyPort"
        stack = state.stack
        tg_name = TARGET_GROUP.format(n=i + 1)
        tg = stack.target_groups.get(tg_name) if stack and stack.readable else None
        if stack is not None and stack.readable and tg is None:
            state.add(finding(codes.HG511, f"{svc.ref} ({svc.origin}) listens on node port {actual}, but "
                                           f"{stack.template} creates no {tg_name} for this environment: no load "
                                           "balancer target group forwards to the hub", r.default_at()))
            continue
        if tg is not None:
            port = tg.port if tg.port is not None else "(none: an empty parameter)"
            expected, via = tg.port, (f"{tg_name} in {stack.template} forwards to port {port}"
                                      + (f" (parameter {tg.parameter}" if tg.parameter else ""))
            if tg.parameter:
                src = sources.get(tg.parameter)
                via += f", from {describe_spec_path(src)})" if src else ")"
        else:
            value = (stack.parameters if stack else {}).get(param)
            expected = int(value) if value and value.isdigit() else r.hub.hub.node_port
            via = f"the stack's parameter {param} is {expected}"
        if not _same_port(actual, expected):
            overridden = r.hub.find_raw(lambda v, k, p: tuple(p[:3]) == ("proxy", "service", "nodePorts"))
            if overridden is None and tg is not None and tg.parameter != param:
                where = at_file(stack.template, tg.line, tg.column)  # the template forwards elsewhere: fix it there
            else:
                where = overridden or _where(state, r, vpath=vpath)
            port = actual if actual is not None else "(none: Kubernetes picks one)"
            state.add(finding(codes.HG511, f"{svc.ref} ({svc.origin}) has node port {port} for http, but {via}: "
                                           "the load balancer would reach no proxy",
                              where, hint="Set the port with the hub's `nodePort` only; the stack's target group and "
                                          "the chart's proxy Service both follow it."))


def check_service_accounts(state: EnvState) -> None:
    """HG513: IRSA roles are declared, pod identity associations match, every pod's service account exists."""
    accounts = {(o.namespace, o.name): o for o in state.objects if o.kind == "ServiceAccount"}
    declared = {h.singleuser.aws_role_arn: (i, h) for i, h in enumerate(state.model.hubs) if h.singleuser.aws_role_arn}
    stack = state.stack
    for (ns, name), o in accounts.items():
        role = _annotations(o.data).get(ROLE_ARN_ANNOTATION)
        if not role:
            continue
        r = o.release
        at = _where(state, r, raw=_equals(str(role)),
                    fallback=None if r else _obj_at(state, o, "metadata", "annotations"))
        if role not in declared:
            state.add(finding(codes.HG513, f"{o.ref} ({o.origin}) assumes IAM role {role} through IRSA, which the spec "
                                           "does not declare (no hub's singleuser.awsRoleArn) and the stack does not "
                                           "create", at,
                              hint="Give notebooks AWS access with the hub's `singleuser.awsRoleArn` only; other pods "
                                   "get no IAM role."))
            continue
        i, hub = declared[role]
        if (ns, name) != (hub.namespace, hub.service_account):
            state.add(finding(codes.HG513, f"{o.ref} ({o.origin}) assumes IAM role {role}, which hubs[{i}].singleuser."
                                           f"awsRoleArn declares for service account {hub.namespace}/"
                                           f"{hub.service_account} (the subject its trust policy names): "
                                           f"{ns}/{name} could not assume it", at))
        elif stack is not None and stack.readable and not stack.oidc_provider:
            state.add(finding(codes.HG513, f"{o.ref} ({o.origin}) assumes IAM role {role} through IRSA, but "
                                           f"{stack.template} creates no IAM OIDC provider for the cluster",
                              at_spec(("hubs", i, "singleuser", "awsRoleArn"))))
    # Pod identity: the platform charts that call AWS run as a service account the stack associates with a role.
    for r in state.releases:
        if r.hub is not None or r.name not in POD_IDENTITY_RELEASES or stack is None or not stack.readable:
            continue
        used = {(o.namespace, (pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"))
                for o, pod in pod_specs(state) if o.release is r}
        for ns, sa in sorted(used):
            if any((a.namespace, a.service_account) == (ns, sa) for a in stack.associations):
                continue
            names = ", ".join(f"{a.namespace}/{a.service_account} ({a.resource})" for a in stack.associations) or "none"
            # The association that meant this service account (same namespace) is the one to fix.
            near = next((a for a in stack.associations if a.namespace == ns), None)
            at = at_file(stack.template, near.line, near.column) if near else r.anchor()
            state.add(finding(codes.HG513, f"{r.label} runs its pods as service account {ns}/{sa}, but "
                                           f"{stack.template} associates no EKS Pod Identity role with it "
                                           f"(associations: {names}): {r.name} would get no AWS credentials, and "
                                           f"{POD_IDENTITY_RELEASES[r.name]}",
                              at, hint="Make the stack's PodIdentityAssociation and the chart's service account name "
                                       "the same namespace and name."))
    # Every pod runs as a service account that exists.
    for o, pod in pod_specs(state):
        sa = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
        if sa != "default" and (o.namespace, sa) not in accounts:
            state.add(finding(codes.HG513, f"{o.ref} ({o.origin}) runs as service account {o.namespace}/{sa}, which "
                                           "nothing renders: Kubernetes refuses to create its pods",
                              _where(state, o.release, raw=_equals(sa))))
    for r in state.releases:
        for up in user_pods(r):
            sa = up.service_account
            if sa and sa != "default" and (r.target_namespace, sa) not in accounts:
                state.add(finding(codes.HG513, f"{up.label} (KubeSpawner) runs as service account "
                                               f"{r.target_namespace}/{sa}, which nothing renders: every server "
                                               "would fail to start",
                                  _where(state, r, raw=_equals(sa), vpath=("singleuser", "serviceAccountName"))))


@dataclass
class _SecretInfo:
    keys: set | None
    where: str
    encrypted: bool = True


def _secret_reads(pod: dict) -> Iterator[tuple[str, str | None, str]]:
    """(secret name, key or None, how) of every non-optional Secret a pod spec reads."""
    containers = _dicts(pod.get("containers")) + _dicts(pod.get("initContainers"))
    for c in containers:
        for e in _dicts(c.get("env")):
            ref = _dig(e, "valueFrom", "secretKeyRef")
            if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                yield str(ref["name"]), str(ref.get("key")), f"env {e.get('name')} of container {c.get('name')}"
        for e in _dicts(c.get("envFrom")):
            ref = e.get("secretRef")
            if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                yield str(ref["name"]), None, f"envFrom of container {c.get('name')}"
    for vol in _dicts(pod.get("volumes")):
        sec = vol.get("secret")
        if isinstance(sec, dict) and sec.get("secretName") and not sec.get("optional"):
            items = _dicts(sec.get("items"))
            for item in items or [{}]:
                key = str(item["key"]) if item.get("key") else None
                yield str(sec["secretName"]), key, f"volume {vol.get('name')}"
        for src in _dicts(_dig(vol, "projected", "sources")):
            sec = src.get("secret")
            if isinstance(sec, dict) and sec.get("name") and not sec.get("optional"):
                for item in _dicts(sec.get("items")) or [{}]:
                    yield str(sec["name"]), (str(item["key"]) if item.get("key") else None), f"volume {vol.get('name')}"


def _user_pod_secret_reads(up: UserPod) -> Iterator[tuple[str, str | None, str]]:
    su = _dig(up.values, "singleuser", default={})
    env = _dig(su, "extraEnv", default={})
    entries = env.items() if isinstance(env, dict) else ((e.get("name"), e) for e in _dicts(env))
    for name, value in entries:
        ref = _dig(value, "valueFrom", "secretKeyRef") if isinstance(value, dict) else None
        if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
            yield str(ref["name"]), str(ref.get("key")), f"singleuser.extraEnv {name}"
    yield from _secret_reads({"volumes": _dig(su, "storage", "extraVolumes", default=[])})


def check_secrets(state: EnvState) -> None:
    """HG514: every Secret a pod or a HelmRelease reads is rendered, or sops-encrypted in secrets/."""
    from generator.secrets.inventory import requirements

    secrets_dir = state.paths.secrets_dir + "/"
    available: dict[tuple[str, str], _SecretInfo] = {}
    for o in state.objects:
        if o.kind != "Secret":
            continue
        keys = {str(k) for f in ("data", "stringData") if isinstance(o.data.get(f), dict) for k in o.data[f]}
        if o.release is not None:
            info = _SecretInfo(keys, f"rendered by {o.release.label}" + (" (a hook)" if o.hook else ""))
        elif o.file and o.file.startswith(secrets_dir):
            info = _SecretInfo(keys, o.file, encrypted=isinstance(o.data.get("sops"), dict))
        else:
            info = _SecretInfo(keys, f"in {o.file}")
        available.setdefault((o.namespace, o.name), info)
    hint = ("Create it with `hubgen secrets create` (sops-encrypted in environments/<env>/secrets/), or correct the "
            "name in the hub's settings or `values`.")

    def check(ns: str, name: str, key: str | None, what: str, at: At) -> None:
        info = available.get((ns, name))
        if info is None:
            state.add(finding(codes.HG514, f"{what} reads Secret {ns}/{name}" + (f" key '{key}'" if key else "")
                              + ", which nothing provides: no chart renders it, no file of the environment defines it "
                                f"(sops-encrypted in {secrets_dir}, or extra/)", at, hint=hint))
        elif not info.encrypted:
            state.add(finding(codes.HG514, f"{what} reads Secret {ns}/{name}, which {info.where} defines in plain "
                                           "text: commit it sops-encrypted (HG304)", at, hint=hint))
        elif key and info.keys is not None and key not in info.keys:
            state.add(finding(codes.HG514, f"{what} reads key '{key}' of Secret {ns}/{name} ({info.where}), which has "
                                           f"no such key (keys: {', '.join(sorted(info.keys)) or 'none'})", at,
                              hint=hint))

    reqs = {(q.namespace, q.name): q for q in requirements(state.model)}
    for r in state.releases:
        for j, ref in enumerate(r.values_from):
            if ref.get("kind", "Secret") != "Secret" or ref.get("optional") or not ref.get("name"):
                continue
            key = str(ref.get("valuesKey") or "values.yaml")
            q = reqs.get((r.namespace, str(ref["name"])))
            at = (at_spec((*q.spec_path, "key" if (r.namespace, str(ref["name"])) in available else "name"))
                  if q else r.anchor("spec", "valuesFrom", j))
            check(r.namespace, str(ref["name"]), key, f"{r.label} (valuesFrom {ref.get('targetPath') or ''})".rstrip(),
                  at)
    for o, pod in pod_specs(state):
        for name, key, how in _secret_reads(pod):
            check(o.namespace, name, key, f"{o.ref} ({o.origin}), {how},", _where(state, o.release, raw=_equals(name)))
    for r in state.releases:
        for up in user_pods(r)[:1]:  # the reads below are the hub's, not a profile's
            for name, key, how in _user_pod_secret_reads(up):
                check(r.target_namespace, name, key, f"hub {r.name}'s notebook servers (KubeSpawner), {how},",
                      _where(state, r, raw=_equals(name)))


# --- Flux Kustomizations -----------------------------------------------------------------------------

@dataclass
class FluxKustomization:
    name: str
    path: str
    spec: dict
    at: At


def flux_kustomizations(state: EnvState) -> list[FluxKustomization]:
    """Each Flux Kustomization of the environment's files, and the bootstrap one (`flux bootstrap
    --path=<cluster_dir>`)."""
    out = [FluxKustomization(f"flux-system (flux bootstrap --path={state.paths.cluster_dir})",
                             state.paths.cluster_dir, {}, at_file(state.paths.flux_entrypoint, 1, 1))]
    for o in state.objects:
        if o.kind == "Kustomization" and str(o.data.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/"):
            spec = o.data.get("spec") or {}
            line, col = _node_at(o.doc.node if o.doc else None, ("spec", "path")) or (1, 1)
            out.append(FluxKustomization(f"{o.namespace}/{o.name}", str(spec.get("path") or "./"), spec,
                                         at_file(o.file or state.paths.flux_entrypoint, line, col)))
    return out


def _generated_kustomization(folder: Path) -> dict:
    """What kustomize-controller generates for a folder without a kustomization (fluxcd/pkg kustomize): every
    ``.yaml``/``.yml`` file below it, a sub-folder that has a kustomization of its own as that folder."""
    resources: list[str] = []

    def walk(d: Path) -> None:
        for entry in sorted(d.iterdir(), key=lambda p: p.name):
            if entry.is_dir() and not entry.is_symlink():
                if any((entry / k).is_file() for k in KUSTOMIZATION_FILES):
                    resources.append("./" + entry.relative_to(folder).as_posix())
                else:
                    walk(entry)
            elif entry.suffix in (".yaml", ".yml") and entry.is_file():
                resources.append("./" + entry.relative_to(folder).as_posix())

    walk(folder)
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}


def build_kustomizations(state: EnvState, kustomize: Path, work: Path) -> None:
    """HG515: each Kustomization path builds with kustomize the way kustomize-controller builds it."""
    root = work / "repository"
    work.mkdir(parents=True, exist_ok=True)
    for rel, content in state.tree.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    home = work / "kustomize-home"
    home.mkdir(exist_ok=True)
    hint = ("Fix the files of the folder (hubgen's are generated: a failure there is a hubgen bug; the team's are "
            "in extra/).")
    for k in flux_kustomizations(state):
        rel = PurePosixPath(k.path.strip() or ".")
        parts = [p for p in rel.parts if p not in (".", "/")]
        folder = root.joinpath(*parts) if parts else root
        if ".." in parts or not folder.is_dir():
            state.add(finding(codes.HG515, f"Flux Kustomization {k.name}: path {k.path} is not a folder of the "
                                           "repository (kustomize-controller fails with 'no such file or directory')",
                              k.at, hint=hint))
            continue
        existing = next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)
        original = existing.read_bytes() if existing else None
        target = existing or folder / "kustomization.yaml"
        try:
            doc = (yaml.safe_load(original) if original is not None else _generated_kustomization(folder)) or {}
        except yaml.YAMLError:
            doc = None
        if isinstance(doc, dict) and (original is None or any(k.spec.get(f) for f in ("targetNamespace", "patches",
                                                                                       "images"))):
            if k.spec.get("targetNamespace"):
                doc["namespace"] = k.spec["targetNamespace"]
            if k.spec.get("patches"):
                doc["patches"] = list(doc.get("patches") or []) + list(k.spec["patches"])
            if k.spec.get("images"):
                doc["images"] = list(doc.get("images") or []) + list(k.spec["images"])
            target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        cmd = [str(kustomize), "build", "--load-restrictor", "LoadRestrictionsNone", str(folder)]
        try:
            proc = subprocess.run(cmd, cwd=root, env=_tool_env(home), capture_output=True, timeout=TIMEOUT_SECONDS,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            state.add(finding(codes.HG506, f"kustomize ({kustomize}) could not run: {e}; Flux Kustomization "
                                           f"{k.name} was not built", k.at))
            continue
        finally:
            if original is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(original)
        if proc.returncode != 0:
            text = _output(proc).replace(str(root) + "/", "")
            state.add(finding(codes.HG515, f"Flux Kustomization {k.name} (path {k.path}) does not build: {text}",
                              k.at, hint=hint))


# --- the engine -------------------------------------------------------------------------------------------


def _module_digest() -> str:
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    except OSError:  # pragma: no cover - a zipped installation
        return REVISION


@dataclass
class _Tools:
    helm: Path | None = None
    kustomize: Path | None = None
    kubeconform: Path | None = None
    helm_info: tuple[str, str] = ("", "")
    kustomize_info: tuple[str, str] = ("", "")
    kubeconform_info: tuple[str, str] = ("", "")


class ChartRenderEngine:
    """`hubgen lint -e chart`: see the module docstring."""

    name = NAME

    def __init__(self) -> None:
        self._tools: _Tools | None = None

    def _find(self, repo_root: Path | None) -> _Tools:
        if self._tools is None:
            from generator.engines.kubeconform import KUBECONFORM_ENV

            t = _Tools(find_tool("helm", HELM_ENV, repo_root), find_tool("kustomize", KUSTOMIZE_ENV, repo_root),
                       find_tool("kubeconform", KUBECONFORM_ENV, repo_root))
            for attr in ("helm", "kustomize", "kubeconform"):
                path = getattr(t, attr)
                if path is not None:
                    try:
                        setattr(t, f"{attr}_info", binary_info(path))
                    except OSError:
                        setattr(t, attr, None)
            self._tools = t
        return self._tools

    @staticmethod
    def _analyse(s: EnvState, tools: _Tools, kube_ok: bool, inputs: LintInputs, crd_files: list[Path] | None,
                 schema_dirs: dict[str, Path | None], work: Path, problems_now: list[Problem]) -> list[dict] | None:
        """The findings of one environment whose releases are rendered; None (and its findings reported at once,
        not cached) when a check could not happen (HG506)."""
        from generator.engines.k8s_schemas import SchemaBuildError, build_schema_dir, schema_version

        work.mkdir(parents=True, exist_ok=True)
        if kube_ok:
            version = schema_version(s.model.cluster.kubernetes_version)
            if version not in schema_dirs:
                try:
                    schema_dirs[version] = build_schema_dir(inputs.repo, crd_files, kubernetes_version=version)
                except (SchemaBuildError, OSError) as e:
                    schema_dirs[version] = None
                    s.add(finding(codes.HG506, f"kubeconform schemas could not be built: {e}; the rendered chart "
                                               "objects were not validated", at_file(s.paths.spec)))
            if schema_dirs[version] is not None:
                kubeconform_outputs(s, tools.kubeconform, schema_dirs[version], version, work)
        check_storage(s)
        check_node_ports(s)
        check_scheduling(s)
        check_service_accounts(s)
        check_secrets(s)
        if tools.kustomize is not None:
            build_kustomizations(s, tools.kustomize, work / "kustomize")
        if any(f["code"] == codes.HG506.id for f in s.findings):
            for f in s.findings:  # reported now, never cached: a check that did not happen
                p = to_problem(s.env, f)
                if p is not None:
                    problems_now.append(p)
            return None
        return s.findings

    def version(self) -> str:
        t = self._find(None)
        parts = [f"{n} {getattr(t, f'{n}_info')[1]}" for n in ("helm", "kustomize") if getattr(t, n) is not None]
        return ", ".join(parts) or "helm, kustomize (not found)"

    def check(self, inputs: LintInputs) -> EngineResult:
        from generator.engines.chart_values import chart_cache_dir, offline_from_env, repository_for, resolve_package
        from generator.engines.k8s_schemas import SchemaBuildError, default_crd_files, schema_key, schema_version

        watch = Stopwatch()
        self._tools = None
        tools = self._find(inputs.repo.root)
        result = EngineResult(self.name, self.version())
        if not inputs.environments:
            return result
        offline = inputs.offline or offline_from_env()
        cache_dir = chart_cache_dir(inputs.repo)
        template = inputs.templates.get(CLUSTER_TEMPLATE)
        problems_now: list[Problem] = []

        # Each environment's objects and releases; every chart resolved once.
        states: list[EnvState] = []
        packages: dict[tuple[str, str, str], Any] = {}
        for env in inputs.environments:
            state = EnvState(env, env_tree(inputs.repo, env))
            file_objects(state)
            releases(state)
            state.stack = read_stack(template.content if template else None, state.model)
            for r in state.releases:
                if not r.url:
                    continue
                key = (r.chart, r.version, r.url)
                if key not in packages:
                    packages[key] = resolve_package(cache_dir, r.chart, r.version, repository=repository_for(r.url),
                                                    offline=offline)
                r.package = packages[key]
            states.append(state)

        def unavailable(env: EnvArtifacts, message: str, at: At) -> None:
            p = to_problem(env, finding(codes.HG506, message, at))
            if p is not None:
                problems_now.append(p)

        wanted_helm = any(r.package is not None and not r.package.unavailable for s in states for r in s.releases)
        for s in states:
            for r in s.releases:
                if r.package is None:
                    f = finding(codes.HG504, f"{r.label}: not rendered: the HelmRepository of the release has no "
                                             "http(s) URL hubgen can fetch charts from", r.default_at(),
                                severity=Severity.WARNING)
                elif r.package.not_found:
                    f = finding(codes.HG507, f"{r.label}: {r.package.unavailable}",
                                at_spec((*r.hub.root, "chart", "version")) if r.hub else r.anchor("spec", "chart"))
                elif r.package.unavailable:
                    f = finding(codes.HG504, f"{r.label}: not rendered, so its objects were not checked: "
                                             f"{r.package.unavailable}",
                                at_spec((*r.hub.root, "chart", "version")) if r.hub else r.anchor("spec", "chart"),
                                hint="Run `hubgen lint` on a networked machine once to fill the chart cache, or point "
                                     "HUBGEN_CHART_CACHE at a copy (see docs/lint.md).")
                else:
                    continue
                p = to_problem(s.env, f)
                if p is not None:
                    problems_now.append(p)
        first = states[0].env
        if wanted_helm and tools.helm is None:
            unavailable(first, "helm not found; the charts were not rendered. " + INSTALL_HINT.format(var=HELM_ENV),
                        at_file(states[0].paths.spec))
        if tools.kustomize is None:
            unavailable(first, "kustomize not found; the Flux Kustomizations were not built. "
                        + INSTALL_HINT.format(var=KUSTOMIZE_ENV), at_file(states[0].paths.spec))
        schema_dirs: dict[str, Path | None] = {}
        crd_files: list[Path] | None = None
        kube_ok = wanted_helm and tools.helm is not None
        if kube_ok and tools.kubeconform is None:
            from generator.engines.kubeconform import INSTALL_HINT as KC_HINT

            unavailable(first, f"kubeconform not found; the rendered chart objects were not validated. {KC_HINT}",
                        at_file(states[0].paths.spec))
            kube_ok = False
        schemas: dict[str, str] = {}
        if kube_ok:
            try:
                crd_files = default_crd_files(offline=inputs.offline)
                for s in states:
                    v = schema_version(s.model.cluster.kubernetes_version)
                    schemas.setdefault(v, schema_key(crd_files, v))
            except (SchemaBuildError, OSError) as e:
                unavailable(first, f"kubeconform schemas cannot be built: {e}; the rendered chart objects were not "
                                   "validated", at_file(states[0].paths.spec))
                kube_ok = False

        # One unit per environment, keyed by every byte its findings depend on.
        engine_key = canonical_json({
            "revision": REVISION, "module": _module_digest(), "helm": tools.helm_info[0] if tools.helm else None,
            "kustomize": tools.kustomize_info[0] if tools.kustomize else None,
            "kubeconform": tools.kubeconform_info[0] if kube_ok else None,
        })
        units: dict[str, tuple[str, EnvState]] = {}
        for s in states:
            version = schema_version(s.model.cluster.kubernetes_version)
            key = unit_key(NAME, engine_key, schemas.get(version, ""), version,
                           canonical_json(s.env.context.spec),
                           canonical_json([[p, hashlib.sha256(c).hexdigest()] for p, c in s.tree.items()]),
                           canonical_json(sorted([r.chart, r.version, str(r.url), r.package.digest if r.package else ""]
                                                 for r in s.releases)),
                           hashlib.sha256(template.content).hexdigest() if template else "")
            units[s.env.name] = (key, s)

        def compute(misses: list) -> dict:
            out = {}
            with tempfile.TemporaryDirectory(prefix="hubgen-chart-") as tmp:
                if tools.helm is not None:
                    render_all([(s, r) for _name, s in misses for r in s.releases
                                if r.package is not None and not r.package.unavailable], tools.helm, Path(tmp))
                for name, s in misses:
                    out_ = self._analyse(s, tools, kube_ok, inputs, crd_files, schema_dirs, Path(tmp) / name,
                                         problems_now)
                    if out_ is not None:
                        out[name] = out_
            return out

        found, hits = cached_units(inputs.cache, units, compute, decode=decode_findings)
        result.units, result.cached = len(units), hits
        for name, (_key, s) in units.items():
            for f in found.get(name, []):
                p = to_problem(s.env, f)
                if p is not None:
                    result.problems.append(p)
        result.problems.extend(problems_now)
        result.seconds = watch.seconds
        return result
