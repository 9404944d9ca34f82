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


#: (repository, environment -> model) while :func:`plan` renders; forked workers inherit it.
_WORK: tuple[RepoPaths, dict] | None = None


def _render_one(name: str) -> tuple[list[RenderedFile], list[Problem], EnvChange]:
    """Render one environment, scan the result for secrets and compare it with the disk."""
    assert _WORK is not None
    repo, models = _WORK
    files = render_environment(models[name], extra_manifests=bool(repo.extra_manifests(name)))
    return files, scan_rendered(files), plan_environment(repo, name, files)


def plan(repo: RepoPaths, names: list[str] | None = None) -> RenderPlan:
    selected = check_env_names(repo, names)
    validation = validate(repo, selected, files=False)  # secret files: `hubgen validate`'s job
    result = RenderPlan(validation, problems=list(validation.problems))
    if not result.ok:
        return result
    task = progress.task("render", len(validation.environments))
    global _WORK
    _WORK = (repo, {name: r.context.model for name, r in validation.environments.items()})
    try:
        rendered = map_in_chunks(_render_one, list(validation.environments), on_done=task.advance)
    finally:
        _WORK = None
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
