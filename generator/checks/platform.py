"""Checks on what the cluster runs: the Kubernetes version against EKS's calendar, node groups, instance types,
storage classes, and whether each hub's profiles can run on the node groups they name.

The dated tables these checks read are :mod:`generator.platform.eks_versions` and
:mod:`generator.platform.instance_types`; the node facts (GPUs per group) come from
:mod:`generator.platform.nodes`, the one definition the renderers use too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register
from generator.model import CORE, USER, Hub, NodeGroup, Profile
from generator.platform import eks_versions, instance_types, nodes
from generator.platform.instance_types import InstanceType
from generator.problems import Problem, Severity
from generator.render.values import OWNED_VALUES
from generator.tree import get_path

VERSION = ("cluster", "kubernetesVersion")
GROUPS = ("cluster", "nodeGroups")
CLASSES = ("cluster", "storage", "classes")


def _group_path(i: int, *rest) -> tuple:
    return GROUPS + (i, *rest)


def _spec_group(env: EnvContext, i: int) -> dict:
    return env.spec["cluster"]["nodeGroups"][i]


def _names(items, limit: int = 8) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# ------------------------------------------------------------------------------------------ Kubernetes version
def _version_alternatives(today) -> str:
    standard = eks_versions.in_standard_support(today)
    if standard:
        return f"{' or '.join(standard)} (in standard support)"
    return "a version of a newer hubgen (every version in hubgen's calendar is past standard support)"


@register
class VersionPastExtendedSupport(EnvironmentCheck):
    code = codes.HG226

    def check(self, env: EnvContext):
        today = eks_versions.today()
        s = eks_versions.support(env.model.cluster.kubernetes_version, today)
        if s.status == eks_versions.ENDED:
            v = s.version
            yield env.problem(self.code, f"Kubernetes {v.version} left EKS extended support on {v.end_of_extended}: "
                              "EKS no longer creates clusters with it and upgrades running ones itself", VERSION,
                              hint=f"Move cluster.kubernetesVersion to {_version_alternatives(today)}; a running "
                                   "cluster moves one minor version at a time (see docs/platform.md).")


@register
class VersionInExtendedSupport(EnvironmentCheck):
    code = codes.HG227

    def check(self, env: EnvContext):
        today = eks_versions.today()
        s = eks_versions.support(env.model.cluster.kubernetes_version, today)
        if s.status == eks_versions.EXTENDED:
            v = s.version
            extra = eks_versions.extended_support_extra_usd_per_month()
            yield env.problem(self.code, f"Kubernetes {v.version} is in EKS extended support (standard support "
                              f"ended {v.end_of_standard}) until {v.end_of_extended}: the cluster costs USD 0.60 "
                              f"instead of 0.10 per hour, about USD {extra:.0f} more a month; on "
                              f"{v.end_of_extended} EKS upgrades it itself", VERSION,
                              hint=f"Move cluster.kubernetesVersion to {_version_alternatives(today)} before "
                                   f"{v.end_of_extended}, one minor version at a time.")


@register
class VersionUnknown(EnvironmentCheck):
    code = codes.HG228

    def check(self, env: EnvContext):
        version = env.model.cluster.kubernetes_version
        today = eks_versions.today()
        if eks_versions.support(version, today).status == eks_versions.UNKNOWN:
            offered = eks_versions.offered(today)
            yield env.problem(self.code, f"Kubernetes {version} is not a version EKS offers: hubgen's EKS version "
                              f"calendar (dated {eks_versions.CALENDAR_DATE}) lists {_names(offered) or 'none'} "
                              "as supported today", VERSION,
                              hint=f"Use {_version_alternatives(today)}; if EKS released {version} after "
                                   f"{eks_versions.CALENDAR_DATE}, upgrade hubgen.")


# ------------------------------------------------------------------------------------------ node groups
@register
class NodeGroupSizes(EnvironmentCheck):
    code = codes.HG201

    def check(self, env: EnvContext):
        for i, g in enumerate(env.model.cluster.node_groups):
            if g.min_size > g.max_size:
                yield env.problem(self.code, f"node group '{g.name}': minSize ({g.min_size}) is greater than "
                                  f"maxSize ({g.max_size})", _group_path(i, "minSize"),
                                  hint=f"Set minSize to at most {g.max_size}, or maxSize to at least {g.min_size}.")
            elif g.purpose == CORE and g.min_size == g.max_size:
                yield env.problem(self.code, f"core node group '{g.name}': maxSize ({g.max_size}) equals minSize: a "
                                  "rolling update of the core Auto Scaling group keeps minSize nodes in service and "
                                  "adds the new node first, so CloudFormation refuses to replace any node",
                                  _group_path(i, "maxSize"), hint=f"Set maxSize to at least {g.min_size + 1}.")


def _first_gpu_type(g: NodeGroup) -> int:
    return next(k for k, t in enumerate(g.instance_types) if (found := instance_types.lookup(t)) and found.gpus)


@register
class PurposeSettings(EnvironmentCheck):
    """HG229: what a core group (one self-managed Auto Scaling group the load balancer targets) and a user
    group (an EKS managed node group) can each be given."""

    code = codes.HG229

    def check(self, env: EnvContext):
        for i, g in enumerate(env.model.cluster.node_groups):
            spec = _spec_group(env, i)
            yield from (self._core(env, i, g, spec) if g.purpose == CORE else self._user(env, i, g, spec))

    def _core(self, env: EnvContext, i: int, g: NodeGroup, spec: dict) -> Iterator[Problem]:
        name = f"core node group '{g.name}'"
        if len(g.instance_types) > 1:
            yield env.problem(self.code, f"{name} lists {len(g.instance_types)} instance types "
                              f"({', '.join(g.instance_types)}); the core group is one Auto Scaling group with one "
                              "launch template, so it has exactly one", _group_path(i, "instanceTypes", 1),
                              hint=f"Keep one instance type (e.g. `instanceTypes: [{g.instance_types[0]}]`); "
                                   "several types belong to a user group.")
        if g.spot:
            yield env.problem(self.code, f"{name} is spot: EC2 may reclaim a core node with two minutes' notice, "
                              "taking down the hub, the proxy and the load balancer's target with it",
                              _group_path(i, "capacityType"),
                              hint="Remove `capacityType: spot` (core nodes are on-demand); put spot in a user group.")
        if nodes.has_gpus(g):
            yield env.problem(self.code, f"{name} has GPU instance types ({', '.join(g.instance_types)}): core nodes "
                              "run the standard AMI without NVIDIA drivers and are not tainted for GPU pods, so the "
                              "GPUs would sit idle at GPU prices", _group_path(i, "instanceTypes", _first_gpu_type(g)),
                              hint="Use a general-purpose type for the core group and put GPUs in a user group.")
        for key, why in (("releaseVersion", "an EKS managed node group AMI release; the core group's AMI comes from "
                                            "the public SSM parameter of the version, or `imageId`"),
                         ("availabilityZone", "the core group spans every subnet so the hub survives a zone outage")):
            if key in spec:
                yield env.problem(self.code, f"{name} sets `{key}`: {why}", _group_path(i, key), key=True,
                                  hint=f"Remove `{key}` from the core group.")

    def _user(self, env: EnvContext, i: int, g: NodeGroup, spec: dict) -> Iterator[Problem]:
        if "imageId" in spec:
            yield env.problem(self.code, f"user node group '{g.name}' sets `imageId`: user groups are EKS managed "
                              "node groups, whose AMI is the EKS-optimized image of their AMI type, pinned with "
                              "`releaseVersion`", _group_path(i, "imageId"), key=True,
                              hint="Remove `imageId`; pin the AMI release with `releaseVersion` "
                                   "(e.g. 1.35.0-20260120) instead.")
        version = env.model.cluster.kubernetes_version
        if g.release_version and not g.release_version.startswith(version + "."):
            yield env.problem(self.code, f"user node group '{g.name}' pins AMI release {g.release_version}, which is "
                              f"for another Kubernetes version than the cluster's {version}: EKS refuses it",
                              _group_path(i, "releaseVersion"),
                              hint=f"Pin a release of {version} ({version}.N-YYYYMMDD), or remove `releaseVersion` "
                                   "to get the latest.")


@register
class OneCoreGroup(EnvironmentCheck):
    code = codes.HG230

    def check(self, env: EnvContext):
        groups = env.model.cluster.node_groups
        cores = [i for i, g in enumerate(groups) if g.purpose == CORE]
        if not cores:
            yield env.problem(self.code, "no node group has `purpose: core`: the hub, the proxy and the cluster "
                              "add-ons have no nodes to run on, and the load balancer no target", GROUPS,
                              hint="Add a node group with `purpose: core` (one on-demand instance type, minSize >= 1).")
        for i in cores[1:]:
            yield env.problem(self.code, f"node group '{groups[i].name}' is a second core group (the first is "
                              f"'{groups[cores[0]].name}'); the load balancer targets exactly one",
                              _group_path(i, "purpose"),
                              hint=f"Set `purpose: user` on '{groups[i].name}', or merge it into "
                                   f"'{groups[cores[0]].name}'.")
        for i in cores[:1]:
            g = groups[i]
            if g.min_size < 1:
                yield env.problem(self.code, f"core node group '{g.name}' has minSize {g.min_size}: with no core "
                                  "node nothing runs the hub, nor the cluster-autoscaler that would add one",
                                  _group_path(i, "minSize"), hint="Set minSize to at least 1 (2 for a hub that "
                                                                  "survives a node replacement).")


def _duplicates(names: list[str]) -> Iterator[tuple[int, str, int]]:
    """(index, name, index of its first use) for each repeated name."""
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in first:
            yield i, n, first[n]
        else:
            first[n] = i


@register
class UniqueNames(EnvironmentCheck):
    code = codes.HG231

    def check(self, env: EnvContext):
        c = env.model.cluster
        for i, name, first in _duplicates([g.name for g in c.node_groups]):
            yield env.problem(self.code, f"node group name '{name}' is already used by nodeGroups[{first}]",
                              _group_path(i, "name"))
        if "classes" in env.spec["cluster"].get("storage", {}):
            for i, name, first in _duplicates([s.name for s in c.storage_classes]):
                yield env.problem(self.code, f"StorageClass name '{name}' is already used by classes[{first}]",
                                  CLASSES + (i, "name"))
        for h, hub in enumerate(env.model.hubs):
            for i, name, first in _duplicates([p.name for p in hub.profiles]):
                yield env.problem(self.code, f"profile name '{name}' is already used by profiles[{first}] of hub "
                                  f"'{hub.name}'", ("hubs", h, "profiles", i, "name"))


# ------------------------------------------------------------------------------------------ instance types
def _family(name: str) -> str:
    return name.split(".", 1)[0]


@register
class InstanceTypeExists(EnvironmentCheck):
    code = codes.HG232

    def check(self, env: EnvContext):
        for i, g in enumerate(env.model.cluster.node_groups):
            for j, name in enumerate(g.instance_types):
                sizes = instance_types.family_sizes(_family(name))
                if sizes is not None and instance_types.lookup(name) is None:
                    yield env.problem(self.code, f"instance type {name} does not exist: the {_family(name)} family "
                                      f"has sizes {', '.join(sizes)}", _group_path(i, "instanceTypes", j),
                                      hint=f"Use a size the {_family(name)} family has, e.g. "
                                           f"{_family(name)}.{_closest(name, sizes)}.")


def _closest(name: str, sizes: tuple[str, ...]) -> str:
    """The family's size nearest to ``name``'s (m6i.3xlarge -> 2xlarge), by the size's multiple of an xlarge."""
    wanted = _multiple(name.split(".", 1)[1])
    virtual = [s for s in sizes if _multiple(s) is not None] or list(sizes)
    if wanted is None:
        return virtual[0]
    return min(virtual, key=lambda s: (abs(_multiple(s) - wanted), _multiple(s)))


