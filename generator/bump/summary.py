"""What a bump did, for people and for machines: markdown (a pull request's body), text (a terminal), JSON.

For each selected environment: a table of what changed (what, where in the spec, from, to), what ``--follow``
held back, the upgrade notes the change crosses (:func:`generator.platform.upgrade_notes.crossed`: what to do
and where it is documented) and the checks' result with each problem's code and location. The markdown is
deterministic (no times, no hubgen version, no index URLs: those are in the JSON), so a pull request updated by
the next scheduled run changes only when the bump does.
"""

from __future__ import annotations

import html
import json

from generator.bump.run import BumpRun, EnvBump
from generator.bump.sources import Bump, where
from generator.problems import Problem, Severity, sorted_problems

#: Marks the body of a pull request hubgen bump opened.
MARKER = "<!-- hubgen-bump -->"
#: GitHub refuses a pull request body over 65536 characters; stay well below.
MARKDOWN_LIMIT = 60000


def notes(bump: Bump) -> list:
    """The upgrade notes ``bump`` crosses (none for image tags: no table knows images)."""
    from generator.platform.upgrade_notes import crossed

    if bump.pin.kind == "images":
        return []
    return crossed(bump.pin.component, bump.pin.current, bump.new)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False).replace("|", "&#124;").replace("\n", " ")


def _where(bump: Bump) -> str:
    added = "" if bump.pin.present else " (added)"
    return f"`{where(bump.pin.path)}`{added}"


def _check_line(env: EnvBump) -> str:
    errors = sum(p.severity is Severity.ERROR for p in env.problems)
    warnings = len(env.problems) - errors
    if not env.checked:
        return ""
    if errors:
        return f"**Checks: failed** ({_n(errors, 'error')}, {_n(warnings, 'warning')}): validate, render, chart values"
    if warnings:
        return f"**Checks: passed** with {_n(warnings, 'warning')}: validate, render, chart values"
    return "**Checks: passed**: validate, render, chart values"


def _problem_lines(problems: list[Problem]) -> list[str]:
    out = []
    for p in sorted_problems(problems):
        mark = "error" if p.severity is Severity.ERROR else "warning"
        line = f"- {mark} **{p.code}** `{_esc(p.location)}`: {_esc(p.message)}"
        if p.hint:
            line += f"<br>fix: {_esc(p.hint)}"
        out.append(line)
    return out


def _env_markdown(env: EnvBump, follow: str | None) -> list[str]:
    head = f"### `{env.environment}` ({env.tier or 'no tier'}) — `{env.spec}`"
    if not env.bumps and env.problems:
        return [head, "", "**Not bumped**: what the spec pins cannot be read until these are fixed:", "",
                *_problem_lines(env.problems), ""]
    if not env.bumps:
        held = "" if not env.held else f" ({_n(len(env.held), 'newer version')} held back, below)"
        out = [head, "", f"Up to date{held}.", ""]
    else:
        out = [head, "", "| what | where | from | to |", "|---|---|---|---|"]
        for b in env.bumps:
            out.append(f"| {_esc(b.pin.label)} | {_where(b)} | {_esc(b.pin.current)} | **{_esc(b.new)}** |")
        out.append("")
        if env.new is None:
            out += ["**Not written**:", "", *_problem_lines(env.problems), ""]
    if env.held:
        out += [f"Held back by `--follow {follow}` (never newer than what {follow} runs now):", ""]
        for h in env.held:
            runs = f"{follow} runs {_esc(h.cap)}" if h.cap else f"{follow} runs none"
            out.append(f"- {_esc(h.pin.label)} `{where(h.pin.path)}` {_esc(h.pin.current)}: "
                       f"{_esc(h.newest)} exists, {runs}")
        out.append("")
    crossed = [(b, n) for b in env.bumps for n in notes(b)]
    if crossed:
        out += ["**Upgrade notes crossed**", ""]
        for b, n in crossed:
            kind = "breaking" if n.breaking else "note"
            out.append(f"- **{_esc(n.component)} {_esc(n.version)}** ({n.date}, {kind}): {_esc(n.title)}<br>"
                       f"what to do: {_esc(n.action)}<br>source: {n.source}")
        out.append("")
    check = _check_line(env)
    if check:
        out += [check, ""]
        if env.problems:
            out += [*_problem_lines(env.problems), ""]
    return out


