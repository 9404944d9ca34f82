"""The strict, position-tracking YAML loader for environment specs.

``load_yaml_file`` / ``load_yaml_text`` turn the bytes of one ``environment.yaml``
into plain Python data (dict/list/str/int/float/bool/None) plus the 1-based
``(line, column)`` of every value and every mapping key, or into a list of
:class:`~generator.problems.Problem` (codes HG001-HG010). They never raise and
never print a traceback, whatever the input bytes are.

How it works, and why:

* Size (HG007) is checked before anything is decoded; bytes are then checked for
  NUL (binary) and UTF-8 validity (HG008), control characters YAML forbids
  (HG001), and tabs in leading whitespace (HG004).
* The YAML is read at the **event** level (libyaml's ``CSafeLoader`` parser when
  available, pure-Python ``SafeLoader`` otherwise) and the data is built here with
  an explicit stack, not by PyYAML's composer/constructor. So:

  - anchors, aliases, merge keys and explicit tags (HG003) are refused where
    they occur, and aliases are never expanded: the "billion laughs" document
    costs time and memory proportional to its (small) size;
  - nesting deeper than :data:`MAX_DEPTH` is refused (HG001) before any
    recursion could happen - nothing here recurses;
  - duplicate keys (HG002) and non-string keys (HG001) are found in the same
    pass, and parsing stops at the second document (HG006) without reading it.

* **Every** explicit tag is refused (HG003), including standard ones such as
  ``!!str`` or the non-specific ``!``: the spec never needs them (quote a value
  to make it a string) and a single rule is easier to explain than a list.
* Plain (unquoted) scalars are resolved by the **YAML 1.2 core schema**, what yaml-language-server,
  most editors and YAML 1.2 libraries show: only ``true``/``false`` (any case variant of the three
  spellings) are booleans, ``0o17``/``0x1F`` are octal/hex ints, ``072600`` is the decimal 72600.
  YAML 1.1 readers (PyYAML, go-yaml v2 as used by Helm and much Kubernetes tooling) read some plain
  scalars differently: ``yes``/``no``/``on``/``off``/``y``/``n`` as booleans, ``072600`` as octal,
  ``1:20`` as sexagesimal 80, ``1_000`` as 1000, ``0b101`` as 5, while ``1e3`` and ``0o17`` stay
  strings. A spec must mean one thing to every reader and to the person who wrote it, so every
  plain scalar whose YAML 1.1 reading differs from its YAML 1.2 reading is refused (HG010,
  "Ambiguous plain scalar", located at the scalar) with the fix: quote it if it is text, or write
  the spelling both versions agree on. Quoted and block scalars are always strings. Two YAML 1.1
  types are not "readings" here and stay **strings**, as before: date/timestamp scalars (JSON
  Schema works on JSON types, not datetimes) and the "value" key ``=``.
* Mapping keys must be strings. ``1: x``, ``null: x``, ``yes: x`` (boolean) or a
  collection as a key are HG001 with a "quote it" message.
"""

from __future__ import annotations

import bisect
import codecs
import os
import pathlib
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from generator import codes
from generator.problems import Location, Problem

MAX_SPEC_BYTES = 256 * 1024
#: Deepest nesting of mappings/sequences accepted (the root mapping is depth 1).
MAX_DEPTH = 100
#: Stop collecting problems after this many; the first ones are what matters.
MAX_PROBLEMS = 100

_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

_T = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _MERGE = (_T + s for s in ("null", "bool", "int", "float", "merge"))

#: Line breaks exactly as YAML 1.1 / PyYAML / libyaml count them for marks.
_BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
#: Characters YAML does not allow in a stream (same set as PyYAML's Reader and libyaml).
_NON_PRINTABLE_RE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Leading whitespace of a line that contains a tab (multiline mode: after each break).
_TAB_INDENT_RE = re.compile("(?:^|(?<=[\r\n\x85\u2028\u2029]))[ \t]*?\t")

_INVALID = object()  # placeholder for an unusable key (non-string, alias, ...)

# --- plain scalars: the YAML 1.2 core schema, and the YAML 1.1 reading they are compared with ------------------
_CORE_NULL = re.compile(r"~|null|Null|NULL|")
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_CORE_INT10 = re.compile(r"[-+]?[0-9]+")
_CORE_INT8 = re.compile(r"0o[0-7]+")
_CORE_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_CORE_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
#: Booleans of the YAML 1.1 type repository that PyYAML's resolver leaves out (go-yaml v2 has them).
_YAML11_SHORT_BOOLS = {"y": True, "Y": True, "n": False, "N": False}


