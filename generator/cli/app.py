"""Entry point: assembles the command modules onto the typer app.

The console script and typer's test runner both go through the app's root command,
:class:`generator.cli.base.HubgenGroup`: that is where the global options are added to every command and
where usage errors are also reported as JSON (``--format json``), so :func:`main` needs nothing of its own.
"""

from __future__ import annotations

# Importing a command module registers its commands on the app.
from generator.cli import deploy, hooks, lint, plan, render, scaffold, schema, secrets, validate  # noqa: F401
from generator.cli.base import app


def main() -> None:
    app()
