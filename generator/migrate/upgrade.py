"""`hubgen upgrade`: bring specs to the current spec version with the ordered steps of
:mod:`generator.migrate.steps`.

:func:`migrate_text` is pure (text in, text out) and checks itself: after each step's text edit it stamps
``specVersion``, loads the result with the project's strict loader and compares it with the step's
plain-data meaning, so an edit that would change anything else is refused before anything is written.
A spec already at the current version is returned unchanged, byte for byte.

:func:`plan` reads the selected environments' specs (never through a symbolic link), :func:`apply` writes the
changed ones through :class:`generator.safefs.Confined`, confined to exactly those spec files: all staged
first, then renamed into place, each file atomically. The caller holds the repository lock.
"""

from __future__ import annotations

import codecs
import difflib
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from generator import codes
from generator.loader import MAX_SPEC_BYTES
from generator.migrate import (CURRENT_SPEC_VERSION, FIRST_SPEC_VERSION, VERSION_KEY, spec_version,
                               version_problem)
from generator.migrate.document import Document, MigrationError, set_version
from generator.migrate.steps import STEPS, Step
from generator.paths import RepoPaths
from generator.problems import Location, Problem


@dataclass
class Migrated:
    """The outcome of migrating one spec's text."""

    text: str
    source_version: int
    target_version: int
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def migrate_text(text: str, display_path: str = "environment.yaml", *,
                 target: int = CURRENT_SPEC_VERSION) -> Migrated:
    """``text`` migrated to spec version ``target``. Raises MigrationError (with located problems) when the
    spec does not load, has no usable version, is newer than ``target``, or has a part a step cannot
    rewrite by itself."""
    doc = Document.parse(text, display_path)
    version = _version_of(doc)
    if version > target:
        newer = version_problem(doc.loaded, display_path)
        raise MigrationError([newer] if newer is not None else [])
    out = Migrated(doc.text, version, target)
    for step in STEPS[version - FIRST_SPEC_VERSION:target - FIRST_SPEC_VERSION]:
        out.notes.extend(step.notes(doc.data))
        doc = _apply(step, doc, display_path)
        out.steps.append(step)
    out.text = doc.text
    return out


def _version_of(doc: Document) -> int:
    version = spec_version(doc.data)
    if version is None:
        value = doc.data.get(VERSION_KEY) if isinstance(doc.data, dict) else None
        line, col = doc.loaded.locate((VERSION_KEY,))
        raise MigrationError([codes.HG105.problem(
            f"specVersion: {value!r} is not a spec version (a whole number from {FIRST_SPEC_VERSION} to "
            f"{CURRENT_SPEC_VERSION})", Location(doc.display_path, line, col), path="/" + VERSION_KEY,
            hint=f"Write the version the spec was written for: {FIRST_SPEC_VERSION} for a spec from before "
                 f"the field existed (or remove the line), {CURRENT_SPEC_VERSION} for the current shape.")])
    return version


def _apply(step: Step, doc: Document, display_path: str) -> Document:
    """One step: its text edit, then ``specVersion``, then the self-check against its data meaning."""
    expected = step.transform(doc.data)
    expected[VERSION_KEY] = step.target
    edited = _reparse(step.rewrite(doc), display_path, step)  # MigrationError (HG011): a part it cannot rewrite
    result = _reparse(set_version(edited, step.target), display_path, step)
    if not same(result.data, expected):
        raise _internal(display_path, step, "the rewritten spec does not mean what the step does")
    return result


def _reparse(text: str, display_path: str, step: Step) -> Document:
    try:
        return Document.parse(text, display_path)
    except MigrationError as e:
        raise _internal(display_path, step, "the rewritten text does not load") from e


def _internal(display_path: str, step: Step, why: str) -> MigrationError:
    return MigrationError([codes.HG011.problem(
        f"hubgen upgrade could not rewrite this spec from version {step.source} to {step.target} safely ({why}); "
        "nothing was written", Location(display_path, 1, 1),
        hint="This is a bug in hubgen: please report it with the spec. Meanwhile, edit the spec by hand as "
             "docs/upgrading.md shows.")])


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types (``1 == True`` in Python, not in a spec)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


# --- environments on disk ---------------------------------------------------------------------------------------


@dataclass
class EnvUpgrade:
    """What upgrading one environment's spec changes."""

    environment: str
    path: str  # the spec, repository-relative
    old: bytes | None = None
    new: bytes | None = None  # None: nothing to write
    source_version: int | None = None
    target_version: int = CURRENT_SPEC_VERSION
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old

    def to_dict(self) -> dict:
        return {"environment": self.environment, "path": self.path, "fromVersion": self.source_version,
                "toVersion": self.target_version if self.source_version is not None else None,
                "changed": self.changed, "steps": self.steps, "notes": self.notes}


