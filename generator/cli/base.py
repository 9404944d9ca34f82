"""The typer application, global options and helpers shared by the command modules."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NoReturn, Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.24 carries its own copy of click
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - typer on top of click
    from click import get_current_context
    from click.exceptions import UsageError as ClickUsageError

from generator import __version__
from generator.paths import RepoPaths, find_repo_root

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

#: Where the global options are listed in every command's --help.
GLOBAL_PANEL = "Global options (also accepted before the command)"


class HubgenGroup(TyperGroup):
    """The root command.

    * The global options ``--repo``, ``--format``/``-f`` and ``--quiet``/``-q`` are also accepted after the
      command name (``hubgen validate -q``, ``hubgen render --check --format json``), with the same meaning; a
      command that defines an option of the same name itself (``plan --format``) keeps its own.
    * Usage errors found while parsing the command line (unknown command or option, a bad option value, a
      missing argument) are printed as usual on stderr and, with ``--format json``, also as one JSON document on
      stdout (:func:`generator.output.usage_error_document`); the exit code stays 2.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for command in _all_commands(self):
            _add_global_options(command)
            if type(command) is TyperGroup:
                command.__class__ = _SubGroup

    def make_context(self, info_name, args, parent=None, **extra):
        argv = list(args)  # parsing consumes the list
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except ClickUsageError as e:
            _report_click_usage_error(e, argv)
            raise
        ctx.meta[_ARGV] = argv
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClickUsageError as e:
            _report_click_usage_error(e, ctx.meta.get(_ARGV, []))
            raise


class _SubGroup(TyperGroup):
    """A command group below the root (`hubgen secrets`, `hubgen hook`)."""

    def parse_args(self, ctx, args):
        st = ctx.find_root().obj
        if not args and self.no_args_is_help and not ctx.resilient_parsing and isinstance(st, State) \
                and st.format is not Format.text:
            # Called without its command: the help it would print on stdout is no JSON; a plain usage error is.
            raise ClickUsageError("Missing command.", ctx=ctx)
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="hubgen",
    cls=HubgenGroup,
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
        return self._repo


def usage_error(message: str) -> NoReturn:
    """Exit 2 with ``message`` on stderr (and, with --format json, the usage-error JSON document on stdout)."""
    typer.echo(f"hubgen: error: {message}", err=True)
    ctx = get_current_context(silent=True)
    st = ctx.find_root().obj if ctx is not None else None
    if isinstance(st, State) and st.format is Format.json:
        _print_usage_error_document(message, _command_name(ctx), ctx.get_usage() if ctx is not None else None)
    elif isinstance(st, State) and st.format is Format.github:
        from generator.output import github_usage_error

        typer.echo(github_usage_error(message))
    raise typer.Exit(EXIT_USAGE)


# --- global options after the command, and usage errors in the chosen format --------------------------------------

_ARGV = "hubgen.argv"


def _all_commands(group) -> list:
    out = []
    for command in getattr(group, "commands", {}).values():
        out.append(command)
        out.extend(_all_commands(command))
    return out


def _set_repo(ctx: typer.Context, value: Optional[Path]) -> None:
    st = ctx.find_root().obj
    if value is not None and isinstance(st, State):
        st.repo_option, st._repo = value, None


def _set_format(ctx: typer.Context, value: Optional[Format]) -> None:
    st = ctx.find_root().obj
    if value is not None and isinstance(st, State):
        st.format = Format(value)


def _set_quiet(ctx: typer.Context, value: bool) -> None:
    st = ctx.find_root().obj
    if value and isinstance(st, State):
        st.quiet = True


_globals_app = typer.Typer(add_completion=False)


@_globals_app.command()
def _globals(
    repo: Optional[Path] = typer.Option(None, "--repo", callback=_set_repo, expose_value=False,
                                        rich_help_panel=GLOBAL_PANEL, help="Repository root (as `hubgen --repo`)."),
    format: Optional[Format] = typer.Option(None, "--format", "-f", callback=_set_format, expose_value=False,
                                            rich_help_panel=GLOBAL_PANEL,
                                            help="How problems are reported (as `hubgen --format`)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", callback=_set_quiet, expose_value=False,
                               rich_help_panel=GLOBAL_PANEL, help="Only print problems (as `hubgen --quiet`)."),
) -> None:  # pragma: no cover - never run: it only defines the options added to every command
    pass


def _add_global_options(command) -> None:
    """Give ``command`` fresh copies of the global options, except those whose names it already uses."""
    taken = {opt for p in command.params for opt in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    for param in typer.main.get_command(_globals_app).params:
        if param.name in ("repo", "format", "quiet") and not taken.intersection(param.opts):
            command.params.append(param)


#: Values of --format anywhere on the command line (`plan` has two more, which print no report).
_FORMAT_VALUES = {"text", "json", "github", "markdown", "github-matrix"}


def _format_in(argv: list[str]) -> str | None:
    """The last valid --format/-f value on a command line: what the person asked for, even when parsing failed
    (``--format json validate --format=xml`` still reports the bad value as JSON)."""
    values = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        if arg in ("--format", "-f"):
            if i + 1 < len(argv):
                values.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--format="):
            values.append(arg.split("=", 1)[1])
        elif arg.startswith("-f") and not arg.startswith("--") and len(arg) > 2:
            values.append(arg[2:])
        i += 1
    valid = [v for v in values if v in _FORMAT_VALUES]
    return valid[-1] if valid else None


def _command_name(ctx) -> str:
    """The command as `command` in the JSON report: the command path without the program name."""
    if ctx is None:
        return "hubgen"
    parts = ctx.command_path.split()
    return " ".join(parts[1:]) or "hubgen"


def _print_usage_error_document(message: str, command: str, usage: str | None) -> None:
    from generator.output import usage_error_document

    typer.echo(usage_error_document(message, command=command, usage=usage))


def _report_click_usage_error(e: ClickUsageError, argv: list[str]) -> None:
    """With --format json (or github) on the command line, print the usage error there too (once)."""
    if getattr(e, "_hubgen_reported", False):
        return
    fmt = _format_in(argv)
    st = e.ctx.find_root().obj if e.ctx is not None else None
    if fmt is None and isinstance(st, State):
        fmt = st.format.value
    e._hubgen_reported = True  # type: ignore[attr-defined]
    if fmt == "json":
        usage = e.ctx.get_usage() if e.ctx is not None else None
        _print_usage_error_document(e.format_message(), _command_name(e.ctx), usage)
    elif fmt == "github":
        from generator.output import github_usage_error

        typer.echo(github_usage_error(e.format_message()))


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
