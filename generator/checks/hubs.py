"""Checks on the hubs of one environment (one cluster)."""

from __future__ import annotations

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register


def _first_duplicates(values):
    """(index, value, index of first occurrence) for each repeated value."""
    seen: dict = {}
    for i, v in enumerate(values):
        if v is None:
            continue
        if v in seen:
            yield i, v, seen[v]
        else:
            seen[v] = i


@register
class UniqueHubNames(EnvironmentCheck):
    code = codes.HG214

    def check(self, env: EnvContext):
        for i, name, first in _first_duplicates([h.name for h in env.model.hubs]):
            yield env.problem(self.code, f"hub name '{name}' is already used by hubs[{first}]", ("hubs", i, "name"))


@register
class UniqueNodePorts(EnvironmentCheck):
    code = codes.HG202

    def check(self, env: EnvContext):
        for i, port, first in _first_duplicates([h.node_port for h in env.model.hubs]):
            yield env.problem(self.code, f"nodePort {port} is already used by hub '{env.model.hubs[first].name}' "
                              "on this cluster", ("hubs", i, "nodePort"))


@register
class UniqueNamespaces(EnvironmentCheck):
    code = codes.HG203

    def check(self, env: EnvContext):
        for i, ns, first in _first_duplicates([h.namespace for h in env.model.hubs]):
            yield env.problem(self.code, f"namespace '{ns}' is already used by hub '{env.model.hubs[first].name}' "
                              "on this cluster", ("hubs", i, "namespace"))
        for i, h in enumerate(env.model.hubs):
            if h.namespace in ("kube-system", "kube-public", "kube-node-lease", "default", "flux-system"):
                yield env.problem(self.code, f"namespace '{h.namespace}' is reserved for the system",
                                  ("hubs", i, "namespace"), hint="Use a namespace of the hub's own.")


@register
class HubHosts(EnvironmentCheck):
    code = codes.HG215

    def check(self, env: EnvContext):
        hubs = env.model.hubs
        for i, h in enumerate(hubs[1:], start=1):
            if not h.host:
                yield env.problem(self.code, f"hub '{h.name}' needs a `host`: the load balancer routes every hub "
                                  "after the first by host name", ("hubs", i, "name"))
        for i, host, first in _first_duplicates([h.host for h in hubs]):
            yield env.problem(self.code, f"host '{host}' is already used by hub '{hubs[first].name}'",
                              ("hubs", i, "host"))


@register
class AdminsAllowed(EnvironmentCheck):
    code = codes.HG206

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            allowed = set(h.auth.allowed_users)
            for j, admin in enumerate(h.auth.admins):
                if admin not in allowed:
                    yield env.problem(self.code, f"admin '{admin}' of hub '{h.name}' is not in allowedUsers",
                                      ("hubs", i, "auth", "admins", j),
                                      hint=f"Add '{admin}' to hubs[{i}].auth.allowedUsers.")


@register
class ImmutableImageTag(EnvironmentCheck):
    code = codes.HG210

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            if h.singleuser.image_tag.lower() in ("latest", "stable", "main", "master"):
                yield env.problem(self.code, f"image tag '{h.singleuser.image_tag}' of hub '{h.name}' is mutable",
                                  ("hubs", i, "singleuser", "image", "tag"))
