"""The teardown plan, computed in plain Python from the typed model, the committed manifests and the template.

Nothing here calls AWS or Kubernetes: :func:`teardown` turns an :class:`~generator.model.Environment` and the
facts read from its files (:class:`Inputs`) into ordered steps of commands for a person to run, and a list of
what outlives them. The order is the point:

1. **Flux stops first**: it re-applies every object of ``environments/<env>/`` at each interval and reinstalls a
   deleted HelmRelease, so anything deleted while it runs comes back.
2. **The hubs' releases, then their claims, then their namespaces**, while the cluster's EBS CSI driver (an
   add-on of the stack) still runs: it deletes the EBS volume of a claim whose StorageClass says ``Delete``; a
   claim that outlives the cluster leaves its volume behind for good.
3. **The platform releases** (cluster-autoscaler first, so that it adds no node and stops resizing the groups
   the stack is about to delete) **and the StorageClasses**.
4. **The stack**: the load balancer, the node groups, the cluster and its roles are its resources. Kubernetes
   objects that made AWS create something outside it (a Service of type LoadBalancer) must be gone before, or
   the stack's subnets' security groups stay in use and its deletion fails.
5. **What survives**: read from the template (``DeletionPolicy``), the StorageClasses (``reclaimPolicy``), the
   spec (roles, keys, images and hosts it references but the stack did not create) and the repository (sops
   files in git history, the deploy role's and the pipeline's stacks).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field

from generator.model import Environment, Hub
from generator.paths import CLUSTER_TEMPLATE, EnvPaths
from generator.render.flux import FLUX_NAMESPACE
from generator.render.platform import AUTOSCALER_RELEASE
from generator.teardown.manifests import Class, Manifests, NotRendered, Release, get
from generator.teardown.model import Action, Step, Survivor, Teardown
from generator.teardown.template import TemplateFacts, cluster_logging

#: The Kustomization `flux bootstrap --path=environments/<env>/cluster` creates: it applies the environment's
#: other Kustomizations and its Namespaces.
BOOTSTRAP_KUSTOMIZATION = "flux-system"
#: The label z2jh puts on user server pods (KubeSpawner's ``component``).
USER_POD_SELECTOR = "component=singleuser-server"
#: The tag the EBS CSI driver puts on every volume it creates.
CSI_VOLUME_TAG = ("ebs.csi.aws.com/cluster", "true")
#: Tags the EBS CSI add-on (external-provisioner's --extra-create-metadata) puts on every volume: the claim.
PVC_NAMESPACE_TAG = "kubernetes.io/created-for/pvc/namespace"
PVC_NAME_TAG = "kubernetes.io/created-for/pvc/name"
HUB_DB_CLAIM = "hub-db-dir"
TIMEOUT_RELEASE, TIMEOUT_PODS, TIMEOUT_NAMESPACE = "15m", "10m", "15m"
_ECR_RE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)$")
#: The other templates in manifests/cloudformation/ whose stacks name the cluster stack (ClusterStackName).
SIDE_TEMPLATES = ("manifests/cloudformation/github-oidc.yaml", "manifests/cloudformation/pipeline.yaml")


@dataclass
class Inputs:
    """What the plan reads besides the model (see :mod:`generator.teardown.load`)."""

    manifests: Manifests
    template: TemplateFacts
    #: sha256 of the cluster template (the S3 key `hubgen deploy` uploads it under), None without one.
    template_sha256: str | None = None
    #: The retained resources of the other templates (github-oidc.yaml, pipeline.yaml), by template path.
    side_templates: dict[str, TemplateFacts] = field(default_factory=dict)
    #: The environment's sops-encrypted files (repository-relative).
    secret_files: tuple[str, ...] = ()
    #: (key type, key) of the .sops.yaml creation rule of the environment's secrets: ("kms", arn), ("age", ...).
    sops_keys: tuple[tuple[str, str], ...] = ()
    #: The generated files on disk are not what the spec renders to.
    drift: bool = False


@dataclass(frozen=True)
class HubVolumes:
    """A hub's release and the StorageClasses of its volumes (None: the cluster's default class, unknown)."""

    hub: Hub
    release: Release
    namespace: str
    db_claim: bool
    db_class: Class | None
    db_class_name: str | None
    user_class: Class | None
    user_class_name: str | None


_PLAIN_RE = re.compile(r"[A-Za-z0-9_./:=,@%+-]+")
_DOUBLE_QUOTE_UNSAFE = frozenset('"$`\\!')


def _q(word: str) -> str:
    """``word`` as one shell word, readably: bare when it needs no quotes, in double quotes when nothing in it
    is special there (JMESPath queries with their single quotes), else in shlex's single quotes."""
    if _PLAIN_RE.fullmatch(word):
        return word
    if not _DOUBLE_QUOTE_UNSAFE.intersection(word):
        return f'"{word}"'
    return shlex.quote(word)


