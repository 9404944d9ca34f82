"""The typer application, global options and helpers shared by the command modules.

Start-up is kept short (``hubgen --help`` and ``--version`` in about 0.1 s): the command modules import what
they use inside their command functions, so only typer and this module are loaded before a command runs, and
two costs of typer itself are avoided here, with typer's own results unchanged:

* **Help without rich.** typer renders help through rich (``typer.rich_utils`` alone imports in ~0.07 s);
  hubgen's commands render it with click's plain formatter instead, keeping typer's groups of options
  (``rich_help_panel``, e.g. the global options) as sections and each command's one-line help in the list of
  commands (:func:`_format_help`). Usage errors keep typer's rich rendering (rich is imported then).
* **Parameter values without pydantic.** typer 0.29 converts every parameter value through a pydantic
  ``TypeAdapter`` built on first use (~0.1 s per process for importing pydantic and building adapters).
  :class:`_FastCoercion` converts the values hubgen's parameters take (strings, flags, enum choices, paths and
  lists of those) with typer's own conversion functions, and hands every other value -- and any value it would
  refuse -- to typer's pydantic coercion, so results and error messages are typer's
  (tests/core/test_cli_startup.py compares both on every parameter).
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer >= 0.24 carries its own copy of click
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - typer on top of click
    from click import get_current_context
    from click.exceptions import UsageError as ClickUsageError

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
            elif type(command) is TyperCommand:
                command.__class__ = _Command
        for command in [self, *_all_commands(self)]:
            for param in command.params:
                _FastCoercion.install(param)

    def make_context(self, info_name, args, parent=None, **extra):
        for param in self.params:  # typer adds --install-completion and --show-completion after __init__
            _FastCoercion.install(param)
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


class _Command(TyperCommand):
    """A command (`hubgen validate`, `hubgen secrets check`)."""


def _hubgen_command(cls: type) -> type:
    """What every hubgen command (and group) shares: plain help (:func:`_format_help`), and the value of its --help
    option converted without pydantic (:class:`_FastCoercion`). (A class decorator, not a mixin: typer's commands
    are given these classes in place, and ``__class__`` assignment wants the same layout.)"""
    base = cls.__mro__[1]

    def format_help(self, ctx, formatter) -> None:
        _format_help(self, ctx, formatter)

    def get_help_option(self, ctx):
        option = base.get_help_option(self, ctx)
        if option is not None:
            _FastCoercion.install(option)
        return option

    cls.format_help, cls.get_help_option = format_help, get_help_option
    return cls


for _cls in (HubgenGroup, _SubGroup, _Command):
    _hubgen_command(_cls)


def short_help(command) -> str:
    """A command's one-line help: its ``short_help``, else the first sentence of its help (never cut)."""
    import inspect

    from typer._click.utils import make_default_short_help

    if command.short_help:
        return " ".join(inspect.cleandoc(command.short_help).split())
    return make_default_short_help(command.help or "", max_length=10_000)


def _format_help(command, ctx, formatter) -> None:
    """click's plain help, with typer's option groups: usage, help text, arguments, the command's own options,
    one section per ``rich_help_panel`` (the global options), then the commands of a group with their
    one-line help."""
    command.format_usage(ctx, formatter)
    command.format_help_text(ctx, formatter)
    arguments = []
    sections: dict[str, list] = {"Options": []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            arguments.append(record)
        else:
            sections.setdefault(getattr(param, "rich_help_panel", None) or "Options", []).append(record)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    for title, records in sections.items():
        if records:
            with formatter.section(title):
                formatter.write_dl(records)
    commands = [(name, cmd) for name in getattr(command, "commands", {})
                if (cmd := command.get_command(ctx, name)) is not None and not cmd.hidden]
    if commands:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short_help(cmd)) for name, cmd in commands])
    command.format_epilog(ctx, formatter)


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


