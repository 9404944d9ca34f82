"""Drift at the head of a plan: environments whose spec renders to something other than their generated files.

The plan itself reads the committed generated files on purpose (:mod:`generator.plan.compute`): they are what
CI deploys and what Flux applies. A spec that was edited but not rendered is therefore invisible to it -- the
plan would say "no deployable change" while the spec says otherwise. So every environment the plan covers is
also rendered at the head side and compared with the generated files there, exactly as ``hubgen render
--check`` does (:func:`generator.generate.plan` + :func:`generator.writer.drift_problems`, problems HG401-HG407):

* head = the working tree: the repository on disk (under the shared repository lock);
* head = a git revision: the revision's ``environments/`` and ``manifests/`` are written into a scratch folder
  (git blobs as regular files: nothing in them is followed or executed) and rendered there, so the check sees
  that revision's specs and generated files and nothing of the working tree.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.paths import RepoPaths
from generator.problems import Problem, Severity
from generator.validate.environments import UsageError


@dataclass
class Drift:
    """Per environment: the render --check errors at the head side (drift, or a spec that cannot be rendered)."""

    problems: dict[str, list[Problem]] = field(default_factory=dict)
    #: Environments whose spec has errors, so their generated files could not be checked.
    invalid: set[str] = field(default_factory=set)

    @property
    def stale(self) -> list[str]:
        return sorted(e for e, ps in self.problems.items() if ps and e not in self.invalid)


class _ScratchRepo(RepoPaths):
    """A repository materialised from a git revision: its validation index stays in the scratch folder."""

    @property
    def repo_cache(self) -> Path:  # type: ignore[override]
        return self.root.parent / "cache"


def check(repo: RepoPaths, names: list[str]) -> Drift:
    """render --check for ``names`` in ``repo`` (only error-severity problems are kept)."""
    from generator.generate import plan as render_plan
    from generator.writer import WriteError, drift_problems, repo_lock

    out = Drift()
    names = [n for n in names if n in set(repo.env_names())]
    if not names:
        return out
    try:
        with repo_lock(repo, shared=True, wait_message=False):
            rendered = render_plan(repo, names)
    except (UsageError, WriteError):  # pragma: no cover - names come from the repository itself
        return out
    if not rendered.ok:
        for p in rendered.problems:
            if p.severity is Severity.ERROR and p.environment in names:
                out.problems.setdefault(p.environment, []).append(p)
                out.invalid.add(p.environment)
        return out
    for change in rendered.changes:
        env = change.environment
        errors = [replace(p, hint=p.hint.replace("<env>", env)) for p in drift_problems(change)
                  if p.severity is Severity.ERROR]
        if errors:
            out.problems[env] = errors
    return out


def check_snapshot(snap, names: list[str]) -> Drift:
    """render --check for ``names`` as they are in a git snapshot (:class:`generator.plan.git.GitSnapshot`)."""
    from generator.safefs import Refused, check_relpath

    with tempfile.TemporaryDirectory(prefix="hubgen-plan-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        for path in sorted(snap.paths()):
            try:
                parts = check_relpath(path)
            except Refused:
                continue  # a path git should never have stored (.., absolute): nothing to check there
            data = snap.read(path)
            if data is None:
                continue
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return check(_ScratchRepo(root), names)
