"""A spec's text with the exact extent of every node, for migrations that edit text instead of re-dumping YAML.

A migration must keep what a person wrote: comments, blank lines, quoting, key order, indentation. Loading
the spec and dumping it again keeps none of that, so migrations edit the text itself, at places found here:

* :class:`Document` holds the text, the project's strict loader's result (:mod:`generator.loader`: the data
  and the positions every problem is reported at) and a tree of :class:`Node` with the start and end of each
  scalar and collection, read from the same YAML parser events the loader reads (the loader keeps only
  start positions). Indices are character offsets into the text (BOM stripped, as the loader has it).
* :func:`comments` finds the comments in a stretch of text: whatever lies between the scalars and starts
  with ``#`` is one (a ``#`` inside a scalar is part of the scalar, and the parser says where scalars are).
* :func:`set_version` writes ``specVersion`` (replacing the value, or inserting the line at the top).

A document is parsed only after the loader accepted it, so it has no anchors, aliases, tags or second
document; anything the loader refuses never reaches a migration.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from generator import codes
from generator.loader import Loaded, load_yaml_text
from generator.migrate import VERSION_KEY
from generator.problems import Location, Problem

_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
#: Line breaks as the YAML parser counts them (its marks and the loader's positions agree with these).
BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BREAK_CHARS = "\r\n\x85\u2028\u2029"


class MigrationError(Exception):
    """A spec hubgen cannot upgrade by itself; ``problems`` say where and why (nothing is written)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class Node:
    """One YAML node: ``kind`` is "scalar", "mapping" or "sequence"; ``start``/``end`` are character
    offsets of its text (a block collection ends where its last child ends, a flow one after its closing
    bracket; a block scalar's end may be the start of the line after it)."""

    kind: str
    start: int
    end: int
    flow: bool = False
    style: str | None = None  # scalars: None/"" plain, "'", '"', "|", ">"
    value: str | None = None  # scalars: the text as the parser read it
    entries: list[tuple[Node, Node]] = field(default_factory=list)  # mappings
    items: list[Node] = field(default_factory=list)  # sequences

    def entry(self, key: str) -> tuple[Node, Node] | None:
        """The (key, value) nodes of ``key`` in a mapping, else None."""
        for k, v in self.entries:
            if k.kind == "scalar" and k.value == key:
                return k, v
        return None

    def scalars(self) -> Iterator[Node]:
        """Every scalar in this subtree (keys included), in document order."""
        if self.kind == "scalar":
            yield self
        for k, v in self.entries:
            yield from k.scalars()
            yield from v.scalars()
        for item in self.items:
            yield from item.scalars()


@dataclass(frozen=True)
class Comment:
    start: int  # index of the '#'
    end: int  # end of the comment (before the line break, trailing spaces excluded)
    own_line: bool  # nothing but indentation before it on its line
    text: str  # from '#' on


class Document:
    """A spec's text, its loaded data and positions (the project's loader) and its node tree."""

    def __init__(self, text: str, loaded: Loaded, root: Node, display_path: str) -> None:
        self.text = text
        self.loaded = loaded
        self.root = root
        self.display_path = display_path
        self._breaks = [m.start() for m in BREAK_RE.finditer(text)]

    @classmethod
    def parse(cls, text: str, display_path: str) -> Document:
        """Load ``text`` with the project's loader (MigrationError with its problems when it refuses) and
        build the node tree."""
        loaded = load_yaml_text(text.encode("utf-8"), display_path)
        if loaded.problems or loaded.data is None:
            raise MigrationError(loaded.problems)
        text = loaded.text if loaded.text is not None else text
        return cls(text, loaded, _tree(text), display_path)

    @property
    def data(self) -> Any:
        return self.loaded.data

    def node_at(self, path: tuple) -> Node | None:
        """The value node at ``path`` (mapping keys and sequence indices), or None when a step is absent."""
        node = self.root
        for p in path:
            if node.kind == "mapping" and isinstance(p, str):
                found = node.entry(p)
                if found is None:
                    return None
                node = found[1]
            elif node.kind == "sequence" and isinstance(p, int) and 0 <= p < len(node.items):
                node = node.items[p]
            else:
                return None
        return node

    # --- lines ---------------------------------------------------------------------------------------------

    def line_of(self, index: int) -> int:
        """0-based line number of character ``index``."""
        return bisect.bisect_right(self._breaks, index - 1) if index else 0

    def line_start(self, index: int) -> int:
        """Index of the first character of the line holding ``index`` (a line's break belongs to it)."""
        if 0 < index < len(self.text) and self.text[index] == "\n" and self.text[index - 1] == "\r":
            index -= 1  # the "\n" of a "\r\n"
        n = bisect.bisect_left(self._breaks, index)  # breaks strictly before index
        if n == 0:
            return 0
        b = self._breaks[n - 1]
        return b + (2 if self.text.startswith("\r\n", b) else 1)

    def line_end(self, index: int) -> int:
        """Index of the line break ending the line holding ``index`` (the text's length on the last line)."""
        m = BREAK_RE.search(self.text, index)
        return m.start() if m else len(self.text)

    def next_line(self, index: int) -> int:
        """Index of the first character of the line after the one holding ``index`` (or the text's end)."""
        m = BREAK_RE.search(self.text, index)
        return m.end() if m else len(self.text)

    def column(self, index: int) -> int:
        """0-based column of ``index`` (characters; the loader refuses tabs in indentation)."""
        return index - self.line_start(index)

    def content_end(self, node: Node) -> int:
        """Where ``node``'s text really ends: a block scalar's end is moved back over the line breaks the
        parser counts as part of it."""
        end = node.end
        while end > node.start and self.text[end - 1] in _BREAK_CHARS:
            end -= 1
        return end

    def newline(self) -> str:
        """The text's line break ("\\n" unless its first break is another)."""
        m = BREAK_RE.search(self.text)
        return m.group() if m else "\n"

    # --- problems -------------------------------------------------------------------------------------------

    def refuse(self, path: tuple, message: str, *, hint: str | None = None, key: bool = True) -> MigrationError:
        """A MigrationError at ``path`` (HG011: the spec stays old until this is fixed)."""
        line, col = self.loaded.locate_key(path) if key else self.loaded.locate(path)
        return MigrationError([codes.HG011.problem(
            message, Location(self.display_path, line, col), path=_pointer(path),
            hint=hint or "Write this part in the block style `hubgen upgrade` rewrites and run it again, or write "
                         "the new shape by hand as docs/upgrading.md shows (with `specVersion`).")])