class _Cmd:
    """Commands for this environment: every kubectl and flux command names the cluster's kubeconfig context (the
    stack name, which `aws eks update-kubeconfig --alias` gives it), every aws command the region."""

    def __init__(self, env: Environment):
        self.env, self.ctx, self.region = env, env.cluster.stack_name, env.region

    def kubectl(self, *words: str) -> str:
        return " ".join(["kubectl", "--context", _q(self.ctx), *words])

    def flux(self, *words: str) -> str:
        return " ".join(["flux", "--context", _q(self.ctx), *words])

    def aws(self, *words: str) -> str:
        return " ".join(["aws", *words, "--region", _q(self.region)])


# --- hubs ----------------------------------------------------------------------------------------------------------


def hub_volumes(env: Environment, manifests: Manifests) -> list[HubVolumes]:
    """Each hub's HelmRelease (as committed) and the classes of its volumes: the hub database claim's (values
    ``hub.db.pvc.storageClassName``, else the default class) and the users' claims' (``singleuser.storage``)."""
    out = []
    for hub in env.hubs:
        release = manifests.hub_release(hub.name, hub.namespace)
        if release is None:
            raise NotRendered(f"no HelmRelease {hub.namespace}/{hub.name} under {EnvPaths(env.name).hubs_dir}/: "
                              f"run `hubgen render {env.name}`")
        values = release.values
        db_claim = (get(values, "hub", "db", "type") or "sqlite-pvc") == "sqlite-pvc"
        db_name = get(values, "hub", "db", "pvc", "storageClassName")
        user_name = get(values, "singleuser", "storage", "dynamic", "storageClass") or hub.singleuser.storage_class
        default = manifests.default_class
        out.append(HubVolumes(
            hub=hub, release=release, namespace=release.target_namespace, db_claim=db_claim,
            db_class=manifests.storage_class(db_name), db_class_name=db_name or (default.name if default else None),
            user_class=manifests.storage_class(user_name),
            user_class_name=user_name or (default.name if default else None)))
    return out


def _fate(cls: Class | None, name: str | None) -> str:
    if cls is None:
        return (f"StorageClass {name}, which hubgen does not render: check its reclaimPolicy "
                f"(`kubectl get storageclass {name}`)" if name else
                "the cluster's default StorageClass, which hubgen does not render: check its reclaimPolicy")
    if cls.reclaim_policy == "Delete":
        return f"StorageClass {cls.name}, reclaimPolicy Delete: the EBS volume is deleted with the claim"
    return (f"StorageClass {cls.name}, reclaimPolicy {cls.reclaim_policy}: the EBS volume SURVIVES the claim "
            f"(see What survives)")


def _hub_action(c: _Cmd, hv: HubVolumes) -> Action:
    rel = hv.release
    commands = [
        c.kubectl("delete", "helmrelease", _q(rel.name), "--namespace", _q(rel.namespace),
                  f"--timeout={TIMEOUT_RELEASE}"),
        c.kubectl("delete", "pods", "--namespace", _q(hv.namespace), "--selector", USER_POD_SELECTOR,
                  f"--timeout={TIMEOUT_PODS}"),
        c.kubectl("get", "pvc", "--namespace", _q(hv.namespace)),
        c.kubectl("delete", "pvc", "--all", "--namespace", _q(hv.namespace), f"--timeout={TIMEOUT_PODS}"),
    ]
    db = (f"hub database claim {HUB_DB_CLAIM} (part of the release, deleted by the uninstall): "
          f"{_fate(hv.db_class, hv.db_class_name)}" if hv.db_claim else
          "no hub database claim (values set hub.db.type to something other than sqlite-pvc)")
    users = ("users' claims claim-* (KubeSpawner's, not part of the release): "
             + _fate(hv.user_class, hv.user_class_name))
    note = (f"helm-controller uninstalls release {rel.release_name} (hub, proxy, {HUB_DB_CLAIM}) before the "
            f"HelmRelease disappears; user servers are KubeSpawner's pods, stopped next, so their claims can go. "
            f"Volumes: {db}; {users}.")
    return Action(f"Hub {hv.hub.name}: HelmRelease {rel.namespace}/{rel.name}, then its user servers and claims",
                  tuple(commands), note)


