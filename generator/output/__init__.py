"""Reporting problems: text (rich), json (a documented interface) and GitHub annotations."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

from generator import __version__
from generator.problems import Problem, Severity, sorted_problems

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("text", "json", "github")
JSON_SCHEMA_VERSION = 1
#: Text output of runs over this many environments ends with a summary table.
SUMMARY_MIN_ENVIRONMENTS = 10
_IMPORTED = time.perf_counter()


def escape(markup: str) -> str:
    """:func:`rich.markup.escape` (rich is imported when text output is printed, not before)."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


def console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    """The rich console every command prints through. Markup (``[bold]...[/]``) is hubgen's own: every value
    that comes from a user or a repository is passed through :func:`rich.markup.escape` before it reaches
    ``print``. Emoji codes are off, so a value such as ``:x:`` or ``:smile:`` prints as typed, and so is
    highlighting (no colours guessed from the text)."""
    from rich.console import Console

    return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def counts(problems: list[Problem]) -> dict[str, int]:
    return {
        "errors": sum(p.severity is Severity.ERROR for p in problems),
        "warnings": sum(p.severity is Severity.WARNING for p in problems),
    }


def report(problems: list[Problem], fmt: str, *, command: str, environments: list[str],
           out: TextIO | None = None, extra: dict | None = None, quiet: bool = False) -> None:
    """Print problems in the requested format, then a summary (text format)."""
    problems = sorted_problems(problems)
    out = out or sys.stdout
    if fmt == "json":
        doc = {
            "version": JSON_SCHEMA_VERSION,
            "tool": {"name": "hubgen", "version": __version__},
            "command": command,
            "environments": environments,
            "summary": counts(problems),
            "problems": [p.to_dict() for p in problems],
        }
        if extra:
            doc.update(extra)
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    if fmt == "github":
        for p in problems:
            out.write(github_annotation(p) + "\n")
        return
    c = console(out)
    for p in problems:
        style = "bold red" if p.severity is Severity.ERROR else "bold yellow"
        c.print(f"[bold]{escape(str(p.location))}[/]: [{style}]{p.severity.value}[/] "
                f"[cyan]{p.code}[/] {escape(p.message)}")
        if p.hint:
            c.print(f"    [dim]hint:[/] {escape(p.hint)}")
    n = counts(problems)
    if quiet and not problems:
        return
    if not quiet and len(environments) >= SUMMARY_MIN_ENVIRONMENTS:
        if problems:
            summary_table(problems, environments, c)
        else:
            c.print(f"[dim]{len(environments)} environments checked in {elapsed():.1f} s[/]")
    envs = f"{len(environments)} environment{'s' if len(environments) != 1 else ''}"
    if problems:
        c.print(f"{command}: {envs}, [red]{n['errors']} error(s)[/], [yellow]{n['warnings']} warning(s)[/]")
    else:
        c.print(f"{command}: {envs}, [green]no problems[/]")


def usage_error_document(message: str, *, command: str, usage: str | None = None) -> str:
    """The ``--format json`` document of a usage error (exit code 2): the report's shape with no environments
    and no problems -- nothing was checked -- and ``usageError`` saying what was wrong with the command line."""
    doc = {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "hubgen", "version": __version__},
        "command": command,
        "environments": [],
        "summary": {"errors": 0, "warnings": 0},
        "problems": [],
        "usageError": {"message": message, "usage": usage, "exitCode": 2},
    }
    return json.dumps(doc, indent=2, sort_keys=True)


def github_usage_error(message: str) -> str:
    """A usage error as a GitHub workflow command (``--format github``)."""
    return f"::error title=hubgen usage error::{_gh_escape(message)}"


def elapsed() -> float:
    """Seconds since this process started (wall clock)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            start_ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux
        return time.perf_counter() - _IMPORTED


def summary_table(problems: list[Problem], environments: list[str], c: Console) -> None:
    """The end-of-run table of runs over many environments: problems by code and severity, how many
    environments each touches, and the totals with the elapsed time. Compact: one row per code."""
    from rich import box
    from rich.table import Table

    from generator import codes

    by_code: dict[str, list[Problem]] = {}
    for p in problems:
        by_code.setdefault(p.code, []).append(p)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_footer=True)
    table.add_column("code", footer="total")
    table.add_column("severity")
    table.add_column("problem", footer=f"{len(environments)} environments checked in {elapsed():.1f} s")
    table.add_column("count", justify="right", footer=str(len(problems)))
    touched = {p.environment for p in problems if p.environment}
    table.add_column("environments", justify="right", footer=str(len(touched)))
    rows = sorted(by_code.items(), key=lambda kv: (kv[1][0].severity.rank, -len(kv[1]), kv[0]))
    for code, ps in rows:
        try:
            title = codes.get(code).title
        except KeyError:
            title = ps[0].source
        style = "red" if ps[0].severity is Severity.ERROR else "yellow"
        table.add_row(code, f"[{style}]{ps[0].severity.value}[/]", escape(title), str(len(ps)),
                      str(len({p.environment for p in ps if p.environment})))
    c.print(table)


def _gh_escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github_annotation(p: Problem) -> str:
    level = "error" if p.severity is Severity.ERROR else "warning"
    props = [f"file={_gh_escape(p.location.file, True)}"]
    if p.location.line:
        props.append(f"line={p.location.line}")
        props.append(f"col={p.location.column or 1}")
    props.append(f"title={_gh_escape(p.code, True)}")
    message = p.message + (f"\nhint: {p.hint}" if p.hint else "")
    return f"::{level} {','.join(props)}::{_gh_escape(message)}"
