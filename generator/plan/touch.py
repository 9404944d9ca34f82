"""Which environments a set of changed paths touches (plain functions, no git, no I/O).

Used by ``hubgen plan`` (paths from ``git diff``) and by the pre-commit hooks (the file names
pre-commit passes), so both agree on what "this change affects environment X" means:

* ``environments/<env>/...``       -> that environment
* ``manifests/cloudformation/X``   -> a stack template: every environment whose stack uses it
* ``generator/``, ``schema/``, ``pyproject.toml`` -> hubgen itself: every environment
* anything else (docs, workflows, README) -> no environment
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable

from generator.paths import ENVIRONMENTS_DIR, SCHEMA_RELPATH, TEMPLATES_DIR

#: Paths that are hubgen itself: a change here may change what every environment renders to,
#: how it is validated and how it is deployed.
HUBGEN_PREFIXES = ("generator/", "schema/")
HUBGEN_FILES = ("pyproject.toml", SCHEMA_RELPATH)


class Touch(str, enum.Enum):
    ENVIRONMENT = "environment"
    TEMPLATE = "template"
    HUBGEN = "hubgen"
    OTHER = "other"


@dataclass(frozen=True)
class Classified:
    path: str
    touch: Touch
    #: The environment folder for Touch.ENVIRONMENT.
    environment: str = ""


def normalise(path: str) -> str:
    """Repository-relative POSIX form of a path as git or pre-commit print it."""
    p = path.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return str(PurePosixPath(p)) if p else p


def classify(path: str) -> Classified:
    p = normalise(path)
    parts = p.split("/")
    # Any folder counts, whatever its name: a folder whose name breaks the rule is reported by
    # validation (HG225), so a commit that adds one must reach it. Hidden folders are hubgen's staging.
    if len(parts) >= 3 and parts[0] == ENVIRONMENTS_DIR and parts[1] and not parts[1].startswith("."):
        return Classified(p, Touch.ENVIRONMENT, parts[1])
    if p.startswith(TEMPLATES_DIR + "/") and p.endswith((".yaml", ".yml", ".json", ".template")):
        return Classified(p, Touch.TEMPLATE)
    if p in HUBGEN_FILES or p.startswith(HUBGEN_PREFIXES):
        return Classified(p, Touch.HUBGEN)
    return Classified(p, Touch.OTHER)


@dataclass(frozen=True)
class Selection:
    """The environments a set of files touches."""

    environments: tuple[str, ...]
    #: True when a shared file (template, schema, hubgen) changed: every environment is affected.
    everything: bool
    #: The shared paths that made ``everything`` true (for messages).
    shared: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.environments and not self.everything


def select(paths: Iterable[str], *, shared_means_all: bool = True) -> Selection:
    """Environments named by ``paths``; ``everything`` when a template or hubgen itself changed."""
    envs: set[str] = set()
    shared: list[str] = []
    for path in paths:
        c = classify(path)
        if c.touch is Touch.ENVIRONMENT:
            envs.add(c.environment)
        elif c.touch in (Touch.TEMPLATE, Touch.HUBGEN):
            shared.append(c.path)
    return Selection(tuple(sorted(envs)), bool(shared) and shared_means_all, tuple(sorted(set(shared))))
