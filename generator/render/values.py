"""Helm values for one hub (JupyterHub chart 4.x keys), and how secrets reach them.

Secrets never appear in values: they are read by Flux from Kubernetes Secrets
through ``valuesFrom`` with a ``targetPath`` (see :func:`values_from`).
"""

from __future__ import annotations

import copy
from typing import Any

from generator.model import Hub

AUTHENTICATOR_CLASS = {"dummy": "dummy", "github": "github", "generic-oauth": "generic-oauth"}
OAUTH_CONFIG_SECTION = {"github": "GitHubOAuthenticator", "generic-oauth": "GenericOAuthenticator"}


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base`` the way Helm merges values (maps recursively, rest replaced)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _auth_config(hub: Hub) -> dict[str, Any]:
    a = hub.auth
    config: dict[str, Any] = {
        "JupyterHub": {"authenticator_class": AUTHENTICATOR_CLASS[a.type]},
        "Authenticator": {"admin_users": list(a.admins), "allowed_users": list(a.allowed_users)},
    }
    if a.oauth:
        o = a.oauth
        section: dict[str, Any] = {"client_id": o.client_id, "oauth_callback_url": o.callback_url}
        if a.type == "generic-oauth":
            section.update({"authorize_url": o.authorize_url, "token_url": o.token_url,
                            "userdata_url": o.userdata_url})
            if o.username_claim:
                section["username_claim"] = o.username_claim
        if o.allowed_organizations:
            section["allowed_organizations"] = list(o.allowed_organizations)
        config[OAUTH_CONFIG_SECTION[a.type]] = section
    return config


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


def generated_values(hub: Hub) -> dict[str, Any]:
    """The values hubgen derives from the spec, before the raw `values` escape hatch."""
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
    return {
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


def release_values(hub: Hub) -> dict[str, Any]:
    """What goes into the HelmRelease's ``spec.values``: generated values with `values` merged last."""
    return deep_merge(generated_values(hub), hub.values)


def _set_path(values: dict, dotted: str, value: Any) -> None:
    node = values
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def effective_values(hub: Hub, placeholder: str = "<from-secret>") -> dict[str, Any]:
    """The values Helm will see: release values plus placeholders where valuesFrom injects secrets.

    Used to validate against the chart's values schema (the secret values are
    strings, so a placeholder string validates identically).
    """
    out = release_values(hub)
    for path in secret_target_paths(hub):
        _set_path(out, path, placeholder)
    return out


#: Which hub spec field (path below ``hubs[i]``) feeds each generated value (path in the chart's values),
#: for pointing at the spec when the chart's values schema rejects a generated value. Longest prefix wins.
VALUE_SOURCES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("proxy", "service", "nodePorts", "http"): ("nodePort",),
    ("hub", "config", "JupyterHub", "authenticator_class"): ("auth", "type"),
    ("hub", "config", "Authenticator", "admin_users"): ("auth", "admins"),
    ("hub", "config", "Authenticator", "allowed_users"): ("auth", "allowedUsers"),
    ("hub", "config", "DummyAuthenticator", "password"): ("auth", "passwordSecret"),
    **{
        ("hub", "config", section, key): ("auth", "oauth", field)
        for section in OAUTH_CONFIG_SECTION.values()
        for key, field in (("client_id", "clientId"), ("oauth_callback_url", "callbackUrl"),
                           ("authorize_url", "authorizeUrl"), ("token_url", "tokenUrl"),
                           ("userdata_url", "userdataUrl"), ("username_claim", "usernameClaim"),
                           ("allowed_organizations", "allowedOrganizations"), ("client_secret", "clientSecret"))
    },
    ("singleuser", "image", "name"): ("singleuser", "image", "name"),
    ("singleuser", "image", "tag"): ("singleuser", "image", "tag"),
    ("singleuser", "storage", "capacity"): ("singleuser", "storage", "capacity"),
    ("singleuser", "storage", "dynamic", "storageClass"): ("singleuser", "storage", "storageClass"),
    ("singleuser", "cpu", "guarantee"): ("singleuser", "cpu", "guarantee"),
    ("singleuser", "cpu", "limit"): ("singleuser", "cpu", "limit"),
    ("singleuser", "memory", "guarantee"): ("singleuser", "memory", "guarantee"),
    ("singleuser", "memory", "limit"): ("singleuser", "memory", "limit"),
    ("singleuser", "extraEnv"): ("singleuser", "extraEnv"),
    ("singleuser", "lifecycleHooks"): ("singleuser", "gitpuller"),
    ("singleuser", "serviceAccountName"): ("singleuser", "awsRoleArn"),
    ("prePuller", "hook", "enabled"): ("prePuller", "hook"),
    ("prePuller", "continuous", "enabled"): ("prePuller", "continuous"),
    ("cull", "enabled"): ("culling", "enabled"),
    ("cull", "timeout"): ("culling", "timeout"),
    ("cull", "every"): ("culling", "every"),
}
