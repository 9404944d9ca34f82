"""Render plan: validated environments -> rendered files -> changes against the disk.

Used by `hubgen render` (apply the changes) and `hubgen render --check`
(report them as drift). Validation runs first; if any requested environment
has errors, nothing is rendered or written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import yaml

from generator import codes
from generator.artifacts import RenderedFile
from generator.checks.secrets import find_secrets
from generator.paths import RepoPaths
from generator.problems import Location, Problem, has_errors
from generator.render import render_environment
from generator.render.common import split_header
from generator.validate.environments import Validation, check_env_names, validate
from generator.writer import EnvChange, plan_environment

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    """HG303: a plaintext secret in any generated file (a bug or a leak through an unchecked door)."""
    out = []
    for f in files:
        text = f.content.decode("utf-8")
        try:
            docs = [json.loads(text)] if f.path.endswith(".json") else list(
                yaml.load_all(split_header(text)[1], Loader=_YAML_LOADER))
        except (ValueError, yaml.YAMLError) as e:  # pragma: no cover - renderer bug
            raise AssertionError(f"hubgen rendered unparseable {f.path}: {e}") from e
        for doc in docs:
            for path, reason in find_secrets(doc):
                out.append(codes.HG303.problem(f"{'/'.join(map(str, path))}: {reason}", Location(f.path, 1, 1),
                                               environment=f.environment))
    return out


def plan(repo: RepoPaths, names: list[str] | None = None) -> RenderPlan:
    selected = check_env_names(repo, names)
    validation = validate(repo, selected)
    result = RenderPlan(validation, problems=list(validation.problems))
    if not result.ok:
        return result
    for name, env_result in validation.environments.items():
        files = render_environment(env_result.context.model)
        result.files[name] = files
        result.problems.extend(scan_rendered(files))
        result.changes.append(plan_environment(repo, name, files))
    if not names:
        # Generated files of environments whose spec is gone are stale.
        for orphan in sorted(set(repo.env_dirs_with_generated_files()) - set(selected)):
            result.changes.append(plan_environment(repo, orphan, []))
    return result
