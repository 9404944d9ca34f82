"""Checks on the hubs of one environment (one cluster)."""

from __future__ import annotations

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register
from generator.model import Principal
from generator.render.values import Override, owned_overrides
from generator.tree import MISSING, get_path


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


MUTABLE_TAGS = ("latest", "stable", "main", "master")


@register
class ImmutableImageTag(EnvironmentCheck):
    code = codes.HG210

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            if h.singleuser.image_tag.lower() in MUTABLE_TAGS:
                yield env.problem(self.code, f"image tag '{h.singleuser.image_tag}' of hub '{h.name}' is mutable",
                                  ("hubs", i, "singleuser", "image", "tag"))
            for p, prof in enumerate(h.profiles):
                if prof.image_tag is not None and prof.image_tag.lower() in MUTABLE_TAGS:
                    yield env.problem(self.code, f"image tag '{prof.image_tag}' of profile '{prof.name}' of hub "
                                      f"'{h.name}' is mutable", ("hubs", i, "profiles", p, "image", "tag"))


#: Where each authenticator-specific setting means something: (key under `auth`, its path, the authenticator).
AUTH_SETTINGS = (
    (("oauth", "allowedOrganizations"), "github", "GitHub organizations and teams"),
    (("oauth", "scope"), "generic-oauth", "the scopes GenericOAuthenticator requests"),
    (("oauth", "groups"), "generic-oauth", "the identity provider's groups"),
    (("allowSharedPasswordAdmins",), "dummy", "the shared password's admin acknowledgement"),
)


@register
class AuthSettingsForAuthenticator(EnvironmentCheck):
    code = codes.HG240

    def check(self, env: EnvContext):
        for i, hub in enumerate(env.spec["hubs"]):
            auth = hub["auth"]
            for path, meant_for, what in AUTH_SETTINGS:
                if auth["type"] != meant_for and get_path(auth, path) is not MISSING:
                    key = "auth." + ".".join(path)
                    yield env.problem(self.code, f"hub '{hub['name']}' uses the {auth['type']} authenticator, but "
                                      f"`{key}` ({what}) means something only to {meant_for}; {auth['type']} would "
                                      "ignore it", ("hubs", i, "auth", *path), key=True,
                                      hint=f"Remove `{key}`, or set `auth.type: {meant_for}`.")


@register
class SharedPasswordAdmins(EnvironmentCheck):
    code = codes.HG241

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            if h.auth.type == "dummy" and h.auth.admins and not h.auth.allow_shared_password_admins:
                admins = ", ".join(f"'{a}'" for a in h.auth.admins)
                yield env.problem(self.code, f"hub '{h.name}' logs in with one shared password (dummy "
                                  f"authenticator) and names admins ({admins}): everyone who knows the password can "
                                  "log in as an admin", ("hubs", i, "auth", "admins"), key=True)


@register
class OneDefaultProfile(EnvironmentCheck):
    code = codes.HG242

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            defaults = [p for p, prof in enumerate(h.profiles) if prof.default]
            for p in defaults[1:]:
                first = h.profiles[defaults[0]].name
                yield env.problem(self.code, f"profile '{h.profiles[p].name}' of hub '{h.name}' is a second default "
                                  f"(the first is '{first}'); the spawn form pre-selects one",
                                  ("hubs", i, "profiles", p, "default"),
                                  hint=f"Remove `default: true` from '{h.profiles[p].name}' or '{first}'.")


#: Operator slots of the cluster template (OperatorPrincipalArn1..5).
OPERATOR_SLOTS = 5


@register
class OperatorSlots(EnvironmentCheck):
    code = codes.HG243

    def check(self, env: EnvContext):
        operators = [(i, j, op) for i, h in enumerate(env.model.hubs) for j, op in enumerate(h.operators)]
        for n, (i, j, op) in enumerate(operators[OPERATOR_SLOTS:], start=OPERATOR_SLOTS + 1):
            yield env.problem(self.code, f"operator {op.arn} of hub '{env.model.hubs[i].name}' is the environment's "
                              f"operator number {n} of {len(operators)}; the cluster stack has {OPERATOR_SLOTS} "
                              "operator slots (OperatorPrincipalArn1..5), one EKS access entry each",
                              ("hubs", i, "operators", j),
                              hint=f"Remove {len(operators) - OPERATOR_SLOTS} operator(s) across the hubs, or make "
                                   "a principal a cluster admin instead.")


@register
class DuplicateOperators(EnvironmentCheck):
    """HG217 for operators: EKS keeps one access entry per IAM principal and cluster, so a principal can be an
    operator of one hub once, and not also a cluster admin (compared without the IAM path, as HG217 does)."""

    code = codes.HG217

    def check(self, env: EnvContext):
        admins = {p.arn_without_path: p.arn for p in env.model.admin_principals}
        seen: dict[str, str] = {}
        for i, h in enumerate(env.model.hubs):
            for j, op in enumerate(h.operators):
                key = Principal(op.arn, "").arn_without_path
                where = ("hubs", i, "operators", j, "arn")
                if key in admins:
                    yield env.problem(self.code, f"operator {op.arn} of hub '{h.name}' is also the cluster admin "
                                      f"{admins[key]}, which already has an access entry with cluster-wide access",
                                      where, hint="Remove the operator entry; cluster admins can reach every hub.")
                elif key in seen:
                    yield env.problem(self.code, f"operator {op.arn} of hub '{h.name}' is already an operator "
                                      f"({seen[key]}); EKS gives a principal one access entry per cluster", where,
                                      hint="List each principal once across the hubs' operators.")
                seen.setdefault(key, f"of hub '{h.name}'")


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "not a mapping")


def _listed(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"`{i}`" for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@register
class OwnedValues(EnvironmentCheck):
    """The raw `values` may not set, or replace a mapping holding, a chart value the spec owns
    (:data:`generator.render.values.OWNED_VALUES`)."""

    code = codes.HG218

    def check(self, env: EnvContext):
        for i, h in enumerate(env.model.hubs):
            for o in owned_overrides(h, env.model.cluster):
                key = "values." + ".".join(o.path)
                if o.replaces:
                    message, hint = self._replaces(key, o, i)
                else:
                    message, hint = self._sets(key, o, i)
                yield env.problem(self.code, f"hub '{h.name}': {message}", ("hubs", i, "values", *o.path),
                                  key=True, hint=hint)

    @staticmethod
    def _sets(key: str, o: Override, i: int) -> tuple[str, str]:
        path, owned = o.owned[0]
        dotted, instead = ".".join(path), owned.instead(i)
        if owned.field and not owned.why:
            reason = f"hubgen derives it from `{instead}`"
        elif owned.field:
            reason = f"governed by `{instead}`: {owned.why}"
        else:
            reason = f"fixed by hubgen: {owned.why}"
        where = "sets" if len(path) == len(o.path) else "is below"
        hint = (f"Set `{instead}` instead of `{key}`." if owned.field
                else f"Remove `{key}`; this is decided by `{instead}`.")
        return f"`{key}` {where} `{dotted}`, a chart value owned by the spec ({reason})", hint

    @staticmethod
    def _replaces(key: str, o: Override, i: int) -> tuple[str, str]:
        paths = [".".join(p) for p, _ in o.owned]
        fields = list(dict.fromkeys(owned.instead(i) for _, owned in o.owned))
        message = (f"`{key}` is {_kind(o.value)}, which replaces the whole mapping there and with it chart values "
                   f"owned by the spec: {_listed(paths)}")
        hint = (f"Set only the keys you need below `{key}`, none of the owned ones; those come from "
                f"{_listed(fields)}.")
        return message, hint
