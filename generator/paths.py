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
#: Per-repository scratch space (locks, caches, render staging); never committed.
STATE_DIR = ".hubgen"

#: Folders of an environment that hubgen owns entirely (apart from FOREIGN_SUBDIRS).
GENERATED_DIRS = ("cloudformation", "cluster", "hubs")
#: Sub-folders inside generated folders written by other tools (flux bootstrap).
FOREIGN_SUBDIRS = ("cluster/flux-system",)
SECRETS_DIR = "secrets"  # pragma: allowlist secret

ENV_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


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
    def hubs_dir(self) -> str:
        return f"{self.dir}/hubs"

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
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def cache(self) -> Path:
        return Path(os.environ.get("HUBGEN_CACHE_DIR") or (self.state / "cache"))

    def env(self, name: str) -> EnvPaths:
        return EnvPaths(name)

    def _env_folders(self) -> list[os.DirEntry]:
        try:
            with os.scandir(self.environments) as it:
                return [e for e in it if e.is_dir()]
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
