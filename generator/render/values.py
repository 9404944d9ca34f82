"""Helm values for one hub (JupyterHub chart 4.x keys), how secrets reach them, and which of them the spec owns.

Secrets never appear in values: they are read by Flux from Kubernetes Secrets
through ``valuesFrom`` with a ``targetPath`` (see :func:`values_from`).

**Merging.** :func:`merge_values` is hubgen's only merge of Helm values, in
Helm's two modes: rendering (generated values, then the raw ``values`` escape
hatch, into the HelmRelease's ``spec.values``: a ``null`` survives, as in Flux's
and Helm's own merging, so that Helm can later delete the chart default it
names) and linting (those release values coalesced over the chart's defaults,
as Helm computes them: a ``null`` deletes the key).

**Owned values.** Every chart value hubgen derives from the spec or fixes for
security is *owned* (:data:`OWNED_VALUES`): the raw ``values`` may not set it,
anything below it, or replace a mapping above it (:func:`owned_overrides`,
reported as HG218 by :mod:`generator.checks.hubs`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from generator.model import Cluster, Hub, Profile
from generator.platform import nodes
from generator.tree import MISSING, get_path

AUTHENTICATOR_CLASS = {"dummy": "dummy", "github": "github", "generic-oauth": "generic-oauth"}
OAUTH_CONFIG_SECTION = {"github": "GitHubOAuthenticator", "generic-oauth": "GenericOAuthenticator"}
#: The GitHub scope that shows an organization's private members (and team memberships) to the hub: without
#: it GitHub answers only for public members, so a private member of an allowed organization is refused.
GITHUB_ORG_SCOPE = "read:org"
#: Where OAuthenticator (17.x, the JupyterHub chart 4.x's hub image) keeps the identity provider's user info
#: in the auth state: ``auth_state_groups_key`` is a dotted path into it.
USER_AUTH_STATE_KEY = "oauth_user"


# --- merging -------------------------------------------------------------------------

def merge_values(base: dict, override: dict, *, coalesce: bool = False) -> dict:
    """``override`` merged over ``base`` the way Helm merges values; a new tree, the inputs are not modified.

    Maps merge key by key, recursively; any other value of ``override`` (scalar, list, ``null``, or a map
    where ``base`` has none) replaces the one in ``base``. What ``null`` does depends on the mode, as in
    Helm's ``coalesce(..., merge bool)`` (helm ``pkg/chart/common/util/coalesce.go``):

    * ``coalesce=False`` -- Helm's ``MergeValues``, identical for maps to Flux helm-controller's
      ``MergeMaps`` (fluxcd/pkg ``chartutil/merge.go``), which merges ``valuesFrom`` and ``spec.values``:
      a ``null`` is kept like any value. hubgen renders a HelmRelease's ``spec.values`` this way
      (:func:`release_values`), so a ``null`` the user writes to delete a chart default reaches Helm.
    * ``coalesce=True`` -- Helm's ``CoalesceValues`` of release values (``override``) over the chart's
      ``values.yaml`` (``base``), what Helm renders and validates against the chart's schema: a ``null``
      deletes the key the chart defines (below the top level only when its default is not ``null``
      itself; there Helm first drops the defaults' ``null`` entries), and otherwise stays ``null``;
      the defaults' own ``null`` entries are dropped. The lint engine uses this
      (:mod:`generator.engines.chart_values`).
    """
    out: dict = {}
    for key, old in base.items():
        if key in override:
            new = override[key]
            if new is None and coalesce:
                continue
            if isinstance(new, dict) and isinstance(old, dict):
                out[key] = merge_values(_without_nulls(old) if coalesce else old, new, coalesce=coalesce)
            else:
                out[key] = copy.deepcopy(new)
        elif not (coalesce and old is None):
            out[key] = _without_nulls(old) if coalesce else copy.deepcopy(old)
    for key, new in override.items():
        if key not in base:
            out[key] = copy.deepcopy(new)
    return out


def _without_nulls(value: Any) -> Any:
    """A copy of ``value`` without ``null`` entries in its maps, at any depth (Helm's ``cleanNilValues``)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


# --- generated values ------------------------------------------------------------------

def _auth_config(hub: Hub) -> dict[str, Any]:
    a = hub.auth
    config: dict[str, Any] = {
        "JupyterHub": {"authenticator_class": AUTHENTICATOR_CLASS[a.type]},
        # allow_all/allow_existing_users pinned (see OWNED_VALUES): the spec's lists are the whole policy.
        "Authenticator": {"admin_users": list(a.admins), "allowed_users": list(a.allowed_users),
                          "allow_all": False, "allow_existing_users": False},
    }
    if a.oauth:
        o = a.oauth
        section: dict[str, Any] = {"client_id": o.client_id, "oauth_callback_url": o.callback_url}
        if a.type == "generic-oauth":
            section.update(_generic_oauth(hub))
        elif o.allowed_organizations:
            section["allowed_organizations"] = list(o.allowed_organizations)
            section["scope"] = [GITHUB_ORG_SCOPE]
        config[OAUTH_CONFIG_SECTION[a.type]] = section
    return config


def _generic_oauth(hub: Hub) -> dict[str, Any]:
    """GenericOAuthenticator's endpoints, scopes and groups, in the names OAuthenticator 17 reads without a
    deprecation warning: groups come from ``auth_state_groups_key`` (a dotted path into the auth state, where
    the user info is kept under ``oauth_user``; ``claim_groups_key`` is its deprecated alias) and need
    ``manage_groups``, which also makes JupyterHub's groups follow the identity provider's at every login;
    ``allowed_groups`` and ``admin_groups`` live on the base class since 17.0."""
    o = hub.auth.oauth
    assert o is not None
    out: dict[str, Any] = {"authorize_url": o.authorize_url, "token_url": o.token_url,
                           "userdata_url": o.userdata_url}
    if o.username_claim:
        out["username_claim"] = o.username_claim
    if o.scope:
        out["scope"] = list(o.scope)
    if o.groups_claim:
        out["manage_groups"] = True
        out["auth_state_groups_key"] = f"{USER_AUTH_STATE_KEY}.{o.groups_claim}"
        if o.allowed_groups:
            out["allowed_groups"] = list(o.allowed_groups)
        if o.admin_groups:
            out["admin_groups"] = list(o.admin_groups)
    return out


def values_from(hub: Hub) -> list[dict[str, Any]]:
    """Flux ``valuesFrom`` entries placing secret values at their chart paths."""
    a = hub.auth
    out = []
    if a.password_secret:
        out.append({"kind": "Secret", "name": a.password_secret.name, "valuesKey": a.password_secret.key,
                    "targetPath": "hub.config.DummyAuthenticator.password"})
    if a.oauth:
        out.append({"kind": "Secret", "name": a.oauth.client_secret.name, "valuesKey": a.oauth.client_secret.key,
                    "targetPath": f"hub.config.{OAUTH_CONFIG_SECTION[a.type]}.client_secret"})
    return out


def secret_target_paths(hub: Hub) -> list[str]:
    return [v["targetPath"] for v in values_from(hub)]


def profile_entry(profile: Profile, cluster: Cluster) -> dict[str, Any]:
    """One ``singleuser.profileList`` entry (KubeSpawner's profile format).

    The server runs on the profile's node group (node selector on ``hubgen.dev/node-group``) and tolerates
    that group's taints. KubeSpawner *replaces* the chart's tolerations with a profile's, so the user taint
    is listed here too, and the GPU taint only for a GPU group: a profile never lands on a GPU node by
    accident. Whatever the profile leaves out (image, CPU, memory) is the hub's ``singleuser`` setting.
    """
    override: dict[str, Any] = {}
    if profile.image_name:
        override["image"] = f"{profile.image_name}:{profile.image_tag}"
    for key, value in (("cpu_guarantee", profile.cpu_guarantee), ("cpu_limit", profile.cpu_limit),
                       ("mem_guarantee", profile.memory_guarantee), ("mem_limit", profile.memory_limit)):
        if value is not None:
            override[key] = value
    override["node_selector"] = {nodes.NODE_GROUP_LABEL: profile.node_group}
    group = cluster.node_group(profile.node_group)
    override["tolerations"] = [t.toleration() for t in nodes.taints(group)] if group else []
    if profile.gpus:
        override["extra_resource_limits"] = {nodes.GPU_RESOURCE: profile.gpus}
    entry: dict[str, Any] = {"display_name": profile.display_name, "slug": profile.name}
    if profile.description:
        entry["description"] = profile.description
    if profile.default:
        entry["default"] = True
    entry["kubespawner_override"] = override
    return entry


def scheduling(cluster: Cluster) -> dict[str, Any]:
    """Where the chart's pods run (z2jh's node-purpose labels, set on every node group, see nodes.labels).

    Core pods (hub, proxy, user scheduler) *require* core nodes: the load balancer targets those, and user
    nodes come and go. User pods require user nodes when the environment has user groups, and otherwise only
    prefer them (with a core group alone they share its nodes).
    """
    user = "require" if cluster.user_groups else "prefer"
    return {"userPods": {"nodeAffinity": {"matchNodePurpose": user}},
            "corePods": {"nodeAffinity": {"matchNodePurpose": "require"}}}


def generated_values(hub: Hub, cluster: Cluster | None = None) -> dict[str, Any]:
    """The values hubgen derives from the spec, before the raw `values` escape hatch.

    ``cluster``: the environment's cluster, which the placement values depend on (``scheduling``, the
    profiles' ``singleuser.profileList``); without it (the owned-values table, tests of the hub alone) they
    are left out. Every rendered or linted HelmRelease passes it.
    """
    su = hub.singleuser
    singleuser: dict[str, Any] = {
        "image": {"name": su.image_name, "tag": su.image_tag},
        "storage": {"type": "dynamic", "capacity": su.storage_capacity},
    }
    if su.storage_class:
        singleuser["storage"]["dynamic"] = {"storageClass": su.storage_class}
    cpu = {k: v for k, v in (("guarantee", su.cpu_guarantee), ("limit", su.cpu_limit)) if v is not None}
    if cpu:
        singleuser["cpu"] = cpu
    memory = {k: v for k, v in (("guarantee", su.memory_guarantee), ("limit", su.memory_limit)) if v is not None}
    if memory:
        singleuser["memory"] = memory
    if su.extra_env:
        singleuser["extraEnv"] = dict(su.extra_env)
    if su.gitpuller:
        g = su.gitpuller
        singleuser["lifecycleHooks"] = {
            "postStart": {"exec": {"command": ["gitpuller", g.repo, g.branch, g.target_dir]}}
        }
    if hub.service_account:
        singleuser["serviceAccountName"] = hub.service_account
    if cluster is not None and hub.profiles:
        singleuser["profileList"] = [profile_entry(p, cluster) for p in hub.profiles]
    out: dict[str, Any] = {
        "proxy": {
            # TLS is terminated at the load balancer, which forwards to this NodePort.
            "https": {"enabled": False},
            "service": {"type": "NodePort", "nodePorts": {"http": hub.node_port}},
        },
        "hub": {"config": _auth_config(hub)},
        "singleuser": singleuser,
        "prePuller": {"hook": {"enabled": hub.prepuller_hook}, "continuous": {"enabled": hub.prepuller_continuous}},
        "cull": {"enabled": hub.culling_enabled, "timeout": hub.cull_timeout, "every": hub.cull_every},
    }
    if cluster is not None:
        out["scheduling"] = scheduling(cluster)
    return out


def release_values(hub: Hub, cluster: Cluster | None = None) -> dict[str, Any]:
    """What goes into the HelmRelease's ``spec.values``: generated values with `values` merged last
    (:func:`merge_values`, keeping the user's ``null``: Helm needs it to delete a chart default)."""
    return merge_values(generated_values(hub, cluster), hub.values)


def _set_path(values: dict, dotted: str, value: Any) -> None:
    node = values
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def effective_values(hub: Hub, cluster: Cluster | None = None, placeholder: str = "<from-secret>") -> dict[str, Any]:
    """The values Helm will see: release values plus placeholders where valuesFrom injects secrets.

    Used to validate against the chart's values schema (the secret values are
    strings, so a placeholder string validates identically).
    """
    out = release_values(hub, cluster)
    for path in secret_target_paths(hub):
        _set_path(out, path, placeholder)
    return out


# --- values the spec owns ------------------------------------------------------------------

@dataclass(frozen=True)
class Owned:
    """Why the raw `values` may not set a chart value, and what to set instead.

    ``field``: the hub setting (path below ``hubs[i]``) that sets or governs the value; else ``use``: the
    environment-level setting that does. ``why``: for a value hubgen fixes or guards, what and why.
    ``per_key``: the value is a mapping of named entries; the spec owns the entries it generates and
    `values` may add others (``singleuser.extraEnv``: the spec allows plain strings only, `values` also
    ``valueFrom`` entries).
    """

    field: tuple[str, ...] = ()
    use: str = ""
    why: str = ""
    per_key: bool = False

    def instead(self, hub_index: int) -> str:
        """The spec setting to use instead, as written in the spec."""
        return f"hubs[{hub_index}].{'.'.join(self.field)}" if self.field else self.use


_CIDRS = "cluster.loadBalancer.allowedCidrs"
_PAST_THE_LB = "past `cluster.loadBalancer.allowedCidrs` and the `public` acknowledgement"
_NODE_PORT = Owned(("nodePort",), why="the stack's load balancer forwards to that port of the proxy only")
_FROM_SECRET = "the secret comes from a Kubernetes Secret through Flux `valuesFrom`, and `values` would override it"  # pragma: allowlist secret

#: `hub.config` sections whose access settings apply to hubgen's authenticators (traitlets: a subclass's
#: section overrides `Authenticator`'s), so each of them owns the access keys below.
AUTH_SECTIONS = ("Authenticator", "OAuthenticator", "DummyAuthenticator", *OAUTH_CONFIG_SECTION.values())
_ACCESS_KEYS = {
    "admin_users": Owned(("auth", "admins")),
    "allowed_users": Owned(("auth", "allowedUsers")),
    "allow_all": Owned(("auth", "allowedUsers"), why="it is false, so only the users (and GitHub organizations) "
                                                    "the spec lists may log in"),
    "allow_existing_users": Owned(("auth", "allowedUsers"),
                                  why="it is false, so removing a user from the list revokes access (JupyterHub "
                                      "would otherwise keep admitting everyone already in its database)"),
    "allowed_organizations": Owned(("auth", "oauth", "allowedOrganizations")),
    "allowed_groups": Owned(("auth", "oauth", "groups", "allowed")),
    "admin_groups": Owned(("auth", "oauth", "groups", "admin")),
    "manage_groups": Owned(("auth", "oauth", "groups"),
                           why="it is true exactly when the spec authorizes by the identity provider's groups: "
                               "JupyterHub's groups then follow the provider's at every login"),
    "auth_state_groups_key": Owned(("auth", "oauth", "groups", "claim")),
    "claim_groups_key": Owned(("auth", "oauth", "groups", "claim"),
                              why="it is GenericOAuthenticator's deprecated alias of `auth_state_groups_key` and "
                                  "would replace the claim the spec names"),
}
_OAUTH_KEYS = {"client_id": "clientId", "oauth_callback_url": "callbackUrl", "authorize_url": "authorizeUrl",
               "token_url": "tokenUrl", "userdata_url": "userdataUrl", "username_claim": "usernameClaim"}
#: The scopes each OAuth section requests: the spec's `scope` (generic-oauth), ``read:org`` with GitHub
#: organizations (without it GitHub hides private memberships, and private members are refused).
_SCOPE = {
    "OAuthenticator": Owned(("auth", "oauth", "scope")),
    "GenericOAuthenticator": Owned(("auth", "oauth", "scope")),
    "GitHubOAuthenticator": Owned(("auth", "oauth", "allowedOrganizations"),
                                  why=f"it is [{GITHUB_ORG_SCOPE}] when organizations or teams are listed: without "
                                      "it GitHub shows only public memberships, and private members are refused"),
}
_NODE_GROUPS = "cluster.nodeGroups"

#: Every chart value the spec owns (path in the chart's values -> :class:`Owned`): each path
#: :func:`generated_values` can emit, whether or not a given spec emits it (an owned path also owns
#: everything below it), the ``valuesFrom`` secret targets, and the values hubgen fixes because changing
#: them would undo a guarantee of the spec (access only through the stack's load balancer, only for the
#: listed users, AWS only through IRSA). Fixed values that the spec's meaning depends on are rendered
#: explicitly (``allow_all``, ``allow_existing_users``: false); the others stay at the chart's defaults.
#:
#: Not owned, for review: ``hub.extraConfig``/``hub.extraFiles`` (Python and files run by the hub can
#: change anything), ``hub.loadRoles`` (JupyterHub roles), ``scheduling.userScheduler`` and
#: ``scheduling.userPlaceholder`` (packing and head-room, which the autoscaler honours),
#: ``proxy.chp``/``proxy.traefik`` pod settings (traefik runs only with ``proxy.https``,
#: which is owned), ``proxy.service.externalIPs``/``extraPorts`` (the nodes' security group admits only
#: the load balancer, on the hub's node port).
OWNED_VALUES: dict[tuple[str, ...], Owned] = {
    # --- how users reach the hub: only through the stack's load balancer --------------------------------
    ("proxy", "service", "type"): Owned(use=_CIDRS, why="it is NodePort, and the stack's load balancer, open to "
                                                        f"`{_CIDRS}` only, forwards to it; a LoadBalancer service "
                                                        f"would be a second way in, {_PAST_THE_LB}"),
    ("proxy", "service", "nodePorts"): _NODE_PORT,
    ("proxy", "service", "disableHttpPort"): _NODE_PORT,
    ("proxy", "service", "loadBalancerSourceRanges"): Owned(use=_CIDRS, why="a NodePort service ignores it: who "
                                                            "may connect is decided at the stack's load balancer"),
    ("proxy", "https"): Owned(use="cluster.loadBalancer.certificateArn",
                              why="TLS ends at the stack's load balancer, which forwards plain HTTP to the node "
                                  "port; the chart's own HTTPS (Let's Encrypt, its traefik pod) would break that"),
    ("hub", "service", "type"): Owned(use=_CIDRS, why="it stays ClusterIP (the chart's default): users reach the "
                                                      "hub through the proxy only; a LoadBalancer service would be a "
                                                      f"second way in, {_PAST_THE_LB}"),
    ("ingress", "enabled"): Owned(use=_CIDRS, why="it stays false (the chart's default): an Ingress (with the "
                                                  "AWS Load Balancer Controller, a new ALB) would be a second way in, "
                                                  f"{_PAST_THE_LB}"),
    ("httpRoute", "enabled"): Owned(use=_CIDRS, why="it stays false (the chart's default): a Gateway API route "
                                                    f"would be a second way in, {_PAST_THE_LB}"),
    # --- who may log in -------------------------------------------------------------------------------------
    ("hub", "config", "JupyterHub", "authenticator_class"): Owned(("auth", "type")),
    **{("hub", "config", section, key): owned for section in AUTH_SECTIONS for key, owned in _ACCESS_KEYS.items()},
    ("hub", "config", "DummyAuthenticator", "password"): Owned(("auth", "passwordSecret"), why=_FROM_SECRET),
    **{("hub", "config", section, key): Owned(("auth", "oauth", field))
       for section in OAUTH_CONFIG_SECTION.values() for key, field in _OAUTH_KEYS.items()},
    **{("hub", "config", section, "client_secret"): Owned(("auth", "oauth", "clientSecret"), why=_FROM_SECRET)
       for section in OAUTH_CONFIG_SECTION.values()},
    **{("hub", "config", section, "scope"): owned for section, owned in _SCOPE.items()},
    # --- where pods run -----------------------------------------------------------------------------------
    ("scheduling", "userPods", "nodeAffinity", "matchNodePurpose"): Owned(
        use=_NODE_GROUPS, why="user servers require user nodes when the environment has user node groups (prefer "
                              "them otherwise), so that they never take the core nodes the hub and the load "
                              "balancer depend on"),
    ("scheduling", "corePods", "nodeAffinity", "matchNodePurpose"): Owned(
        use=_NODE_GROUPS, why="the hub and the proxy require core nodes: the load balancer targets those, and the "
                              "autoscaler removes user nodes"),
    ("singleuser", "profileList"): Owned(("profiles",), why="each profile's node selector, tolerations and GPU "
                                                            "limit come from its node group"),
    # --- the notebook servers -----------------------------------------------------------------------------
    ("singleuser", "image", "name"): Owned(("singleuser", "image", "name")),
    ("singleuser", "image", "tag"): Owned(("singleuser", "image", "tag")),
    ("singleuser", "storage", "type"): Owned(("singleuser", "storage"), why="it is dynamic, so every user gets "
                                                                            "a volume of the spec's capacity"),
    ("singleuser", "storage", "capacity"): Owned(("singleuser", "storage", "capacity")),
    ("singleuser", "storage", "dynamic", "storageClass"): Owned(("singleuser", "storage", "storageClass")),
    ("singleuser", "cpu", "guarantee"): Owned(("singleuser", "cpu", "guarantee")),
    ("singleuser", "cpu", "limit"): Owned(("singleuser", "cpu", "limit")),
    ("singleuser", "memory", "guarantee"): Owned(("singleuser", "memory", "guarantee")),
    ("singleuser", "memory", "limit"): Owned(("singleuser", "memory", "limit")),
    ("singleuser", "extraEnv"): Owned(("singleuser", "extraEnv"), per_key=True),
    ("singleuser", "lifecycleHooks", "postStart"): Owned(("singleuser", "gitpuller")),
    ("singleuser", "serviceAccountName"): Owned(
        ("singleuser", "awsRoleArn"), why="notebook pods run as the hub's IRSA service account (without "
                                          "`awsRoleArn`, the namespace's default one); another account, such as the "
                                          "hub's own, which may create pods, would give every user its permissions"),
    ("singleuser", "cloudMetadata"): Owned(
        ("singleuser", "awsRoleArn"), why="notebooks reach AWS through IRSA only; the chart's block of the "
                                          "node's instance metadata service (on by default) keeps them from the "
                                          "node's IAM role"),
    ("prePuller", "hook", "enabled"): Owned(("prePuller", "hook")),
    ("prePuller", "continuous", "enabled"): Owned(("prePuller", "continuous")),
    ("cull", "enabled"): Owned(("culling", "enabled")),
    ("cull", "timeout"): Owned(("culling", "timeout")),
    ("cull", "every"): Owned(("culling", "every")),
}

#: The hub setting (path below ``hubs[i]``) behind each owned value that has one: where the lint engine
#: reports a chart schema violation of a generated value. Longest prefix wins.
VALUE_SOURCES: dict[tuple[str, ...], tuple[str, ...]] = {p: o.field for p, o in OWNED_VALUES.items() if o.field}


@dataclass(frozen=True)
class Override:
    """A key of a hub's `values` that sets owned chart values (at or below ``owned``) or, being no mapping,
    replaces a mapping holding them (``replaces``)."""

    path: tuple[str, ...]
    value: Any
    #: (owned path, Owned): the one the key is at or below, or every one below the key it replaces.
    owned: tuple[tuple[tuple[str, ...], Owned], ...]

    @property
    def replaces(self) -> bool:
        return len(self.owned[0][0]) > len(self.path)


def owned_paths(hub: Hub, cluster: Cluster | None = None) -> dict[tuple[str, ...], Owned]:
    """:data:`OWNED_VALUES` for one hub: each ``per_key`` value becomes the entries hubgen generates there."""
    generated = generated_values(hub, cluster)
    out: dict[tuple[str, ...], Owned] = {}
    for path, owned in OWNED_VALUES.items():
        if not owned.per_key:
            out[path] = owned
            continue
        entries = get_path(generated, path, {})
        for name in entries if isinstance(entries, dict) else ():
            out[(*path, name)] = dataclasses.replace(owned, field=(*owned.field, name), per_key=False)
    return out


def owned_overrides(hub: Hub, cluster: Cluster | None = None) -> list[Override]:
    """The keys of ``hub.values`` that would set or replace chart values the spec owns, in document order.

    A key at or below an owned path is reported (and not descended into); a key above owned paths is
    reported when its value is not a mapping (``null``, a scalar, a list: merged, it replaces the whole
    mapping) and descended into when it is one. ``cluster`` only orders the owned values a key replaces
    (those the hub renders first); the table itself does not depend on it.
    """
    owned = owned_paths(hub, cluster)
    # Of the owned values a key replaces, those this hub has come first (messages list the first few).
    present = generated_values(hub, cluster)
    for target in secret_target_paths(hub):
        _set_path(present, target, "")
    out: list[Override] = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        for key, value in node.items():
            here = (*path, str(key))
            hit = next((here[:n] for n in range(len(here), 0, -1) if here[:n] in owned), None)
            if hit is not None:
                out.append(Override(here, value, ((hit, owned[hit]),)))
                continue
            below = tuple(sorted(((p, o) for p, o in owned.items() if p[:len(here)] == here),
                                 key=lambda po: get_path(present, po[0]) is MISSING))
            if below and isinstance(value, dict):
                walk(value, here)
            elif below:
                out.append(Override(here, value, below))

    walk(hub.values or {}, ())
    return out