def _multiple(size: str) -> float | None:
    """How many xlarges a size is (large 0.5, 4xlarge 4); None for metal and other names."""
    named = {"nano": 1 / 32, "micro": 1 / 16, "small": 1 / 8, "medium": 1 / 4, "large": 1 / 2, "xlarge": 1}
    if size in named:
        return named[size]
    number = size[: -len("xlarge")] if size.endswith("xlarge") else ""
    return float(number) if number.isdigit() else None


@register
class InstanceTypeUnknown(EnvironmentCheck):
    code = codes.HG233

    def check(self, env: EnvContext):
        for i, g in enumerate(env.model.cluster.node_groups):
            for j, name in enumerate(g.instance_types):
                if instance_types.family_sizes(_family(name)) is None:
                    yield env.problem(self.code, f"instance type {name} of node group '{g.name}' is not in hubgen's "
                                      f"instance-type table (dated {instance_types.TABLE_DATE}): its vCPUs, memory "
                                      "and GPUs are unknown, so profiles on the group are not checked for fit and "
                                      "the group gets the standard (non-GPU) AMI", _group_path(i, "instanceTypes", j))


@register
class NodeGroupZone(EnvironmentCheck):
    code = codes.HG234

    def check(self, env: EnvContext):
        zones = sorted({s.availability_zone for s in env.model.cluster.subnets})
        for i, g in enumerate(env.model.cluster.node_groups):
            zone = _spec_group(env, i).get("availabilityZone")
            if g.purpose == USER and zone is not None and zone not in zones:
                yield env.problem(self.code, f"node group '{g.name}' runs in {zone}, but no subnet of the cluster is "
                                  f"in {zone} (the subnets are in {', '.join(zones)})",
                                  _group_path(i, "availabilityZone"),
                                  hint=f"Use one of {', '.join(zones)}, or add a subnet in {zone} to cluster.subnets.")


