"""The typed model of an environment, built only from a spec that passed validation.

Renderers read this model, never the raw YAML: every default is applied here,
once, so that all artifacts agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator import versions

DEFAULT_CULL_TIMEOUT = 3600
DEFAULT_CULL_EVERY = 600
DEFAULT_DECRYPTION = "kms"  # spec secrets.provider


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class Subnet:
    id: str
    availability_zone: str


CORE = "core"
USER = "user"
DEFAULT_DISK_SIZE = 100
DEFAULT_AUTHENTICATION_MODE = "API"
#: The StorageClass an environment gets when its spec names none.
DEFAULT_STORAGE_CLASSES = ({"name": "gp3", "volumeType": "gp3", "default": True},)


@dataclass(frozen=True)
class NodeGroup:
    name: str
    purpose: str  # CORE or USER
    instance_types: tuple[str, ...]
    capacity_type: str  # "on-demand" or "spot"
    min_size: int
    max_size: int
    disk_size: int
    #: user groups: the one zone their nodes run in (resolved: never None for a user group).
    availability_zone: str | None = None
    image_id: str | None = None
    release_version: str | None = None

    @property
    def spot(self) -> bool:
        return self.capacity_type == "spot"


@dataclass(frozen=True)
class StorageClass:
    name: str
    volume_type: str
    default: bool
    reclaim_policy: str
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class LoadBalancer:
    certificate_arn: str
    allowed_cidrs: tuple[str, ...]
    public: bool


@dataclass(frozen=True)
class Principal:
    arn: str
    username: str

    @property
    def kind(self) -> str:
        """"role" or "user" (from the ARN)."""
        return self.arn.split(":", 5)[5].split("/", 1)[0]

    @property
    def arn_without_path(self) -> str:
        """The ARN without its IAM path: ``...:role/team/admins/ops`` -> ``...:role/ops``. IAM role and
        user names are unique within an account whatever their path, so this still names one principal."""
        prefix, resource = self.arn.rsplit(":", 1)
        return f"{prefix}:{self.kind}/{resource.rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class Cluster:
    stack_name: str
    kubernetes_version: str
    vpc_id: str
    subnets: tuple[Subnet, ...]
    node_groups: tuple[NodeGroup, ...]
    load_balancer: LoadBalancer
    admins: tuple[Principal, ...]
    authentication_mode: str = DEFAULT_AUTHENTICATION_MODE
    storage_classes: tuple[StorageClass, ...] = ()
    autoscaler: bool = True
    #: Versions of the platform charts (spec `cluster.autoscaler.chart`, `cluster.nvidiaDevicePlugin.chart`;
    #: default hubgen's pins in generator.versions).
    autoscaler_chart_version: str = versions.CLUSTER_AUTOSCALER_CHART.version
    device_plugin_chart_version: str = versions.NVIDIA_DEVICE_PLUGIN_CHART.version

    @property
    def core_group(self) -> NodeGroup:
        """The core node group (validation guarantees exactly one, HG230)."""
        return next(g for g in self.node_groups if g.purpose == CORE)

    @property
    def user_groups(self) -> tuple[NodeGroup, ...]:
        return tuple(g for g in self.node_groups if g.purpose == USER)

    def node_group(self, name: str) -> NodeGroup | None:
        return next((g for g in self.node_groups if g.name == name), None)

    @property
    def default_storage_class(self) -> StorageClass | None:
        return next((c for c in self.storage_classes if c.default), None)

    @property
    def reads_aws_auth(self) -> bool:
        """Whether the cluster reads the aws-auth ConfigMap (EKS authentication modes)."""
        return self.authentication_mode != "API"

    @property
    def uses_access_entries(self) -> bool:
        return self.authentication_mode != "CONFIG_MAP"


@dataclass(frozen=True)
class OAuth:
    client_id: str
    client_secret: SecretRef
    callback_url: str
    authorize_url: str | None = None
    token_url: str | None = None
    userdata_url: str | None = None
    username_claim: str | None = None
    allowed_organizations: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    groups_claim: str | None = None
    allowed_groups: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Auth:
    type: str
    admins: tuple[str, ...]
    allowed_users: tuple[str, ...]
    password_secret: SecretRef | None = None
    oauth: OAuth | None = None
    allow_shared_password_admins: bool = False


@dataclass(frozen=True)
class GitPuller:
    repo: str
    branch: str
    target_dir: str


@dataclass(frozen=True)
class SingleUser:
    image_name: str
    image_tag: str
    storage_capacity: str
    storage_class: str | None = None
    cpu_guarantee: float | None = None
    cpu_limit: float | None = None
    memory_guarantee: str | None = None
    memory_limit: str | None = None
    extra_env: tuple[tuple[str, str], ...] = ()
    gitpuller: GitPuller | None = None
    aws_role_arn: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    display_name: str
    node_group: str
    description: str = ""
    default: bool = False
    image_name: str | None = None
    image_tag: str | None = None
    cpu_guarantee: float | None = None
    cpu_limit: float | None = None
    memory_guarantee: str | None = None
    memory_limit: str | None = None
    gpus: int = 0


@dataclass(frozen=True)
class Operator:
    """An IAM principal with namespace-scoped Kubernetes access to one hub (an EKS access policy)."""

    arn: str
    access: str  # "view" or "edit"
    namespace: str


@dataclass(frozen=True)
class Hub:
    name: str
    namespace: str
    host: str | None
    node_port: int
    chart_version: str
    auth: Auth
    singleuser: SingleUser
    prepuller_hook: bool
    prepuller_continuous: bool
    culling_enabled: bool
    cull_timeout: int
    cull_every: int
    #: The raw `values` escape hatch, merged last.
    values: dict[str, Any] = field(default_factory=dict)
    profiles: tuple[Profile, ...] = ()
    operators: tuple[Operator, ...] = ()

    @property
    def service_account(self) -> str | None:
        """Name of the IRSA service account for notebook pods, when the hub uses IRSA."""
        return f"{self.name}-notebook" if self.singleuser.aws_role_arn else None

    def secret_refs(self) -> tuple[SecretRef, ...]:
        refs = []
        if self.auth.password_secret:
            refs.append(self.auth.password_secret)
        if self.auth.oauth:
            refs.append(self.auth.oauth.client_secret)
        return tuple(refs)


#: Notification providers (spec ``notifications.<kind>``), in the order they are rendered.
NOTIFIER_KINDS = ("github", "slack", "webhook")
#: The key of the provider's Secret each kind reads (notification-controller's convention).
NOTIFIER_SECRET_KEYS = {"github": "token", "slack": "address", "webhook": "address"}
NOTIFIER_DEFAULT_SECRETS = {"github": "github-commit-status", "slack": "slack-webhook",
                            "webhook": "notifications-webhook"}
DEFAULT_NOTIFIER_SEVERITY = "error"


@dataclass(frozen=True)
class Notifier:
    """Where Flux reports an environment's events: one notification-controller Provider (and its Alert).

    ``kind`` is one of NOTIFIER_KINDS; ``secret`` names the Secret in flux-system holding the credential
    (key NOTIFIER_SECRET_KEYS[kind]); ``address`` is the repository (github); ``channel`` the Slack channel.
    A GitHub commit status needs every event (``severity`` "info"): success is an info event."""

    kind: str
    secret: str
    severity: str
    address: str | None = None
    channel: str | None = None

    @property
    def secret_key(self) -> str:
        return NOTIFIER_SECRET_KEYS[self.kind]


DEFAULT_BUDGET_ALERTS = (80, 100)
#: Tag keys the spec's `tags` may have before `costs.allocationTags` must choose (slots in the template).
MAX_ALLOCATION_TAGS = 8


@dataclass(frozen=True)
class Budget:
    """An AWS Budget of the environment's monthly cost in USD (spec ``costs.budget``)."""

    monthly_limit: float
    alert_at: tuple[int, ...] = DEFAULT_BUDGET_ALERTS
    forecast: bool = True
    emails: tuple[str, ...] = ()
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class Environment:
    name: str
    tier: str
    account_id: str
    region: str
    deploy_role_arn: str
    cluster: Cluster
    tags: tuple[tuple[str, str], ...]
    hubs: tuple[Hub, ...]
    description: str = ""
    #: How Flux decrypts the environment's sops files: "kms" (the kustomize-controller's AWS
    #: identity) or "age" (the private key in the flux-system/sops-age Secret).
    secrets_provider: str = DEFAULT_DECRYPTION
    notifiers: tuple[Notifier, ...] = ()
    #: Spec tag keys that also go on instances, their volumes and network interfaces, and user volumes
    #: (`costs.allocationTags`; default every key of `tags`). HG247 refuses more than MAX_ALLOCATION_TAGS.
    allocation_tag_keys: tuple[str, ...] = ()
    budget: Budget | None = None

    @property
    def allocation_tags(self) -> tuple[tuple[str, str], ...]:
        """The (key, value) pairs of allocation_tag_keys, in the order the spec names them."""
        values = dict(self.tags)
        return tuple((k, values[k]) for k in self.allocation_tag_keys if k in values)

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws-us-gov" if "-gov-" in self.region else "aws"

    @property
    def node_role_name(self) -> str:
        """The fixed node role name the cluster template gives its node role."""
        return f"{self.cluster.stack_name}-node"

    @property
    def node_role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.node_role_name}"

    @property
    def admin_principals(self) -> tuple[Principal, ...]:
        """Everyone with cluster-admin: the deploy role first, then the listed admins.

        aws-auth and the EKS access entries are both rendered from this one list,
        so they cannot disagree.
        """
        deploy = Principal(self.deploy_role_arn, _username_for(self.deploy_role_arn))
        return (deploy, *(a for a in self.cluster.admins if a.arn != self.deploy_role_arn))


