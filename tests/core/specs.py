"""Helpers for tests that derive specs from the committed examples.

Text edits go through :func:`replace_once` (it fails when the anchor text is missing or ambiguous, so a
case can never silently stop mutating the spec when the example changes), and expected positions are
computed with :func:`position` by searching the edited text, never hard-coded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]

SPEC = "environments/{}/environment.yaml"


def spec_path(env: str) -> str:
    return SPEC.format(env)


def example_text(env: str) -> str:
    return (REPO_ROOT / spec_path(env)).read_text(encoding="utf-8")


def example_data(env: str) -> dict[str, Any]:
    return yaml.safe_load(example_text(env))


def replace_once(text: str, old: str, new: str) -> str:
    n = text.count(old)
    if n != 1:
        raise AssertionError(f"expected exactly one occurrence of {old!r} in the spec, found {n}")
    return text.replace(old, new)


def position(text: str, needle: str, occurrence: int = 1, *, within: str | None = None,
             within_occurrence: int | None = None) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``needle`` in ``text``.

    With ``within``, ``needle`` is searched inside an occurrence of ``within`` (which must be unique unless
    ``within_occurrence`` picks one), so a case can name a short value (``"2"``) by its unambiguous context
    (``"    maxSize: 2\n"``).
    """
    base = 0
    hay = text
    if within is not None:
        count = text.count(within)
        if within_occurrence is None:
            if count != 1:
                raise AssertionError(f"expected exactly one occurrence of {within!r}, found {count}")
            within_occurrence = 1
        base = _find(text, within, within_occurrence)
        hay = within
    idx = base + _find(hay, needle, occurrence)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return line, col


def _find(hay: str, needle: str, occurrence: int) -> int:
    idx = -1
    for _ in range(occurrence):
        idx = hay.find(needle, idx + 1)
        if idx < 0:
            raise AssertionError(f"{needle!r} (occurrence {occurrence}) not found")
    return idx


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096)


def write_spec(root: Path, env: str, content: str | bytes) -> Path:
    path = root / spec_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path
