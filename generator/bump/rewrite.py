"""A spec's text with new versions written in, and nothing else changed.

Like `hubgen upgrade` (:mod:`generator.migrate.upgrade`), a bump edits the text a person wrote instead of dumping
YAML again, at places :class:`generator.migrate.document.Document` finds from the parser's own positions:

* a version that is written is replaced in place, in the quoting it had (a plain scalar stays plain unless the
  new version would then read as something else than a string, e.g. ``1.36`` as a number; then it is
  double-quoted);
* a platform chart pin the spec leaves to hubgen's default (``cluster.autoscaler.chart.version``) is inserted:
  after the last entry of the deepest mapping on its path that exists, at that mapping's indentation (a block
  mapping: new ``key:`` lines, indented by the step the mapping's own children use; a flow mapping:
  ``, chart: {version: X}`` before its closing brace).

Each edit is applied to the text, which is parsed again before the next one, and the end result must load,
through the project's strict loader, to exactly the spec's data with the new versions set; otherwise nothing
is written (HG803). Line ends (``\\r\\n``) follow the text's own; the caller keeps a byte order mark.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from generator import codes
from generator.bump.sources import Bump, where
from generator.loader import load_yaml_text
from generator.migrate.document import Document, MigrationError, Node
from generator.migrate.upgrade import same
from generator.problems import Location, Problem
from generator.validate.schema import pointer

#: Indentation step when the mapping that receives a new block has no nested block mapping to copy it from.
DEFAULT_INDENT = 2


class RewriteError(Exception):
    """The spec cannot be rewritten safely; ``problem`` says where and why (HG803; nothing is written)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def rewrite(text: str, display_path: str, bumps: Iterable[Bump], environment: str = "") -> str:
    """``text`` (a spec without its BOM) with every bump's new version written in; RewriteError when a version's
    place is written in a form this cannot edit, or the result would mean anything else."""
    bumps = list(bumps)
    doc = _parse(text, display_path, environment, "the spec does not load")
    expected = copy.deepcopy(doc.data)
    for bump in bumps:
        _set(expected, bump.pin.path, bump.new)
        doc = _parse(_edit(doc, bump, environment), display_path, environment,
                     f"the rewritten {where(bump.pin.path)} does not load")
    if not same(doc.data, expected):
        raise RewriteError(_problem(display_path, environment, bumps[0].pin.path if bumps else (),
                                    "the rewritten spec does not mean what the bump intends"))
    return doc.text


def _parse(text: str, display_path: str, environment: str, why: str) -> Document:
    try:
        return Document.parse(text, display_path)
    except MigrationError as e:
        first = e.problems[0] if e.problems else None
        detail = f" ({first.code} {first.message})" if first is not None else ""
        raise RewriteError(_problem(display_path, environment, (), why + detail)) from e


def _problem(display_path: str, environment: str, path: tuple, why: str, location: Location | None = None
             ) -> Problem:
    return codes.HG803.problem(f"hubgen bump cannot rewrite {where(path) or 'the spec'} safely: {why}; nothing "
                               "was written", location or Location(display_path, 1, 1), environment=environment,
                               path=pointer(path) if path else "")


def _set(data: Any, path: tuple, value: str) -> None:
    node = data
    for p in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(p, {})
        else:
            node = node[p]
    node[path[-1]] = value


def _edit(doc: Document, bump: Bump, environment: str) -> str:
    path, value = bump.pin.path, bump.new
    node = doc.node_at(path)
    if node is not None:
        return _replace(doc, node, path, value, environment)
    depth = len(path) - 1
    while depth > 0 and doc.node_at(path[:depth]) is None:
        depth -= 1
    parent = doc.node_at(path[:depth])
    if parent is None or parent.kind != "mapping" or not all(isinstance(p, str) for p in path[depth:]):
        raise RewriteError(_problem(doc.display_path, environment, path, "its parent is not a mapping"))
    return _insert(doc, parent, list(path[depth:]), value)


def scalar_text(value: str, style: str | None) -> str:
    """``value`` as a YAML scalar in ``style`` ("'", '"', or plain when it reads back as this very string)."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _reads_as(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _reads_as(value: str) -> bool:
    """A plain scalar ``value`` loads (with the project's loader) as this string."""
    loaded = load_yaml_text(f"v: {value}\n".encode("utf-8"), "<version>")
    return not loaded.problems and isinstance(loaded.data, dict) and loaded.data.get("v") == value


def _replace(doc: Document, node: Node, path: tuple, value: str, environment: str) -> str:
    if node.kind != "scalar" or node.style in ("|", ">"):
        line, col = doc.loaded.locate(path)
        raise RewriteError(_problem(doc.display_path, environment, path,
                                    "the version is not written as a one-line scalar",
                                    Location(doc.display_path, line, col)))
    end = doc.content_end(node)
    return doc.text[:node.start] + scalar_text(value, node.style) + doc.text[end:]


def _insert(doc: Document, parent: Node, keys: list[str], value: str) -> str:
    text = doc.text
    scalar = scalar_text(value, None)
    if parent.flow:
        nested = scalar
        for k in reversed(keys[1:]):
            nested = f"{{{k}: {nested}}}"
        entry = f"{keys[0]}: {nested}"
        if parent.entries:
            at = doc.content_end(parent.entries[-1][1])
            return text[:at] + ", " + entry + text[at:]
        at = text.index("{", parent.start) + 1
        return text[:at] + entry + text[at:]
    column = doc.column(parent.entries[0][0].start)
    step = _indent_step(doc, parent, column)
    nl = doc.newline()
    lines = []
    for depth, k in enumerate(keys):
        pad = " " * (column + depth * step)
        lines.append(f"{pad}{k}: {scalar}" if depth == len(keys) - 1 else f"{pad}{k}:")
    at = doc.line_end(doc.content_end(parent.entries[-1][1]))
    return text[:at] + nl + nl.join(lines) + text[at:]


def _indent_step(doc: Document, mapping: Node, column: int) -> int:
    """How far the file indents a nested block: from the mapping's own nested blocks, else the top level's;
    DEFAULT_INDENT when neither has one."""
    for node, col in ((mapping, column), (doc.root, 0)):
        for _, value in node.entries if node.kind == "mapping" and not node.flow else ():
            if value.flow or not (value.entries or value.items):
                continue
            start = value.entries[0][0].start if value.kind == "mapping" else value.start
            step = doc.column(start) - col
            if step > 0:
                return step
    return DEFAULT_INDENT
