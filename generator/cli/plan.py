"""`hubgen plan`: which environments a change affects and what deploying it means."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, state, usage_error


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    github_matrix = "github-matrix"


@app.command("plan", short_help="What a change means: stack parameters, hub values, new and removed environments, "
                                  "staging tier first.")
def plan_command(
    ctx: typer.Context,
    base: str = typer.Option(..., "--base", metavar="REF", help="Revision to compare against (e.g. origin/main)."),
    head: Optional[str] = typer.Option(None, "--head",
                                       help="Revision to plan (default: the working tree, untracked files included)."),
    format: Optional[PlanFormat] = typer.Option(
        None, "--format", "-f",
        help="text, json, markdown (the PR comment) or github-matrix (deploy jobs). Default: the global --format."),
) -> None:
    """Plan a change: stacks to create or update (parameter by parameter), hubs Flux upgrades (value by
    value), new and REMOVED environments. Staging-tier environments first. Every planned environment is also
    rendered at the head side: a spec that does not render to its generated files (edited but not rendered)
    is reported as drift with the `hubgen render` command that fixes it. Exit 0 planned, 1 the plan is
    incomplete (drift, or an environment's spec or generated files cannot be read), 2 usage error (unknown
    revision)."""
    from generator.plan import GitError, build_plan
    from generator.plan.formats import render

    st = state(ctx)
    fmt = format.value if format is not None else ("json" if st.format.value == "json" else "text")
    if fmt == "json":
        st.format = Format.json  # usage errors below print their JSON document too
    elif format is not None:
        st.format = Format.text  # markdown / github-matrix on stdout: a usage error goes to stderr only
    try:
        result = build_plan(st.repo.root, base, head)
    except GitError as e:
        usage_error(str(e))
    sys.stdout.write(render(result, fmt))
    if not result.ok:
        if fmt != "text":
            for env in result.environments:
                for err in env.errors:
                    typer.echo(f"hubgen: plan: {env.name}: {err}", err=True)
            if result.fix:
                typer.echo(f"hubgen: plan: generated files are out of date; fix them with: {result.fix}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    raise typer.Exit(EXIT_OK)
