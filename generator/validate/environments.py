"""The validation pipeline: load (with positions) -> schema -> model -> semantic checks.

:func:`validate` runs it for the requested environments. Repository-wide checks
(stack-name uniqueness) always see every environment, but only problems
touching the requested ones are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import checks, codes
from generator.checks import EnvContext
from generator.loader import Loaded, load_yaml_file
from generator.model import build
from generator.paths import ENV_NAME_RE, RepoPaths
from generator.problems import Location, Problem, has_errors
from generator.validate.schema import errors_to_problems


class UsageError(Exception):
    """The user asked for something that cannot be (exit code 2)."""


@dataclass
class EnvResult:
    folder: str
    loaded: Loaded | None = None
    context: EnvContext | None = None  # set when loading and schema passed (model built)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Loaded, schema-valid and free of semantic errors: safe to render."""
        return self.context is not None and not has_errors(self.problems)


@dataclass
class Validation:
    environments: dict[str, EnvResult]
    repository_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        out = list(self.repository_problems)
        for r in self.environments.values():
            out.extend(r.problems)
        return out


def check_env_names(repo: RepoPaths, names: list[str] | None) -> list[str]:
    """The environments to work on; raises UsageError for unknown or malformed names."""
    existing = repo.env_names()
    if not names:
        return existing
    out = []
    for n in names:
        if "/" in n or "\\" in n or n in (".", "..") or not ENV_NAME_RE.match(n):
            raise UsageError(f"'{n}' is not a valid environment name (a DNS-1123 label, no path separators)")
        if n not in existing:
            hint = f"; known: {', '.join(existing)}" if existing else ""
            raise UsageError(f"no environment '{n}' (expected environments/{n}/environment.yaml){hint}")
        if n not in out:
            out.append(n)
    return out


def _spec_is_safe(repo: RepoPaths, folder: str) -> Problem | None:
    env = repo.env(folder)
    path = repo.abs(env.spec)
    root = repo.root.resolve()
    try:
        resolved = path.resolve()
    except OSError as e:  # pragma: no cover - symlink loops on exotic filesystems
        return codes.HG009.problem(f"cannot resolve {env.spec}: {e}", Location(env.spec), environment=folder)
    if root not in resolved.parents:
        return codes.HG009.problem(f"{env.spec} is a symbolic link leading outside the repository",
                                   Location(env.spec), environment=folder)
    return None


def validate_one(repo: RepoPaths, folder: str) -> EnvResult:
    """Load and schema-check one environment and build its model (no cross-environment checks)."""
    env = repo.env(folder)
    result = EnvResult(folder)
    unsafe = _spec_is_safe(repo, folder)
    if unsafe:
        result.problems.append(unsafe)
        return result
    loaded = load_yaml_file(repo.abs(env.spec), env.spec)
    result.loaded = loaded
    if loaded.problems:
        result.problems.extend(_with_env(loaded.problems, folder))
        return result
    schema_problems = errors_to_problems(loaded, env.spec, folder)
    if schema_problems:
        result.problems.extend(schema_problems)
        return result
    ctx = EnvContext(folder, env, loaded, build(loaded.data))
    result.context = ctx
    checks.all_checks()
    for check in checks.ENVIRONMENT_CHECKS:
        result.problems.extend(check.check(ctx))
    return result


def _with_env(problems: list[Problem], folder: str) -> list[Problem]:
    from dataclasses import replace

    return [p if p.environment else replace(p, environment=folder) for p in problems]


def validate(repo: RepoPaths, names: list[str] | None = None) -> Validation:
    selected = check_env_names(repo, names)
    everything = repo.env_names()
    results = {n: validate_one(repo, n) for n in everything}
    validation = Validation({n: results[n] for n in selected})
    contexts = [r.context for r in results.values() if r.context is not None]
    checks.all_checks()
    for check in checks.REPOSITORY_CHECKS:
        for p in check.check(contexts):
            if p.environment in validation.environments:
                validation.environments[p.environment].problems.append(p)
    return validation
