"""Where everything lives. Every path hubgen reads or writes is computed here.

All generated paths are relative to the repository root and use forward slashes,
so that they are identical in headers, lock files, plans and problem locations
on every platform.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ENVIRONMENTS_DIR = "environments"
SPEC_FILENAME = "environment.yaml"
SCHEMA_RELPATH = "schema/environment.schema.json"
TEMPLATES_DIR = "manifests/cloudformation"
CLUSTER_TEMPLATE = f"{TEMPLATES_DIR}/cluster.yaml"
PIPELINE_TEMPLATE = f"{TEMPLATES_DIR}/pipeline.yaml"

#: Folders of an environment hubgen generates (apart from FOREIGN_SUBDIRS). hubgen removes only files
#: there that it wrote (see generator/writer.py); anything else is kept and reported (HG408).
GENERATED_DIRS = ("cloudformation", "cluster", "platform", "hubs")
#: Sub-folders inside generated folders written by other tools (flux bootstrap).
FOREIGN_SUBDIRS = ("cluster/flux-system",)
SECRETS_DIR = "secrets"  # pragma: allowlist secret
#: The team's own manifests of an environment: never written by hubgen, applied by Flux
#: (the ``<env>-extra`` Kustomization) and checked by `hubgen validate` and `hubgen lint`.
EXTRA_DIR = "extra"
MANIFEST_SUFFIXES = (".yaml", ".yml")
#: Generated files whose format cannot carry hubgen's header (JSON): hubgen recognises them by name.
HEADERLESS_OUTPUTS = ("cloudformation/cluster.template-configuration.json", "cloudformation/cluster.parameters.json")

# --- the environment name rule: the one definition the schema (`name`), every command, folder discovery
# and the pre-commit hooks use (tests/core/test_names.py holds them to it) ----------------------------------
#: The default `cluster.stackName` of `hubgen new` is DEFAULT_STACK_PREFIX + <env>; the stack name (also the
#: EKS cluster name and the prefix of the template's IAM role names) has at most STACK_NAME_MAX_LENGTH
#: characters (the schema's `cluster.stackName` and the templates' ClusterStackName).
DEFAULT_STACK_PREFIX = "jupyterhub-"
STACK_NAME_MAX_LENGTH = 55
#: Kubernetes label values have at most 63 characters. The environment name is one (`hubgen.dev/environment`),
#: and so are the names of its Flux Kustomizations `<env>-secrets` and `<env>-hubs` (kustomize-controller
#: labels everything it applies with `kustomize.toolkit.fluxcd.io/name: <Kustomization>`); so are
#: `<env>-platform` and `<env>-extra`.
LABEL_VALUE_MAX_LENGTH = 63
LONGEST_KUSTOMIZATION_SUFFIX = "-platform"
#: 44: the longest name for which every name built from it is still valid.
ENV_NAME_MAX_LENGTH = min(STACK_NAME_MAX_LENGTH - len(DEFAULT_STACK_PREFIX),
                          LABEL_VALUE_MAX_LENGTH - len(LONGEST_KUSTOMIZATION_SUFFIX))
#: A DNS-1123 label (lower-case letters, digits, '-'; a letter or digit at both ends): the schema's `name`
#: pattern, with maxLength ENV_NAME_MAX_LENGTH.
ENV_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: The same rule in one expression (length included; ``\Z``: no trailing newline slips through ``$``).
ENV_NAME_RE = re.compile(rf"^[a-z0-9]([-a-z0-9]{{0,{ENV_NAME_MAX_LENGTH - 2}}}[a-z0-9])?\Z")
_ENV_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def env_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid environment name, in words; None when it is one."""
    if not name:
        return "it is empty"
    if len(name) > ENV_NAME_MAX_LENGTH:
        return f"it has {len(name)} characters, at most {ENV_NAME_MAX_LENGTH} are allowed"
    bad = sorted(set(name) - _ENV_NAME_CHARS)
    if bad:
        listed = ", ".join(repr(c) for c in bad)
        return f"it contains {listed} (only lower-case letters a-z, digits and '-' are allowed)"
    if name[0] == "-" or name[-1] == "-":
        return "it must start and end with a letter or digit"
    return None


def suggest_env_name(name: str) -> str | None:
    """A valid environment name close to ``name`` (lower-cased, other characters turned into '-',
    shortened to the limit), or None when nothing of it is left."""
    candidate = re.sub(r"[^-a-z0-9]+", "-", name.lower())[:ENV_NAME_MAX_LENGTH].strip("-")
    return candidate or None