def _username_for(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _secret(d: dict | None) -> SecretRef | None:
    return SecretRef(d["name"], d["key"]) if d else None


def _node_group(g: dict[str, Any], subnets: tuple[Subnet, ...]) -> NodeGroup:
    zone = g.get("availabilityZone")
    if zone is None and g["purpose"] == USER:
        zone = subnets[0].availability_zone  # user volumes are zonal: one zone per user group
    return NodeGroup(
        name=g["name"],
        purpose=g["purpose"],
        instance_types=tuple(g["instanceTypes"]),
        capacity_type=g.get("capacityType", "on-demand"),
        # int(): JSON Schema's "integer" also accepts 2.0, which must not render as "2.0".
        min_size=int(g["minSize"]),
        max_size=int(g["maxSize"]),
        disk_size=int(g.get("diskSize", DEFAULT_DISK_SIZE)),
        availability_zone=zone,
        image_id=g.get("imageId"),
        release_version=g.get("releaseVersion"),
    )


def _profile(p: dict[str, Any]) -> Profile:
    image = p.get("image", {})
    return Profile(
        name=p["name"],
        display_name=p["displayName"],
        node_group=p["nodeGroup"],
        description=p.get("description", ""),
        default=bool(p.get("default", False)),
        image_name=image.get("name"),
        image_tag=image.get("tag"),
        cpu_guarantee=p.get("cpu", {}).get("guarantee"),
        cpu_limit=p.get("cpu", {}).get("limit"),
        memory_guarantee=p.get("memory", {}).get("guarantee"),
        memory_limit=p.get("memory", {}).get("limit"),
        gpus=int(p.get("gpus", 0)),
    )


def _notifiers(n: dict[str, Any]) -> tuple[Notifier, ...]:
    out = []
    for kind in NOTIFIER_KINDS:
        if kind not in n:
            continue
        d = n[kind]
        severity = "info" if kind == "github" else d.get("severity", DEFAULT_NOTIFIER_SEVERITY)
        out.append(Notifier(kind, d.get("secret", NOTIFIER_DEFAULT_SECRETS[kind]), severity,
                            address=d.get("repository"), channel=d.get("channel")))
    return tuple(out)


def _budget(b: dict[str, Any] | None) -> Budget | None:
    if b is None:
        return None
    return Budget(
        monthly_limit=float(b["monthlyLimit"]),
        alert_at=tuple(int(x) for x in b.get("alertAt", DEFAULT_BUDGET_ALERTS)),
        forecast=bool(b.get("forecast", True)),
        emails=tuple(b.get("emails", ())),
        sns_topic_arn=b.get("snsTopicArn"),
    )


def build(spec: dict[str, Any]) -> Environment:
    """Build the model from a spec that passed schema validation."""
    c = spec["cluster"]
    lb = c["loadBalancer"]
    subnets = tuple(Subnet(s["id"], s["availabilityZone"]) for s in c["subnets"])
    cluster = Cluster(
        stack_name=c["stackName"],
        kubernetes_version=c["kubernetesVersion"],
        vpc_id=c["vpcId"],
        subnets=subnets,
        node_groups=tuple(_node_group(g, subnets) for g in c["nodeGroups"]),
        load_balancer=LoadBalancer(lb["certificateArn"], tuple(lb["allowedCidrs"]), bool(lb.get("public", False))),
        admins=tuple(Principal(a["arn"], a.get("username") or _username_for(a["arn"])) for a in c.get("admins", [])),
        authentication_mode=c.get("authenticationMode", DEFAULT_AUTHENTICATION_MODE),
        storage_classes=tuple(
            StorageClass(sc["name"], sc.get("volumeType", "gp3"), bool(sc.get("default", False)),
                         sc.get("reclaimPolicy", "Delete"), sc.get("kmsKeyArn"))
            for sc in c.get("storage", {}).get("classes", DEFAULT_STORAGE_CLASSES)
        ),
        autoscaler=bool(c.get("autoscaler", {}).get("enabled", True)),
        autoscaler_chart_version=c.get("autoscaler", {}).get("chart", {}).get(
            "version", versions.CLUSTER_AUTOSCALER_CHART.version),
        device_plugin_chart_version=c.get("nvidiaDevicePlugin", {}).get("chart", {}).get(
            "version", versions.NVIDIA_DEVICE_PLUGIN_CHART.version),
    )
    hubs = []
    for h in spec["hubs"]:
        a = h["auth"]
        o = a.get("oauth")
        oauth = None
        if o:
            oauth = OAuth(
                client_id=o["clientId"],
                client_secret=_secret(o["clientSecret"]),
                callback_url=o["callbackUrl"],
                authorize_url=o.get("authorizeUrl"),
                token_url=o.get("tokenUrl"),
                userdata_url=o.get("userdataUrl"),
                username_claim=o.get("usernameClaim"),
                allowed_organizations=tuple(o.get("allowedOrganizations", ())),
                scope=tuple(o.get("scope", ())),
                groups_claim=o["groups"].get("claim", "groups") if "groups" in o else None,
                allowed_groups=tuple(o.get("groups", {}).get("allowed", ())),
                admin_groups=tuple(o.get("groups", {}).get("admin", ())),
            )
        su = h["singleuser"]
        gp = su.get("gitpuller")
        pre = h.get("prePuller", {})
        cull = h.get("culling", {})
        hubs.append(
            Hub(
                name=h["name"],
                namespace=h["namespace"],
                host=h.get("host"),
                node_port=int(h["nodePort"]),
                chart_version=h["chart"]["version"],
                auth=Auth(a["type"], tuple(a["admins"]), tuple(a["allowedUsers"]), _secret(a.get("passwordSecret")), oauth,
                          bool(a.get("allowSharedPasswordAdmins", False))),
                singleuser=SingleUser(
                    image_name=su["image"]["name"],
                    image_tag=su["image"]["tag"],
                    storage_capacity=su["storage"]["capacity"],
                    storage_class=su["storage"].get("storageClass"),
                    cpu_guarantee=su.get("cpu", {}).get("guarantee"),
                    cpu_limit=su.get("cpu", {}).get("limit"),
                    memory_guarantee=su.get("memory", {}).get("guarantee"),
                    memory_limit=su.get("memory", {}).get("limit"),
                    extra_env=tuple(sorted(su.get("extraEnv", {}).items())),
                    gitpuller=GitPuller(gp["repo"], gp["branch"], gp["targetDir"]) if gp else None,
                    aws_role_arn=su.get("awsRoleArn"),
                ),
                prepuller_hook=pre.get("hook", True),
                prepuller_continuous=pre.get("continuous", True),
                culling_enabled=cull.get("enabled", True),
                cull_timeout=int(cull.get("timeout", DEFAULT_CULL_TIMEOUT)),
                cull_every=int(cull.get("every", DEFAULT_CULL_EVERY)),
                values=h.get("values", {}),
                profiles=tuple(_profile(p) for p in h.get("profiles", ())),
                operators=tuple(Operator(op["arn"], op["access"], h["namespace"]) for op in h.get("operators", ())),
            )
        )
    return Environment(
        name=spec["name"],
        tier=spec["tier"],
        account_id=spec["aws"]["accountId"],
        region=spec["aws"]["region"],
        deploy_role_arn=spec["aws"]["deployRoleArn"],
        cluster=cluster,
        tags=tuple(sorted(spec.get("tags", {}).items())),
        hubs=tuple(hubs),
        description=spec.get("description", ""),
        secrets_provider=spec.get("secrets", {}).get("provider", DEFAULT_DECRYPTION),
        notifiers=_notifiers(spec.get("notifications", {})),
        allocation_tag_keys=tuple(spec.get("costs", {}).get("allocationTags", sorted(spec.get("tags", {})))),
        budget=_budget(spec.get("costs", {}).get("budget")),
    )
