"""Entry point: assembles the command modules onto the typer app.

The console script and typer's test runner both go through the app's root command,
:class:`generator.cli.base.HubgenGroup`: that is where the global options are added to every command and
where usage errors are also reported as JSON (``--format json``), so :func:`main` needs nothing of its own.

Importing a command module registers its commands, in this order (the order of `hubgen --help` and of the
README's table of commands, :mod:`generator.cli.docs`; command groups come after the commands). The modules
import only typer at their top: each command imports what it uses when it runs, so `hubgen --help` stays quick.
"""

from __future__ import annotations

from generator.cli import (  # noqa: F401, I001
    scaffold, validate, upgrade, render, lint, plan, bump, deploy, verify, destroy, schema, secrets, hooks,
)
from generator.cli.base import app


def main() -> None:
    app()
