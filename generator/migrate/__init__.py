"""Spec versions: which shape of `environment.yaml` this hubgen reads, and how an older one is told so.

Every spec carries ``specVersion``. Version 1 is the shape hubgen had before the field existed, so a spec
without it is version 1; :data:`CURRENT_SPEC_VERSION` is the version ``schema/environment.schema.json``
describes (its ``specVersion`` const; tests/migrate/test_versions.py holds the two together).

Validation asks :func:`version_problem` before the schema: an old spec fails the current schema in twenty
places that all mean one thing, so it gets one problem (HG011) naming the command that upgrades it, and a
spec from a newer hubgen gets HG012. A ``specVersion`` that is not a whole number is left to the schema,
which reports it like any other wrong value.

The migrations themselves (:mod:`generator.migrate.steps`) and `hubgen upgrade`
(:mod:`generator.migrate.upgrade`) are imported only by the command that uses them: validation needs
nothing but this module.
"""

from __future__ import annotations

from typing import Any

from generator import codes
from generator.problems import Location, Problem

#: The spec version this hubgen reads and writes.
CURRENT_SPEC_VERSION = 2
#: The first version: every spec without ``specVersion``.
FIRST_SPEC_VERSION = 1
VERSION_KEY = "specVersion"


def spec_version(data: Any) -> int | None:
    """The version of a loaded spec: its ``specVersion``, or 1 when it has none. None when the version
    cannot be told (the top level is no mapping, or ``specVersion`` is not a whole number >= 1)."""
    if not isinstance(data, dict):
        return None
    if VERSION_KEY not in data:
        return FIRST_SPEC_VERSION
    value = data[VERSION_KEY]
    if isinstance(value, bool) or not isinstance(value, int) or value < FIRST_SPEC_VERSION:
        return None  # the schema reports it (HG105): a version is a whole number
    return value


def upgrade_command(environment: str) -> str:
    return f"hubgen upgrade {environment or 'ENV'}"


def version_problem(loaded: Any, display_path: str, environment: str = "") -> Problem | None:
    """HG011 when the loaded spec is older than :data:`CURRENT_SPEC_VERSION`, HG012 when newer, else None.

    HG011 stands at ``specVersion`` when the spec has one, else at the spec's first key (its top), and names
    the command to run, so the one problem an old spec gets says what to do about it."""
    data = loaded.data
    version = spec_version(data)
    if version is None or version == CURRENT_SPEC_VERSION:
        return None
    has_key = VERSION_KEY in data
    line, col = loaded.locate((VERSION_KEY,)) if has_key else loaded.locate(())
    where = Location(display_path, line, col)
    path = "/" + VERSION_KEY
    if version > CURRENT_SPEC_VERSION:
        return codes.HG012.problem(
            f"specVersion {version} is newer than this hubgen reads (spec version {CURRENT_SPEC_VERSION})",
            where, environment=environment, path=path)
    command = upgrade_command(environment)
    stated = f"specVersion {version}" if has_key else "no specVersion"
    return codes.HG011.problem(
        f"spec version {version} ({stated}); this hubgen reads version {CURRENT_SPEC_VERSION}: "
        f"run `{command}`",
        where, environment=environment, path=path,
        hint=codes.HG011.hint.replace("hubgen upgrade ENV", command)
                             .replace("hubgen render ENV", f"hubgen render {environment or 'ENV'}"))