def _pv_listing(c: _Cmd) -> str:
    columns = ",".join(["NAME:.metadata.name", "NAMESPACE:.spec.claimRef.namespace", "CLAIM:.spec.claimRef.name",
                        "CLASS:.spec.storageClassName", "POLICY:.spec.persistentVolumeReclaimPolicy",
                        "STATUS:.status.phase", "VOLUME:.spec.csi.volumeHandle"])
    return c.kubectl("get", "pv", "-o", f"custom-columns={columns}")


def _hubs_step(env: Environment, c: _Cmd, hubs: list[HubVolumes]) -> Step:
    namespaces = list(dict.fromkeys(hv.namespace for hv in hubs))
    retain = sorted({cls.name for hv in hubs for cls in (hv.db_class if hv.db_claim else None, hv.user_class)
                     if cls is not None and cls.reclaim_policy != "Delete"})
    wait_note = ("Wait until no row of " + ", ".join(namespaces) + " has POLICY Delete: the EBS CSI driver deletes "
                 "those volumes, and it runs only as long as the cluster does. ")
    wait_note += (f"Rows of {', '.join(retain)} stay Released: write down VOLUME (the EBS volume id) and CLAIM "
                  f"(claim-<user>) of each, to know whose volume survives." if retain else
                  "No hub's volumes use a Retain class.")
    actions = [_hub_action(c, hv) for hv in hubs]
    actions.append(Action("Wait for the volumes of Delete classes to be deleted", (_pv_listing(c),), wait_note))
    actions.append(Action(
        "Delete the hubs' namespaces",
        (c.kubectl("delete", "namespace", *map(_q, namespaces), f"--timeout={TIMEOUT_NAMESPACE}"),),
        "Removes what is left in them (Secrets, service accounts). They come from "
        f"{EnvPaths(env.name).namespaces}, which the suspended {BOOTSTRAP_KUSTOMIZATION} Kustomization applies, "
        "so they stay deleted."))
    return Step("hubs", "Delete the hubs: HelmReleases, user servers, volume claims, namespaces",
                "The hubs go first so that no user server starts and nothing writes to a volume while it is deleted; "
                "their claims go before the stack because the EBS CSI driver that deletes a claim's volume is an "
                "add-on of the cluster: a claim that outlives the cluster leaves its volume behind, whatever its "
                "class says.", tuple(actions))


# --- platform ------------------------------------------------------------------------------------------------------


def _platform_step(env: Environment, c: _Cmd, m: Manifests) -> Step:
    actions = []
    if m.extra_files:
        actions.append(_extra_action(env, c, m))
    releases = sorted(m.platform_releases(), key=lambda r: (r.name != AUTOSCALER_RELEASE, m.releases.index(r)))
    for r in releases:
        why = ("First: it would add nodes for pods left pending and keep resizing the node groups the stack is "
               "about to delete." if r.name == AUTOSCALER_RELEASE else "")
        actions.append(Action(f"HelmRelease {r.namespace}/{r.name}",
                              (c.kubectl("delete", "helmrelease", _q(r.name), "--namespace", _q(r.namespace),
                                         f"--timeout={TIMEOUT_PODS}"),), why))
    names = [cls.name for cls in m.classes]
    if names:
        actions.append(Action(
            "The StorageClasses", (c.kubectl("delete", "storageclass", *map(_q, names)),),
            "After every claim: no new volume can be provisioned. Deleting a class changes nothing for the volumes "
            "it made (a Released volume of a Retain class keeps its EBS volume)."))
    return Step("platform", "Delete the platform: cluster-autoscaler first, the other platform releases, the "
                "StorageClasses",
                "The platform serves the hubs, so it goes after them: the autoscaler scaled the user groups down as "
                "servers stopped, and the StorageClasses were needed until the last claim was gone.", tuple(actions))


