"""The plan, computed in plain Python from two snapshots of the repository.

A *snapshot* is the repository at one point (a git tree, or the working tree): a set of paths and
a way to read them. Everything here works on snapshots and the list of changed paths, so the git
layer (:mod:`generator.plan.git`) stays thin and the logic is unit-tested on in-memory snapshots.

The plan reads the **committed generated files** (``cluster.template-configuration.json``, each
hub's ``helmrelease.yaml``) at both sides, not a re-render of the specs: those files are exactly
what CI and CodePipeline deploy and what Flux applies, and ``hubgen render --check`` (pre-commit
and CI) proves they match the specs. Stack identity, tier and deploy role come from the spec.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Protocol

import yaml

from generator.paths import CLUSTER_TEMPLATE, ENVIRONMENTS_DIR, SPEC_FILENAME, EnvPaths
from generator.plan import costs
from generator.versions import CHART_NAME, CLUSTER_AUTOSCALER_CHART, NVIDIA_DEVICE_PLUGIN_CHART
from generator.plan.model import Change, EnvPlan, FileChange, HubPlan, Plan, Stack, Status
from generator.plan.touch import Touch, classify

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SPEC_RE = re.compile(rf"^{ENVIRONMENTS_DIR}/([^/]+)/{re.escape(SPEC_FILENAME)}$")
_RELEASE_RE = re.compile(rf"^{ENVIRONMENTS_DIR}/[^/]+/hubs/([^/]+)/helmrelease\.yaml$")
#: Kubernetes minor version "1.31" -> (1, 31).
_K8S_RE = re.compile(r"^(\d+)\.(\d+)$")


class Snapshot(Protocol):
    label: str

    def paths(self) -> frozenset[str]:
        """Every file under environments/ and manifests/ (repository-relative, POSIX)."""

    def read(self, path: str) -> bytes | None:
        """A file's bytes, or None when it does not exist at this snapshot."""


class MemorySnapshot:
    """A snapshot held in a dict (tests, and anything that is not git)."""

    def __init__(self, label: str, files: dict[str, bytes | str]):
        self.label = label
        self._files = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
        self._paths = frozenset(self._files)

    def paths(self) -> frozenset[str]:
        return self._paths

    def read(self, path: str) -> bytes | None:
        return self._files.get(path)


class _Index:
    """A snapshot's paths grouped by environment folder (computed once, not once per environment)."""

    def __init__(self, snap: Snapshot):
        self.by_env: dict[str, list[str]] = {}
        prefix = ENVIRONMENTS_DIR + "/"
        for p in snap.paths():
            if p.startswith(prefix):
                self.by_env.setdefault(p.split("/", 2)[1], []).append(p)


def _index(snap: Snapshot) -> _Index:
    index = getattr(snap, "_hubgen_plan_index", None)
    if index is None:
        index = _Index(snap)
        setattr(snap, "_hubgen_plan_index", index)
    return index


