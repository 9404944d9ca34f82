"""The environment index: what cross-environment checks need to know about environments that were
not asked for, without validating them again.

`hubgen validate dev` (and the pre-commit hook for a one-environment change) reports problems of
``dev`` only, but stack-name uniqueness must still compare ``dev`` with every other environment.
Loading, schema-checking and modelling 500 specs for that costs seconds; reading them costs
milliseconds. So every validation run records, per spec *content* (sha256 of the file's bytes),
whether the spec loads and passes the schema and, if so, its plain data. The next run reads each
other spec, hashes it, and rebuilds its model from the recorded data (a fraction of a millisecond)
instead of re-validating it; only specs whose bytes changed since are validated again.

The record is keyed by content and by a fingerprint of everything that decides validity (hubgen's
version, the schema, the loader, the schema mapping and the model builder), so it can be stale
only if those are edited without changing their bytes, which cannot happen. It lives outside the
checkout, in ``<cache>/repos/<hash of the repository's path>/validate-index.json`` (see
:func:`generator.paths.cache_root`), so no pull request can plant entries; it is written atomically,
and failing to read or write it (read-only home, full disk) only costs time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from importlib import resources
from typing import Any

from generator import __version__
from generator.paths import RepoPaths

INDEX_FILE = "validate-index.json"
FORMAT = 1
#: The modules whose code decides whether a spec validates and what its model is.
_SOURCES = ("model.py", "loader/yaml_loader.py", "validate/schema.py", "validate/environments.py", "migrate/__init__.py")


@functools.cache
def fingerprint() -> str:
    from generator.validate.schema import schema_text

    h = hashlib.sha256(f"hubgen {__version__} index {FORMAT}\0".encode())
    h.update(schema_text().encode("utf-8"))
    pkg = resources.files("generator")
    for name in _SOURCES:
        h.update(b"\0" + name.encode() + b"\0")
        h.update(pkg.joinpath(name).read_bytes())
    return h.hexdigest()


def digest(spec: bytes) -> str:
    return hashlib.sha256(spec).hexdigest()


def _json_safe(data: Any) -> bool:
    """Whether ``data`` survives a JSON round trip unchanged (a recorded spec must rebuild exactly)."""
    try:
        return json.loads(json.dumps(data, allow_nan=False)) == data
    except (TypeError, ValueError):
        return False


class Index:
    """digest of a spec's bytes -> its data (None: the spec does not load or fails the schema)."""

    def __init__(self, repo: RepoPaths) -> None:
        self.path = repo.repo_cache / INDEX_FILE
        self.entries: dict[str, Any] = {}
        self.seen: set[str] = set()
        self._dirty = False
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(doc, dict) and doc.get("fingerprint") == fingerprint() and isinstance(doc.get("specs"), dict):
            self.entries = doc["specs"]

    def get(self, key: str) -> tuple[bool, Any]:
        """(found, data)."""
        self.seen.add(key)
        if key in self.entries:
            return True, self.entries[key]
        return False, None

    def put(self, key: str, data: Any) -> None:
        self.seen.add(key)
        if data is not None and not _json_safe(data):
            return
        if key not in self.entries or self.entries[key] != data:
            self.entries[key] = data
            self._dirty = True

    def save(self) -> None:
        """Write the entries of the specs seen in this run (atomically); errors are ignored."""
        if not self._dirty and set(self.entries) <= self.seen:
            return
        specs = {k: v for k, v in self.entries.items() if k in self.seen}
        doc = json.dumps({"fingerprint": fingerprint(), "specs": specs}, sort_keys=True, separators=(",", ":"))
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".validate-index.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(doc)
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def spec_data(repo: RepoPaths, folders: list[str]) -> dict[str, Any]:
    """The plain data of each folder's spec (None when it does not load): from the index when the
    spec is unchanged and valid, else from the strict loader. For decisions that need the other
    environments' values (a unique stack name for `hubgen new`), not their problems."""
    from generator.loader import load_yaml_file

    index = Index(repo)
    out: dict[str, Any] = {}
    for folder in folders:
        spec = repo.env(folder).spec
        try:
            found, data = index.get(digest(repo.abs(spec).read_bytes()))
        except OSError:
            found, data = False, None
        if not found or data is None:
            data = load_yaml_file(repo.abs(spec), spec).data
        out[folder] = data
    return out