def _extra_action(env: Environment, c: _Cmd, m: Manifests) -> Action:
    extra = [o for o in m.aws_objects if o.source.startswith(EnvPaths(env.name).extra_dir + "/")]
    commands = tuple(c.kubectl("delete", o.kind.lower(), _q(o.name), "--namespace", _q(o.namespace),
                               f"--timeout={TIMEOUT_PODS}") for o in extra)
    found = "; ".join(f"{o.kind} {o.namespace}/{o.name} ({o.source}) makes {o.what}" for o in extra)
    return Action(
        f"The team's own objects ({EnvPaths(env.name).extra_dir}/, {len(m.extra_files)} files)", commands,
        "hubgen does not know what they create: delete them before the platform they may depend on. "
        + (f"Outside the stack: {found}: delete it before the stack, or the stack's deletion fails."
           if extra else "None of them is a Service of type LoadBalancer, an Ingress or a Gateway."))


# --- stop Flux -----------------------------------------------------------------------------------------------------


def _flux_step(env: Environment, c: _Cmd, m: Manifests, inputs: Inputs) -> Step:
    p = EnvPaths(env.name)
    names = [BOOTSTRAP_KUSTOMIZATION, *sorted(m.kustomizations, key=_kustomization_order)]
    git_commands = [f"git rm -r {_q(p.dir)}", "hubgen plan --base origin/main"]
    rule = (" Remove the environment's creation rule from .sops.yaml in the same pull request."
            if inputs.sops_keys else "")
    return Step(
        "stop-flux", "Stop Flux from recreating what you delete",
        "Flux re-applies every object of environments/" + env.name + "/ at each interval and reinstalls a deleted "
        "HelmRelease. Suspending the Kustomizations stops that at once and is reversible (flux resume); removing "
        "the environment from git is what keeps it stopped: until that is merged, any deploy of the environment "
        "(its files, the shared template or hubgen changing) re-creates the stack deleted in step 4. Do both: "
        "suspend now, merge the removal before step 4. Removing it from git alone also stops Flux (the bootstrap "
        "Kustomization then fails on a missing path and prunes nothing), but leaves no reversible pause.",
        (
            Action("Use the account and the cluster of this environment",
                   ("aws sts get-caller-identity --query Account --output text",
                    c.aws("eks", "update-kubeconfig", "--name", _q(env.cluster.stack_name), "--alias",
                          _q(env.cluster.stack_name))),
                   f"The first command must print {env.account_id}. The second writes a kubeconfig context named "
                   f"{env.cluster.stack_name}, which every kubectl and flux command below names."),
            Action("Suspend the environment's Flux Kustomizations",
                   (c.flux("suspend", "kustomization", *map(_q, names), "--namespace", FLUX_NAMESPACE),),
                   f"{BOOTSTRAP_KUSTOMIZATION} is the Kustomization `flux bootstrap --path={p.cluster_dir}` created "
                   "(it applies the others and the hubs' namespaces); give its name if you bootstrapped with "
                   "another."),
            Action("Remove the environment from git (a pull request)", tuple(git_commands),
                   "`hubgen plan` reports the environment REMOVED; `hubgen deploy` never deletes a stack and deploys "
                   "nothing for a removed environment. Keep this plan (e.g. `hubgen destroy " + env.name
                   + " --plan --format markdown` in the pull request): it cannot be computed once the spec is gone."
                   + rule),
        ))


def _kustomization_order(name: str) -> tuple[int, str]:
    """Consumers before what they depend on: hubs, extra, secrets, platform, then the rest."""
    order = ("-hubs", "-extra", "-notifications", "-secrets", "-platform")
    return next((i for i, s in enumerate(order) if name.endswith(s)), len(order)), name


# --- the stack -----------------------------------------------------------------------------------------------------


