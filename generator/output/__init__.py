"""Reporting problems: text (rich), json (a documented interface) and GitHub annotations."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from generator import __version__
from generator.problems import Problem, Severity, sorted_problems

FORMATS = ("text", "json", "github")
JSON_SCHEMA_VERSION = 1


def console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=True)


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
    envs = f"{len(environments)} environment{'s' if len(environments) != 1 else ''}"
    if problems:
        c.print(f"{command}: {envs}, [red]{n['errors']} error(s)[/], [yellow]{n['warnings']} warning(s)[/]")
    else:
        c.print(f"{command}: {envs}, [green]no problems[/]")


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
