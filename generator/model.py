"""The typed model of an environment, built only from a spec that passed validation.

Renderers read this model, never the raw YAML: every default is applied here,
once, so that all artifacts agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Nodes:
    instance_type: str
    image_id: str
    min_size: int
    desired_capacity: int
    max_size: int
    volume_size: int


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
    nodes: Nodes
    load_balancer: LoadBalancer
    admins: tuple[Principal, ...]


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


@dataclass(frozen=True)
class Auth:
    type: str
    admins: tuple[str, ...]
    allowed_users: tuple[str, ...]
    password_secret: SecretRef | None = None
    oauth: OAuth | None = None


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


def build(spec: dict[str, Any]) -> Environment:
    """Build the model from a spec that passed schema validation."""
    c = spec["cluster"]
    n = c["nodes"]
    lb = c["loadBalancer"]
    cluster = Cluster(
        stack_name=c["stackName"],
        kubernetes_version=c["kubernetesVersion"],
        vpc_id=c["vpcId"],
        subnets=tuple(Subnet(s["id"], s["availabilityZone"]) for s in c["subnets"]),
        # int(): JSON Schema's "integer" also accepts 2.0, which must not render as "2.0".
        nodes=Nodes(n["instanceType"], n["imageId"], int(n["minSize"]), int(n["desiredCapacity"]), int(n["maxSize"]),
                    int(n["volumeSize"])),
        load_balancer=LoadBalancer(lb["certificateArn"], tuple(lb["allowedCidrs"]), bool(lb.get("public", False))),
        admins=tuple(Principal(a["arn"], a.get("username") or _username_for(a["arn"])) for a in c.get("admins", [])),
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
                auth=Auth(a["type"], tuple(a["admins"]), tuple(a["allowedUsers"]), _secret(a.get("passwordSecret")), oauth),
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
    )
