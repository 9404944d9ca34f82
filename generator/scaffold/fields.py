"""Spec fields for scaffolding: dotted keys, schema-driven parsing, and the prompt list.

A *key* is a dotted path into the spec, exactly as the fields are named there:
``aws.accountId``, ``cluster.nodeGroups.0.instanceTypes``, ``hubs.0.auth.admins``,
``tags.cost-center``. Values given as text (``--set key=value`` or an answer
to a prompt) are turned into spec values by the JSON Schema of that field, so
``--set`` accepts every field of the schema, not only the ones that are asked.

Text forms (besides YAML flow syntax, ``[...]`` / ``{...}``, for any list or map):

* lists of strings: comma-separated (``admin,alice``);
* ``cluster.subnets``: ``subnet-id:availability-zone`` pairs, comma-separated;
* ``cluster.admins``: IAM ARNs, comma-separated;
* booleans: true/false, yes/no; numbers as usual.

A value that cannot be converted is kept as text, so the schema reports it
(with the same message ``hubgen validate`` would print) instead of a parser.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable

import jsonschema
import yaml

from generator import model
from generator.validate.schema import schema as spec_schema
from generator.versions import DEFAULT_CHART_VERSION, DEFAULT_KUBERNETES_VERSION, DEFAULT_SINGLEUSER_IMAGE

MISSING = object()
OPEN_CIDRS = ("0.0.0.0/0",)
OAUTH_TYPES = ("github", "generic-oauth")
#: What an answer of "-" means for an optional field: no value.
NONE_ANSWER = "-"


class UnknownKey(ValueError):
    """A --set key that names no field of the spec (a usage error)."""


# --- keys and paths -----------------------------------------------------------------


def _resolve(s: Any) -> dict:
    """Follow ``$ref`` into ``$defs`` (merging sibling keywords)."""
    if not isinstance(s, dict):
        return {}
    root = spec_schema()
    while isinstance(s.get("$ref"), str) and s["$ref"].startswith("#/$defs/"):
        target = root["$defs"][s["$ref"].rsplit("/", 1)[1]]
        s = {**target, **{k: v for k, v in s.items() if k != "$ref"}}
    return s


def _is_free_map(s: dict) -> bool:
    """An object whose keys are the user's (tags, extraEnv, values), not schema properties."""
    return s.get("type") == "object" and not s.get("properties")


def parse_key(key: str) -> tuple:
    """``hubs.0.auth.admins`` -> ``("hubs", 0, "auth", "admins")``; raises UnknownKey for unknown keys.

    Below a free-form map (``tags``, ``extraEnv``) the rest of the key is one map key;
    below ``values`` each dot is one level of the Helm values.
    """
    if not key or key.strip() != key:
        raise UnknownKey(f"'{key}' is not a field key")
    parts = key.split(".")
    s = _resolve(spec_schema())
    path: list = []
    i = 0
    while i < len(parts):
        seg = parts[i]
        if seg == "":
            raise UnknownKey(f"'{key}' is not a field key (empty part)")
        if s.get("type") == "array":
            if not seg.isdigit():
                raise UnknownKey(f"'{key}': '{'.'.join(map(str, path))}' is a list; use an index, "
                                f"e.g. {'.'.join(map(str, path))}.0")
            path.append(int(seg))
            s = _resolve(s.get("items", {}))
        elif _is_free_map(s):
            if "additionalProperties" in s or "patternProperties" in s:
                path.append(".".join(parts[i:]))  # one key: tags.cost-center, extraEnv.FOO
                return tuple(path)
            path.extend(parts[i:])  # free nested values
            return tuple(path)
        else:
            props = s.get("properties", {})
            if seg not in props:
                where = ".".join(map(str, path)) or "the top level"
                guess = difflib.get_close_matches(seg, list(props), n=1, cutoff=0.6)
                hint = f"; did you mean '{'.'.join([*map(str, path), guess[0]])}'?" if guess else (
                    f"; fields of {where}: {', '.join(props)}" if props else "")
                raise UnknownKey(f"'{key}' is not a field of the spec: no '{seg}' in {where}{hint}")
            path.append(seg)
            s = _resolve(props[seg])
        i += 1
    return tuple(path)


