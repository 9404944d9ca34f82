"""Printing a plan: text (terminal), json (machines), markdown (the PR comment) and
github-matrix (the deploy workflow's job matrices)."""

from __future__ import annotations

import html
import json

from generator import __version__
from generator.plan import costs
from generator.plan.model import Action, Change, EnvPlan, Plan, Status

FORMATS = ("text", "json", "markdown", "github-matrix")
JSON_VERSION = 1
#: Marks the PR comment so the workflow updates it instead of adding a new one on every push.
COMMENT_MARKER = "<!-- hubgen-plan -->"
#: GitHub refuses comments over 65536 characters; stay well below.
MARKDOWN_LIMIT = 60000
#: Keys of each `include` entry of the github-matrix output (what the deploy jobs read as matrix.<key>).
MATRIX_KEYS = ("environment", "tier", "stack", "account", "region", "role", "action")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(plan: Plan) -> dict:
    return {
        "environments": len(plan.environments),
        "deploy_staging": len(plan.deploying("staging")),
        "deploy_production": len(plan.deploying("production")),
        "hub_changes": sum(len(e.hubs) for e in plan.environments),
        "removed": len(plan.removed),
        "removed_hubs": len(plan.removed_hubs),
        "errors": sum(len(e.errors) for e in plan.environments),
        "warnings": sum(len(e.warnings) for e in plan.environments),
    }


