"""`hubgen upgrade`: rewrite older specs to the current spec version; `--check` reports instead."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, State, app, complete_environments, state, usage_error

if TYPE_CHECKING:  # the migrations are imported when the command runs
    from generator.migrate.upgrade import EnvUpgrade


@app.command("upgrade", short_help="Rewrite older specs to the current spec version, keeping their comments; "
                                     "--check writes nothing, prints the diff and exits 1 if a spec is old.")
def upgrade_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV",
                                                      help="Environments to upgrade (default: all).",
                                                      autocompletion=complete_environments),
    check: bool = typer.Option(False, "--check", help="Write nothing; print the diff and exit 1 when a spec is "
                                                      "not at the current version."),
) -> None:
    """Migrate each spec to the current spec version with hubgen's ordered migrations (docs/upgrading.md).
    Comments and formatting are kept; an up-to-date spec is left as it is. Generated files are not touched:
    run `hubgen render` afterwards."""
    from generator.migrate import upgrade as U
    from generator.output import report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError
    from generator.writer import WriteError, repo_lock

    st = state(ctx)
    repo = st.repo
    command = "upgrade --check" if check else "upgrade"
    written: list[str] = []
    try:
        with repo_lock(repo, shared=check):  # `--check` only reads
            ups = U.plan(repo, environments)
            problems = U.check_problems(ups) if check else [p for u in ups for p in u.problems]
            if not check and not has_errors(problems):
                written = U.apply(repo, ups)
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    envs = [u.environment for u in ups]
    failed = has_errors(problems)
    if st.format is not Format.text:
        extra = {"upgrades": [_entry(u, check) for u in ups], "written": written}
        report(problems, st.format.value, command=command, environments=envs, extra=extra)
    elif check:
        diff = "".join(U.unified_diff(u) for u in ups)
        if diff:
            sys.stdout.write(diff)
        report(problems, "text", command=command, environments=envs, quiet=st.quiet)
    else:
        _print_text(st, ups, problems, written)
    if failed or (check and any(u.changed for u in ups)):
        raise typer.Exit(EXIT_PROBLEMS)
    raise typer.Exit(EXIT_OK)


def _entry(u: EnvUpgrade, check: bool) -> dict:
    from generator.migrate import upgrade as U

    out = u.to_dict()
    if check:
        out["diff"] = U.unified_diff(u)
    return out


def _print_text(st: State, ups: list[EnvUpgrade], problems: list, written: list[str]) -> None:
    """Problems (nothing written then), or what changed per environment and what to run next."""
    from generator.output import console, escape, report

    if problems:
        report(problems, "text", command="upgrade", environments=[u.environment for u in ups], quiet=st.quiet)
        typer.echo("nothing was written", err=True)
        return
    if st.quiet:
        return
    c = console()
    upgraded = [u for u in ups if u.changed]
    for u in ups:
        name = escape(u.environment)
        if not u.changed:
            c.print(f"[bold]{name}[/]: spec version {u.source_version}, up to date")
            continue
        c.print(f"[bold]{name}[/]: spec version {u.source_version} -> {u.target_version} ({escape(u.path)})")
        for s in u.steps:
            c.print(f"  {escape(s)}")
        for n in u.notes:
            c.print(f"  - {escape(n)}")
    c.print(f"upgrade: {len(ups)} environment(s), {len(upgraded)} upgraded")
    if upgraded:
        names = " ".join(escape(u.environment) for u in upgraded)
        c.print(f"next: review the change (git diff environments/), run `hubgen render {names}` (it validates "
                "first: a new version may ask for decisions, see docs/upgrading.md), then commit the spec and "
                "the generated files together")