def _stack_step(env: Environment, c: _Cmd, m: Manifests, t: TemplateFacts) -> Step:
    stack = _q(env.cluster.stack_name)
    rendered = [o for o in m.aws_objects if not o.source.startswith(EnvPaths(env.name).extra_dir + "/")]
    lb_check = c.kubectl("get", "services", "--all-namespaces", "-o",
                         "jsonpath='{range .items[?(@.spec.type==\"LoadBalancer\")]}{.metadata.namespace}/"
                         "{.metadata.name}{\"\\n\"}{end}'")
    outside = ("hubgen renders no Service of type LoadBalancer, no Ingress and no Gateway: each hub's proxy is a "
               "NodePort service behind the stack's load balancer (HG218 keeps `proxy.service.type` so)."
               if not rendered else "Rendered objects that make AWS resources outside the stack: "
               + "; ".join(f"{o.kind} {o.namespace}/{o.name} ({o.source})" for o in rendered) + ".")
    deleted = ", ".join(f"{n} {rtype}" for rtype, n in t.counts()) if t.readable else ""
    kept_log = [r for r in t.of_type("AWS::Logs::LogGroup") if not r.kept_on_delete]
    log_note = "".join(f" The log group {r.name or r.logical_id} is the stack's (DeletionPolicy "
                       f"{r.deletion_policy}) and goes with it." for r in kept_log)
    tag = "hubgen:environment"
    return Step(
        "stack", f"Delete the CloudFormation stack {env.cluster.stack_name} (the cluster, its node groups and its "
                 "load balancer)",
        "The load balancer, the node groups, the EKS cluster, its add-ons and its IAM roles are the stack's "
        "resources: CloudFormation deletes them in the reverse order of their dependencies. Whatever Kubernetes "
        "made AWS create outside the stack must be gone before: a load balancer of a Service of type LoadBalancer "
        "keeps network interfaces in the stack's subnets and security groups, and the deletion fails on them.",
        (
            Action("Check that nothing outside the stack is left in the cluster",
                   (lb_check, c.kubectl("get", "ingress", "--all-namespaces"), _pv_listing(c)),
                   outside + " The first two commands must print nothing; the volumes listed last are those of "
                   "Retain classes only."),
            Action(f"Check that {env.cluster.stack_name} is this environment's stack",
                   (c.aws("cloudformation", "describe-stacks", "--stack-name", stack, "--query",
                          _q(f"Stacks[0].Tags[?Key=='{tag}'].Value"), "--output", "text"),),
                   f"Must print {env.name} (the tag hubgen deploy puts on the stack)."),
            Action("Delete the stack and wait for it",
                   (c.aws("cloudformation", "delete-stack", "--stack-name", stack),
                    c.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)),
                   (f"Deletes, from {t.path}: {deleted}." if deleted else
                    f"{t.path} could not be read: what the stack holds is not listed.") + log_note
                   + " The wait ends with an error when the deletion fails."),
            Action("If the deletion fails",
                   (c.aws("cloudformation", "describe-stack-events", "--stack-name", stack, "--query",
                          _q("StackEvents[?ResourceStatus=='DELETE_FAILED'].[LogicalResourceId,ResourceStatusReason]"),
                          "--output", "table"),),
                   "A security group still used by a network interface (a load balancer Kubernetes made, an "
                   "instance left over) is the usual cause: find it with `aws ec2 describe-network-interfaces "
                   "--filters Name=group-id,Values=<group id>`, remove what holds it, and delete the stack again."),
            Action("Check what is left with the environment's tag",
                   (c.aws("resourcegroupstaggingapi", "get-resources", "--tag-filters",
                          f"Key={tag},Values={_q(env.name)}", "--query", _q("ResourceTagMappingList[].ResourceARN"),
                          "--output", "text"),),
                   "Lists every resource still tagged for the environment (the stack's tags are on everything it "
                   "created, the StorageClasses' on every volume): only what section 5 (What survives) names."),
        ))


# --- what survives -------------------------------------------------------------------------------------------------


def _template_survivors(t: TemplateFacts, where: str) -> list[Survivor]:
    out = []
    for r in t.present():
        if r.kept_on_delete:
            out.append(Survivor("stack resource", r.label(),
                                f"DeletionPolicy {r.deletion_policy} in {where}: deleting its stack leaves it"
                                + ("" if r.created else " (if the stack created it: its condition depends on "
                                                        "parameters hubgen does not know)"),
                                certain=bool(r.created)))
        elif r.kept_on_replace:
            out.append(Survivor("stack resource", r.label(),
                                f"UpdateReplacePolicy {r.update_replace_policy} in {where}: copies replaced by "
                                "earlier stack updates were left behind", certain=False))
    return out


