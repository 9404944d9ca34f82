"""`hubgen schema` and `hubgen checks`: the contract and the check catalogue."""

from __future__ import annotations

import typer

from generator.cli.base import app


@app.command("schema", short_help="Print the environment spec's JSON Schema (the contract).")
def schema_command() -> None:
    """Print the environment spec's JSON Schema."""
    from generator.validate.schema import schema_text

    typer.echo(schema_text(), nl=False)


@app.command("checks")
def checks_command(markdown: bool = typer.Option(False, "--markdown", help="Print docs/checks.md.")) -> None:
    """List every problem code hubgen reports."""
    from generator import codes

    if markdown:
        typer.echo(codes.markdown(), nl=False)
        return
    for code in codes.CODES.values():
        typer.echo(f"{code.id}  {code.severity.value:<7}  {code.title}")