def _pointer(path: tuple) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def comments(doc: Document, start: int, end: int, scalars: list[Node]) -> list[Comment]:
    """The comments between ``start`` and ``end``, given every scalar of that stretch: outside the
    scalars, a ``#`` starts a comment that runs to the end of its line."""
    text = doc.text
    out: list[Comment] = []
    gaps: list[tuple[int, int]] = []
    pos = start
    for s in sorted(scalars, key=lambda n: n.start):
        if s.end <= pos or s.start >= end:
            continue
        if s.start > pos:
            gaps.append((pos, s.start))
        pos = max(pos, s.end)
    if pos < end:
        gaps.append((pos, end))
    for lo, hi in gaps:
        i = lo
        while True:
            i = text.find("#", i, hi)
            if i < 0:
                break
            stop = doc.line_end(i)
            body = text[i:stop].rstrip(" ")
            own = not text[doc.line_start(i):i].strip(" ")
            out.append(Comment(i, i + len(body), own, body))
            i = stop
    return out


def set_version(doc: Document, version: int) -> str:
    """The text with ``specVersion: <version>``: the value replaced when the key is there, else the line
    inserted at the top, before the first key (after the leading comments that are the file's header; a
    comment block separated from the header by a blank line belongs to the first key, and stays on it)."""
    root = doc.root
    if root.kind != "mapping" or root.flow or not root.entries:
        raise doc.refuse((), "the spec's top level is not a block mapping (key: value lines), so hubgen upgrade "
                             "cannot add `specVersion` to it", key=False)
    found = root.entry(VERSION_KEY)
    text = doc.text
    if found is not None:
        _, value = found
        return text[:value.start] + str(version) + text[doc.content_end(value):]
    first_key = root.entries[0][0]
    at = doc.line_start(first_key.start)
    indent = text[at:first_key.start]
    run = at  # walk up over the comment lines directly above the first key
    while run > 0:
        above = doc.line_start(run - 1)
        if not text[above:doc.line_end(above)].strip(" ").startswith("#"):
            break
        run = above
    if run < at and run > 0 and not text[doc.line_start(run - 1):doc.line_end(run - 1)].strip(" "):
        at = run  # a blank line above the comment block: the block belongs to the first key
    return text[:at] + f"{indent}{VERSION_KEY}: {version}{doc.newline()}" + text[at:]


# --- the node tree, from the parser's events -----------------------------------------------------------------------


def _tree(text: str) -> Node:
    """The document's root node (a null scalar for an empty document)."""
    stack: list[tuple[Node, list]] = []  # (collection, pending key for mappings)
    root: Node | None = None
    for ev in yaml.parse(text, Loader=_LOADER):
        cls = type(ev)
        if cls in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentStartEvent, yaml.DocumentEndEvent):
            continue
        if cls in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            node, _ = stack.pop()
            if node.flow:
                node.end = ev.end_mark.index
            continue
        if cls is yaml.ScalarEvent:
            node = Node("scalar", ev.start_mark.index, ev.end_mark.index, style=ev.style or None, value=ev.value)
        elif cls is yaml.MappingStartEvent:
            node = Node("mapping", ev.start_mark.index, ev.end_mark.index, flow=bool(ev.flow_style))
        elif cls is yaml.SequenceStartEvent:
            node = Node("sequence", ev.start_mark.index, ev.end_mark.index, flow=bool(ev.flow_style))
        else:  # pragma: no cover - aliases never pass the loader
            raise ValueError(f"unexpected YAML event {cls.__name__}")
        if stack:
            _attach(stack[-1], node)
        else:
            root = node
        if node.kind != "scalar":
            stack.append((node, []))
    if root is None:
        return Node("scalar", 0, 0, value="")
    _block_ends(root)
    return root


def _attach(parent: tuple[Node, list], node: Node) -> None:
    collection, pending = parent
    if collection.kind == "sequence":
        collection.items.append(node)
    elif not pending:
        pending.append(node)
    else:
        collection.entries.append((pending.pop(), node))


def _block_ends(node: Node) -> int:
    """Set every block collection's end to its last child's (the parser marks a block's end at the next
    token, which may be lines of comments further down). Nesting is at most the loader's MAX_DEPTH."""
    if node.kind == "scalar":
        return node.end
    children = [n for pair in node.entries for n in pair] + node.items
    ends = [_block_ends(c) for c in children]
    if not node.flow:
        node.end = max(ends) if ends else node.start
    return node.end
