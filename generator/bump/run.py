"""`hubgen bump`, start to end: find newer versions, rewrite the specs, render, check.

1. **Select** the environments (named, else all; ``tier`` filters by the spec's ``tier``) and validate them: an
   environment whose spec does not validate today is reported as it is and not bumped (what it pins is unknown).
2. **Find** (:mod:`generator.bump.sources`) a newer version for each pin of the selected kinds, capped at what the
   environments of the ``follow`` tier pin now. Every source is read before anything is written: an index that
   cannot be read, or an unusable tag list, stops the run (:class:`SourceError`, exit 2, nothing written).
3. **Rewrite** (:mod:`generator.bump.rewrite`) each spec's text; the rewrite checks itself (HG803 otherwise).
4. **Check**: with ``check``, in memory (the candidate spec validated next to the others, rendered, nothing
   written). Otherwise, under the repository lock: the specs are written atomically through
   :class:`generator.safefs.Confined` (confined to exactly those spec files, refused if one changed since it was
   read), then each bumped environment is rendered and its generated files written exactly as `hubgen render`
   does (:func:`generator.generate.plan`, :func:`generator.writer.apply_all`). Then lint's values engine
   (:class:`generator.engines.chart_values.ChartValuesEngine`) checks every hub's values against the schema of
   its (new) chart version, and the chart's ``kubeVersion`` against the (new) cluster version (HG508).
   A bumped environment that fails its checks is still written: the pull request shows what to fix.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Sequence

from generator.bump import KINDS
from generator.bump.rewrite import RewriteError, rewrite
from generator.bump.sources import Bump, Finder, Held, Pin, SourceError, TagLists, caps, pins, read_tag_lists
from generator.paths import RepoPaths
from generator.problems import Location, Problem, has_errors


@dataclass
class EnvBump:
    """One selected environment: what is bumped and held, and what its checks found."""

    environment: str
    tier: str
    spec: str  # repository-relative path
    bumps: list[Bump] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    #: Problems of the environment: why it could not be bumped, or what the checks of the bumped one found.
    problems: list[Problem] = field(default_factory=list)
    old: bytes | None = None
    new: bytes | None = None
    #: The checks ran on the bumped environment (validate, render, chart values).
    checked: bool = False
    #: Where each bumped pin is in the spec as it was (its nearest written ancestor for an inserted one).
    locations: dict[tuple, Location] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)


@dataclass
class BumpRun:
    environments: list[EnvBump]
    kinds: tuple[str, ...]
    check: bool
    tier: str | None = None
    follow: str | None = None
    #: Problems that stopped the run before anything was written (HG801, HG802): exit 2.
    fatal: list[Problem] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[EnvBump]:
        return [e for e in self.environments if e.changed]

    @property
    def problems(self) -> list[Problem]:
        return [*self.fatal, *(p for e in self.environments for p in e.problems)]


def run(repo: RepoPaths, names: Sequence[str] | None = None, *, tier: str | None = None,
        kinds: Sequence[str] = KINDS, follow: str | None = None, image_tags: Sequence[Path] = (),
        check: bool = False, today: date | None = None) -> BumpRun:
    """Bump the environments (see the module docstring). Raises UsageError (unknown environments) and
    generator.writer.WriteError (a spec could not be written; nothing was)."""
    from generator.platform import eks_versions
    from generator.validate.environments import check_env_names, validate
    from generator.writer import repo_lock

    kinds = tuple(k for k in KINDS if k in kinds)
    selected = check_env_names(repo, list(names) if names else None)
    result = BumpRun([], kinds, check, tier, follow)
    try:
        tag_lists = read_tag_lists(image_tags) if "images" in kinds and image_tags else TagLists()
    except SourceError as e:
        result.fatal.append(e.problem)
        return result
    with repo_lock(repo, shared=True):
        validation = validate(repo, None if follow else selected, files=False)
    followed: list[Pin] = []
    if follow:
        for name, r in validation.environments.items():
            if r.context is not None and r.context.model.tier == follow:
                followed += [p for p in pins(r.context.model, r.loaded.data) if p.kind in kinds]
    finder = Finder(today=today or eks_versions.today(), tag_lists=tag_lists,
                    follow=(follow, caps(followed)) if follow else None)
    try:
        for name in selected:
            env = _find(repo, name, validation.environments[name], finder, kinds, tier)
            if env is not None:
                result.environments.append(env)
    except SourceError as e:
        result.fatal.append(e.problem)
        for env in result.environments:
            env.new = None
        return result
    for env in result.environments:
        if env.bumps:
            _rewrite(repo, env)
    if check:
        _check_in_memory(repo, result)
    else:
        with repo_lock(repo):
            result.written = _write(repo, result)
            _render_and_check(repo, result)
    return result


def _find(repo: RepoPaths, name: str, validated, finder: Finder, kinds: tuple[str, ...],
          tier: str | None) -> EnvBump | None:
    """The environment's bumps and held versions; None when ``tier`` leaves it out."""
    spec = repo.env(name).spec
    data = validated.loaded.data if validated.loaded is not None else None
    env_tier = str(data.get("tier", "")) if isinstance(data, dict) else ""
    if tier is not None and env_tier != tier:
        return None
    env = EnvBump(name, env_tier, spec)
    if not validated.ok:
        env.problems = list(validated.problems)
        return env
    for pin in pins(validated.context.model, data):
        if pin.kind not in kinds:
            continue
        found = finder.find(pin)
        if isinstance(found, Bump):
            env.bumps.append(found)
            env.locations[pin.path] = validated.context.loc(pin.path)
        elif isinstance(found, Held):
            env.held.append(found)
    return env