def plan(repo: RepoPaths, names: list[str] | None) -> list[EnvUpgrade]:
    """What upgrading the environments (all by default) changes; raises UsageError for unknown names."""
    from generator.validate.environments import check_env_names

    return [plan_one(repo, name) for name in check_env_names(repo, names)]


def plan_one(repo: RepoPaths, name: str) -> EnvUpgrade:
    spec = repo.env(name).spec
    up = EnvUpgrade(name, spec)
    data, problem = _read(repo, spec, name)
    if problem is not None:
        up.problems.append(problem)
        return up
    assert data is not None
    up.old = data
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        migrated = migrate_text(data[len(bom):].decode("utf-8", errors="strict"), spec)
    except UnicodeDecodeError:  # the loader says where (HG008)
        from generator.loader import load_yaml_text

        up.problems.extend(_with_env(load_yaml_text(data, spec).problems, name))
        return up
    except MigrationError as e:
        up.problems.extend(_with_env(e.problems, name))
        return up
    up.source_version = migrated.source_version
    up.steps = [f"{s.source} -> {s.target}: {s.title}" for s in migrated.steps]
    up.notes = migrated.notes
    if migrated.steps:
        up.new = bom + migrated.text.encode("utf-8")
    return up


def _with_env(problems: list[Problem], name: str) -> list[Problem]:
    from dataclasses import replace

    return [p if p.environment else replace(p, environment=name) for p in problems]


def _read(repo: RepoPaths, spec: str, name: str) -> tuple[bytes | None, Problem | None]:
    """The spec's bytes, read without following links; or the problem (HG007, HG009) that prevents it."""
    from generator.safefs import Refused, read_file

    where = Location(spec)
    try:
        st = os.lstat(repo.abs(spec))
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_SPEC_BYTES:
            return None, codes.HG007.problem(f"file is {st.st_size} bytes; the limit is {MAX_SPEC_BYTES // 1024} KiB",
                                             Location(spec, 1, 1), environment=name)
        data = read_file(repo.root, spec)
    except Refused as e:
        return None, codes.HG009.problem(
            f"{spec} cannot be upgraded: {e}", where, environment=name,
            hint="hubgen upgrade rewrites only a regular file inside the repository: replace the link by the "
                 "file itself.")
    except OSError as e:
        return None, codes.HG009.problem(f"cannot read {spec}: {e.strerror or e}", where, environment=name)
    if data is None:
        return None, codes.HG009.problem(f"{spec} does not exist", where, environment=name)
    if len(data) > MAX_SPEC_BYTES:
        return None, codes.HG007.problem(f"file is {len(data)} bytes; the limit is {MAX_SPEC_BYTES // 1024} KiB",
                                         Location(spec, 1, 1), environment=name)
    return data, None


def check_problems(ups: list[EnvUpgrade]) -> list[Problem]:
    """For `upgrade --check`: every spec that is not at the current version gets the HG011 `validate` gives it
    (the spec at its old version is what is checked), next to the problems that keep a spec from upgrading."""
    from generator.loader import load_yaml_text

    out: list[Problem] = []
    for up in ups:
        out.extend(up.problems)
        if up.changed and up.old is not None:
            loaded = load_yaml_text(up.old, up.path)
            problem = version_problem(loaded, up.path, up.environment)
            if problem is not None:
                out.append(problem)
    return out


def unified_diff(up: EnvUpgrade) -> str:
    if not up.changed or up.old is None or up.new is None:
        return ""
    old = up.old.decode("utf-8", "replace").splitlines(keepends=True)
    new = up.new.decode("utf-8", "replace").splitlines(keepends=True)
    out = "".join(difflib.unified_diff(old, new, f"a/{up.path}", f"b/{up.path}"))
    return out if out.endswith("\n") or not out else out + "\n\\ No newline at end of file\n"


def apply(repo: RepoPaths, ups: list[EnvUpgrade]) -> list[str]:
    """Write every changed spec (all staged, then renamed; each atomically); the paths written. A spec whose
    bytes changed since it was read is not overwritten (WriteError, nothing written). Call with the
    repository lock held. Raises generator.writer.WriteError."""
    from generator.writer import write_specs

    return write_specs(repo, [(up.path, up.old, up.new) for up in ups if up.changed and up.new is not None],
                       "hubgen upgrade")