# ------------------------------------------------------------------------------------------ profiles
def _profile_path(h: int, p: int, *rest) -> tuple:
    return ("hubs", h, "profiles", p, *rest)


def _user_groups(env: EnvContext) -> str:
    names = [f"'{g.name}'" for g in env.model.cluster.user_groups]
    return ", ".join(names) if names else "none: add a node group with `purpose: user`"


@register
class ProfileNodeGroup(EnvironmentCheck):
    code = codes.HG235

    def check(self, env: EnvContext):
        for h, hub in enumerate(env.model.hubs):
            for p, prof in enumerate(hub.profiles):
                group = env.model.cluster.node_group(prof.node_group)
                where = _profile_path(h, p, "nodeGroup")
                if group is None:
                    yield env.problem(self.code, f"profile '{prof.name}' of hub '{hub.name}' runs on node group "
                                      f"'{prof.node_group}', which the cluster does not declare",
                                      where, hint=f"Name a user node group; the cluster has {_user_groups(env)}.")
                elif group.purpose == CORE:
                    yield env.problem(self.code, f"profile '{prof.name}' of hub '{hub.name}' runs on '{group.name}', "
                                      "the core node group, which is reserved for the hub, the proxy and the add-ons",
                                      where, hint=f"Name a user node group; the cluster has {_user_groups(env)}.")