class _Side:
    """One side of the comparison for one environment, with parsed files cached."""

    def __init__(self, snap: Snapshot, env: str):
        self.snap = snap
        self.env = EnvPaths(env)
        self._cache: dict[str, Any] = {}

    def raw(self, path: str) -> bytes | None:
        return self.snap.read(path)

    def yaml_docs(self, path: str) -> list[Any] | None:
        """Parsed documents; None when missing; raises ValueError when unparseable."""
        if path not in self._cache:
            data = self.raw(path)
            if data is None:
                self._cache[path] = None
            else:
                try:
                    self._cache[path] = [d for d in yaml.load_all(data.decode("utf-8"), Loader=_LOADER)
                                         if d is not None]
                except (yaml.YAMLError, UnicodeDecodeError) as e:
                    self._cache[path] = ValueError(f"{path}: not valid YAML ({_one_line(e)})")
        value = self._cache[path]
        if isinstance(value, ValueError):
            raise value
        return value

    def spec(self) -> dict | None:
        docs = self.yaml_docs(self.env.spec)
        if docs is None:
            return None
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise ValueError(f"{self.env.spec}: not a single YAML mapping")
        return docs[0]

    def configuration(self) -> dict | None:
        """The CodePipeline template configuration: {"Parameters": {...}, "Tags": {...}}."""
        path = self.env.template_configuration
        data = self.raw(path)
        if data is None:
            return None
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({_one_line(e)})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("Parameters", {}), dict) \
                or not isinstance(doc.get("Tags", {}), dict):
            raise ValueError(f"{path}: expected {{\"Parameters\": {{...}}, \"Tags\": {{...}}}}")
        return doc

    def template(self) -> str:
        """The stack template the environment deploys (its Git sync deployment file says which)."""
        try:
            docs = self.yaml_docs(self.env.deployment_file)
        except ValueError:
            docs = None
        if docs and isinstance(docs[0], dict) and isinstance(docs[0].get("template-file-path"), str):
            return docs[0]["template-file-path"]
        return CLUSTER_TEMPLATE

    def release(self, hub: str) -> dict | None:
        docs = self.yaml_docs(self.env.hub_release(hub))
        if docs is None:
            return None
        for d in docs:
            if isinstance(d, dict) and d.get("kind") == "HelmRelease":
                return d
        raise ValueError(f"{self.env.hub_release(hub)}: no HelmRelease in it")

    def files(self, subdir: str) -> set[str]:
        prefix = f"{self.env.dir}/{subdir}/"
        return {p for p in _index(self.snap).by_env.get(self.env.name, ()) if p.startswith(prefix)}


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def environment_names(snap: Snapshot) -> set[str]:
    return {m.group(1) for p in snap.paths() if (m := _SPEC_RE.match(p))}


def _get(node: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(k)
    return node


def _stack(spec: dict | None) -> Stack | None:
    if not isinstance(spec, dict):
        return None
    values = (_get(spec, "cluster", "stackName"), _get(spec, "aws", "accountId"), _get(spec, "aws", "region"),
              _get(spec, "aws", "deployRoleArn"))
    if not all(isinstance(v, (str, int)) and str(v) for v in values):
        return None
    return Stack(*(str(v) for v in values))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _key(prefix: str, key: Any) -> str:
    k = str(key)
    if re.fullmatch(r"[A-Za-z0-9_-]+", k):
        return f"{prefix}.{k}" if prefix else k
    return f"{prefix}[{json.dumps(k)}]"


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """Flatten nested values to ``a.b[0].c -> text``; lists of scalars stay one value."""
    if isinstance(node, dict):
        if not node:
            return {prefix: "{}"} if prefix else {}
        out: dict[str, str] = {}
        for k, v in node.items():
            out.update(flatten(v, _key(prefix, k)))
        return out
    if isinstance(node, list):
        if not node or all(not isinstance(v, (dict, list)) for v in node):
            return {prefix: _text(node)}
        out = {}
        for i, v in enumerate(node):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: _text(node)}


