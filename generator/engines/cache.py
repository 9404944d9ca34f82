"""Content-addressed cache of engine results, so an unchanged environment costs nothing twice.

A unit of work (one template in one region, one environment's parameters, one
environment's manifests, one hub's values) is identified by a sha256 over
everything its result depends on: the engine's name and version, the bytes of
the template, schema or manifests, and the inputs. The result (plain JSON the
engine chooses) is stored under ``<RepoPaths.cache>/lint/<k[:2]>/<k>.json``.

* Writes are atomic (temporary file in the same folder, then ``os.replace``),
  so a concurrent or interrupted run never leaves a half-written entry.
* An entry that cannot be read, does not parse or names another key is
  ignored (and overwritten by the next store): the cache can only save time,
  never change a result.
* Failing to write (read-only checkout, full disk) is not an error either.
* Entries are never stale because keys cover every input; old entries simply
  stop being read. ``rm -rf ~/.cache/hubgen/lint`` reclaims the space.
* The cache lives outside the checkout (:func:`generator.paths.cache_root`): nothing a pull
  request commits is ever read as a cache entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from generator.problems import Location, Problem, Severity

#: Bump when the layout of stored entries changes; part of every key.
CACHE_FORMAT = "1"
CACHE_SUBDIR = "lint"


def cache_key(*parts: str | bytes) -> str:
    """sha256 over ``parts``, each length-prefixed so that no two part lists collide."""
    h = hashlib.sha256()
    h.update(f"hubgen-lint-cache/{CACHE_FORMAT}\0".encode())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def canonical_json(value: Any) -> str:
    """Deterministic JSON of ``value`` (for keys): sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class ResultCache:
    """JSON results by key. ``enabled=False`` (``--no-cache``) makes every lookup a miss and stores nothing."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root) / CACHE_SUBDIR
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The stored payload, or None for a miss (absent, unreadable, corrupt, or cache disabled)."""
        if not self.enabled:
            return None
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or "payload" not in doc:
            return None
        if doc.get("key") != key or doc.get("format") != CACHE_FORMAT:
            return None
        return doc["payload"]

    def put(self, key: str, payload: Any) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        data = json.dumps({"format": CACHE_FORMAT, "key": key, "payload": payload}, sort_keys=True)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            pass  # a cache that cannot be written only costs time
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


# --- problems as JSON ---------------------------------------------------------

def problem_to_json(p: Problem) -> dict:
    return p.to_dict()


def problem_from_json(d: Any) -> Problem | None:
    """Inverse of :func:`problem_to_json`; None when ``d`` is not a well-formed problem."""
    try:
        return Problem(
            code=str(d["code"]),
            severity=Severity(d["severity"]),
            message=str(d["message"]),
            location=Location(str(d["file"]), int(d["line"]), int(d["column"])),
            hint=str(d.get("hint", "")),
            environment=str(d.get("environment", "")),
            path=str(d.get("path", "")),
            source=str(d.get("source", "hubgen")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def problems_from_json(items: Any) -> list[Problem] | None:
    """A list of problems, or None if any entry is malformed (the cache entry is then treated as a miss)."""
    if not isinstance(items, list):
        return None
    out = []
    for d in items:
        p = problem_from_json(d)
        if p is None:
            return None
        out.append(p)
    return out


def file_digest(paths: Iterable[Path]) -> str:
    """sha256 over the names and contents of existing files (missing files count as absent)."""
    h = hashlib.sha256()
    for p in paths:
        try:
            data = Path(p).read_bytes()
        except OSError:
            continue
        h.update(str(p).encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()
