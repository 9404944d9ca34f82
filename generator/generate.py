"""Render plan: validated environments -> rendered files -> changes against the disk.

Used by `hubgen render` (apply the changes) and `hubgen render --check`
(report them as drift). Validation runs first; if any requested environment
has errors, nothing is rendered or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from generator import codes
from generator.artifacts import RenderedFile
from generator.output import progress
from generator.parallel import map_in_chunks
from generator.paths import RepoPaths
from generator.problems import Location, Problem, has_errors
from generator.render import render_environment
from generator.validate.environments import Validation, check_env_names, validate
from generator.writer import EnvChange, plan_environment


@dataclass
class RenderPlan:
    validation: Validation
    files: dict[str, list[RenderedFile]] = field(default_factory=dict)
    changes: list[EnvChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # validation + artifact problems

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


def scan_rendered(files: list[RenderedFile]) -> list[Problem]:
    """HG303: a plaintext secret in any generated file (a bug or a leak through an unchecked door),
    located at the offending value (JSON files are parsed as the YAML they also are)."""
    from generator.secrets.scan import scan_text

    out = []
    for f in files:
        try:
            found = scan_text(f.content.decode("utf-8"))
        except (ValueError, yaml.YAMLError) as e:  # pragma: no cover - renderer bug
            raise AssertionError(f"hubgen rendered unparseable {f.path}: {e}") from e
        for path, reason, line, col in found:
            out.append(codes.HG303.problem(f"{'/'.join(map(str, path))}: {reason}", Location(f.path, line, col),
                                           environment=f.environment))
    return out


def render_in(repo: RepoPaths, name: str, model) -> list[RenderedFile]:
    """The files environment ``name`` of ``repo`` renders to: its spec's model, and whether its extra/ folder
    holds manifests (then the entry point applies them)."""
    return render_environment(model, extra_manifests=bool(repo.extra_manifests(name)))


#: (repository, environment -> model, compare) while :func:`render_all` renders; forked workers inherit it.
_WORK: tuple[RepoPaths, dict, bool] | None = None


def _render_one(name: str) -> tuple[list[RenderedFile], list[Problem], EnvChange | None]:
    assert _WORK is not None
    repo, models, compare = _WORK
    files = render_in(repo, name, models[name])
    if not compare:
        return files, [], None
    return files, scan_rendered(files), plan_environment(repo, name, files)


def render_all(repo: RepoPaths, models: dict, *, compare: bool = True,
               on_done=None) -> list[tuple[list[RenderedFile], list[Problem], EnvChange | None]]:
    """(files, HG303 problems, change against the disk) of each environment of ``models`` (name -> model), in
    that order, on forked workers for many environments. ``compare=False``: the files only (no scan, no disk)."""
    global _WORK
    _WORK = (repo, models, compare)
    try:
        return map_in_chunks(_render_one, list(models), on_done=on_done)
    finally:
        _WORK = None


def plan(repo: RepoPaths, names: list[str] | None = None) -> RenderPlan:
    selected = check_env_names(repo, names)
    validation = validate(repo, selected, files=False)  # secret files: `hubgen validate`'s job
    result = RenderPlan(validation, problems=list(validation.problems))
    if not result.ok:
        return result
    task = progress.task("render", len(validation.environments))
    rendered = render_all(repo, {name: r.context.model for name, r in validation.environments.items()},
                          on_done=task.advance)
    task.done()
    for name, (files, problems, change) in zip(validation.environments, rendered):
        result.files[name] = files
        result.problems.extend(problems)
        result.changes.append(change)
    if not names:
        # Generated files of environments whose spec is gone are stale.
        for orphan in sorted(set(repo.env_dirs_with_generated_files()) - set(selected)):
            result.changes.append(plan_environment(repo, orphan, []))
    return result
