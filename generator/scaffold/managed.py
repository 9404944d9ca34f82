"""Managed files: what hubgen owns in a generated GitOps repository, in ONE place (:data:`MANAGED`).

A managed file is shipped inside the hubgen package (``generator/data/``, which links
to the files of the hubgen repository itself, so there is one copy of each) and
copied into a repository by ``hubgen init``. ``hubgen init --update`` brings every
managed file to the installed hubgen's version, ``hubgen init --check`` reports the
ones that differ (HG405). Nothing under ``environments/`` is ever managed.

``.hubgen.yaml`` at the repository root records the hubgen version that last wrote
the managed files, which files those were (so a file a newer hubgen no longer
ships is removed by the update, and a team's own files next to managed ones are
never touched), and ``hubgen-source``: the pip requirement the repository's CI
installs hubgen with (a git URL pinned to a commit or tag, see
:mod:`generator.scaffold.install`; the workflows read it with ``sed``, so it is
written as one plain ``hubgen-source: SPEC`` line).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import yaml

from generator import __version__, codes
from generator.paths import SCHEMA_RELPATH, TEMPLATES_DIR
from generator.problems import Location, Problem
from generator.safefs import Confined, PartlyWritten, Refused, read_file

#: The record of the last `hubgen init` / `hubgen init --update`, at the repository root.
RECORD = ".hubgen.yaml"
#: The record's key for where CI installs hubgen from (the workflows' "Install hubgen" steps read it).
RECORD_SOURCE = "hubgen-source"


@dataclass(frozen=True)
class Managed:
    """One managed file (``pattern`` None) or the shipped files of one folder (``pattern`` a glob)."""

    target: str  # repository-relative path
    data: str  # name under generator/data/
    pattern: str | None = None


#: Every managed file, in one place. A folder entry ships the files of the folder matching its pattern
#: (the hubgen repository's own files, linked into generator/data/); entries whose files do not exist in
#: the installed package are skipped.
MANAGED: tuple[Managed, ...] = (
    Managed(SCHEMA_RELPATH, "environment.schema.json"),
    Managed(TEMPLATES_DIR, "cloudformation", "*.yaml"),
    Managed(".github/workflows", "workflows", "*.yml"),
    Managed(".pre-commit-config.yaml", "pre-commit-config.yaml"),
)


def _data() -> Traversable:
    return resources.files("generator").joinpath("data")


def shipped() -> dict[str, bytes]:
    """Repository-relative path -> content of every managed file the installed hubgen ships."""
    import fnmatch

    out: dict[str, bytes] = {}
    data = _data()
    for m in MANAGED:
        node = data.joinpath(m.data)
        if m.pattern is None:
            if node.is_file():
                out[m.target] = node.read_bytes()
            continue
        if not node.is_dir():
            continue
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_file() and fnmatch.fnmatch(child.name, m.pattern):
                out[f"{m.target}/{child.name}"] = child.read_bytes()
    return dict(sorted(out.items()))


# --- the record ----------------------------------------------------------------------


@dataclass
class Record:
    version: str | None = None
    files: list[str] = field(default_factory=list)
    #: The recorded hubgen-source exactly as written (not checked here: see install.parse_source).
    source: str | None = None


def read_record(root: Path) -> Record:
    """The record of ``root``; an empty one when it is missing, unreadable or a symbolic link."""
    try:
        raw = _read(root, RECORD)
        data = yaml.safe_load(raw.decode("utf-8")) if raw is not None else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return Record()
    if not isinstance(data, dict):
        return Record()
    files = data.get("managed")
    version = data.get("hubgen")
    source = data.get(RECORD_SOURCE)
    return Record(str(version) if version is not None else None,
                  [f for f in files if isinstance(f, str)] if isinstance(files, list) else [],
                  source if isinstance(source, str) else None)


def record_text(files: list[str], source: str) -> str:
    """The record; ``source`` must be a requirement :func:`generator.scaffold.install.parse_source` returned
    (no quotes, ``#`` only in ``#subdirectory=``: a plain YAML scalar that ``sed`` reads back unchanged).
    Raises :class:`generator.scaffold.install.SourceError` (a ValueError) for anything else."""
    from generator.scaffold.install import SourceError, parse_source

    if parse_source(source) != source:
        raise SourceError(f"{source!r} is not in the form hubgen records")
    lines = [
        "# Written by hubgen: the version that last wrote the managed files listed below, and where CI",
        "# installs hubgen from (hubgen-source: a git URL pinned to a commit or tag, never a package index).",
        "# `hubgen init --update` brings the files to the installed hubgen's version (--hubgen-source SPEC",
        "# changes the source); `hubgen init --check` reports any that differ. Edit the environments, not these.",
        f"hubgen: {__version__}",
        f"{RECORD_SOURCE}: {source}",
        "managed:",
        *(f"  - {f}" for f in sorted(files)),
    ]
    return "\n".join(lines) + "\n"


# --- comparing and updating ----------------------------------------------------------


@dataclass
class ManagedChange:
    path: str
    action: str  # "create" | "update" | "remove"
    old: bytes | None
    new: bytes | None


def _confined(root: Path) -> Confined:
    """Changes an update may make: the managed files and the record, never through a link."""
    return Confined(root, lambda rel: rel == RECORD or is_managed_path(rel), what="hubgen init --update")


def _read(root: Path, rel: str) -> bytes | None:
    """A managed file's bytes (None when missing), never through a symbolic link (OSError then)."""
    try:
        return read_file(root, rel)
    except (NotADirectoryError, IsADirectoryError):
        return None
    except Refused as e:
        raise OSError(f"{e}; hubgen does not read or write managed files through links") from e


def changes(root: Path) -> list[ManagedChange]:
    """What an update would change in the repository at ``root``."""
    wanted = shipped()
    out = []
    for rel, content in wanted.items():
        current = _read(root, rel)
        if current is None:
            out.append(ManagedChange(rel, "create", None, content))
        elif current != content:
            out.append(ManagedChange(rel, "update", current, content))
    for rel in read_record(root).files:
        if rel in wanted or not is_managed_path(rel):
            continue
        current = _read(root, rel)
        if current is not None:
            out.append(ManagedChange(rel, "remove", current, None))
    return sorted(out, key=lambda c: c.path)


def is_managed_path(rel: str) -> bool:
    """Whether ``rel`` is a path a MANAGED entry covers (so hubgen may replace or remove it).

    The record only ever *narrows* what an update touches: a hand-edited record naming README.md,
    an environment or a path outside the repository cannot make hubgen delete it.
    """
    import fnmatch

    parts = rel.split("/")
    if not rel or os.path.isabs(rel) or any(p in ("", ".", "..") for p in parts):
        return False
    for m in MANAGED:
        if m.pattern is None and rel == m.target:
            return True
        if m.pattern is not None and "/".join(parts[:-1]) == m.target and fnmatch.fnmatch(parts[-1], m.pattern):
            return True
    return False


def record_outdated(root: Path) -> bool:
    rec = read_record(root)
    return rec.version != __version__ or sorted(rec.files) != sorted(shipped())


def apply(root: Path, todo: list[ManagedChange], source: str) -> None:
    """Write the changes (each file atomically) and the record naming ``source``. Raises OSError."""
    writes = {c.path: c.new for c in todo if c.new is not None}
    writes[RECORD] = record_text(list(shipped()), source).encode("utf-8")
    try:
        _confined(root).write_all(writes, deletes=[c.path for c in todo if c.new is None])
    except (Refused, PartlyWritten) as e:
        raise OSError(str(e)) from e


def write_record(root: Path, source: str) -> None:
    _confined(root).write(RECORD, record_text(list(shipped()), source).encode("utf-8"))


def unified_diff(c: ManagedChange) -> str:
    def lines(b: bytes | None) -> list[str]:
        return b.decode("utf-8", "replace").splitlines(keepends=True) if b is not None else []

    old_name = f"a/{c.path}" if c.old is not None else "/dev/null"
    new_name = f"b/{c.path}" if c.new is not None else "/dev/null"
    out = "".join(difflib.unified_diff(lines(c.old), lines(c.new), old_name, new_name))
    return out if out.endswith("\n") or not out else out + "\n\\ No newline at end of file\n"


def problems(todo: list[ManagedChange], root: Path | None = None) -> list[Problem]:
    """HG405 for every managed file an update would change (and, given ``root``, for a record whose
    hubgen-source CI cannot install hubgen from)."""
    what = {"create": "is missing", "update": "differs from the one hubgen {v} ships",
            "remove": "is no longer shipped by hubgen {v}"}
    out = [codes.HG405.problem(f"{c.path} {what[c.action].format(v=__version__)}", Location(c.path)) for c in todo]
    if root is not None:
        why = source_problem(read_record(root))
        if why:
            out.append(codes.HG405.problem(why, Location(RECORD)))
    return out


def source_problem(record: Record) -> str | None:
    """Why CI cannot install hubgen from the record's hubgen-source (None: it can)."""
    from generator.scaffold.install import FORM, OPTION, SourceError, parse_source

    if record.source is None:
        return (f"{RECORD} records no {RECORD_SOURCE}, so CI cannot install hubgen; run `hubgen init --update "
                f"{OPTION} '{FORM}'`")
    try:
        parse_source(record.source)
    except SourceError as e:
        return f"{RECORD}: {RECORD_SOURCE} cannot be used: {e}; run `hubgen init --update {OPTION} '{FORM}'`"
    return None
