"""Printing a teardown plan: text (a terminal), markdown (an issue or a pull request), json (machines).

Commands are printed whole, never wrapped, so that they can be copied; prose is wrapped for the terminal.
"""

from __future__ import annotations

import json
import textwrap

from generator import __version__
from generator.teardown.model import Survivor, Teardown

FORMATS = ("text", "markdown", "json")
JSON_VERSION = 1
WIDTH = 100


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _head(t: Teardown) -> str:
    return (f"stack {t.stack} (EKS cluster {t.cluster}), account {t.account}, region {t.region}")


def to_text(t: Teardown) -> str:
    lines = [f"Teardown of environment {t.environment} ({t.tier}): {_head(t)}", ""]
    for note in t.notes:
        lines += _wrap(note, "  ")
    for i, step in enumerate(t.steps, 1):
        lines += ["", f"{i}. {step.title}"]
        lines += _wrap(f"Why here: {step.why}", "   ")
        for action in step.actions:
            lines += ["", f"   - {action.title}"]
            lines += [f"       $ {c}" for c in action.commands]
            if action.note:
                lines += _wrap(action.note, "     ")
    lines += ["", f"{len(t.steps) + 1}. What survives (hubgen lists it; nothing above deletes it)"]
    for s in t.survivors:
        lines += _survivor_text(s)
    return "\n".join(lines) + "\n"


def _survivor_text(s: Survivor) -> list[str]:
    mark = "SURVIVES" if s.certain else "CHECK"
    out = ["", f"   ! {mark}: {s.kind}: {s.name}"]
    out += _wrap(s.reason, "     ")
    out += [f"       find: $ {c}" for c in s.find]
    if s.cleanup:
        out += _wrap(f"then: {s.cleanup}", "     ")
    return out


def _md(text: str) -> str:
    """Prose for markdown: table pipes escaped (the text is otherwise plain words and `code`)."""
    return text.replace("|", "\\|")


def to_markdown(t: Teardown) -> str:
    lines = [f"## Teardown of `{t.environment}` ({t.tier})", "",
             f"Stack `{t.stack}` (EKS cluster `{t.cluster}`), account `{t.account}`, region `{t.region}`.", ""]
    lines += [f"> {_md(n)}" for n in t.notes]
    for i, step in enumerate(t.steps, 1):
        lines += ["", f"### {i}. {_md(step.title)}", "", f"*Why here:* {_md(step.why)}"]
        for action in step.actions:
            lines += ["", f"- [ ] **{_md(action.title)}**"]
            if action.commands:
                lines += ["", "  ```sh", *(f"  {c}" for c in action.commands), "  ```"]
            if action.note:
                lines += ["", f"  {_md(action.note)}"]
    lines += ["", f"### {len(t.steps) + 1}. What survives", ""]
    for s in t.survivors:
        mark = "**survives**" if s.certain else "*check*"
        lines += [f"- {mark} · {_md(s.kind)}: `{s.name}`: {_md(s.reason)}"]
        for c in s.find:
            lines += ["", "  ```sh", f"  {c}", "  ```"]
        if s.cleanup:
            lines += ["", f"  Then: {_md(s.cleanup)}"]
    lines += ["", f"<sub>hubgen {__version__} · `hubgen destroy {t.environment} --plan` · "
                  "hubgen deleted nothing</sub>"]
    return "\n".join(lines) + "\n"


def to_json(t: Teardown) -> str:
    doc = {"version": JSON_VERSION, "tool": {"name": "hubgen", "version": __version__},
           "command": "destroy", "deletes": False, **t.to_dict()}
    return json.dumps(doc, indent=2) + "\n"


def render(t: Teardown, fmt: str) -> str:
    return {"text": to_text, "markdown": to_markdown, "json": to_json}[fmt](t)
