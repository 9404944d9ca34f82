"""Semantic checks: small classes with a stable code, run after the schema passed.

Like cfn-lint rules, each check is one class with one code (see
:mod:`generator.codes` for title, severity, hint and documentation). Checks
receive the typed model for logic and the loaded spec for positions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable

from generator.codes import Code
from generator.loader import Loaded
from generator.model import Environment
from generator.paths import EnvPaths
from generator.problems import Location, Problem


@dataclass(frozen=True)
class EnvContext:
    """One environment that passed loading and schema validation."""

    folder: str
    paths: EnvPaths
    loaded: Loaded
    model: Environment
    #: Repository root when files beside the spec (environments/<env>/secrets/) are checked too;
    #: None for spec-only validation (`render`, candidates not yet on disk).
    root: Path | None = None

    @property
    def spec(self) -> dict[str, Any]:
        return self.loaded.data

    @functools.cached_property
    def extra_files(self) -> list:
        """The team's manifests in environments/<env>/extra/ (:func:`generator.extra.read`), read once for every
        check that looks at them; none for spec-only validation."""
        if self.root is None:
            return []
        from generator import extra
        from generator.paths import RepoPaths

        return extra.read(RepoPaths(self.root), self.folder)

    def loc(self, path: tuple, key: bool = False) -> Location:
        line, col = self.loaded.locate_key(path) if key else self.loaded.locate(path)
        return Location(self.paths.spec, line, col)

    def problem(self, code: Code, message: str, path: tuple, *, key: bool = False, **kw) -> Problem:
        from generator.validate.schema import pointer

        return code.problem(message, self.loc(path, key), environment=self.folder, path=pointer(path), **kw)


class EnvironmentCheck:
    """A check on one environment."""

    code: ClassVar[Code]

    def check(self, env: EnvContext) -> Iterable[Problem]:
        raise NotImplementedError


class RepositoryCheck:
    """A check across all environments of the repository (uniqueness and the like)."""

    code: ClassVar[Code]

    def check(self, envs: list[EnvContext]) -> Iterable[Problem]:
        raise NotImplementedError


ENVIRONMENT_CHECKS: list[EnvironmentCheck] = []
REPOSITORY_CHECKS: list[RepositoryCheck] = []


def register(cls):
    """Class decorator adding a check to the registry."""
    if issubclass(cls, EnvironmentCheck):
        ENVIRONMENT_CHECKS.append(cls())
    elif issubclass(cls, RepositoryCheck):
        REPOSITORY_CHECKS.append(cls())
    else:  # pragma: no cover - programming error
        raise TypeError(cls)
    return cls


def all_checks() -> list:
    # Importing the modules registers their checks.
    from generator.checks import cluster, costs, extra, hubs, notifications, platform, repository, secrets  # noqa: F401

    return [*ENVIRONMENT_CHECKS, *REPOSITORY_CHECKS]
