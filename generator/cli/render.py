"""`hubgen render`: write every generated file; `--check` reports drift instead."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, usage_error


@app.command("render", short_help="Write every generated file of the environments; --check writes nothing, prints "
                                    "a diff and exits 1 on drift.")
def render_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV",
                                                      help="Environments to render (default: all).",
                                                      autocompletion=complete_environments),
    check: bool = typer.Option(False, "--check", help="Write nothing; print a diff and exit 1 on any drift."),
) -> None:
    """Render CloudFormation inputs, aws-auth and Flux manifests from each environment's spec."""
    from generator.generate import plan
    from generator.output import console, escape, progress, report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError
    from generator.writer import WriteError, apply_all, drift_problems, repo_lock, unified_diff

    st = state(ctx)
    repo = st.repo
    try:
        # `--check` only reads: it shares the lock with other readers.
        with repo_lock(repo, shared=check):
            with progress.tracking(progress.enabled(quiet=st.quiet, fmt=st.format.value)):
                result = plan(repo, environments)
            envs = list(result.validation.environments)
            if not result.ok:
                report(result.problems, st.format.value, command="render", environments=envs, quiet=st.quiet)
                raise typer.Exit(EXIT_PROBLEMS)
            if check:
                problems = list(result.problems)
                diff = ""
                for change in result.changes:
                    problems.extend(drift_problems(change))
                    diff += unified_diff(change)
                if diff and st.format is Format.text:
                    sys.stdout.write(diff)
                report(problems, st.format.value, command="render --check", environments=envs, quiet=st.quiet)
                if any(not c.empty for c in result.changes) or has_errors(problems):
                    raise typer.Exit(EXIT_PROBLEMS)
                raise typer.Exit(EXIT_OK)
            apply_all(repo, result.changes)
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    report(result.problems, st.format.value, command="render", environments=envs, quiet=True)
    if st.format is Format.text and not st.quiet:
        c = console()
        for change in result.changes:
            if change.empty:
                continue
            c.print(f"[bold]{escape(change.environment)}[/]: {len(change.created)} created, "
                    f"{len(change.writes) - len(change.created)} updated, {len(change.deletes)} removed")
        changed = sum(not c.empty for c in result.changes)
        c.print(f"render: {len(envs)} environment(s), {changed} changed")
    raise typer.Exit(EXIT_OK)
