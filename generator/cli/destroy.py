"""`hubgen destroy ENV --plan`: the commands that tear ENV down, in order, and what survives them."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Optional

import typer

from generator.cli.base import (EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, usage_error,
                                validated_environment)


class DestroyFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command("destroy", short_help="Print how to tear ENV down, in order (Flux, hubs and their volumes, platform, "
                                     "stack), and what survives; never deletes anything.")
def destroy_command(
    ctx: typer.Context,
    environment: str = typer.Argument(..., metavar="ENV", help="The environment to tear down.",
                                      autocompletion=complete_environments),
    plan: bool = typer.Option(False, "--plan", help="Print the teardown plan (required: hubgen never deletes)."),
    format: Optional[DestroyFormat] = typer.Option(
        None, "--format", "-f",
        help="text, markdown (an issue or a pull request) or json. Default: the global --format."),
) -> None:
    """Print the teardown plan of ENV: the exact commands (kubectl, flux, aws, git) with this environment's
    namespaces, releases, Kustomizations, stack, region and account, in the order that deletes everything the
    stack does not own first, and what survives (EBS volumes of Retain classes, retained stack resources,
    log groups, keys, roles, images, secrets in git history). Reads the spec, the committed manifests and the
    template only: no AWS or Kubernetes call. Exit 0 planned, 1 the spec is invalid or its files are not
    rendered, 2 usage error (no --plan, unknown environment)."""
    st = state(ctx)
    fmt = format.value if format is not None else ("json" if st.format.value == "json" else "text")
    if fmt == "json":
        st.format = Format.json  # usage errors below print their JSON document too
    elif format is not None:
        st.format = Format.text  # markdown on stdout: a usage error goes to stderr only
    if not plan:
        usage_error(f"hubgen never deletes anything. Run `hubgen destroy {environment} --plan` for the commands "
                    f"that tear {environment} down, in order, to review and run yourself")
    from generator.teardown import NotRendered, teardown
    from generator.teardown.formats import render
    from generator.teardown.load import load_inputs

    repo = st.repo
    name, result = validated_environment(st, environment, "destroy", "no plan was made",
                                         fmt="json" if fmt == "json" else "text",
                                         out=sys.stdout if fmt == "json" else sys.stderr)
    model = result.context.model
    try:
        t = teardown(model, load_inputs(repo, name, model))
    except NotRendered as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    sys.stdout.write(render(t, fmt))
    raise typer.Exit(EXIT_OK)
