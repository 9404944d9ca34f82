"""Walking parsed YAML/JSON documents by path (tuples of keys and list indices)."""

from __future__ import annotations

from typing import Any, Sequence

MISSING: Any = object()


def get_path(node: Any, path: Sequence, default: Any = MISSING) -> Any:
    """The value at ``path`` in nested dicts/lists, or ``default`` when any step is absent."""
    for p in path:
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and not isinstance(p, bool) and 0 <= p < len(node):
            node = node[p]
        else:
            return default
    return node