def _volume_survivors(env: Environment, c: _Cmd, m: Manifests, hubs: list[HubVolumes]) -> list[Survivor]:
    out = []
    for cls in m.classes:
        if cls.reclaim_policy == "Delete":
            continue
        users = [f"users of hub {hv.hub.name}" for hv in hubs if hv.user_class is cls] + \
                [f"hub {hv.hub.name}'s database" for hv in hubs if hv.db_claim and hv.db_class is cls]
        tag = next(((k, v) for k, v in cls.tags if k == "hubgen:environment"), cls.tags[0] if cls.tags else
                   CSI_VOLUME_TAG)
        query = (f"Volumes[].[VolumeId,Size,CreateTime,Tags[?Key=='{PVC_NAMESPACE_TAG}']|[0].Value,"
                 f"Tags[?Key=='{PVC_NAME_TAG}']|[0].Value]")
        find = c.aws("ec2", "describe-volumes", "--filters", _q(f"Name=tag:{tag[0]},Values={tag[1]}"),
                     "Name=status,Values=available", "--query", _q(query), "--output", "table")
        out.append(Survivor(
            "EBS volumes", f"volumes of StorageClass {cls.name} ({cls.reclaim_policy})",
            f"reclaimPolicy {cls.reclaim_policy} ({cls.source}): deleting a claim keeps its EBS volume, and deleting "
            f"the cluster keeps it too. Used by: {', '.join(users) or 'no hub (claims of your own, if any)'}. The "
            f"driver tags each volume {tag[0]}={tag[1]} and with its claim's namespace and name.",
            (find,), "Copy or snapshot what must be kept (`aws ec2 create-snapshot --volume-id <id>`), then "
            f"`aws ec2 delete-volume --volume-id <id> --region {env.region}` for each."))
    return out


def _log_survivors(env: Environment, t: TemplateFacts) -> list[Survivor]:
    if not t.readable or not cluster_logging(t):
        return []
    group = f"/aws/eks/{env.cluster.stack_name}/cluster"
    if any(r.name == group for r in t.of_type("AWS::Logs::LogGroup")):
        return []  # the stack's own: kept only with DeletionPolicy Retain (see _template_survivors)
    return [Survivor("CloudWatch log group", group,
                     f"the cluster sends control plane logs and {t.path} creates no log group for them: EKS created "
                     "it, without expiry, and the stack's deletion leaves it",
                     (f"aws logs describe-log-groups --log-group-name-prefix {_q(group)} --region {_q(env.region)}",),
                     f"aws logs delete-log-group --log-group-name {_q(group)} --region {_q(env.region)}")]


def _side_survivors(env: Environment, inputs: Inputs) -> list[Survivor]:
    stack = env.cluster.stack_name
    query = f"Stacks[?Parameters[?ParameterKey=='ClusterStackName' && ParameterValue=='{stack}']].StackName"
    out = [Survivor(
        "CloudFormation stacks", "the deploy role's and the pipeline's stacks (" + ", ".join(SIDE_TEMPLATES) + ")",
        f"hubgen deploy neither creates nor deletes them; each names {stack} in its ClusterStackName parameter. The "
        "first deploy-role stack of an account also holds the account's GitHub OIDC provider, which the others use.",
        (f"aws cloudformation describe-stacks --region {_q(env.region)} --query {_q(query)} --output text",),
        "aws cloudformation delete-stack --stack-name <each> --region " + _q(env.region)
        + ", once no other environment needs it (look in every region you deployed them to).", certain=False)]
    for path, facts in inputs.side_templates.items():
        for s in _template_survivors(facts, path):
            out.append(Survivor(s.kind, s.name, s.reason, certain=False,
                                cleanup="Empty it and delete it when nothing else uses it."
                                if "S3::Bucket" in s.name else ""))
    if inputs.template_sha256:
        key = f"hubgen/cloudformation/{inputs.template_sha256}/{CLUSTER_TEMPLATE.rsplit('/', 1)[-1]}"
        out.append(Survivor(
            "S3 object", f"s3://<template bucket>/{key}",
            "hubgen deploy uploads the cluster template to the template bucket (--template-bucket, "
            "HUBGEN_TEMPLATE_BUCKET); objects are named by the template's hash and shared by every environment "
            "that deploys the same template.", (),
            "Leave them while another environment deploys from the bucket.", certain=False))
    return out


def _images(env: Environment) -> list[str]:
    out = []
    for hub in env.hubs:
        out.append(hub.singleuser.image_name)
        out.extend(p.image_name for p in hub.profiles if p.image_name)
    return list(dict.fromkeys(out))