def key_of(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def subschema(path: tuple) -> dict | None:
    """The (resolved) schema of the value at ``path``; ``None`` inside free-form values."""
    s = _resolve(spec_schema())
    for seg in path:
        if isinstance(seg, int):
            if s.get("type") != "array":
                return None
            s = _resolve(s.get("items", {}))
        elif seg in s.get("properties", {}):
            s = _resolve(s["properties"][seg])
        else:
            for pattern, sub in s.get("patternProperties", {}).items():
                if re.search(pattern, seg):
                    s = _resolve(sub)
                    break
            else:
                if isinstance(s.get("additionalProperties"), dict):
                    s = _resolve(s["additionalProperties"])
                else:
                    return None
    return s


def get(spec: dict, path: tuple, default: Any = MISSING) -> Any:
    node: Any = spec
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(node, list) or seg >= len(node):
                return default
            node = node[seg]
        else:
            if not isinstance(node, dict) or seg not in node:
                return default
            node = node[seg]
    return node


def put(spec: dict, path: tuple, value: Any) -> None:
    """Set ``value`` at ``path``, creating maps and appending list items as needed."""
    node: Any = spec
    for seg, nxt in zip(path, path[1:]):
        blank: Any = [] if isinstance(nxt, int) else {}
        if isinstance(seg, int):
            while len(node) <= seg:
                node.append({} if not isinstance(nxt, int) else [])
            if not isinstance(node[seg], (dict, list)):
                node[seg] = blank
            node = node[seg]
        else:
            if not isinstance(node.get(seg), (dict, list)):
                node[seg] = blank
            node = node[seg]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def delete(spec: dict, path: tuple) -> None:
    parent = get(spec, path[:-1], None)
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
        # Drop maps left empty (an empty `oauth: {}` would only confuse the schema).
        if not parent and len(path) > 1 and not isinstance(path[-2], int):
            delete(spec, path[:-1])


# --- text <-> value -------------------------------------------------------------------


def _flow(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def parse_value(path: tuple, raw: str) -> Any:
    """Turn text into the spec value for ``path`` (see the module docstring)."""
    s = subschema(path)
    text = raw.strip()
    if s is None:  # free-form Helm values: YAML scalars and flow collections
        return _flow(text) if text else ""
    kind = s.get("type")
    if kind in ("array", "object") and text[:1] in ("[", "{"):
        return _flow(text)
    if kind == "integer":
        return int(text) if re.fullmatch(r"[-+]?[0-9]+", text) else raw
    if kind == "number":
        try:
            f = float(text)
        except ValueError:
            return raw
        return int(f) if re.fullmatch(r"[-+]?[0-9]+", text) else f
    if kind == "boolean":
        low = text.lower()
        if low in ("true", "yes", "y", "on", "1"):
            return True
        if low in ("false", "no", "n", "off", "0"):
            return False
        return raw
    if kind == "array":
        items = [x.strip() for x in text.split(",") if x.strip()]
        item_props = _resolve(s.get("items", {})).get("properties", {})
        if {"id", "availabilityZone"} <= set(item_props):
            out = []
            for item in items:
                sid, sep, az = item.partition(":")
                out.append({"id": sid.strip(), "availabilityZone": az.strip()} if sep else {"id": item})
            return out
        if "arn" in item_props:
            return [{"arn": a} for a in items]
        return items
    if kind == "object":
        return _flow(text) if text else {}
    return text if kind == "string" or "enum" in s else raw


def format_value(path: tuple, value: Any) -> str:
    """The text form of a spec value, as :func:`parse_value` reads it back."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if all(isinstance(v, str) and "," not in v for v in value):
            return ",".join(value)
        if all(isinstance(v, dict) and set(v) == {"id", "availabilityZone"} for v in value):
            return ",".join(f"{v['id']}:{v['availabilityZone']}" for v in value)
        if all(isinstance(v, dict) and set(v) == {"arn"} and "," not in v["arn"] for v in value):
            return ",".join(v["arn"] for v in value)
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return str(value)


def check_value(path: tuple, value: Any) -> str | None:
    """A message when ``value`` does not fit the schema of ``path`` (field on its own), else None."""
    s = subschema(path)
    if s is None:
        return None
    validator = jsonschema.Draft202012Validator({**s, "$defs": spec_schema()["$defs"]})
    errors = sorted(validator.iter_errors(value), key=lambda e: (len(e.absolute_path), e.message))
    if not errors:
        return None
    e = errors[0]
    where = "".join(f"[{p}]" for p in e.absolute_path)
    sub = _resolve(e.schema) if isinstance(e.schema, dict) else {}
    desc = sub.get("description") or s.get("description") or ""
    if e.validator == "pattern":
        text = f"{e.instance!r} is not valid"
    elif e.validator in ("minItems", "maxItems"):
        text = f"{'at least' if e.validator == 'minItems' else 'at most'} {e.validator_value} entries, got {len(e.instance)}"
    elif e.validator == "enum":
        text = f"{e.instance!r} is not one of {', '.join(map(str, e.validator_value))}"
    elif e.validator == "type":
        text = f"{e.instance!r} is not of type {e.validator_value}"
    else:
        text = e.message
    msg = text + (f" (item {where})" if where else "")
    return msg + (f": {desc.rstrip('.')}" if desc else "")


# --- the fields a new environment is built from ------------------------------------------


def _hub(spec: dict) -> dict:
    hubs = spec.get("hubs") or [{}]
    return hubs[0] if isinstance(hubs[0], dict) else {}


def _auth_type(spec: dict) -> str:
    return str(get(spec, ("hubs", 0, "auth", "type"), "dummy"))


def _open_lb(spec: dict) -> bool:
    cidrs = get(spec, ("cluster", "loadBalancer", "allowedCidrs"), [])
    return isinstance(cidrs, list) and any(c in OPEN_CIDRS for c in cidrs)


def _callback(spec: dict, env: str) -> str | None:
    host = _hub(spec).get("host")
    return f"https://{host}/hub/oauth_callback" if isinstance(host, str) and host else None


@dataclass(frozen=True)
class Field:
    """One spec field: how it is asked and what it defaults to."""

    key: str
    prompt: str
    #: Default: a constant, or ``f(spec, env)`` computed from the answers so far; None: no default.
    default: Any = None
    #: Asked interactively (the others take their default; ``--set`` changes any field).
    ask: bool = True
    #: Has no safe default: must be answered (or given with --set).
    required: bool = False
    #: The field exists only when this holds (e.g. OAuth settings for OAuth logins).
    when: Callable[[dict], bool] | None = None
    #: Choices shown in the prompt.
    choices: tuple[str, ...] = ()
    #: Asked and defaulted only when this holds, and never removed when it does not: a field of one list item
    #: (a node group) that a spec copied with --from may not have, or have for another purpose.
    applies: Callable[[dict], bool] | None = None

    @property
    def path(self) -> tuple:
        return parse_key(self.key)

    def default_for(self, spec: dict, env: str) -> Any:
        d = self.default(spec, env) if callable(self.default) else self.default
        return copy.deepcopy(d)


def spec_version() -> int:
    """The spec version this hubgen writes: the schema's ``specVersion`` constant (its one source)."""
    return int(spec_schema()["properties"]["specVersion"]["const"])


#: The StorageClasses of a new environment: the schema's default, written out so the spec shows them.
DEFAULT_STORAGE_CLASSES = [dict(c) for c in model.DEFAULT_STORAGE_CLASSES]
CORE_GROUP, USER_GROUP = 0, 1


def _group_is(index: int, purpose: str) -> Callable[[dict], bool]:
    """Whether node group ``index`` of a spec exists with ``purpose``."""
    return lambda spec: get(spec, ("cluster", "nodeGroups", index, "purpose"), None) == purpose


def _first_zone(spec: dict, env: str) -> str | None:
    """The availability zone of the first subnet: where a new environment's user nodes (and homes) live."""
    zone = get(spec, ("cluster", "subnets", 0, "availabilityZone"), None)
    return zone if isinstance(zone, str) and zone else None


def _node_group_fields() -> tuple[Field, ...]:
    """A new environment's two node groups: `core` (hub, proxy, add-ons: small, always one node) and `user`
    (notebook servers: scales from zero, in one zone because a user's home volume lives in one zone). Their
    AMIs are the EKS-optimized ones AWS publishes for the Kubernetes version, so nothing asks for an AMI id.
    What is asked is required: '-' cannot leave a group half-defined (a spec without a user group is made with
    ``--set cluster.nodeGroups=[...]``)."""
    c, u = f"cluster.nodeGroups.{CORE_GROUP}.", f"cluster.nodeGroups.{USER_GROUP}."
    core, user = _group_is(CORE_GROUP, "core"), _group_is(USER_GROUP, "user")
    return (
        Field(c + "name", "Core node group name", "core", ask=False),
        Field(c + "purpose", "Core node group purpose", "core", ask=False),
        Field(c + "instanceTypes", "Core node instance type (hub, proxy and cluster add-ons; one type)",
              ["m6i.large"], required=True, applies=core),
        Field(c + "minSize", "Minimum number of core nodes", 1, ask=False, applies=core),
        Field(c + "maxSize", "Maximum number of core nodes", 3, ask=False, applies=core),
        Field(c + "diskSize", "Core node root volume in GiB", 50, ask=False, applies=core),
        Field(u + "name", "User node group name", "user", ask=False),
        Field(u + "purpose", "User node group purpose", "user", ask=False),
        Field(u + "instanceTypes", "User node instance types for notebook servers, comma-separated",
              ["m6i.xlarge"], required=True, applies=user),
        Field(u + "capacityType", "User nodes: on-demand, or spot (cheaper; EC2 may reclaim a node and stop its "
              "servers)", "on-demand", choices=("on-demand", "spot"), applies=user),
        Field(u + "minSize", "Minimum number of user nodes", 0, ask=False, applies=user),
        Field(u + "maxSize", "Maximum number of user nodes (what the autoscaler may start at most)", 10,
              required=True, applies=user),
        Field(u + "diskSize", "User node root volume in GiB (container images live here)", 100, ask=False,
              applies=user),
        Field(u + "availabilityZone", "Availability zone of the user nodes (users' home volumes live there)",
              _first_zone, applies=user),
    )


NODE_GROUP_FIELDS = _node_group_fields()
H = "hubs.0."
FIELDS: tuple[Field, ...] = (
    Field("specVersion", "Spec version", lambda s, env: spec_version(), ask=False),
    Field("tier", "Tier (staging environments deploy before production ones)", "staging",
          choices=("staging", "production")),
    Field("description", "Description (optional)"),
    Field("aws.accountId", "AWS account id (12 digits)", required=True),
    Field("aws.region", "AWS region, e.g. us-east-1", required=True),
    Field("aws.deployRoleArn", "IAM role ARN that CI deploys with", required=True),
    Field("cluster.stackName", "CloudFormation stack name (also the EKS cluster name)",
          lambda s, env: f"jupyterhub-{env}"),
    Field("cluster.kubernetesVersion", "EKS Kubernetes version (one in EKS standard support)",
          DEFAULT_KUBERNETES_VERSION),
    Field("cluster.authenticationMode", "How IAM principals reach the cluster", "API", ask=False,
          choices=("API", "API_AND_CONFIG_MAP", "CONFIG_MAP")),
    Field("cluster.vpcId", "VPC id, e.g. vpc-0a1b2c3d4e5f67890", required=True),
    Field("cluster.subnets", "Subnets as id:availability-zone, comma-separated (two zones or more)",
          required=True),
    *NODE_GROUP_FIELDS,
    Field("cluster.storage.classes", "StorageClasses for the EBS CSI driver", DEFAULT_STORAGE_CLASSES, ask=False),
    Field("cluster.autoscaler.enabled", "Run cluster-autoscaler", True, ask=False),
    Field("cluster.loadBalancer.certificateArn", "ACM certificate ARN for HTTPS (same region)", required=True),
    Field("cluster.loadBalancer.allowedCidrs", "CIDRs allowed to reach the hubs, comma-separated (up to 3)",
          required=True),
    Field("cluster.loadBalancer.public", "Acknowledge a hub open to the whole internet (0.0.0.0/0)?", False,
          when=_open_lb),
    Field("cluster.admins", "Cluster admin IAM role/user ARNs, comma-separated (optional)"),
    Field("tags.environment", "Tag 'environment'", lambda s, env: env, ask=False),
    Field("secrets.provider", "How the cluster decrypts the environment's secrets", "kms", choices=("kms", "age")),
    Field(H + "name", "Hub name", lambda s, env: env, ask=False),
    Field(H + "namespace", "Hub namespace", lambda s, env: _hub(s).get("name") or env, ask=False),
    Field(H + "host", "Public host name of the hub, e.g. hub.example.org (optional)"),
    Field(H + "nodePort", "Hub node port (30000-32767)", 30080, ask=False),
    Field(H + "chart.version", "JupyterHub chart version", DEFAULT_CHART_VERSION, ask=False),
    Field(H + "auth.type", "Login", "dummy", choices=("dummy", "github", "generic-oauth")),
    Field(H + "auth.passwordSecret", "Secret holding the shared password", {"name": "hub-auth", "key": "password"},
          ask=False, when=lambda s: _auth_type(s) == "dummy"),
    Field(H + "auth.oauth", "OAuth settings", None, ask=False, when=lambda s: _auth_type(s) in OAUTH_TYPES),
    Field(H + "auth.oauth.clientId", "OAuth client id", required=True,
          when=lambda s: _auth_type(s) in OAUTH_TYPES),
    Field(H + "auth.oauth.clientSecret", "Secret holding the OAuth client secret",
          lambda s, env: {"name": f"{_hub(s).get('name') or env}-oauth", "key": "client-secret"}, ask=False,
          when=lambda s: _auth_type(s) in OAUTH_TYPES),
    Field(H + "auth.oauth.callbackUrl", "OAuth callback URL", _callback, required=True,
          when=lambda s: _auth_type(s) in OAUTH_TYPES),
    Field(H + "auth.oauth.allowedOrganizations", "GitHub organizations (org) or teams (org:team) whose members may "
          "log in, comma-separated (optional)", when=lambda s: _auth_type(s) == "github"),
    Field(H + "auth.oauth.authorizeUrl", "OAuth authorize URL", required=True,
          when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.oauth.tokenUrl", "OAuth token URL", required=True,
          when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.oauth.userdataUrl", "OAuth user data URL", required=True,
          when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.oauth.scope", "OAuth scopes to request, comma-separated", ["openid", "profile", "email"],
          when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.oauth.groups.allowed", "Identity-provider groups whose members may log in, comma-separated "
          "(optional)", when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.oauth.groups.admin", "Identity-provider groups whose members are hub admins, comma-separated "
          "(optional)", when=lambda s: _auth_type(s) == "generic-oauth"),
    Field(H + "auth.admins", "Hub admin user names, comma-separated", required=True),
    Field(H + "auth.allowSharedPasswordAdmins", "Everyone who knows the shared password can log in as an admin: "
          "acknowledge it (a development hub)?", False, when=lambda s: _auth_type(s) == "dummy"),
    Field(H + "auth.allowedUsers", "Users allowed to log in, comma-separated",
          lambda s, env: get(s, ("hubs", 0, "auth", "admins"), None)),
    Field(H + "singleuser.image.name", "Notebook image (without tag)", DEFAULT_SINGLEUSER_IMAGE),
    Field(H + "singleuser.image.tag", "Notebook image tag (immutable, not latest)", DEFAULT_CHART_VERSION),
    Field(H + "singleuser.storage.capacity", "Home directory size", "10Gi", ask=False),
    Field(H + "singleuser.awsRoleArn", "IAM role ARN for notebook pods (IRSA, optional)"),
    Field(H + "singleuser.gitpuller.repo", "Git repository (https) pulled into each home (optional)"),
    Field(H + "singleuser.gitpuller.branch", "Branch to pull", "main",
          when=lambda s: bool(get(s, ("hubs", 0, "singleuser", "gitpuller", "repo"), None))),
    Field(H + "singleuser.gitpuller.targetDir", "Folder in the home directory", "notebooks", ask=False,
          when=lambda s: bool(get(s, ("hubs", 0, "singleuser", "gitpuller", "repo"), None))),
    Field(H + "prePuller.hook", "Pre-pull the image before upgrades", True, ask=False),
    Field(H + "prePuller.continuous", "Pre-pull the image on new nodes", True, ask=False),
    Field(H + "culling.enabled", "Stop idle servers", True, ask=False),
    Field(H + "culling.timeout", "Idle seconds before a server is stopped", 3600, ask=False),
    Field(H + "culling.every", "Seconds between idle checks", 600, ask=False),
)


def field_for(pointer: str) -> Field | None:
    """The askable field a problem's JSON pointer (e.g. ``/cluster/subnets/0/id``) belongs to."""
    parts = tuple(int(p) if p.isdigit() else p for p in pointer.strip("/").split("/")) if pointer.strip("/") else ()
    best: Field | None = None
    for f in FIELDS:
        p = f.path
        if parts[: len(p)] == p and f.ask and (best is None or len(p) > len(best.path)):
            best = f
    return best
