"""A shipped, dated table of the upgrade notes that matter to a hubgen environment: breaking changes (and
changes that need a look) of the JupyterHub chart, the platform charts and the EKS Kubernetes versions, each
with what to do in the spec and where the fact comes from.

Why a table and not the changelogs themselves: `hubgen plan` and `hubgen bump` run offline (no network in CI
checks) and must say *what to do in this repository* (which spec field), which no upstream changelog says.
The table is dated (:data:`TABLE_DATE`); a test fails when it is more than a year old, so someone re-reads the
sources and adds the releases since.

Rules for entries: real releases only, each dated with the release date and sourced with the page that
documents the change. ``version`` is the first version that has the change, so :func:`crossed` reports a note
when an upgrade goes from below it to it or above. Kubernetes notes use the EKS release date of the minor
version from :mod:`generator.platform.eks_versions` (one source of truth).

No cluster-autoscaler or nvidia-device-plugin note is recorded: the changelogs and chart READMEs of the
versions a hubgen environment can run (cluster-autoscaler chart 9.x, device plugin 0.x since hubgen's pins)
document no breaking change of the values hubgen renders. The chart README's only migration notes (1.x to
9.x, 9.0 to 9.1 ``envFromConfigMap``) predate anything a hubgen environment ran and touch no value hubgen
sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.engines.kube_version import Version
from generator.platform import eks_versions

TABLE_DATE = "2026-12-01"
TABLE_SOURCE = (
    "Zero to JupyterHub changelog (https://z2jh.jupyter.org/en/stable/changelog.html) and its major upgrade "
    "guides (administrator/upgrading/upgrade-1-to-2, -2-to-3, -3-to-4); KubeSpawner 7 templates guide and "
    "changelog (https://jupyterhub-kubespawner.readthedocs.io/en/latest/templates.html); OAuthenticator "
    "changelog (https://oauthenticator.readthedocs.io/en/stable/reference/changelog.html); Amazon EKS release "
    "notes for Kubernetes versions on standard and extended support "
    "(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html, "
    "kubernetes-versions-extended.html); the charts' READMEs (cluster-autoscaler 9.59.0, nvidia-device-plugin "
    "0.20.0)"
)

JUPYTERHUB = "jupyterhub"
CLUSTER_AUTOSCALER = "cluster-autoscaler"
NVIDIA_DEVICE_PLUGIN = "nvidia-device-plugin"
KUBERNETES = "kubernetes"
COMPONENTS = (JUPYTERHUB, CLUSTER_AUTOSCALER, NVIDIA_DEVICE_PLUGIN, KUBERNETES)


@dataclass(frozen=True)
class UpgradeNote:
    component: str  # JUPYTERHUB | CLUSTER_AUTOSCALER | NVIDIA_DEVICE_PLUGIN | KUBERNETES
    version: str  # the first version with the change
    date: str  # its release date, YYYY-MM-DD
    title: str
    action: str  # what to do, in spec terms where the spec has a field for it
    source: str  # URL
    breaking: bool

    def to_dict(self) -> dict:
        return {"component": self.component, "version": self.version, "date": self.date, "title": self.title,
                "action": self.action, "source": self.source, "breaking": self.breaking}


_Z2JH_CHANGELOG = "https://z2jh.jupyter.org/en/stable/changelog.html"
_Z2JH_UPGRADING = "https://z2jh.jupyter.org/en/stable/administrator/upgrading/"
_EKS_STANDARD = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html"
_EKS_EXTENDED = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-extended.html"
#: Kubernetes' own list of removed API versions (EKS drops a version's notes once it is past extended support).
_K8S_REMOVALS = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-29"


def _eks(version: str, title: str, action: str, page: str, breaking: bool) -> UpgradeNote:
    """A Kubernetes note dated with the EKS release of ``version`` (from the EKS calendar); ``page`` is an EKS
    release notes page (the version's section is appended) or any other URL (kept as it is)."""
    released = eks_versions.lookup(version)
    assert released is not None, f"{version} is not in the EKS calendar"
    source = page + "#kubernetes-" + version.replace(".", "-") if page in (_EKS_STANDARD, _EKS_EXTENDED) else page
    return UpgradeNote(KUBERNETES, version, released.released.isoformat(), title, action, source, breaking)


NOTES: tuple[UpgradeNote, ...] = (
    # ------------------------------------------------------------------ JupyterHub chart (z2jh)
    UpgradeNote(
        JUPYTERHUB, "2.0.0", "2022-09-09",
        "chart 2: JupyterHub 1 -> 3 (RBAC), JupyterLab the default UI, Kubernetes 1.20+, renamed chart values",
        "Rewrite any `hubs[].values` that set the removed values: `hub.fsGid` is now `hub.podSecurityContext`, "
        "`rbac.enable` is replaced by per-component `rbac.create`/`serviceAccount.create`, and custom "
        "`*.networkPolicy.egress` rules now add to new default egress rules; hub.config set in "
        "`jupyterhub_config.d` now wins over `hub.config`. Users land in JupyterLab (set "
        "`singleuser.defaultUrl` in `values` to keep the classic UI). `hubgen lint` checks the values against "
        "the new chart's schema.",
        _Z2JH_UPGRADING + "upgrade-1-to-2.html", True),
    UpgradeNote(
        JUPYTERHUB, "3.0.0", "2023-08-11",
        "chart 3: JupyterHub 4, KubeSpawner 6, OAuthenticator 16, Kubernetes 1.23+, new DNS egress rules",
        "Check `hubs[].values` that configure KubeSpawner or OAuthenticator directly (`hub.config`, "
        "`singleuser.extraEnv`, `singleuser.profileList`: KubeSpawner 6's environment and profile_list "
        "semantics) against the KubeSpawner 6 and OAuthenticator 16 breaking changes. The chart's "
        "NetworkPolicies now allow DNS to kube-system and the metadata server by default "
        "(`*.networkPolicy.egressAllowRules.dnsPorts*`); custom egress rules in `values` may be redundant. User "
        "images need no JupyterHub 4 upgrade.",
        _Z2JH_UPGRADING + "upgrade-2-to-3.html", True),
    UpgradeNote(
        JUPYTERHUB, "3.3.0", "2024-03-20",
        "orphaned user pods left by chart 3.0.0-3.0.3 (KubeSpawner 5.0-6.0 bug)",
        "Coming from 3.0.x: after the upgrade, compare `kubectl get pods -n <hub namespace> -l "
        "component=singleuser-server` with the servers the hub's admin page lists, and delete user pods the hub "
        "no longer knows (they run, and cost, indefinitely).",
        _Z2JH_CHANGELOG, False),
    UpgradeNote(
        JUPYTERHUB, "4.0.0", "2024-11-07",
        "chart 4: JupyterHub 5 lets no one log in unless explicitly allowed (allow_all defaults to false)",
        "hubgen already renders `Authenticator.allow_all: false` and `allow_existing_users: false`, so only the "
        "spec's lists admit users: before upgrading, check that `auth.allowedUsers`, "
        "`auth.oauth.allowedOrganizations` (GitHub) or `auth.oauth.groups.allowed` (generic OAuth) name everyone "
        "who should log in (`auth.admins` are always allowed). Users in the hub's database but in none of these "
        "lists can no longer log in. JupyterHub 5 also migrates the hub database: back it up "
        "(hub-db-dir volume) before the upgrade; rolling back needs that backup.",
        _Z2JH_UPGRADING + "upgrade-3-to-4.html", True),
    UpgradeNote(
        JUPYTERHUB, "4.0.0", "2024-11-07",
        "chart 4: KubeSpawner 7's 'safe' slug scheme renames user pods and new users' home volume claims",
        "Existing users keep their home PVC (KubeSpawner 7 remembers the PVC name a server used), but pod names "
        "and the PVC names of new users change for usernames with capitals, dots or other escaped characters. "
        "Check anything in `hubs[].values` or `singleuser.extraEnv` that templates `{username}` or "
        "`{servername}` (volume subPaths, env): use `{escaped_username}` to keep the old value, or set "
        "`hub.config.KubeSpawner.slug_scheme: escape` in `values` to keep KubeSpawner 6 names everywhere.",
        "https://jupyterhub-kubespawner.readthedocs.io/en/latest/templates.html"
        "#templates-upgrading-from-less-than-7",
        True),
    UpgradeNote(
        JUPYTERHUB, "4.0.0", "2024-11-07",
        "chart 4: OAuthenticator 17 (groups need manage_groups) and Kubernetes 1.28+",
        "hubgen renders `manage_groups: true` with `auth.oauth.groups`, so OAuth group settings carry over; check "
        "`hubs[].values` that set `allowed_groups`/`admin_groups` or `claim_groups_key` by hand. The chart "
        "requires Kubernetes 1.28 or newer: upgrade `cluster.kubernetesVersion` first if it is older.",
        "https://oauthenticator.readthedocs.io/en/stable/reference/changelog.html", True),
    UpgradeNote(
        JUPYTERHUB, "4.3.0", "2025-10-07",
        "chart 4.3: a hub.config section whose name does not start with a capital letter stops the hub",
        "The hub now exits at start (FATAL: Invalid hub.config section name) on a misplaced key such as "
        "`hub.config.loadRoles`: check `hub.config` in `hubs[].values`; every key there must be a configurable "
        "class name (JupyterHub, KubeSpawner, ...). Move other settings to their chart value (`hub.loadRoles`).",
        _Z2JH_CHANGELOG, True),
    # ------------------------------------------------------------------ Kubernetes (EKS)
    _eks("1.29", "flowcontrol.apiserver.k8s.io/v1beta2 (FlowSchema, PriorityLevelConfiguration) removed",
         "hubgen renders none of these; manifests or Helm values you add outside hubgen that use v1beta2 must move "
         "to flowcontrol.apiserver.k8s.io/v1 before `cluster.kubernetesVersion` is raised.", _K8S_REMOVALS, True),
    _eks("1.30", "new managed node groups default to AL2023; the gp2 StorageClass is no longer the default",
         "No spec change for hubgen environments: user node groups set their AMI type and the platform renders "
         "its own default StorageClass (`cluster.storage.classes`, exactly one `default: true`). Claims outside "
         "hubgen that relied on gp2 being the default must name a class.", _EKS_EXTENDED, False),
    _eks("1.31", "kubelet flag --keep-terminated-pod-volumes removed",
         "Only for a node group that pins a custom AMI (`cluster.nodeGroups[].imageId`) whose bootstrap passes "
         "the flag: remove it from the AMI before raising `cluster.kubernetesVersion`.", _EKS_EXTENDED, False),
    _eks("1.32", "last EKS version with Amazon Linux 2 AMIs; flowcontrol v1beta3 removed; anonymous API access "
         "limited to health checks",
         "Move any node group off AL2 now: a `cluster.nodeGroups[].imageId` that pins an AL2 AMI must become an "
         "AL2023 AMI (or be removed to use AWS's AL2023 AMI) before 1.33. FlowSchema/PriorityLevelConfiguration "
         "objects must use flowcontrol.apiserver.k8s.io/v1.", _EKS_EXTENDED, True),
    _eks("1.33", "no EKS-optimized Amazon Linux 2 AMI",
         "A node group with `cluster.nodeGroups[].imageId` pinned to an AL2 AMI cannot move to 1.33: set it to an "
         "AL2023 AMI "
         "for the new version or remove it (hubgen then uses AWS's AL2023 AMI from SSM).", _EKS_STANDARD, True),
    _eks("1.34", "containerd 2.1 on the EKS AMIs; AppArmor deprecated; VolumeAttributesClass GA",
         "Nodes roll to containerd 2.1 when `cluster.kubernetesVersion` changes (AMI from SSM) or when you move "
         "`imageId`/`releaseVersion`; check images that depend on containerd 1.x behaviour. The EBS CSI add-on "
         "must be 1.50 or later for volume modification.", _EKS_STANDARD, False),
    _eks("1.35", "kubelet refuses to start on cgroup v1 nodes; last version supporting containerd 1.x",
         "AL2023 (hubgen's default AMIs) uses cgroup v2 and needs nothing. A node group whose "
         "`cluster.nodeGroups[].imageId` pins an AMI configured for cgroup v1 must move to a cgroup v2 AMI first, or its nodes never join.",
         _EKS_STANDARD, True),
)

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_MINOR = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


def semver_key(version: str) -> tuple | None:
    """A sort key for a semantic version (pre-releases before their release, per SemVer 2.0's precedence);
    None when ``version`` is not one."""
    m = _SEMVER.match(version.strip())
    if not m:
        return None
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "").precedence()


def minor_key(version: str) -> tuple[int, int] | None:
    """A sort key for a Kubernetes minor version ("1.34", a patch is ignored); None when it is not one."""
    m = _MINOR.match(version.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def version_key(component: str, version: str) -> tuple | None:
    """The order :func:`crossed` compares ``component``'s versions in."""
    return minor_key(version) if component == KUBERNETES else semver_key(version)


def crossed(component: str, old: str, new: str) -> list[UpgradeNote]:
    """The notes of ``component`` an upgrade from ``old`` to ``new`` crosses: ``old < version <= new``, oldest
    first (table order within a version). A downgrade, no change or a version that does not parse crosses
    nothing (the spec's schema already refuses such versions; the plan must still not fail on one)."""
    lo, hi = version_key(component, old), version_key(component, new)
    if lo is None or hi is None or not lo < hi:
        return []
    hits = [n for n in NOTES if n.component == component and lo < version_key(component, n.version) <= hi]
    return sorted(hits, key=lambda n: version_key(component, n.version))