def _ecr_survivors(env: Environment) -> list[Survivor]:
    out = []
    for image in _images(env):
        match = _ECR_RE.match(image)
        if not match:
            continue
        account, region, repository = match.groups()
        out.append(Survivor(
            "ECR repository", image,
            "the hubs' notebook images are pushed outside hubgen; the repository and its images stay (other "
            "environments may use them)",
            (f"aws ecr describe-images --registry-id {account} --repository-name {_q(repository)} "
             f"--region {region} --query 'imageDetails[].imageTags' --output text",),
            "Delete images (aws ecr batch-delete-image) or the repository when nothing uses them."))
    return out


def _secret_hints(env: Environment) -> list[str]:
    out = []
    for hub in env.hubs:
        if hub.auth.oauth:
            o = hub.auth.oauth
            out.append(f"hub {hub.name}'s OAuth client {o.client_id} ({o.client_secret.name}/{o.client_secret.key}): "
                       f"delete it, or rotate its secret, at the provider (callback {o.callback_url})")
        if hub.auth.password_secret:
            s = hub.auth.password_secret
            out.append(f"hub {hub.name}'s shared password ({s.name}/{s.key}): do not reuse it")
    for n in env.notifiers:
        out.append(f"the {n.kind} notifier's {n.secret_key} ({FLUX_NAMESPACE}/{n.secret}): revoke it")
    return out


def _secret_survivors(env: Environment, inputs: Inputs) -> list[Survivor]:
    out = []
    if inputs.secret_files:
        keys = "; ".join(f"{kind} {key}" for kind, key in inputs.sops_keys) or "the keys they were encrypted for"
        hints = _secret_hints(env)
        out.append(Survivor(
            "encrypted secrets in git", ", ".join(inputs.secret_files),
            f"removing {EnvPaths(env.name).dir}/ removes them from the branch, not from git history: whoever holds a "
            f"key of their creation rule ({keys}) can still decrypt them",
            ("git log --oneline -- " + _q(EnvPaths(env.name).secrets_dir),),
            ("Rotate what they hold: " + "; ".join(hints) + "." if hints else
             "Rotate the credentials they hold.")))
    for kind, key in inputs.sops_keys:
        if kind == "kms":
            out.append(Survivor("KMS key", key, "the .sops.yaml creation rule of the environment's secrets names it: "
                                "it decrypts those files (history included)", (),
                                "Schedule its deletion (aws kms schedule-key-deletion --key-id <arn> "
                                "--pending-window-in-days 30) only when no other rule and no other use needs it.",
                                certain=True))
    return out


def _kms_survivors(env: Environment, m: Manifests) -> list[Survivor]:
    out: dict[str, list[str]] = {}
    for cls in m.classes:
        if cls.kms_key:
            out.setdefault(cls.kms_key, []).append(cls.name)
    return [Survivor("KMS key", key, f"StorageClass {', '.join(names)} encrypts volumes with it; the stack did not "
                     "create it, and surviving volumes of Retain classes need it to be read", (),
                     "Keep it while any volume it encrypted (or a snapshot of one) is kept.")
            for key, names in out.items()]


def _budget_survivors(env: Environment, t: TemplateFacts) -> list[Survivor]:
    budgets = t.of_type("AWS::Budgets::Budget") if t.readable else []
    out = []
    if env.budget is not None and not budgets:
        out.append(Survivor(
            "AWS Budget", f"the budget of costs.budget ({env.budget.monthly_limit:g} USD a month)",
            f"the spec sets costs.budget but {t.path} creates no AWS::Budgets::Budget for this environment: a "
            "budget made by hand outlives the stack",
            (f"aws budgets describe-budgets --account-id {env.account_id} --query 'Budgets[].BudgetName' "
             "--output text",),
            f"aws budgets delete-budget --account-id {env.account_id} --budget-name <name>", certain=False))
    for b in budgets:
        if b.created is None and not b.kept_on_delete:
            out.append(Survivor("AWS Budget", b.label(),
                                "the stack's budget exists only under a condition hubgen could not evaluate; when it "
                                "exists it goes with the stack", certain=False))
    if env.budget is not None and env.budget.sns_topic_arn:
        out.append(Survivor("SNS topic", env.budget.sns_topic_arn,
                            "costs.budget.snsTopicArn: the budget's alerts went there; the stack did not create it",
                            (), "Delete it when nothing else publishes to it."))
    return out


