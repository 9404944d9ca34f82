"""The validation pipeline: load (with positions) -> schema -> model -> semantic checks.

:func:`validate` runs it for the requested environments. Repository-wide checks
(stack-name uniqueness) always see every environment, but only problems
touching the requested ones are reported.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass, field

from generator import checks, codes
from generator.checks import EnvContext
from generator.loader import MAX_SPEC_BYTES, Loaded, load_yaml_file, load_yaml_text
from generator.migrate import version_problem
from generator.model import build
from generator.paths import RepoPaths, env_name_problem, suggest_env_name
from generator.output import progress
from generator.parallel import map_in_chunks
from generator.problems import Location, Problem, has_errors
from generator.validate.index import Index, digest
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
    """The environments to work on; raises UsageError for unknown or malformed names.

    An existing folder is always accepted, even when its name breaks the name rule: validating it
    reports that (HG225), exactly as validating every environment does, so `validate`, `render` and
    the pre-commit hooks agree on it. Only names that match no folder are refused here.
    """
    existing = repo.env_names()
    if not names:
        return existing
    out = []
    for n in names:
        if n not in existing:
            problem = env_name_problem(n)
            if problem:
                raise UsageError(f"'{n}' is not a valid environment name: {problem}")
            hint = f"; known: {', '.join(existing)}" if existing else ""
            raise UsageError(f"no environment '{n}' (expected environments/{n}/environment.yaml){hint}")
        if n not in out:
            out.append(n)
    return out


def _spec_is_safe(repo: RepoPaths, folder: str) -> Problem | None:
    env = repo.env(folder)
    path = repo.abs(env.spec)
    if not _any_link(str(repo.environments), str(path.parent), str(path)):
        return None  # no link on the way: inside the repository (the common case, two lstat calls)
    root = repo.root.resolve()
    try:
        resolved = path.resolve()
    except OSError as e:  # pragma: no cover - symlink loops on exotic filesystems
        return codes.HG009.problem(f"cannot resolve {env.spec}: {e}", Location(env.spec), environment=folder)
    if root not in resolved.parents:
        return codes.HG009.problem(f"{env.spec} is a symbolic link leading outside the repository",
                                   Location(env.spec), environment=folder)
    return None


def _any_link(*paths: str) -> bool:
    for p in paths:
        try:
            if stat.S_ISLNK(os.lstat(p).st_mode):
                return True
        except OSError:
            return True  # let the full check (and the loader) say what is wrong
    return False


def validate_one(repo: RepoPaths, folder: str, text: bytes | None = None, *, files: bool = False) -> EnvResult:
    """Load and schema-check one environment and build its model (no cross-environment checks).

    ``text``: check these bytes as if they were the folder's spec (nothing is read from disk).
    ``files``: also check the files beside the spec (sops-encrypted secrets/, HG304-HG307).
    """
    env = repo.env(folder)
    result = EnvResult(folder)
    bad_name = _folder_name_problem(env.spec, folder)
    if bad_name:
        result.problems.append(bad_name)
        return result
    if text is None:
        unsafe = _spec_is_safe(repo, folder)
        if unsafe:
            result.problems.append(unsafe)
            return result
    loaded = load_yaml_file(repo.abs(env.spec), env.spec) if text is None else load_yaml_text(text, env.spec)
    result.loaded = loaded
    if loaded.problems:
        result.problems.extend(_with_env(loaded.problems, folder))
        return result
    # An older (or newer) spec fails the schema in many places that all mean one thing: one problem instead,
    # naming the command that upgrades it (HG011, HG012).
    old = version_problem(loaded, env.spec, folder)
    if old is not None:
        result.problems.append(old)
        return result
    schema_problems = errors_to_problems(loaded, env.spec, folder)
    if schema_problems:
        result.problems.extend(schema_problems)
        return result
    ctx = EnvContext(folder, env, loaded, build(loaded.data), root=repo.root if files and text is None else None)
    result.context = ctx
    checks.all_checks()
    for check in checks.ENVIRONMENT_CHECKS:
        result.problems.extend(check.check(ctx))
    return result


def _folder_name_problem(spec: str, folder: str) -> Problem | None:
    """HG225 when the folder's name breaks the environment name rule (:func:`generator.paths.env_name_problem`).

    Nothing else of such an environment is checked: every path, Kubernetes name and stack tag hubgen
    would generate derives from the folder name, so the folder is renamed first.
    """
    problem = env_name_problem(folder)
    if problem is None:
        return None
    suggestion = suggest_env_name(folder)
    hint = (f"Rename the folder to environments/{suggestion}/ and set `name: {suggestion}` in its spec."
            if suggestion else codes.HG225.hint)
    return codes.HG225.problem(f"the folder name {folder!r} is not a valid environment name: {problem}",
                               Location(spec, 1, 1), hint=hint, environment=folder)


def _with_env(problems: list[Problem], folder: str) -> list[Problem]:
    from dataclasses import replace

    return [p if p.environment else replace(p, environment=folder) for p in problems]


def validate(repo: RepoPaths, names: list[str] | None = None, *, files: bool = True) -> Validation:
    """Validate the selected environments (all by default).

    ``files``: also check each selected environment's secret files (HG304-HG307); `render`
    turns it off, since rendering reads only the spec.

    Environments that were not selected are not validated: the repository-wide checks see them
    through the environment index (:mod:`generator.validate.index`), which re-validates only specs
    whose bytes changed since the last run.
    """
    selected = check_env_names(repo, names)
    everything = repo.env_names()
    wanted = set(selected)
    task = progress.task("validate", len(selected))
    ordered = [n for n in everything if n in wanted]
    results = dict(zip(ordered, map_in_chunks(functools.partial(validate_one, repo, files=files), ordered,
                                              on_done=task.advance)))
    task.done()
    index = Index(repo)
    contexts: list[EnvContext] = []  # every environment's, in folder order, for the repository checks
    for n in everything:
        if n in wanted:
            _record(index, repo, n, results[n])
            context = results[n].context
        else:
            context = _indexed_context(repo, n, index)
        if context is not None:
            contexts.append(context)
    index.save()
    return _with_repository_checks(results, selected, contexts)


def _spec_bytes(repo: RepoPaths, folder: str) -> bytes | None:
    """The spec's bytes when it is a safe, regular, readable file within the size limit, else None."""
    path = repo.abs(repo.env(folder).spec)
    if _spec_is_safe(repo, folder) is not None:
        return None
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            data = fh.read(MAX_SPEC_BYTES + 1)
    except (OSError, ValueError):
        return None
    return data if len(data) <= MAX_SPEC_BYTES else None