def _rewrite(repo: RepoPaths, env: EnvBump) -> None:
    """``env.new``: the spec with the bumps written in (BOM and line ends kept), or an HG803 problem."""
    from generator.safefs import Refused, read_file

    try:
        data = read_file(repo.root, env.spec)
    except (Refused, OSError) as e:
        env.problems.append(_unreadable(env, str(e)))
        return
    if data is None:
        env.problems.append(_unreadable(env, "it does not exist"))
        return
    env.old = data
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        text = rewrite(data[len(bom):].decode("utf-8"), env.spec, env.bumps, env.environment)
    except RewriteError as e:
        env.problems.append(e.problem)
        return
    except UnicodeDecodeError as e:  # validated a moment ago: changed under us
        env.problems.append(_unreadable(env, f"it is not UTF-8 ({e.reason})"))
        return
    env.new = bom + text.encode("utf-8")


def _unreadable(env: EnvBump, why: str) -> Problem:
    from generator import codes

    return codes.HG803.problem(f"hubgen bump cannot read {env.spec}: {why}; nothing was written",
                               Location(env.spec), environment=env.environment)


def _write(repo: RepoPaths, result: BumpRun) -> list[str]:
    """Write every rewritten spec (all staged, then renamed; each atomically), confined to exactly those files."""
    from generator.writer import write_specs

    return write_specs(repo, [(e.spec, e.old, e.new) for e in result.changed if e.new is not None],
                       "hubgen bump")


def _render_and_check(repo: RepoPaths, result: BumpRun) -> None:
    """Render each written environment as `hubgen render` does (its generated files written when it validates),
    then check the chart values."""
    from generator.generate import plan
    from generator.lint import artifacts
    from generator.writer import apply_all

    rendered = []
    for env in result.changed:
        planned = plan(repo, [env.environment])
        env.checked = True
        env.problems.extend(planned.problems)
        if not planned.ok:
            continue
        apply_all(repo, planned.changes)
        context = planned.validation.environments[env.environment].context
        rendered.append(artifacts(repo, context, planned.files[env.environment]))
    _check_values(repo, result, rendered)


def _check_in_memory(repo: RepoPaths, result: BumpRun) -> None:
    """`--check`: each rewritten spec validated as a candidate next to the others and rendered in memory."""
    from generator.generate import render_in, scan_rendered
    from generator.lint import artifacts
    from generator.validate.environments import validate_candidate

    rendered = []
    for env in result.changed:
        assert env.new is not None
        text = env.new.decode("utf-8").lstrip("\ufeff")
        validated = validate_candidate(repo, env.environment, text).environments[env.environment]
        env.checked = True
        env.problems.extend(validated.problems)
        if not validated.ok:
            continue
        files = render_in(repo, env.environment, validated.context.model)
        env.problems.extend(scan_rendered(files))
        rendered.append(artifacts(repo, validated.context, files))
    _check_values(repo, result, rendered)


def _check_values(repo: RepoPaths, result: BumpRun, rendered: list) -> None:
    """Lint's values engine over the rendered environments (HG503, HG504, HG507, HG508), problems to each."""
    from generator.engines.base import LintInputs
    from generator.engines.cache import ResultCache
    from generator.engines.chart_values import offline_from_env
    from generator.lint import run_engine

    if not rendered:
        return
    inputs = LintInputs(repo, {}, rendered, ResultCache(repo.cache), offline=offline_from_env())
    by_name = {e.environment: e for e in result.environments}
    for p in run_engine("values", inputs).problems:
        target = by_name.get(p.environment)
        if target is not None:
            target.problems.append(p)