@register
class ProfileGpus(EnvironmentCheck):
    code = codes.HG236

    def check(self, env: EnvContext):
        for h, hub in enumerate(env.model.hubs):
            for p, prof in enumerate(hub.profiles):
                group = env.model.cluster.node_group(prof.node_group)
                if prof.gpus and group is not None and group.purpose == USER and nodes.gpus(group) < prof.gpus:
                    yield env.problem(self.code, f"profile '{prof.name}' of hub '{hub.name}' asks for {prof.gpus} "
                                      f"GPU{'s' if prof.gpus > 1 else ''}, but {_gpu_summary(group)}",
                                      _profile_path(h, p, "gpus"), hint=_gpu_hint(env, prof.gpus))


def _gpu_summary(group: NodeGroup) -> str:
    parts = []
    for name in group.instance_types:
        t = instance_types.lookup(name)
        parts.append(f"{name} has {t.gpus}" if t else f"{name} is unknown to hubgen (HG233: no GPU AMI)")
    return f"node group '{group.name}' has fewer: {'; '.join(parts)}"


def _gpu_hint(env: EnvContext, wanted: int) -> str:
    gpu_groups = [f"'{g.name}'" for g in env.model.cluster.user_groups if nodes.gpus(g) >= wanted]
    if gpu_groups:
        return f"Use a node group with enough GPUs ({', '.join(gpu_groups)}), or lower `gpus`."
    return codes.HG236.hint