def markdown(result: BumpRun, limit: int = MARKDOWN_LIMIT) -> str:
    """The pull request body."""
    bumped = [e for e in result.environments if e.bumps]
    scope = []
    if result.tier:
        scope.append(f"tier `{result.tier}`")
    if result.follow:
        scope.append(f"following `{result.follow}`")
    if tuple(result.kinds) != ("charts", "kubernetes", "images"):
        scope.append("only " + ", ".join(result.kinds))
    failed = [e for e in result.environments if e.failed]
    lines = [MARKER, "## hubgen bump", "",
             f"{_n(len(result.environments), 'environment')}" + (f" ({', '.join(scope)})" if scope else "")
             + f": **{_n(sum(len(e.bumps) for e in bumped), 'version')}** to bump in "
             f"{_n(len(bumped), 'environment')}"
             + (f" · **{len(failed)} failing checks**" if failed else ""), ""]
    if failed:
        lines += ["> [!CAUTION]", "> The bumped specs do not pass hubgen's checks: fix the problems listed below "
                  "on this branch (or close the pull request to stay on the current versions).", ""]
    for env in result.environments:
        lines += _env_markdown(env, result.follow)
    lines += ["<sub>Opened by `hubgen bump`: versions from each chart's Helm repository index, the next Kubernetes "
              "version from hubgen's EKS calendar, image tags from the lists it was given. Generated files are "
              "rendered from the new specs; review the upgrade notes before merging.</sub>", ""]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    cut = text[: limit - 200]
    return cut[: cut.rfind("\n")] + "\n\n… (truncated; run `hubgen bump --check` locally for everything)\n"


def text(result: BumpRun) -> list[str]:
    """Lines for a terminal (problems are printed by the caller's report)."""
    out = []
    for env in result.environments:
        state = (f"{_n(len(env.bumps), 'bump')}" if env.bumps else
                 ("not bumped (problems below)" if env.problems and not env.checked else "up to date"))
        out.append(f"{env.environment} ({env.tier or 'no tier'}): {state}  [{env.spec}]")
        for b in env.bumps:
            added = " (added)" if not b.pin.present else ""
            out.append(f"  {b.pin.label}: {where(b.pin.path)}{added} {b.pin.current} -> {b.new}")
            for n in notes(b):
                out.append(f"    upgrade note {n.component} {n.version}{' (breaking)' if n.breaking else ''}: "
                           f"{n.title}; {n.source}")
        for h in env.held:
            out.append(f"  held by --follow {result.follow}: {h.pin.label} {h.pin.current}: {h.newest} exists, "
                       f"{result.follow} runs {h.cap or 'none'}")
    return out


def to_dict(result: BumpRun) -> dict:
    """The ``bump`` part of the JSON report."""
    return {
        "check": result.check,
        "tier": result.tier,
        "follow": result.follow,
        "kinds": list(result.kinds),
        "written": result.written,
        "bumps": [{
            "environment": e.environment,
            "tier": e.tier,
            "spec": e.spec,
            "changed": e.changed,
            "checked": e.checked,
            "failed": e.failed,
            "changes": [{
                "kind": b.pin.kind, "component": b.pin.component, "what": b.pin.label, "where": where(b.pin.path),
                "path": "/" + "/".join(str(p) for p in b.pin.path), "added": not b.pin.present,
                "from": b.pin.current, "to": b.new, "source": b.source,
                "notes": [n.to_dict() for n in notes(b)],
            } for b in e.bumps],
            "held": [{"kind": h.pin.kind, "component": h.pin.component, "what": h.pin.label,
                      "where": where(h.pin.path), "current": h.pin.current, "newest": h.newest,
                      "cap": h.cap or None, "follow": h.tier} for h in e.held],
        } for e in result.environments],
    }


def json_text(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