def natural_key(key: str) -> list:
    """Sort AdminPrincipalArn2 before AdminPrincipalArn10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key)]


def diff_maps(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    keys = sorted(set(old) | set(new), key=natural_key)
    return [Change(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _string_map(node: Any) -> dict[str, str]:
    return {str(k): _text(v) for k, v in node.items()} if isinstance(node, dict) else {}


def _hub_names(side: _Side) -> set[str]:
    out = set()
    for p in side.files("hubs"):
        m = _RELEASE_RE.match(p)
        if m:
            out.add(m.group(1))
    return out


def _release_parts(release: dict | None) -> tuple[str | None, str, dict[str, str]]:
    """(chart version, namespace, flattened values and release settings) of a HelmRelease."""
    if release is None:
        return None, "", {}
    spec = release.get("spec") if isinstance(release.get("spec"), dict) else {}
    version = _get(spec, "chart", "spec", "version")
    values = flatten(spec.get("values") or {})
    settings = {k: v for k, v in spec.items() if k != "values"}
    chart = dict(settings.get("chart") or {})
    chart_spec = dict(chart.get("spec") or {})
    chart_spec.pop("version", None)
    if chart:
        chart["spec"] = chart_spec
        settings["chart"] = chart
    values.update(flatten(settings, "spec"))
    return (str(version) if version is not None else None, str(_get(release, "metadata", "namespace") or ""), values)


def _k8s_version_warning(change: Change) -> str | None:
    if change.key != "KubernetesVersion" or change.old is None or change.new is None:
        return None
    a, b = _K8S_RE.match(change.old), _K8S_RE.match(change.new)
    if not a or not b:
        return None
    old, new = (int(a[1]), int(a[2])), (int(b[1]), int(b[2]))
    if new < old:
        return (f"KubernetesVersion {change.old} -> {change.new}: EKS cannot downgrade a cluster; "
                "the stack update will fail")
    if new[0] == old[0] and new[1] - old[1] > 1:
        return (f"KubernetesVersion {change.old} -> {change.new}: EKS upgrades one minor version at a time; "
                "the stack update will fail (go through each minor version in its own change)")
    return None


#: EKS authentication modes in the only order a cluster can move through them.
AUTH_MODE_ORDER = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")


def _auth_mode_warning(change: Change) -> str | None:
    """EKS changes a cluster's authentication mode only forward (towards API), never back."""
    if change.key != "AuthenticationMode" or change.old not in AUTH_MODE_ORDER or change.new not in AUTH_MODE_ORDER:
        return None
    if AUTH_MODE_ORDER.index(change.new) < AUTH_MODE_ORDER.index(change.old):
        return (f"AuthenticationMode {change.old} -> {change.new}: EKS cannot move a cluster back towards the "
                "aws-auth ConfigMap; the stack update will fail")
    if change.old == "CONFIG_MAP":
        return (f"AuthenticationMode {change.old} -> {change.new}: a cluster created in CONFIG_MAP mode was created "
                "with BootstrapClusterCreatorAdminPermissions true, which the template sets false in every other "
                "mode, and CloudFormation changes it only by REPLACING the cluster (a new, empty cluster). Do not "
                "merge this through the stack: see docs/platform.md, 'Access'")
    dropped = "the aws-auth ConfigMap is no longer read (hubgen stops rendering it)" if change.new == "API" else (
        "access entries now take precedence over aws-auth")
    return (f"AuthenticationMode {change.old} -> {change.new} is one way: EKS cannot change it back. {dropped[0].upper()}"
            f"{dropped[1:]}; check that every principal that needs the cluster has an access entry "
            "(cluster.admins, hubs[].operators, the deploy role) before merging")


#: Parameter slots that each create one EKS access entry for the principal they hold.
_ACCESS_SLOT_RE = re.compile(r"^(AdminPrincipalArn|OperatorPrincipalArn)([0-9]+)$")
_SLOT_LIST = {"AdminPrincipalArn": "cluster.admins", "OperatorPrincipalArn": "the hubs' operators"}


