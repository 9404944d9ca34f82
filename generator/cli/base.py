"""The typer application, global options and helpers shared by the command modules."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NoReturn, Optional

import typer

from generator import __version__
from generator.paths import RepoPaths, find_repo_root

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="hubgen",
    help="Generate and validate a GitOps repository for JupyterHub on AWS EKS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"


@dataclass
class State:
    repo_option: Optional[Path]
    format: Format
    quiet: bool

    _repo: RepoPaths | None = None

    @property
    def repo(self) -> RepoPaths:
        """The repository root: --repo, or the nearest folder at/above the cwd holding environments/."""
        if self._repo is None:
            if self.repo_option is not None:
                root = self.repo_option
                if not root.is_dir():
                    usage_error(f"--repo {root}: not a directory")
                if not (root / "environments").is_dir():
                    usage_error(f"--repo {root}: no environments/ folder there")
            else:
                found = find_repo_root(Path.cwd())
                if found is None:
                    usage_error("not inside a hubgen repository (no environments/ folder here or above); "
                                "use --repo DIR or `hubgen init DIR`")
                root = found
            self._repo = RepoPaths(root.resolve())
            _recover(self._repo)
        return self._repo


def _recover(repo: RepoPaths) -> None:
    """Complete or discard a render that was interrupted (killed, power loss) before any command
    reads the repository, so every command sees each environment entirely old or entirely new."""
    from generator.writer import WriteError, recover_if_needed

    try:
        recover_if_needed(repo)
    except (WriteError, OSError) as e:
        typer.echo(f"hubgen: error: cannot complete an interrupted render: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)


def usage_error(message: str) -> NoReturn:
    typer.echo(f"hubgen: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubgen {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    repo: Optional[Path] = typer.Option(None, "--repo", help="Repository root (default: nearest folder with environments/)."),
    format: Format = typer.Option(Format.text, "--format", "-f", help="How problems are reported."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print problems, no summaries or progress."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    ctx.obj = State(repo, format, quiet)


def is_tty() -> bool:
    return sys.stdout.isatty()