@dataclass(frozen=True)
class _Request:
    """One resource of a server: what it guarantees and limits, and where the spec says so."""

    resource: str  # "cpu" or "memory"
    guarantee: float | None  # cores or MiB
    limit: float | None
    guarantee_text: str | None
    limit_text: str | None
    #: Where the spec sets them: the profile's own value, else the hub's singleuser one.
    guarantee_path: tuple | None
    limit_path: tuple | None


def _requests(h: int, hub: Hub, p: int | None, prof: Profile | None) -> list[_Request]:
    """CPU and memory of a hub's servers (``prof`` None) or of a profile, which inherits what it does not set
    from the hub's singleuser settings (KubeSpawner applies a profile's overrides over them)."""
    out = []
    for resource in ("cpu", "memory"):
        found = []  # (amount, text, path) of the guarantee, then the limit
        for kind in ("guarantee", "limit"):
            field = f"{resource}_{kind}"
            own = getattr(prof, field) if prof else None
            base = getattr(hub.singleuser, field)
            if own is not None:
                found.append((own, _text(resource, own), _profile_path(h, p, resource, kind)))
            elif base is not None:
                inherited = f" (the hub's singleuser.{resource}.{kind})" if prof else ""
                found.append((base, _text(resource, base) + inherited, ("hubs", h, "singleuser", resource, kind)))
            else:
                found.append((None, None, None))
        (g, g_text, g_path), (lim, l_text, l_path) = found
        out.append(_Request(resource, _amount(resource, g), _amount(resource, lim), g_text, l_text, g_path, l_path))
    return out


def _amount(resource: str, value) -> float | None:
    if value is None:
        return None
    return float(value) if resource == "cpu" else instance_types.quantity_mib(value)


def _text(resource: str, value) -> str:
    return f"{value:g} CPU" if resource == "cpu" else f"{value} memory"


def _capacity(t: InstanceType, resource: str) -> float:
    return t.vcpus if resource == "cpu" else t.memory_mib


def _allocatable(t: InstanceType, resource: str, *, managed: bool) -> float:
    a = instance_types.allocatable(t, managed=managed)
    return a.cpu_millicores / 1000 if resource == "cpu" else a.memory_mib


def _show(resource: str, amount: float) -> str:
    return f"{amount:g} CPU" if resource == "cpu" else f"{amount:.0f} MiB"


def _known_types(group: NodeGroup) -> list[InstanceType] | None:
    """The group's instance types, or None when hubgen does not know one of them (HG233 says so)."""
    types = [instance_types.lookup(n) for n in group.instance_types]
    return None if any(t is None for t in types) else types