def _record(index: Index, repo: RepoPaths, folder: str, result: EnvResult) -> None:
    """Remember a fully validated spec in the index (when the bytes read now are the ones validated)."""
    loaded = result.loaded
    if loaded is None or loaded.text is None:
        return
    data = _spec_bytes(repo, folder)
    if data is None or data.decode("utf-8", errors="replace").lstrip("\ufeff") != loaded.text:
        return
    index.put(digest(data), loaded.data if result.context is not None else None)


def _indexed_context(repo: RepoPaths, folder: str, index: Index) -> EnvContext | None:
    """An environment's context for the repository checks: its model rebuilt from the index when its
    spec is unchanged, else validated now (and recorded). None when the spec does not validate, or the
    folder's name is not a valid environment name (HG225)."""
    if env_name_problem(folder) is not None:
        return None
    data = _spec_bytes(repo, folder)
    if data is not None:
        found, spec = index.get(digest(data))
        if found:
            if spec is None:
                return None
            return EnvContext(folder, repo.env(folder), Loaded(spec), build(spec))
    if data is None:  # unreadable, unsafe or too large: validation says why (and returns no context)
        return validate_one(repo, folder).context
    result = validate_one(repo, folder, data)
    index.put(digest(data), result.loaded.data if result.loaded is not None and result.context is not None else None)
    return result.context


def validate_candidate(repo: RepoPaths, name: str, text: str) -> Validation:
    """Validate ``text`` as if it were ``environments/<name>/environment.yaml``, next to the
    repository's other environments (cross-environment checks included), writing nothing.

    Used by `hubgen new` / `hubgen init` before anything is written. The candidate
    is checked last, as the newcomer, so a clash with an existing environment is
    reported on the candidate. Only the candidate's problems are returned.
    """
    index = Index(repo)  # read, never written here: a refused candidate leaves no trace
    contexts = [c for c in (_indexed_context(repo, n, index) for n in repo.env_names() if n != name) if c]
    result = validate_one(repo, name, text.encode("utf-8"))
    if result.context is not None:
        contexts.append(result.context)
    return _with_repository_checks({name: result}, [name], contexts)


def _with_repository_checks(results: dict[str, EnvResult], selected: list[str],
                            contexts: list[EnvContext]) -> Validation:
    validation = Validation({n: results[n] for n in selected})
    checks.all_checks()
    for check in checks.REPOSITORY_CHECKS:
        for p in check.check(contexts):
            if p.environment in validation.environments:
                validation.environments[p.environment].problems.append(p)
    return validation