def _principal_survivors(env: Environment, t: TemplateFacts) -> list[Survivor]:
    created = {r.name for r in t.of_type("AWS::IAM::Role") if r.name}
    uses: dict[str, list[str]] = {}

    def use(arn: str, why: str) -> None:
        uses.setdefault(arn, []).append(why)

    use(env.deploy_role_arn, "aws.deployRoleArn: it deploys the stack (made by the deploy role's stack or by hand)")
    for hub in env.hubs:
        if hub.singleuser.aws_role_arn:
            use(hub.singleuser.aws_role_arn, f"singleuser.awsRoleArn of hub {hub.name}: its trust policy names the "
                                             "deleted cluster's OIDC provider, so nothing can assume it any more")
        for op in hub.operators:
            use(op.arn, f"operator of hub {hub.name}: its access entry goes with the stack, the principal stays")
    for admin in env.cluster.admins:
        use(admin.arn, "cluster admin: its access entry goes with the stack, the principal stays")
    out = []
    for arn, whys in uses.items():
        kind, _, name = arn.split(":", 5)[5].partition("/")
        if kind == "role" and name.rsplit("/", 1)[-1] in created:
            continue
        out.append(Survivor(f"IAM {kind}", arn, "; ".join(whys) + ". The stack did not create it.", (),
                            "Delete it, or remove what it grants for this environment, when nothing else uses it."))
    return out


def _edge_survivors(env: Environment) -> list[Survivor]:
    lb = env.cluster.load_balancer
    out = [Survivor("ACM certificate", lb.certificate_arn,
                    "cluster.loadBalancer.certificateArn: the load balancer's certificate; the stack did not create it",
                    (f"aws acm describe-certificate --certificate-arn {_q(lb.certificate_arn)} --region "
                     f"{_q(env.region)} --query Certificate.InUseBy",),
                    "Delete it (aws acm delete-certificate) when InUseBy is empty.")]
    hosts = [h.host for h in env.hubs if h.host]
    if hosts:
        out.append(Survivor("DNS records", ", ".join(hosts),
                            "they point at the deleted load balancer; a record left pointing at a released AWS name "
                            "can be taken over by someone else", (),
                            "Delete them at your DNS provider."))
    out.append(Survivor("git hosting", "Flux's deploy key and the deploy workflow's GitHub environment " + env.name,
                        "`flux bootstrap` added a deploy key to the repository; the deploy workflow runs this "
                        "environment's job in the GitHub environment of the same name (rules, variables)", (),
                        "Remove them in the repository's settings.", certain=False))
    return out


def survivors(env: Environment, c: _Cmd, inputs: Inputs, hubs: list[HubVolumes]) -> list[Survivor]:
    t, m = inputs.template, inputs.manifests
    return [
        *_template_survivors(t, t.path), *_volume_survivors(env, c, m, hubs), *_log_survivors(env, t),
        *_budget_survivors(env, t), *_kms_survivors(env, m), *_secret_survivors(env, inputs),
        *_principal_survivors(env, t), *_edge_survivors(env), *_ecr_survivors(env), *_side_survivors(env, inputs),
    ]


def _notes(env: Environment, inputs: Inputs) -> list[str]:
    notes = ["hubgen runs none of these commands and calls neither AWS nor Kubernetes: it never deletes anything. "
             "Read each step, then run its commands yourself, in order."]
    if inputs.drift:
        notes.append(f"The generated files of {env.name} are not what its spec renders to: the plan follows the "
                     f"committed files (what Flux applied). `hubgen render {env.name} --check` shows the difference.")
    if not inputs.template.readable:
        notes.append(f"{inputs.template.path} is missing or unreadable: what the stack holds and keeps is not listed.")
    return notes


def teardown(env: Environment, inputs: Inputs) -> Teardown:
    """The plan for ``env``. Raises :class:`NotRendered` when a hub has no committed HelmRelease."""
    c = _Cmd(env)
    hubs = hub_volumes(env, inputs.manifests)
    steps = (_flux_step(env, c, inputs.manifests, inputs), _hubs_step(env, c, hubs),
             _platform_step(env, c, inputs.manifests), _stack_step(env, c, inputs.manifests, inputs.template))
    return Teardown(env.name, env.tier, env.account_id, env.region, env.cluster.stack_name, steps,
                    tuple(survivors(env, c, inputs, hubs)), tuple(_notes(env, inputs)))


def template_sha256(content: bytes | None) -> str | None:
    return hashlib.sha256(content).hexdigest() if content is not None else None

