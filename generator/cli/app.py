"""Entry point: assembles the command modules onto the typer app."""

from __future__ import annotations

# Importing a command module registers its commands on the app.
from generator.cli import deploy, hooks, lint, plan, render, scaffold, schema, secrets, validate  # noqa: F401
from generator.cli.base import app


def main() -> None:
    app()