def cache_root() -> Path:
    """hubgen's cache folder, outside every repository: ``$HUBGEN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/hubgen``, else ``~/.cache/hubgen`` (as pre-commit and Go keep theirs).

    Entries are keyed by the content they were computed from (see engines/cache.py), so an entry
    can only save time; nothing in a checkout decides where hubgen writes them."""
    env = os.environ.get("HUBGEN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "hubgen"


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``environments/``."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ENVIRONMENTS_DIR).is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class EnvPaths:
    """Paths of one environment, relative to the repository root (POSIX style)."""

    name: str

    @property
    def dir(self) -> str:
        return f"{ENVIRONMENTS_DIR}/{self.name}"

    @property
    def spec(self) -> str:
        return f"{self.dir}/{SPEC_FILENAME}"

    @property
    def secrets_dir(self) -> str:
        return f"{self.dir}/{SECRETS_DIR}"

    @property
    def cloudformation_dir(self) -> str:
        return f"{self.dir}/cloudformation"

    @property
    def cluster_dir(self) -> str:
        return f"{self.dir}/cluster"

    @property
    def platform_dir(self) -> str:
        """What the cluster runs besides the hubs (StorageClasses, cluster-autoscaler, the NVIDIA device
        plugin), applied by the ``<env>-platform`` Flux Kustomization before the hubs."""
        return f"{self.dir}/platform"

    @property
    def hubs_dir(self) -> str:
        return f"{self.dir}/hubs"

    @property
    def extra_dir(self) -> str:
        """The team's own manifests (see EXTRA_DIR)."""
        return f"{self.dir}/{EXTRA_DIR}"

    @property
    def template_configuration(self) -> str:
        """CodePipeline TemplateConfiguration ({"Parameters": {}, "Tags": {}})."""
        return f"{self.cloudformation_dir}/cluster.template-configuration.json"

    @property
    def parameters(self) -> str:
        """AWS CLI / GitHub Actions parameter list ([{"ParameterKey", "ParameterValue"}])."""
        return f"{self.cloudformation_dir}/cluster.parameters.json"

    @property
    def deployment_file(self) -> str:
        """CloudFormation Git sync deployment file."""
        return f"{self.cloudformation_dir}/cluster.deployment.yaml"

    @property
    def aws_auth(self) -> str:
        return f"{self.cluster_dir}/aws-auth.yaml"

    @property
    def flux_entrypoint(self) -> str:
        """Flux Kustomizations that `flux bootstrap --path=<cluster_dir>` applies."""
        return f"{self.cluster_dir}/hubs.yaml"

    @property
    def namespaces(self) -> str:
        """The hubs' Namespaces. They live in cluster/ so the bootstrap Kustomization creates them
        before the <env>-secrets Kustomization puts Secrets into them."""
        return f"{self.cluster_dir}/namespaces.yaml"

    @property
    def notifications(self) -> str:
        """notification-controller Providers and Alerts (spec `notifications`). In cluster/ so the bootstrap
        Kustomization applies them first: they then report on every other Kustomization, also the first
        reconciliation of a new cluster and a Kustomization that never becomes Ready."""
        return f"{self.cluster_dir}/notifications.yaml"

    @property
    def notifications_secret(self) -> str:
        """The sops-encrypted Secrets (namespace flux-system) the notifiers read: tokens and webhook URLs."""
        return f"{self.secrets_dir}/notifications.secret.yaml"

    @property
    def storage_classes(self) -> str:
        return f"{self.platform_dir}/storageclasses.yaml"

    @property
    def cluster_autoscaler(self) -> str:
        """HelmRepository and HelmRelease of cluster-autoscaler."""
        return f"{self.platform_dir}/cluster-autoscaler.yaml"

    @property
    def nvidia_device_plugin(self) -> str:
        """HelmRepository and HelmRelease of the NVIDIA device plugin (environments with GPU node groups)."""
        return f"{self.platform_dir}/nvidia-device-plugin.yaml"

    @property
    def platform_kustomization(self) -> str:
        return f"{self.platform_dir}/kustomization.yaml"

    @property
    def helm_repository(self) -> str:
        return f"{self.hubs_dir}/helmrepository.yaml"

    @property
    def hubs_kustomization(self) -> str:
        return f"{self.hubs_dir}/kustomization.yaml"

    def hub_dir(self, hub: str) -> str:
        return f"{self.hubs_dir}/{hub}"

    def hub_release(self, hub: str) -> str:
        return f"{self.hub_dir(hub)}/helmrelease.yaml"

    def hub_service_account(self, hub: str) -> str:
        return f"{self.hub_dir(hub)}/serviceaccount.yaml"

    def hub_secret(self, hub: str) -> str:
        """The sops-encrypted Secret a person (or `hubgen secrets`) writes for a hub."""
        return f"{self.secrets_dir}/{hub}.secret.yaml"

    def is_headerless_output(self, relpath: str) -> bool:
        return relpath in {f"{self.dir}/{h}" for h in HEADERLESS_OUTPUTS}

    def is_generated_path(self, relpath: str) -> bool:
        """Whether ``relpath`` (repo-relative) lies in a folder hubgen owns for this env."""
        p = PurePosixPath(relpath)
        try:
            rel = p.relative_to(self.dir)
        except ValueError:
            return False
        if not rel.parts or rel.parts[0] not in GENERATED_DIRS:
            return False
        return not any(str(rel) == f or str(rel).startswith(f + "/") for f in FOREIGN_SUBDIRS)


@dataclass(frozen=True)
class RepoPaths:
    root: Path

    def abs(self, relpath: str) -> Path:
        return self.root / relpath

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    @property
    def environments(self) -> Path:
        return self.root / ENVIRONMENTS_DIR

    @property
    def schema(self) -> Path:
        return self.root / SCHEMA_RELPATH

    @property
    def cache(self) -> Path:
        """The cache shared by every repository (content-addressed entries)."""
        return cache_root()

    @property
    def repo_cache(self) -> Path:
        """This repository's own cache entries (the environment index), keyed by its location."""
        import hashlib

        key = hashlib.sha256(os.fsencode(os.path.realpath(self.root))).hexdigest()[:24]
        return cache_root() / "repos" / key

    def is_generated(self, relpath: str) -> bool:
        """Whether ``relpath`` lies in a generated folder of some environment (``environments/<env>/...``)."""
        parts = relpath.split("/")
        return len(parts) >= 4 and parts[0] == ENVIRONMENTS_DIR and EnvPaths(parts[1]).is_generated_path(relpath)

    def env(self, name: str) -> EnvPaths:
        return EnvPaths(name)

    def _env_folders(self) -> list[os.DirEntry]:
        """Folders under environments/ (hidden ones, such as `hubgen new`'s staging folder, left out)."""
        try:
            with os.scandir(self.environments) as it:
                return [e for e in it if e.is_dir() and not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def env_names(self) -> list[str]:
        """Every folder under environments/ that holds a spec (sorted)."""
        return sorted(e.name for e in self._env_folders() if os.path.exists(os.path.join(e.path, SPEC_FILENAME)))

    def env_dirs_with_generated_files(self) -> list[str]:
        """Folders under environments/ holding generated output, with or without a spec."""
        return sorted(e.name for e in self._env_folders()
                      if any(os.path.exists(os.path.join(e.path, g)) for g in GENERATED_DIRS))

    def generated_files_on_disk(self, name: str) -> list[str]:
        """Repo-relative paths of files currently in an environment's generated folders.

        Symbolic links are listed (as files) but never followed: see :meth:`generated_symlinks`.
        """
        return self._scan_generated(name)[0]

    def generated_symlinks(self, name: str) -> list[str]:
        """Generated folders, and folders or files inside them, that are symbolic links."""
        return self._scan_generated(name)[1]

    def extra_manifests(self, name: str) -> list[str]:
        """Repo-relative paths of the manifests (*.yaml, *.yml) in an environment's extra/ folder,
        recursively, links listed but never followed (validate refuses them)."""
        base = self.abs(self.env(name).extra_dir)
        if base.is_symlink() or not base.is_dir():
            return [self.env(name).extra_dir] if base.is_symlink() else []
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for d in list(dirnames):
                if os.path.islink(os.path.join(dirpath, d)):
                    out.append(f"{rel_dir}/{d}")
                    dirnames.remove(d)
            out.extend(f"{rel_dir}/{f}" for f in filenames if f.endswith(MANIFEST_SUFFIXES))
        return sorted(out)

    def _scan_generated(self, name: str) -> tuple[list[str], list[str]]:
        env = self.env(name)
        files: list[str] = []
        links: list[str] = []
        env_abs = self.abs(env.dir)
        for g in GENERATED_DIRS:
            base = env_abs / g
            if base.is_symlink():
                links.append(f"{env.dir}/{g}")
                continue
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                rel_dir = os.path.relpath(dirpath, env_abs).replace(os.sep, "/")
                for d in list(dirnames):
                    rel = f"{env.dir}/{rel_dir}/{d}"
                    if not env.is_generated_path(rel):
                        dirnames.remove(d)
                    elif os.path.islink(os.path.join(dirpath, d)):
                        links.append(rel)
                        dirnames.remove(d)
                for f in filenames:
                    rel = f"{env.dir}/{rel_dir}/{f}"
                    if env.is_generated_path(rel):
                        files.append(rel)
                        if os.path.islink(os.path.join(dirpath, f)):
                            links.append(rel)
        return sorted(files), sorted(links)
