"""The README's table of commands, generated from the CLI itself.

    python -m generator.cli.docs            # print the table (markdown)
    python -m generator.cli.docs --write    # ... and put it into README.md, between the markers

One row per command, in the order of `hubgen --help`: its synopsis (arguments, required options and the options
:data:`SYNOPSIS_OPTIONS` names) and its one-line help (the ``short_help`` shown by `hubgen --help`), with a link to
the page that documents it (:data:`DOCS`). A command group is one row naming its subcommands. README.md holds the
table between :data:`BEGIN` and :data:`END`; tests/core/test_docs.py fails when the two disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BEGIN, END = "<!-- commands:start -->", "<!-- commands:end -->"
#: Options shown in a command's synopsis besides its arguments and required options.
SYNOPSIS_OPTIONS: dict[str, tuple[str, ...]] = {
    "new": ("--from",),
    "init": ("--update",),
    "upgrade": ("--check",),
    "render": ("--check",),
    "deploy": ("--dry-run",),
    "verify": ("--kubeconfig",),
    "destroy": ("--plan",),
    "bump": ("--check",),
    "checks": ("--markdown",),
}
#: The page documenting a command (or a command group).
DOCS: dict[str, str] = {
    "new": "docs/scaffolding.md",
    "init": "docs/scaffolding.md",
    "upgrade": "docs/upgrading.md",
    "lint": "docs/lint.md",
    "plan": "docs/workflow.md",
    "deploy": "docs/deploy.md",
    "verify": "docs/e2e.md",
    "destroy": "docs/teardown.md",
    "bump": "docs/bump.md",
    "checks": "docs/checks.md",
    "secrets": "docs/secrets.md",  # pragma: allowlist secret
    "hook": "docs/workflow.md",
}


def _metavar(param) -> str:
    return param.metavar or param.name.upper()


def synopsis(path: list[str], command) -> str:
    """``hubgen PATH`` with the command's arguments, required options and the options of :data:`SYNOPSIS_OPTIONS`."""
    words = ["hubgen", *path]
    shown = SYNOPSIS_OPTIONS.get(" ".join(path), ())
    for param in command.params:
        if param.param_type_name == "option":
            name = param.opts[0] if param.opts[0].startswith("--") else param.opts[-1]
            if not (param.required or name in shown):
                continue
            word = name if param.is_flag else f"{name} {_metavar(param)}"
            words.append(word if param.required else f"[{word}]")
        elif param.param_type_name == "argument":
            word = _metavar(param) + ("..." if param.nargs == -1 else "")
            words.append(word if param.required else f"[{word}]")
    return " ".join(words)


def rows() -> list[tuple[str, str]]:
    """(synopsis, one-line help with its documentation link) per command, in the order of `hubgen --help`."""
    from typer.main import get_command

    from generator.cli.app import app
    from generator.cli.base import short_help

    out = []
    for name, command in get_command(app).commands.items():
        if command.hidden:
            continue
        subcommands = [n for n, c in getattr(command, "commands", {}).items() if not c.hidden]
        if subcommands:
            usage = f"hubgen {name} {'/'.join(subcommands)}"
        else:
            usage = synopsis([name], command)
        text = short_help(command)
        if name in DOCS:
            text += f" ([{DOCS[name]}]({DOCS[name]}))"
        out.append((usage, text))
    return out


def _cell(text: str) -> str:
    """Help text as a table cell: ``|`` escaped, and ``<``/``>`` outside code spans as entities (GitHub would take
    ``<env>`` for an HTML tag and show nothing)."""
    parts = text.replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def markdown() -> str:
    """The table, as it stands in README.md between the markers."""
    lines = ["| command | what it does |", "|---|---|"]
    for usage, text in rows():
        lines.append(f"| `{usage}` | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def replace_section(text: str, table: str) -> str:
    """``text`` (README.md) with the part between the markers replaced by ``table``."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"no {BEGIN} ... {END} section")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.cli.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", nargs="?", const="README.md", metavar="FILE",
                        help="replace the table between the markers in FILE (default: README.md)")
    args = parser.parse_args(argv)
    table = markdown()
    if args.write is None:
        sys.stdout.write(table)
        return 0
    path = Path(args.write)
    path.write_text(replace_section(path.read_text(encoding="utf-8"), table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