def resolve_core(value: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema (raises ValueError for an integer with more
    digits than Python converts)."""
    if _CORE_NULL.fullmatch(value):
        return None
    if value in _CORE_BOOL:
        return _CORE_BOOL[value]
    if _CORE_INT10.fullmatch(value):
        return int(value, 10)
    if _CORE_INT8.fullmatch(value):
        return int(value[2:], 8)
    if _CORE_INT16.fullmatch(value):
        return int(value[2:], 16)
    if _CORE_FLOAT.fullmatch(value):
        return float(value)
    if _CORE_INF.fullmatch(value):
        return float("-inf") if value[0] == "-" else float("inf")
    if _CORE_NAN.fullmatch(value):
        return float("nan")
    return value


def _ambiguous_hint(value: str, old: Any, new: Any) -> str:
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if len(quoted) > 44:
        quoted = quoted[:40] + '..."'
    meanings = [f"{_spelling(v)} if you mean {_describe(v)}" for v in (old, new) if not isinstance(v, str)]
    return f"Quote it ({quoted}) if it is text" + (", or write " + " or ".join(meanings) if meanings else "") + "."


def same_reading(a: Any, b: Any) -> bool:
    """Whether two readings of a scalar are the same value of the same type (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def _spelling(value: Any) -> str:
    """How to write ``value`` so that YAML 1.1 and YAML 1.2 read it alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return str(value)

_MERGE_KEY = object()  # a plain ``<<``


@dataclass
class Loaded:
    """The result of loading one spec file."""

    #: Plain Python data; ``None`` whenever there are problems.
    data: Any | None
    #: path tuple -> (line, column), 1-based, of the VALUE node at that path.
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    #: path tuple -> (line, column) of the KEY node (mapping entries only).
    key_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: The decoded text (BOM stripped), or None when the bytes could not be decoded.
    text: str | None = None

    def locate(self, path: tuple) -> tuple[int, int]:
        """Position of ``path``'s value, or of its nearest known ancestor; (1, 1) if none."""
        path = tuple(path)
        for n in range(len(path), -1, -1):
            pos = self.positions.get(path[:n])
            if pos is not None:
                return pos
        return (1, 1)

    def locate_key(self, path: tuple) -> tuple[int, int]:
        """Position of ``path``'s key when it is a mapping entry, else :meth:`locate`."""
        pos = self.key_positions.get(tuple(path))
        return pos if pos is not None else self.locate(path)


# --- public API ----------------------------------------------------------------


def load_yaml_file(path: pathlib.Path, display_path: str) -> Loaded:
    """Load ``path``; ``display_path`` (repository-relative) is what problems name."""
    try:
        path = pathlib.Path(path)
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            return _fail(codes.HG009, f"{display_path} is a directory, not a file", display_path, 0, 0)
        if not stat.S_ISREG(st.st_mode):
            return _fail(codes.HG009, f"{display_path} is not a regular file", display_path, 0, 0)
        if st.st_size > MAX_SPEC_BYTES:
            return _too_large(st.st_size, display_path)
        with open(path, "rb") as fh:
            # Read at most one byte over the limit: the file may grow after stat().
            data = fh.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        return _fail(codes.HG009, f"{display_path} does not exist", display_path, 0, 0)
    except IsADirectoryError:
        return _fail(codes.HG009, f"{display_path} is a directory, not a file", display_path, 0, 0)
    except PermissionError:
        return _fail(codes.HG009, f"{display_path} is not readable (permission denied)", display_path, 0, 0)
    except (OSError, ValueError) as exc:  # ValueError: e.g. NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        return _fail(codes.HG009, f"cannot read {display_path}: {reason}", display_path, 0, 0)
    return load_yaml_text(data, display_path)


def load_yaml_text(data: bytes, display_path: str) -> Loaded:
    """Load a spec from its bytes, with exactly the rules of :func:`load_yaml_file`."""
    try:
        return _load(bytes(data), display_path)
    except Exception as exc:  # pragma: no cover - defence in depth: never a traceback
        return _fail(codes.HG001, f"internal error while reading the YAML ({type(exc).__name__}: {exc})",
                     display_path, 1, 1)


# --- implementation ----------------------------------------------------------------


def _fail(code: codes.Code, message: str, file: str, line: int, col: int, text: str | None = None) -> Loaded:
    return Loaded(None, {}, {}, [code.problem(message, Location(file, line, col))], text)


def _too_large(size: int, file: str) -> Loaded:
    return _fail(
        codes.HG007,
        f"file is {size} bytes ({size / 1024:.1f} KiB); the limit is {MAX_SPEC_BYTES // 1024} KiB",
        file, 1, 1,
    )


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index`` in ``text``, counting breaks as YAML does."""
    line, start = 1, 0
    for m in _BREAK_RE.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return line, index - start + 1


def _line_starts(text: str) -> list[int]:
    """Index of the first character of every line (for bisecting many positions at once)."""
    return [0] + [m.end() for m in _BREAK_RE.finditer(text)]


def _tab_problem(file: str, line: int, col: int) -> Problem:
    return codes.HG004.problem(f"tab character in indentation at line {line}, column {col}",
                               Location(file, line, col))


def _pointer(path: tuple) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_T):] if tag.startswith(_T) else tag


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    return {int: "integer", float: "number", str: "string"}.get(type(value), type(value).__name__) + f" {value!r}"


def _decode(data: bytes, file: str) -> tuple[str | None, Loaded | None]:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    nul = data.find(b"\0")
    try:
        text = data.decode("utf-8")
        bad = -1
    except UnicodeDecodeError as exc:
        text, bad = None, exc.start
    if nul >= 0 and (bad < 0 or nul < bad):
        prefix = data[:nul].decode("utf-8", "replace")
        line, col = _line_col(prefix, len(prefix))
        return None, _fail(codes.HG008, f"file contains a NUL byte at line {line}, column {col}: "
                                        "it is a binary file, not YAML text", file, line, col)
    if text is None:
        prefix = data[:bad].decode("utf-8", "replace")
        line, col = _line_col(prefix, len(prefix))
        hint_16 = " (is it UTF-16?)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        return None, _fail(codes.HG008, f"not valid UTF-8: byte 0x{data[bad]:02x} at line {line}, column {col}"
                                        f"{hint_16}", file, line, col)
    return text, None


def _load(data: bytes, file: str) -> Loaded:
    if len(data) > MAX_SPEC_BYTES:
        return _too_large(len(data), file)
    text, failed = _decode(data, file)
    if failed is not None:
        return failed
    assert text is not None

    m = _NON_PRINTABLE_RE.search(text)
    if m:
        line, col = _line_col(text, m.start())
        return _fail(codes.HG001, f"control character U+{ord(m.group()):04X} is not allowed in YAML "
                                  f"(line {line}, column {col})", file, line, col, text)

    # Candidate tab-indented lines: (line, column of the first tab). Filtered after parsing,
    # because a tab at the start of a continuation line of a quoted or block scalar is content.
    tabs: list[tuple[int, int]] = []
    tab_starts = [tm.end() - 1 for tm in _TAB_INDENT_RE.finditer(text)]
    if tab_starts:
        starts = _line_starts(text)
        for index in tab_starts:
            line = bisect.bisect_right(starts, index)
            tabs.append((line, index - starts[line - 1] + 1))

    builder = _Builder(text, file)
    builder.run()
    problems = builder.problems
    if tabs:
        inside = builder.scalar_lines()
        tabs = [t for t in tabs if t[0] not in inside]

    if builder.syntax_error is not None:
        err_line = builder.syntax_error.location.line
        early = [t for t in tabs if t[0] <= err_line] if builder.parser_failed else []
        if early:  # a tab in the indentation is the likely cause of the parser's error
            line, col = early[0]
            problems.append(_tab_problem(file, line, col))
        else:
            problems.append(builder.syntax_error)
        return Loaded(None, builder.positions, builder.key_positions, problems, text)

    if tabs:
        problems.insert(0, _tab_problem(file, *tabs[0]))

    if not problems:
        root = builder.root
        if not isinstance(root, dict):
            line, col = builder.positions.get((), (1, 1))
            if builder.documents == 0 or (root is None and builder.root_empty):
                msg, line, col = "the document is empty; the spec must be a mapping (key: value)", 1, 1
            else:
                kind = "a list" if isinstance(root, list) else f"a scalar ({_describe(root)})"
                msg = f"the top level is {kind}, not a mapping (key: value)"
            problems.append(codes.HG005.problem(msg, Location(file, line, col)))

    if problems:
        return Loaded(None, builder.positions, builder.key_positions, problems, text)
    return Loaded(builder.root, builder.positions, builder.key_positions, [], text)


class _Frame:
    __slots__ = ("container", "path", "is_map", "key", "key_pos", "seen", "start", "as_key")

    def __init__(self, container, path, start, as_key=False):
        self.as_key = as_key  # this collection is used as a mapping key (refused)
        self.container = container
        self.path = path  # None: a subtree that is discarded (a collection used as a key, ...)
        self.is_map = isinstance(container, dict)
        self.key: Any = None  # pending key (mappings): None = expecting a key
        self.key_pos: tuple[int, int] | None = None
        self.seen: dict[str, int] = {}  # key -> line of first occurrence
        self.start = start


class _Stop(Exception):
    pass


class _Builder:
    """Builds plain data from parser events, with positions; never recurses."""

    def __init__(self, text: str, file: str):
        self.text = text
        self.file = file
        self.problems: list[Problem] = []
        self.syntax_error: Problem | None = None
        self.parser_failed = False  # the syntax error came from the YAML parser (not a loader limit)
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.key_positions: dict[tuple, tuple[int, int]] = {}
        self.scalar_spans: list[tuple[int, int]] = []
        self.root: Any = None
        self.root_empty = False
        self.documents = 0
        self.loader = _LOADER(text)

    # -- problems --
    def _add(self, code: codes.Code, message: str, pos: tuple[int, int], path: tuple | None = None, *,
             hint: str | None = None) -> None:
        self.problems.append(code.problem(message, Location(self.file, pos[0], pos[1]), hint=hint,
                                          path=_pointer(path) if path is not None else ""))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Stop

    def _syntax(self, message: str, pos: tuple[int, int]) -> None:
        self.syntax_error = codes.HG001.problem(message, Location(self.file, pos[0], pos[1]))
        raise _Stop

    def scalar_lines(self) -> set[int]:
        """Lines that continue a quoted or block scalar (where a leading tab is content)."""
        lines: set[int] = set()
        for first, last in self.scalar_spans:
            lines.update(range(first, last + 1))
        return lines

    # -- driver --
    def run(self) -> None:
        try:
            try:
                self._events()
            finally:
                self.loader.dispose()
        except _Stop:
            pass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            msg = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem:
                cm = exc.context_mark
                where = f" started at line {cm.line + 1}, column {cm.column + 1}" if cm is not None else ""
                msg = f"{exc.problem} ({exc.context}{where})"
            self.syntax_error = codes.HG001.problem(msg, Location(self.file, *pos))
            self.parser_failed = True
        except yaml.YAMLError as exc:  # ReaderError and friends: no line information
            self.syntax_error = codes.HG001.problem(f"invalid YAML: {exc}", Location(self.file, 1, 1))
        except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting long before
            self.syntax_error = codes.HG001.problem("nesting too deep", Location(self.file, 1, 1))

    def _events(self) -> None:
        loader = self.loader
        stack: list[_Frame] = []
        while loader.check_event():
            ev = loader.get_event()
            cls = type(ev)
            if cls is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    pos = (ev.start_mark.line + 1, ev.start_mark.column + 1)
                    self._add(codes.HG006, f"a second YAML document starts at line {pos[0]}; "
                                           "the spec must be exactly one document", pos)
                    raise _Stop
                continue
            if cls in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent):
                continue

            if cls is yaml.SequenceEndEvent or cls is yaml.MappingEndEvent:
                frame = stack.pop()
                if frame.as_key:
                    stack[-1].key = _INVALID  # that collection was a (refused) key
                continue

            pos = (ev.start_mark.line + 1, ev.start_mark.column + 1)
            # Where does this node go?
            parent = stack[-1] if stack else None
            is_key = parent is not None and parent.is_map and parent.key is None
            if parent is None:
                path: tuple | None = ()
            elif parent.path is None:
                path = None
            elif is_key:
                path = None
            elif parent.is_map:
                path = None if parent.key is _INVALID else parent.path + (parent.key,)
            else:
                path = parent.path + (len(parent.container),)
            where = path if path is not None else (parent.path if parent is not None else None)

            if cls is yaml.AliasEvent:
                self._add(codes.HG003, f"alias '*{ev.anchor}' is not allowed; write the value out in full", pos, where)
                value: Any = None
                self._place(parent, is_key, path, _INVALID if is_key else value, pos, ev)
                continue

            anchor = ev.anchor
            tag = ev.tag
            if anchor is not None:
                self._add(codes.HG003, f"anchor '&{anchor}' is not allowed; write the value out in full", pos, where)
            if tag is not None:
                self._add(codes.HG003, f"explicit tag '{_tag_name(tag)}' is not allowed; "
                                       "write a plain value (quote it to make it a string)", pos, where)

            if cls is yaml.ScalarEvent:
                value = self._scalar(ev, pos, where, is_key)
                self._place(parent, is_key, path, value, pos, ev)
                continue

            # Collection start.
            if len(stack) >= MAX_DEPTH:
                self._syntax(f"nesting too deep: more than {MAX_DEPTH} levels of mappings/sequences", pos)
            container: Any = {} if cls is yaml.MappingStartEvent else []
            if is_key:
                kind = "mapping" if cls is yaml.MappingStartEvent else "sequence"
                self._add(codes.HG001, f"a {kind} cannot be a mapping key; keys must be plain strings", pos,
                          parent.path)
                stack.append(_Frame(container, None, pos, as_key=True))
                continue
            self._place(parent, False, path, container, pos, ev)
            stack.append(_Frame(container, path, pos))

    def _scalar(self, ev, pos: tuple[int, int], where: tuple | None, is_key: bool) -> Any:
        style = ev.style
        end = ev.end_mark
        if style and style in "|>\"'" and end.line > ev.start_mark.line:
            last = end.line + 1 if end.column > 0 else end.line
            self.scalar_spans.append((ev.start_mark.line + 2, last))
        value = ev.value
        if ev.tag is not None or not ev.implicit[0]:
            return value  # a tag is refused above; quoted and block scalars are strings
        tag = self.loader.resolve(ScalarNode, value, ev.implicit)
        if tag == _MERGE:
            return _MERGE_KEY
        try:
            old = self._yaml11(value, tag, ev)
            new = resolve_core(value)
        except (ValueError, OverflowError) as exc:
            shown = value if len(value) <= 40 else value[:37] + "..."
            reason = "too many digits" if isinstance(exc, ValueError) else "out of range"
            self._add(codes.HG001, f"number {shown} cannot be read ({reason}); quote it if it is a string", pos)
            return None
        if not same_reading(old, new):
            shown = value if len(value) <= 40 else value[:37] + "..."
            self._add(codes.HG010, f"the unquoted value {shown} is read as {_describe(new)} by YAML 1.2 (editors, "
                                   f"yaml-language-server) but as {_describe(old)} by YAML 1.1 (PyYAML, Helm's go-yaml)",
                      pos, where, hint=_ambiguous_hint(value, old, new))
            if is_key:
                return value  # one problem per scalar: not also "keys must be strings" (HG001)
        return new

    def _yaml11(self, value: str, tag: str, ev) -> Any:
        """The scalar's value as YAML 1.1 reads it (PyYAML's resolver plus the y/n booleans of the YAML 1.1
        type repository); timestamps and the value key '=' are kept as strings, as hubgen always read them."""
        if value in _YAML11_SHORT_BOOLS:
            return _YAML11_SHORT_BOOLS[value]
        if tag == _NULL:
            return None
        if tag in (_BOOL, _INT, _FLOAT):
            node = ScalarNode(tag, value, ev.start_mark, ev.end_mark, ev.style)
            if tag == _BOOL:
                return self.loader.construct_yaml_bool(node)
            if tag == _INT:
                return self.loader.construct_yaml_int(node)
            return self.loader.construct_yaml_float(node)
        return value

    def _place(self, parent: _Frame | None, is_key: bool, path: tuple | None, value: Any,
               pos: tuple[int, int], ev) -> None:
        if value is _MERGE_KEY and not is_key:
            value = "<<"  # a plain << as a value is just a string
        if parent is None:
            self.root = value
            self.positions[()] = pos
            self.root_empty = value is None and type(ev) is yaml.ScalarEvent and ev.value == "" \
                and ev.implicit[0]
            return
        if is_key:
            if value is _INVALID:
                parent.key = _INVALID
                return
            if value is _MERGE_KEY:
                self._add(codes.HG003, "merge key '<<' is not allowed; write the keys out in full", pos, parent.path)
                parent.key = _INVALID
                return
            if not isinstance(value, str):
                self._add(codes.HG001, f"mapping key {ev.value!r} is read as {_describe(value)}; keys must be "
                                       f"strings - quote it", pos, parent.path)
                parent.key = _INVALID
                return
            if parent.path is not None:
                first = parent.seen.get(value)
                if first is not None:
                    self._add(codes.HG002, f"duplicate key {value!r} (first defined at line {first})", pos,
                              parent.path + (value,))
                    parent.key = _INVALID  # keep the first value; the second is dropped
                    return
                parent.seen[value] = pos[0]
            parent.key = value
            parent.key_pos = pos
            return
        if path is None:  # inside a discarded subtree or the value of an invalid key
            if parent.is_map:
                parent.key = None
            return
        if parent.is_map:
            parent.container[parent.key] = value
            if parent.key_pos is not None:
                self.key_positions[path] = parent.key_pos
            parent.key = None
            parent.key_pos = None
        else:
            parent.container.append(value)
        self.positions[path] = pos
