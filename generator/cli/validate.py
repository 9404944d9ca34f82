"""`hubgen validate`: schema and semantic checks."""

from __future__ import annotations

from typing import List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, app, complete_environments, state, usage_error


@app.command("validate", short_help="Schema and semantic checks of the specs and of the secret files beside them "
                                      "(every environment when none is named).")
def validate_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV",
                                                      help="Environments to check (default: all).",
                                                      autocompletion=complete_environments),
) -> None:
    """Check environment specs: schema first, then semantic checks. Exit 0 clean, 1 problems, 2 usage error."""
    from generator.output import progress, report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError, validate

    st = state(ctx)
    try:
        with progress.tracking(progress.enabled(quiet=st.quiet, fmt=st.format.value)):
            result = validate(st.repo, environments)
    except UsageError as e:
        usage_error(str(e))
    problems = result.problems
    report(problems, st.format.value, command="validate", environments=list(result.environments), quiet=st.quiet)
    raise typer.Exit(EXIT_PROBLEMS if has_errors(problems) else EXIT_OK)