def access_slot_warnings(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Warn when a principal moves to another access-entry slot (AdminPrincipalArnN, OperatorPrincipalArnN).

    Each slot is one EKS access entry; CloudFormation creates the replacement entry before it
    deletes the old one, and a principal can have only one access entry per cluster, so a
    principal that moves slots makes the stack update fail ("already exists").
    """
    def slots(params: dict[str, str]) -> dict[str, str]:
        return {v: k for k, v in params.items() if _ACCESS_SLOT_RE.match(k) and v}

    before, after = slots(old), slots(new)
    out = []
    for arn in sorted(set(before) & set(after), key=lambda a: natural_key(after[a])):
        if before[arn] != after[arn]:
            listed = _SLOT_LIST[_ACCESS_SLOT_RE.match(after[arn])[1]]
            out.append(f"{arn} moves from {before[arn]} to {after[arn]}: the stack update will fail "
                       f"(an IAM principal has one access entry per cluster). Keep {listed} in order: "
                       "append new entries and replace a removed one in place")
    return out


_USER_GROUP_RE = re.compile(r"^UserNodeGroup([0-9]+)(Name|InstanceTypes|CapacityType|Subnets|AmiType)$")
#: Settings of an EKS managed node group that it cannot change in place (AWS::EKS::Nodegroup: replacement).
_REPLACING = {"InstanceTypes": "instance types", "CapacityType": "capacity type", "Subnets": "zone (subnets)",
              "AmiType": "AMI type (GPU or architecture)"}


def node_group_warnings(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Warn about user node group changes CloudFormation cannot make: a group that moves to another
    UserNodeGroupN slot, or keeps its name while changing a setting that replaces it. Either way CloudFormation
    creates the new node group before deleting the old one, and EKS refuses a second group of the same name."""
    def slots(params: dict[str, str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for key, value in params.items():
            m = _USER_GROUP_RE.match(key)
            if m:
                out.setdefault(m[1], {})[m[2]] = value
        return out

    before, after = slots(old), slots(new)
    where_before = {v["Name"]: n for n, v in before.items() if v.get("Name")}
    out = []
    for n, group in sorted(after.items(), key=lambda kv: int(kv[0])):
        name = group.get("Name")
        if not name or name not in where_before:
            continue
        if where_before[name] != n:
            out.append(f"user node group {name} moves from slot UserNodeGroup{where_before[name]} to UserNodeGroup{n}: "
                       "the stack update will fail (CloudFormation creates it in the new slot before deleting the old "
                       "one, and EKS refuses a second node group of that name). Keep the user groups in order: append "
                       "new groups; remove a group from the end, or rename the groups that move")
            continue
        changed = [label for key, label in _REPLACING.items() if before[n].get(key) != group.get(key)]
        if changed:
            out.append(f"user node group {name} changes its {', '.join(changed)}: EKS replaces a node group for that, "
                       "and a replacement of the same name fails. Rename the group in the same change (its nodes are "
                       "replaced either way: running servers on them stop)")
    return out


#: Parameters whose values the launch templates of every node group tag instances, volumes and network
#: interfaces with (docs/costs.md).
_NODE_TAG_RE = re.compile(r"^(CostTag(Key|Value)[0-9]+|EnvironmentName)$")
_REPLACED_NODES = ("every launch template gets a new version, so the core group's instances are replaced one at a "
                   "time and EKS replaces the user groups' nodes: running servers on them stop. Deploy when nobody "
                   "is working")


def cost_warnings(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Warn about cost settings whose change replaces something: the tags the node groups' launch templates put
    on instances (every node is replaced; also the first deploy of a template that starts tagging them), and the
    budget's name (a changed notification replaces the budget, whose spend history starts over)."""
    if not old:
        return []  # a new stack: nothing to replace
    out = []
    if not any(_NODE_TAG_RE.match(k) for k in old) and any(_NODE_TAG_RE.match(k) for k in new):
        out.append("the node groups' instances, root volumes and network interfaces get cost allocation tags for the "
                   f"first time (a newer template): {_REPLACED_NODES}")
    elif any(old.get(k) != new.get(k) for k in {*old, *new} if _NODE_TAG_RE.match(k)):
        out.append(f"the cost allocation tags of the node groups' instances change (tags, costs.allocationTags): "
                   f"{_REPLACED_NODES}")
    before, after = old.get("BudgetName", ""), new.get("BudgetName", "")
    if before and after and before != after:
        out.append(f"the budget's notifications change: CloudFormation replaces budget {before} with {after}, and the "
                   "new budget's spend history starts over")
    return out


def _semantic(side: _Side, path: str) -> Any:
    """A file's meaning for comparison: parsed YAML/JSON (so header-only changes don't count)."""
    data = side.raw(path)
    if data is None:
        return None
    try:
        if path.endswith(".json"):
            return json.loads(data.decode("utf-8"))
        return side.yaml_docs(path)
    except (ValueError, UnicodeDecodeError):
        return data


def _file_changes(base: _Side, head: _Side, paths: Iterable[str], semantic: bool) -> list[FileChange]:
    out = []
    for p in sorted(paths):
        old, new = base.raw(p), head.raw(p)
        if old is None and new is None:
            continue
        if old is None:
            out.append(FileChange(p, "added"))
        elif new is None:
            out.append(FileChange(p, "removed"))
        elif old != new and (not semantic or _semantic(base, p) != _semantic(head, p)):
            out.append(FileChange(p, "changed"))
    return out


def plan_environment(name: str, base_snap: Snapshot, head_snap: Snapshot, reasons: list[str], *, touched: bool,
                     shared_templates: set[str], hubgen_changed: bool) -> EnvPlan | None:
    """The plan of one environment, or None when it has no spec at either side.

    ``touched``: files of the environment itself changed (else only a shared file did).
    """
    base, head = _Side(base_snap, name), _Side(head_snap, name)
    errors: list[str] = []
    warnings: list[str] = []

    def spec_of(side: _Side, is_head: bool) -> dict | None:
        try:
            return side.spec()
        except ValueError as e:
            (errors if is_head else warnings).append(f"cannot read the spec at {side.snap.label}: {e}")
            return {}

    spec_head = spec_of(head, True)
    spec_base = spec_of(base, False)
    if spec_head is None and spec_base is None:
        return None
    if spec_base is None:
        status = Status.NEW
    elif spec_head is None:
        status = Status.REMOVED
    else:
        status = Status.CHANGED if touched else Status.AFFECTED

    if status in (Status.NEW, Status.REMOVED):
        # "spec changed" / "generated files changed" say nothing here: the whole environment came or went.
        verb = "added" if status is Status.NEW else "removed"
        reasons = [f"{EnvPaths(name).spec} {verb}"] + [r for r in reasons if r.startswith(("template ", "hubgen "))]
    current = spec_head if spec_head is not None else spec_base
    tier = str(_get(current, "tier") or "production")
    stack_head, stack_base = _stack(spec_head), _stack(spec_base)
    plan = EnvPlan(name=name, status=status, tier=tier, stack=stack_head if spec_head is not None else stack_base,
                   reasons=list(reasons), errors=errors, warnings=warnings, hubgen_changed=hubgen_changed)
    if spec_head is not None and spec_head and stack_head is None:
        errors.append(f"{head.env.spec}: cluster.stackName, aws.accountId, aws.region or aws.deployRoleArn "
                      "is missing (run `hubgen validate`)")
    if status is Status.CHANGED or status is Status.AFFECTED:
        tier_base = _get(spec_base, "tier")
        if tier_base and str(tier_base) != tier:
            plan.tier_old = str(tier_base)
        if stack_base and stack_head and (stack_base.name, stack_base.account, stack_base.region) != \
                (stack_head.name, stack_head.account, stack_head.region):
            plan.old_stack = stack_base
            warnings.append(f"the stack moves from {stack_base.where()} to {stack_head.where()}: a NEW stack is "
                            f"created; the old stack {stack_base.name} keeps running until someone deletes it by hand")

    # --- CloudFormation inputs
    plan.template = head.template() if spec_head is not None else base.template()
    try:
        conf_head = head.configuration() if spec_head is not None else None
    except ValueError as e:
        errors.append(str(e))
        conf_head = None
    try:
        conf_base = base.configuration() if spec_base is not None else None
    except ValueError as e:
        warnings.append(f"at {base.snap.label}: {e}")
        conf_base = None
    if spec_head is not None and conf_head is None and not errors:
        errors.append(f"{head.env.template_configuration} is missing: run `hubgen render {name}` and commit it")
    if status is not Status.REMOVED:
        old_params = _string_map((conf_base or {}).get("Parameters"))
        new_params = _string_map((conf_head or {}).get("Parameters"))
        plan.parameters = diff_maps(old_params, new_params)
        plan.tags = diff_maps(_string_map((conf_base or {}).get("Tags")), _string_map((conf_head or {}).get("Tags")))
        for change in plan.parameters:
            for w in (_k8s_version_warning(change), _auth_mode_warning(change)):
                if w:
                    warnings.append(w)
        warnings.extend(access_slot_warnings(old_params, new_params))
        warnings.extend(node_group_warnings(old_params, new_params))
        warnings.extend(cost_warnings(old_params, new_params))
        template_base = base.template() if spec_base is not None else plan.template
        plan.template_changed = status is not Status.NEW and (
            template_base != plan.template or plan.template in shared_templates
            or base_snap.read(plan.template) != head_snap.read(plan.template))
        if plan.template and head_snap.read(plan.template) is None:
            errors.append(f"{plan.template} (the stack template of {name}) does not exist")

    # --- hubs (Flux)
    hub_names = sorted(_hub_names(base) | _hub_names(head))
    release_paths = set()
    for hub in hub_names:
        release_paths.add(head.env.hub_release(hub))
        if base.raw(head.env.hub_release(hub)) == head.raw(head.env.hub_release(hub)):
            continue  # byte-identical: nothing to parse (most hubs when only a shared file changed)
        try:
            rel_base = base.release(hub)
        except ValueError as e:
            warnings.append(f"at {base.snap.label}: {e}")
            rel_base = None
        try:
            rel_head = head.release(hub)
        except ValueError as e:
            errors.append(str(e))
            continue
        chart_old, ns_old, values_old = _release_parts(rel_base)
        chart_new, ns_new, values_new = _release_parts(rel_head)
        if rel_base is None and rel_head is None:
            continue
        if rel_base is None:
            hub_status = Status.NEW
        elif rel_head is None:
            hub_status = Status.REMOVED
        else:
            hub_status = Status.CHANGED
        hub_plan = HubPlan(hub, hub_status, ns_new or ns_old, chart_old, chart_new)
        if hub_status is Status.CHANGED:
            hub_plan.values = diff_maps(values_old, values_new)
            if not hub_plan.values and not hub_plan.chart_changed:
                continue
        elif hub_status is Status.NEW:
            hub_plan.values = []
        if hub_status is Status.REMOVED and status is not Status.REMOVED:
            warnings.append(f"hub {hub} is removed: Flux prunes its HelmRelease and its namespace "
                            f"{hub_plan.namespace or hub} (users' home directories on its volumes are deleted)")
        plan.hubs.append(hub_plan)

    if status is not Status.REMOVED:
        flux_paths = set().union(*(side.files(d) for side in (base, head) for d in ("cluster", "platform", "hubs")))
        plan.flux_files = _file_changes(base, head, flux_paths - release_paths, semantic=True)
        plan.secrets = _file_changes(base, head, base.files("secrets") | head.files("secrets"), semantic=False)

    if status is not Status.REMOVED:
        _add_costs_and_notes(plan, base, head, spec_base, spec_head)

    if status is Status.REMOVED:
        where = stack_base.where() if stack_base else "its stack"
        warnings.insert(0, f"environment {name} is removed: nothing is deleted automatically. The CloudFormation "
                           f"stack ({where}) and the cluster keep running and costing money until someone deletes "
                           "them by hand.")
    return plan


def _platform_chart_version(side: _Side, path: str) -> str | None:
    """The chart version a rendered platform HelmRelease pins (None: not rendered, or unreadable)."""
    try:
        docs = side.yaml_docs(path)
    except ValueError:
        return None
    for doc in docs or ():
        if isinstance(doc, dict) and doc.get("kind") == "HelmRelease":
            version = _get(doc, "spec", "chart", "spec", "version")
            return str(version) if version is not None else None
    return None


def _add_costs_and_notes(plan: EnvPlan, base: _Side, head: _Side, spec_base: dict | None,
                         spec_head: dict | None) -> None:
    """The head's cost estimate (and the base's, to show the change) and the upgrade notes the change crosses:
    hub charts (their rendered HelmReleases), platform charts (theirs) and cluster.kubernetesVersion (spec)."""
    if isinstance(spec_head, dict):
        plan.costs = costs.estimate(spec_head)
    if isinstance(spec_base, dict) and plan.status is not Status.NEW:
        plan.costs_base = costs.estimate(spec_base)
    changes: list[tuple[str, str, str | None, str | None]] = [
        (f"hub {h.name}", CHART_NAME, h.chart_old, h.chart_new) for h in plan.hubs if h.status is Status.CHANGED]
    if plan.status is not Status.NEW:
        for chart, path in ((CLUSTER_AUTOSCALER_CHART.name, head.env.cluster_autoscaler),
                            (NVIDIA_DEVICE_PLUGIN_CHART.name, head.env.nvidia_device_plugin)):
            changes.append(("platform", chart, _platform_chart_version(base, path),
                            _platform_chart_version(head, path)))
        old_k8s, new_k8s = _get(spec_base, "cluster", "kubernetesVersion"), _get(spec_head, "cluster",
                                                                                  "kubernetesVersion")
        changes.append(("cluster", "kubernetes", str(old_k8s) if old_k8s is not None else None,
                        str(new_k8s) if new_k8s is not None else None))
    plan.upgrade_notes = costs.crossed_notes(changes)
    plan.warnings += [n.warning() for n in plan.upgrade_notes]


def _env_reason(env: str, path: str) -> str:
    paths = EnvPaths(env)
    if path == paths.spec:
        return "spec changed"
    if paths.is_generated_path(path):
        return "generated files changed"
    if path.startswith(paths.secrets_dir + "/"):
        return "secrets changed"
    return "other files changed"


def compute_plan(base: Snapshot, head: Snapshot, changed: Iterable[str]) -> Plan:
    """Which environments the change between ``base`` and ``head`` affects, and how."""
    changed = sorted(set(changed))
    reasons: dict[str, list[str]] = {}
    touched: set[str] = set()
    shared_templates: set[str] = set()
    hubgen_paths: list[str] = []
    shared: list[str] = []
    for path in changed:
        c = classify(path)
        if c.touch is Touch.ENVIRONMENT:
            reasons.setdefault(c.environment, [])
            touched.add(c.environment)
            msg = _env_reason(c.environment, path)
            if msg not in reasons[c.environment]:
                reasons[c.environment].append(msg)
        elif c.touch is Touch.TEMPLATE:
            shared_templates.add(c.path)
            shared.append(c.path)
        elif c.touch is Touch.HUBGEN:
            hubgen_paths.append(c.path)
            shared.append(c.path)

    names_base, names_head = environment_names(base), environment_names(head)
    plan = Plan(base.label, head.label, shared=shared)
    if shared_templates:
        for name in sorted(names_head | names_base):
            side = _Side(head if name in names_head else base, name)
            template = side.template()
            if template in shared_templates:
                reasons.setdefault(name, []).append(f"template {template} changed")
        unused = sorted(shared_templates - {_Side(head, n).template() for n in names_head})
        for t in unused:
            plan.notes.append(f"{t} changed; no environment's cluster stack uses it (pipeline and GitHub OIDC "
                              "stacks are deployed separately, see docs/codepipeline.md and docs/workflow.md)")
    if hubgen_paths:
        shown = ", ".join(hubgen_paths[:3]) + (f" and {len(hubgen_paths) - 3} more" if len(hubgen_paths) > 3 else "")
        for name in sorted(names_head):
            reasons.setdefault(name, []).append(f"hubgen changed ({shown})")

    for name in sorted(reasons):
        env_plan = plan_environment(name, base, head, reasons[name], touched=name in touched,
                                    shared_templates=shared_templates, hubgen_changed=bool(hubgen_paths))
        if env_plan is None:
            plan.notes.append(f"{ENVIRONMENTS_DIR}/{name}/ changed but has no spec at either side")
            continue
        plan.environments.append(env_plan)
    _renames(plan)
    plan.order()
    return plan


def _renames(plan: Plan) -> None:
    """A new environment declaring the stack of a removed one (a renamed folder) cannot simply take it over."""
    def key(e: EnvPlan):
        return (e.stack.name, e.stack.account, e.stack.region) if e.stack else None

    removed = {key(e): e for e in plan.environments if e.status is Status.REMOVED and e.stack}
    for env in plan.environments:
        old = removed.get(key(env)) if env.status is Status.NEW else None
        if old is None or env.stack is None:
            continue
        env.warnings.append(
            f"stack {env.stack.where()} belonged to the removed environment {old.name} (its hubgen:environment tag "
            f"says so): `hubgen deploy {env.name}` refuses to take it over (HG603). Keep the folder name, or "
            "choose a new cluster.stackName and retire the old stack by hand")
        old.warnings.append(f"its stack is now declared by the new environment {env.name} (a renamed folder?)")