# ------------------------------------------------------------------ json / matrix
def to_json(plan: Plan) -> str:
    doc = {
        "version": JSON_VERSION,
        "tool": {"name": "hubgen", "version": __version__},
        "base": plan.base,
        "head": plan.head,
        "ok": plan.ok,
        "summary": summary(plan),
        "order": [e.name for e in plan.environments],
        "environments": [e.to_dict() for e in plan.environments],
        "shared": plan.shared,
        "notes": plan.notes,
        "fix": plan.fix,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def matrix_entry(env: EnvPlan) -> dict[str, str]:
    assert env.stack is not None
    return {
        "environment": env.name,
        "tier": env.tier,
        "stack": env.stack.name,
        "account": env.stack.account,
        "region": env.stack.region,
        "role": env.stack.role,
        "action": env.action.value,
    }


def matrix(plan: Plan) -> dict:
    """`{"staging": {"include": [...]}, "production": {...}, "has_staging": bool, ...}`.

    GitHub rejects a matrix whose ``include`` is empty, so the workflow skips a tier's job through
    ``has_<tier>`` instead of handing it an empty matrix.
    """
    staging = [matrix_entry(e) for e in plan.deploying("staging")]
    production = [matrix_entry(e) for e in plan.deploying("production")]
    return {
        "staging": {"include": staging},
        "production": {"include": production},
        "has_staging": bool(staging),
        "has_production": bool(production),
        "removed": [e.name for e in plan.removed],
        "has_removed": bool(plan.removed),
    }


def to_matrix(plan: Plan) -> str:
    """One line of compact JSON (so it fits a `key=value` line of $GITHUB_OUTPUT)."""
    return json.dumps(matrix(plan), separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ text
def _v(value: str | None) -> str:
    return "(none)" if value is None else (value if value != "" else "''")


def _change_lines(changes: list[Change], indent: str) -> list[str]:
    return [f"{indent}{c.key}: {_v(c.old)} -> {_v(c.new)}" for c in changes]


def to_text(plan: Plan) -> str:
    lines = [f"plan: {plan.base} -> {plan.head}"]
    if not plan.environments:
        lines.append("no environment is affected")
    for note in plan.notes:
        lines.append(f"note: {note}")
    tier = None
    for i, env in enumerate(plan.environments, 1):
        group = "staging" if env.tier_rank == 0 else "production"
        if group != tier:
            tier = group
            lines.append("")
            lines.append(f"== {tier} ==")
        where = f" ({env.stack.where()})" if env.stack else ""
        lines.append(f"{i}. {env.name}{where}: {', '.join(env.effects())}")
        if env.reasons:
            lines.append(f"   why: {'; '.join(env.reasons)}")
        if env.tier_old:
            lines.append(f"   tier: {env.tier_old} -> {env.tier}")
        for e in env.errors:
            lines.append(f"   ERROR: {e}")
        for p in env.drift:
            lines.append(f"     {p.location}: {p.code} {p.message}")
        for w in env.warnings:
            lines.append(f"   WARNING: {w}")
        if env.template_changed:
            lines.append(f"   template {env.template} changed")
        for title, changes in (("parameters", env.parameters), ("tags", env.tags)):
            shown, omitted = _shown(env, changes)
            if changes:
                lines.append(f"   {title}:" + (f" ({omitted} optional left empty)" if omitted else ""))
                lines += _change_lines(shown, "     ")
        for hub in env.hubs:
            head = {Status.NEW: "install", Status.REMOVED: "REMOVED", Status.CHANGED: "upgrade"}[hub.status]
            chart = f", chart {_v(hub.chart_old)} -> {_v(hub.chart_new)}" if hub.chart_changed and \
                hub.status is Status.CHANGED else (f", chart {hub.chart_new}" if hub.status is Status.NEW else "")
            lines.append(f"   hub {hub.name} (namespace {hub.namespace or hub.name}): {head}{chart}")
            lines += _change_lines(hub.values, "     ")
        for f in env.flux_files:
            lines.append(f"   flux: {f.path} ({f.change})")
        for f in env.secrets:
            lines.append(f"   secret: {f.path} ({f.change})")
        lines += _cost_lines(env)
    s = summary(plan)
    lines.append("")
    lines.append(f"{_n(s['environments'], 'environment')} affected; stacks to deploy: "
                 f"{s['deploy_staging']} staging, then {s['deploy_production']} production; "
                 f"{_n(s['hub_changes'], 'hub change')}"
                 + (f"; {s['removed']} REMOVED (not deleted automatically)" if s["removed"] else "")
                 + (f"; {_n(s['errors'], 'error')}" if s["errors"] else ""))
    if plan.fix:
        lines.append(f"generated files are out of date; fix them with: {plan.fix} (then commit the result)")
    return "\n".join(lines) + "\n"


def _cost_change(env: EnvPlan) -> str | None:
    """``min +$70.08, max +$280.32 (was $220.16 - $661.12)`` when the totals changed."""
    if not env.costs_changed:
        return None
    old, new = env.costs_base, env.costs
    assert old is not None and new is not None
    return (f"min {costs.delta(old.min_usd, new.min_usd)}, max {costs.delta(old.max_usd, new.max_usd)} "
            f"(was {costs.range_text(old)})")


def _cost_lines(env: EnvPlan) -> list[str]:
    est = env.costs
    if est is None:
        return []
    lines = [f"   cost ({est.label}): {costs.range_text(est)}"]
    lines += [f"     {costs.group_line(g)}" for g in est.groups]
    lines.append(f"     {costs.control_plane_line(est)}")
    change = _cost_change(env)
    if change:
        lines.append(f"     change: {change}")
    return lines


# ------------------------------------------------------------------ markdown
def _code(value: str | None, limit: int = 120) -> str:
    if value is None:
        return "—"
    if value == "":
        return "<code>''</code>"
    text = value if len(value) <= limit else value[:limit] + f"… ({len(value)} chars)"
    return "<code>" + html.escape(text, quote=False).replace("|", "&#124;").replace("\n", "⏎") + "</code>"


def _esc(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "&#124;").replace("\n", " ")


def _shown(env: EnvPlan, changes: list[Change]) -> tuple[list[Change], int]:
    """A new stack's empty optional parameters say nothing: (changes to show, how many were left out)."""
    if env.status is not Status.NEW:
        return changes, 0
    shown = [c for c in changes if not (c.old is None and c.new == "")]
    return shown, len(changes) - len(shown)


def _table(title: str, changes: list[Change], omitted: int = 0) -> list[str]:
    out = [f"| {title} | old | new |", "|---|---|---|"]
    out += [f"| {_code(c.key, 200)} | {_code(c.old)} | {_code(c.new)} |" for c in changes]
    if omitted:
        out += ["", f"<sub>{_n(omitted, 'optional ' + title)} left empty.</sub>"]
    return out + [""]


def _alert(kind: str, lines: list[str]) -> list[str]:
    return [f"> [!{kind}]"] + [f"> {_esc(line) if not line.startswith('**') else line}" for line in lines] + [""]


def _cfn(env: EnvPlan) -> str:
    return {Action.CREATE: "**create**", Action.UPDATE: "update", Action.NONE: "—",
            Action.MANUAL: "**REMOVED — not deleted**"}[env.action]


def _flux(env: EnvPlan) -> str:
    parts = [e for e in env.effects() if e.startswith("hub ") or e in ("Flux manifests", "secrets")]
    return _esc(", ".join(parts)) if parts else "—"


def _header(plan: Plan) -> list[str]:
    s = summary(plan)
    head = [COMMENT_MARKER, "## hubgen plan", "",
            f"<code>{_esc(plan.base)}</code> → <code>{_esc(plan.head)}</code>: "
            f"**{_n(s['environments'], 'environment')}** affected · stacks to deploy: "
            f"**{s['deploy_staging']}** staging, then **{s['deploy_production']}** production · "
            f"{_n(s['hub_changes'], 'hub change')}"
            + (f" · **{s['removed']} removed**" if s["removed"] else "")
            + (f" · **{_n(s['errors'], 'error')}**" if s["errors"] else ""), ""]
    for env in plan.removed:
        where = f"`{env.stack.name}` ({env.stack.account} / {env.stack.region})" if env.stack else "its stack"
        head += _alert("CAUTION", [
            f"**Environment `{env.name}` is removed. Nothing is deleted automatically.**",
            f"The CloudFormation stack {where} and its EKS cluster keep running (and costing money) until "
            "someone deletes them by hand. Flux in that cluster no longer gets updates.",
        ])
    for env, hub in plan.removed_hubs:
        if env.status is Status.REMOVED:
            continue
        head += _alert("WARNING", [
            f"**Hub `{hub.name}` of `{env.name}` is removed.**",
            f"Flux prunes its HelmRelease and its namespace `{hub.namespace or hub.name}`: the hub goes offline "
            "and users' home directories on its volumes are deleted.",
        ])
    errors = [f"`{e.name}`: {_esc(err)}" for e in plan.environments for err in e.errors]
    if errors:
        head += ["> [!CAUTION]", "> **The plan is incomplete:**"] + [f"> - {x}" for x in errors]
        if plan.fix:
            head += [">", f"> Generated files are out of date: run `{plan.fix}` and commit the result."]
        head += [""]
    for note in plan.notes:
        head += ["> [!NOTE]", f"> {_esc(note)}", ""]
    return head


def _overview(plan: Plan) -> list[str]:
    if not plan.environments:
        return ["No environment is affected by this change.", ""]
    out = ["| # | environment | tier | stack | account / region | CloudFormation | Flux |",
           "|---|---|---|---|---|---|---|"]
    for i, env in enumerate(plan.environments, 1):
        stack = f"`{env.stack.name}`" if env.stack else "—"
        where = f"{env.stack.account} / {env.stack.region}" if env.stack else "—"
        tier = env.tier if not env.tier_old else f"{env.tier_old} → {env.tier}"
        out.append(f"| {i} | `{env.name}` | {tier} | {stack} | {where} | {_cfn(env)} | {_flux(env)} |")
    return out + [""]


def _details(i: int, env: EnvPlan) -> list[str]:
    out = [f"### {i}. `{env.name}` ({env.tier}) — {_esc(', '.join(env.effects()))}", ""]
    if env.reasons:
        out += [f"Why: {_esc('; '.join(env.reasons))}", ""]
    warnings = [w for w in env.warnings if env.status is not Status.REMOVED or not w.startswith("environment ")]
    warnings = [w for w in warnings if not w.startswith("hub ")]
    if warnings:
        out += _alert("WARNING", warnings)
    if env.status is Status.REMOVED:
        return out
    if env.template_changed:
        out += [f"Stack template `{env.template}` changed: the stack is updated with the new template.", ""]
    if env.action is Action.CREATE and env.stack:
        out += [f"Creates stack `{env.stack.name}` in {env.stack.account} / {env.stack.region}.", ""]
    if env.parameters:
        out += ["**Stack parameters**", ""] + _table("parameter", *_shown(env, env.parameters))
    if env.tags:
        out += ["**Stack tags**", ""] + _table("tag", *_shown(env, env.tags))
    for hub in env.hubs:
        ns = f"namespace `{hub.namespace or hub.name}`"
        if hub.status is Status.NEW:
            out += [f"**Hub `{hub.name}`** ({ns}): installed by Flux, chart {_code(hub.chart_new)}", ""]
        elif hub.status is Status.REMOVED:
            out += [f"**Hub `{hub.name}`** ({ns}): **removed** — Flux deletes it", ""]
        else:
            chart = (f", chart {_code(hub.chart_old)} → {_code(hub.chart_new)}" if hub.chart_changed else "")
            out += [f"**Hub `{hub.name}`** ({ns}): upgraded by Flux{chart}", ""]
            if hub.values:
                out += _table("value", hub.values)
    if env.flux_files:
        out += ["**Flux manifests**: " + ", ".join(f"`{f.path}` ({f.change})" for f in env.flux_files), ""]
    if env.secrets:
        out += ["**Secrets** (content not shown): " + ", ".join(f"`{f.path}` ({f.change})" for f in env.secrets), ""]
    return out + _cost_markdown(env)


def _cost_markdown(env: EnvPlan) -> list[str]:
    est = env.costs
    if est is None:
        return []
    out = [f"**Cost** ({_esc(est.label)}): **{_esc(costs.range_text(est))}**", ""]
    change = _cost_change(env)
    if change:
        out += [f"Change: {_esc(change)}", ""]
    out += ["| node group | instances | monthly at min | monthly at max |", "|---|---|---|---|"]
    for g in est.groups:
        note = "; ".join(costs.group_notes(g))
        types = ", ".join(f"`{t}`" for t in g.instance_types)
        out.append(f"| `{g.name}` ({g.purpose}) | {types} x{g.min_size}-{g.max_size}, {g.disk_gb} GiB"
                   + (f" — {_esc(note)}" if note else "") + f" | {costs.usd(g.at(g.min_size))} | "
                   f"{costs.usd(g.at(g.max_size))} |")
    cp = costs.usd(est.control_plane_usd)
    support = "extended support" if est.extended_support else "standard support"
    out += [f"| EKS control plane | {_esc(est.kubernetes_version)}, {support} | {cp} | {cp} |", ""]
    return out


def _footer() -> list[str]:
    return ["<sub>Staging-tier environments deploy first; production only after every staging deploy succeeded. "
            "Stacks are deployed by `hubgen deploy` (CloudFormation change sets); hubs are reconciled by Flux. "
            f"Removed environments are never deleted automatically. hubgen {__version__}.</sub>", ""]


def to_markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    head, overview = _header(plan), _overview(plan)
    details: list[str] = []
    for i, env in enumerate(plan.environments, 1):
        details += _details(i, env)
    full = "\n".join(head + overview + details + _footer())
    if len(full) <= limit:
        return full
    # Too long for a PR comment: keep the warnings and the overview, drop the per-key tables.
    compact = head + overview + ["Details omitted: the plan is too long for a comment. Run "
                                 "`hubgen plan --base <base> --format text` for every changed key.", ""] + _footer()
    text = "\n".join(compact)
    if len(text) <= limit:
        return text
    cut = text[: limit - 200]
    cut = cut[: cut.rfind("\n")]
    return cut + "\n\n… (truncated; run `hubgen plan` locally for the full plan)\n"


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return to_json(plan)
    if fmt == "markdown":
        return to_markdown(plan)
    if fmt == "github-matrix":
        return to_matrix(plan)
    return to_text(plan)