@register
class ProfileFits(EnvironmentCheck):
    """HG237: a server's guarantee must fit what a node of its group can allocate (error), its limit what the
    node has (warning). Each resource is compared with the group's smallest instance type for it: the
    autoscaler may start any of the group's types. Hubs without profiles are checked against the user groups
    their servers can run on (the core group when there are none)."""

    code = codes.HG237

    def check(self, env: EnvContext):
        for h, hub in enumerate(env.model.hubs):
            if hub.profiles:
                for p, prof in enumerate(hub.profiles):
                    group = env.model.cluster.node_group(prof.node_group)
                    if group is None or group.purpose != USER:
                        continue  # HG235
                    owner = f"profile '{prof.name}' of hub '{hub.name}'"
                    yield from self._fits(env, owner, _requests(h, hub, p, prof), [group])
            else:
                yield from self._fits(env, f"hub '{hub.name}'", _requests(h, hub, None, None), _hub_groups(env))

    def _fits(self, env: EnvContext, owner: str, requests: list[_Request], groups: list[NodeGroup]
              ) -> Iterator[Problem]:
        """Problems when ``requests`` fit none of ``groups``, each group judged by its smallest type."""
        candidates = [(g, types) for g in groups if (types := _known_types(g))]
        if len(candidates) < len(groups) or not candidates:
            return  # a group of unknown types (HG233) might fit; nothing is certain
        for r in requests:
            if r.guarantee is not None:
                yield from self._guarantee(env, owner, r, candidates)
            if r.limit is not None:
                yield from self._limit(env, owner, r, candidates)

    def _guarantee(self, env: EnvContext, owner: str, r: _Request,
                   candidates: list[tuple[NodeGroup, list[InstanceType]]]) -> Iterator[Problem]:
        """The guarantee against the best group's smallest allocatable."""
        room = []
        for g, types in candidates:
            smallest = min((_allocatable(t, r.resource, managed=g.purpose == USER), t.name) for t in types)
            room.append((smallest[0], g, instance_types.lookup(smallest[1])))
        most, g, t = max(room, key=lambda x: x[0])
        if r.guarantee > most:
            yield env.problem(self.code, f"{owner} guarantees {r.guarantee_text}, more than a node of node group "
                              f"'{g.name}' ({t.name}) can allocate ({_show(r.resource, most)} of "
                              f"{_show(r.resource, _capacity(t, r.resource))}, less what EKS reserves for the "
                              "kubelet and the system): the server would stay Pending", r.guarantee_path,
                              hint=f"Lower the {r.resource} guarantee to at most {_show(r.resource, most)}, or use "
                                   "larger instance types.")

    def _limit(self, env: EnvContext, owner: str, r: _Request,
               candidates: list[tuple[NodeGroup, list[InstanceType]]]) -> Iterator[Problem]:
        """The limit against the best group's smallest capacity."""
        smallest = [(g, min(types, key=lambda t: _capacity(t, r.resource))) for g, types in candidates]
        g, t = max(smallest, key=lambda gt: _capacity(gt[1], r.resource))
        capacity = _capacity(t, r.resource)
        if r.limit > capacity:
            yield env.problem(self.code, f"{owner} limits {r.limit_text}, more than a node of node group "
                              f"'{g.name}' ({t.name}) has ({_show(r.resource, capacity)}): the limit can never be "
                              "reached", r.limit_path, severity=Severity.WARNING,
                              hint=f"Lower the {r.resource} limit to at most {_show(r.resource, capacity)}, or use "
                                   "larger instance types.")


def _hub_groups(env: EnvContext) -> list[NodeGroup]:
    """Where a hub without profiles runs its servers: the user groups without GPUs (GPU nodes are tainted for
    GPU profiles), else every user group, else the core group."""
    users = list(env.model.cluster.user_groups)
    plain = [g for g in users if not nodes.has_gpus(g)]
    if plain or users:
        return plain or users
    return [env.model.cluster.core_group]


# ------------------------------------------------------------------------------------------ storage
@register
class StorageClassRendered(EnvironmentCheck):
    code = codes.HG238

    def check(self, env: EnvContext):
        rendered = [c.name for c in env.model.cluster.storage_classes]
        for h, hub in enumerate(env.model.hubs):
            for path, name, what in _storage_classes_used(hub):
                if name not in rendered:
                    yield env.problem(self.code, f"hub '{hub.name}' asks for StorageClass '{name}' for {what}, but "
                                      f"the environment renders only {', '.join(rendered)}", ("hubs", h, *path),
                                      hint=f"Use one of {', '.join(rendered)}, or add '{name}' to "
                                           "cluster.storage.classes.")


