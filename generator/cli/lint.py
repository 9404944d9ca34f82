"""`hubgen lint`: cfn-lint, kubeconform, the chart's values schema and the template's parameter rules."""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, usage_error


class EngineName(str, Enum):
    cfn_lint = "cfn-lint"
    kubeconform = "kubeconform"
    values = "values"
    params = "params"
    chart = "chart"


@app.command("lint", short_help="Prove the generated files against the engines that consume them: cfn-lint, "
                                  "kubeconform, the chart's values schema, the template's parameter rules, the "
                                  "charts rendered by helm, the Flux Kustomizations built by kustomize.")
def lint_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV", help="Environments to lint (default: all).",
                                                      autocompletion=complete_environments),
    engine: Optional[List[EngineName]] = typer.Option(
        None, "--engine", "-e", help="Run only this engine (repeatable; default: all five)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore cached engine results and store none."),
    offline: bool = typer.Option(
        False, "--offline", help="Never fetch charts from their chart repositories (also HUBGEN_OFFLINE=1)."),
) -> None:
    """Prove the generated artifacts against the engines that consume them. Exit 0 clean, 1 errors, 2 usage error.

    Validates first (an environment with errors is reported, not linted), renders in memory (writes
    nothing), then runs cfn-lint (templates, and the cluster template with each environment's
    parameters), kubeconform (strict, offline schemas incl. Flux CRDs), the chart's values.schema.json
    (values merged over the chart's defaults), the template's parameter constraints, and the charts rendered
    by helm (their objects through kubeconform and the cross-object invariants; each Flux Kustomization
    built by kustomize).
    """
    from generator import lint
    from generator.output import console, escape, progress, report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError

    st = state(ctx)
    try:
        with progress.tracking(progress.enabled(quiet=st.quiet, fmt=st.format.value)):
            result = lint.run(st.repo, environments, engines=[e.value for e in engine or []],
                              use_cache=not no_cache, offline=offline)
    except UsageError as e:
        usage_error(str(e))
    report(result.problems, st.format.value, command="lint", environments=result.environments,
           extra={"engines": result.stats(), "skipped": result.skipped}, quiet=st.quiet)
    if st.format is Format.text and not st.quiet:
        c = console()
        for r in result.results:
            c.print(f"[dim]  {r.engine} {r.version}: {r.units} unit(s), {r.cached} cached, {r.seconds:.2f} s[/]")
        if result.skipped:
            c.print(f"[yellow]not linted (fix the errors above first):[/] {escape(', '.join(result.skipped))}")
    raise typer.Exit(EXIT_PROBLEMS if has_errors(result.problems) else EXIT_OK)