def validated_environment(st: State, environment: str, command: str, nothing_done: str, *,
                          fmt: str | None = None, out: Any = None) -> tuple[str, Any]:
    """(name, validation result) of the one environment ``command`` acts on. A name that is no environment is a
    usage error (exit 2); a spec that does not validate has its problems reported (``fmt``, default the global
    format, to ``out``, default stdout) and exits 1, saying ``nothing_done``."""
    from generator.output import report
    from generator.validate.environments import UsageError, check_env_names, validate_one

    repo = st.repo
    try:
        [name] = check_env_names(repo, [environment])
    except UsageError as e:
        usage_error(str(e))
    result = validate_one(repo, name)
    if not result.ok:
        report(result.problems, fmt or st.format.value, command=command, environments=[name], quiet=st.quiet,
               out=out)
        typer.echo(f"hubgen: error: fix {repo.env(name).spec} first; {nothing_done}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    return name, result


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


_GLOBAL_PARAMS: list = []


def _add_global_options(command) -> None:
    """Give ``command`` fresh copies of the global options, except those whose names it already uses."""
    if not _GLOBAL_PARAMS:  # built once per process
        _GLOBAL_PARAMS.extend(p for p in typer.main.get_command(_globals_app).params
                              if p.name in ("repo", "format", "quiet"))
    taken = {opt for p in command.params for opt in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    for param in _GLOBAL_PARAMS:
        if not taken.intersection(param.opts):
            command.params.append(copy.copy(param))


# --- parameter values without pydantic (see the module docstring) -------------------------------------------------

_SLOW = object()  #: "not converted here: typer's own coercion decides"


class _FastCoercion:
    """typer's coercion of one parameter's values (``TyperOption.get_runtime_param().coerce``) for the kinds of
    value hubgen's parameters take, without pydantic; anything else goes to typer's pydantic-based coercion,
    built on first use. A value is converted here only when typer would return the same value: strings as they
    are, enum choices by :func:`typer._param_types.coerce_cli_choice` (typer's own function), paths as
    ``Path(text)`` (what pydantic makes of a string) checked by :func:`typer._param_types.coerce_cli_path`, lists
    item by item; every value these would refuse is handed to typer, so error messages are typer's."""

    __slots__ = ("kind", "item", "choices", "case_sensitive", "path_type", "info", "descriptor", "_slow")

    @classmethod
    def install(cls, param) -> None:
        if getattr(param, "_runtime_param", 0) is not None or not hasattr(param, "type_descriptor"):
            return  # not a typer parameter as this typer version makes them, or already set up
        try:
            fast = cls(param.type_descriptor)
        except Exception:  # noqa: BLE001 - a typer whose internals differ: typer's own coercion
            return
        if fast.kind is not None:
            param._runtime_param = fast

    def __init__(self, descriptor) -> None:
        from typer._param_types import lenient_issubclass

        self.descriptor, self._slow = descriptor, None
        self.kind = self.item = self.choices = self.path_type = None
        info = self.info = descriptor.parameter_info
        self.case_sensitive = info.case_sensitive
        if descriptor.file_annotation is not None or info.parser is not None \
                or getattr(info, "click_type", None) is not None:
            return
        annotation = descriptor.annotation
        if descriptor.is_list:
            (annotation,) = descriptor.annotation.__args__
            self.kind = "list"
        if lenient_issubclass(annotation, Enum):
            self.item, self.choices = "choice", tuple(annotation)
        elif annotation is str:
            self.item = "str"
        elif annotation is bool and self.kind is None:
            self.item = "bool"
        elif lenient_issubclass(annotation, Path) and self.kind is None:
            self.item, self.path_type = "path", info.path_type or annotation
        else:
            self.kind = None
            return
        self.kind = self.kind or "one"

    def slow(self):
        if self._slow is None:
            from typer._coercion import build_runtime_param

            self._slow = build_runtime_param(self.descriptor)
        return self._slow

    def coerce(self, value: Any, param, ctx) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if self.kind == "list" and isinstance(value, (list, tuple)):
            items = [self._one(v, param, ctx) for v in value]
            if all(v is not _SLOW for v in items):
                return items
        elif self.kind == "one" and not multi:
            out = self._one(value, param, ctx)
            if out is not _SLOW:
                return out
        return self.slow().coerce(value, param=param, ctx=ctx)

    def _one(self, value: Any, param, ctx) -> Any:
        if self.item == "str":
            return value if type(value) is str else _SLOW
        if self.item == "bool":
            return value if type(value) is bool else _SLOW
        if self.item == "choice":
            if not (type(value) is str or any(value is c for c in self.choices)):
                return _SLOW
            from typer._param_types import coerce_cli_choice

            try:
                return coerce_cli_choice(value, choices=self.choices, case_sensitive=self.case_sensitive, ctx=ctx)
            except ValueError:
                return _SLOW
        if self.item == "path":
            if type(value) is not str or not value or "\0" in value:
                return _SLOW
            from typer._param_types import coerce_cli_path

            try:
                return coerce_cli_path(self.path_type(value), self.info, path_type=self.path_type, param=param,
                                       ctx=ctx)
            except Exception:  # noqa: BLE001 - typer's coercion reports it, in its own words
                return _SLOW
        return _SLOW  # pragma: no cover


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
    if type(e).__name__ == "NoArgsIsHelpError":  # `hubgen`, `hubgen secrets`: the help, on stdout as typer did
        e._hubgen_reported = True  # type: ignore[attr-defined]
        typer.echo(e.format_message())
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
    """``--version``: hubgen's version (first line, ``hubgen X.Y.Z``), where it was installed from, and the engine
    and default versions it pins (generator/versions.py); one JSON document with ``--format json``."""
    if value:
        from generator.scaffold.install import version_json, version_text  # standard library only: stays fast

        # --version is eager (handled before --format is parsed): read the format from the command line itself.
        typer.echo(version_json() if _format_in(sys.argv[1:]) == "json" else version_text(), nl=False)
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


def complete_environments(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion (`hubgen --install-completion`) of environment names: the folders under environments/ of
    --repo or of the repository around the current directory."""
    try:
        root = ctx.find_root().params.get("repo") or find_repo_root(Path.cwd())
        names = RepoPaths(Path(root)).env_names() if root is not None else []
    except (OSError, ValueError):
        return []
    return [n for n in names if n.startswith(incomplete)]


def is_tty() -> bool:
    return sys.stdout.isatty()