#: The chart values naming a StorageClass the raw `values` may set: (path below the hub's `values`, what for).
VALUE_STORAGE_CLASSES = (
    (("hub", "db", "pvc", "storageClassName"), "the hub database"),
    (("singleuser", "storage", "dynamic", "storageClass"), "user homes"),
)


def _storage_classes_used(hub: Hub) -> Iterator[tuple[tuple, str, str]]:
    """(path below the hub, class name, what for) of every StorageClass the hub names."""
    if hub.singleuser.storage_class:
        yield ("singleuser", "storage", "storageClass"), hub.singleuser.storage_class, "user homes"
    for path, what in VALUE_STORAGE_CLASSES:
        if path in OWNED_VALUES:
            continue  # the raw values may not set it (HG218)
        value = get_path(hub.values, path, None)
        if isinstance(value, str) and value:
            yield ("values", *path), value, what


@register
class OneDefaultStorageClass(EnvironmentCheck):
    code = codes.HG239

    def check(self, env: EnvContext):
        classes = env.model.cluster.storage_classes
        defaults = [i for i, c in enumerate(classes) if c.default]
        if not defaults:
            yield env.problem(self.code, f"no StorageClass of {', '.join(c.name for c in classes)} is the default: "
                              "claims that name no class (the hub database, other charts' volumes) would stay "
                              "Pending", CLASSES,
                              hint=f"Mark one class with `default: true` (e.g. '{classes[0].name}').")
        for i in defaults[1:]:
            yield env.problem(self.code, f"StorageClass '{classes[i].name}' is a second default (the first is "
                              f"'{classes[defaults[0]].name}'); Kubernetes would give unnamed claims the newest",
                              CLASSES + (i, "default"),
                              hint=f"Keep `default: true` on one class only (remove it from '{classes[i].name}' or "
                                   f"'{classes[defaults[0]].name}').")


@register
class GuaranteeAboveLimit(EnvironmentCheck):
    """HG244: Kubernetes refuses a container whose request is above its limit. A profile inherits from the
    hub's singleuser settings what it does not set itself, so a profile that only raises the guarantee can
    cross the hub's limit."""

    code = codes.HG244

    def check(self, env: EnvContext):
        for h, hub in enumerate(env.model.hubs):
            servers = [(f"hub '{hub.name}'", _requests(h, hub, None, None))]
            servers += [(f"profile '{prof.name}' of hub '{hub.name}'", _requests(h, hub, p, prof))
                        for p, prof in enumerate(hub.profiles)]
            reported: set[tuple] = set()
            for owner, requests in servers:
                for r in requests:
                    if r.guarantee is None or r.limit is None or r.guarantee <= r.limit:
                        continue
                    # At the profile's own value: an inherited guarantee over the profile's limit is the limit's fault.
                    where = r.guarantee_path if "profiles" in r.guarantee_path or "profiles" not in r.limit_path \
                        else r.limit_path
                    if (where, r.resource) in reported:
                        continue
                    reported.add((where, r.resource))
                    yield env.problem(self.code, f"{owner} guarantees {r.guarantee_text} but limits {r.limit_text}: "
                                      "Kubernetes refuses a pod whose request is above its limit", where,
                                      hint=f"Lower the {r.resource} guarantee to at most the limit, or raise the "
                                           "limit.")


@register
class OperatorsNeedAccessEntries(EnvironmentCheck):
    code = codes.HG245

    def check(self, env: EnvContext):
        if env.model.cluster.uses_access_entries:
            return
        for h, hub in enumerate(env.model.hubs):
            for o, op in enumerate(hub.operators):
                yield env.problem(self.code, f"operator {op.arn} of hub '{hub.name}' needs an EKS access entry, and "
                                  "cluster.authenticationMode CONFIG_MAP has none", ("hubs", h, "operators", o, "arn"))
