"""Locating plaintext secrets in YAML or JSON text (file:line:column), e.g. generated files (HG303).

:func:`generator.checks.secrets.find_secrets` works on parsed data; this module
parses the text into nodes first, so each finding gets the position of the value
(or key) it was found at.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.checks.secrets import find_secrets

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _build(root: Node) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    """Plain data (scalars kept as strings, except YAML's own ints/floats/bools/nulls) and positions."""
    positions: dict[tuple, tuple[int, int]] = {}
    resolver = _LOADER("")

    def scalar(node: ScalarNode) -> Any:
        tag = node.tag
        if tag.endswith(":null"):
            return None
        if tag.endswith(":bool"):
            return node.value.lower() in ("true", "yes", "on", "y")
        if tag.endswith(":int") or tag.endswith(":float"):
            try:
                return resolver.construct_object(node)
            except (ValueError, yaml.YAMLError):
                return node.value
        return node.value

    def build(node: Node, path: tuple, seen: set[int]) -> Any:
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if id(node) in seen:  # an alias: never expanded
            return None
        seen = seen | {id(node)}
        if isinstance(node, ScalarNode):
            return scalar(node)
        if isinstance(node, SequenceNode):
            return [build(v, path + (i,), seen) for i, v in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict = {}
            for k, v in node.value:
                key = k.value if isinstance(k, ScalarNode) else "?"
                out[key] = build(v, path + (key,), seen)
            return out
        return None

    try:
        data = build(root, (), set())
    finally:
        resolver.dispose()
    return data, positions


def scan_text(text: str) -> list[tuple[tuple, str, int, int]]:
    """(path, reason, line, column) for every plaintext secret in a YAML/JSON text (all documents).

    Paths of documents after the first are prefixed with the document index (``(1, ...)``).
    Raises ``yaml.YAMLError`` when the text is not YAML.
    """
    out = []
    for index, root in enumerate(yaml.compose_all(text, Loader=_LOADER)):
        if root is None:
            continue
        data, positions = _build(root)
        for path, reason in find_secrets(data):
            line, col = positions.get(path) or positions.get(path[:-1]) or (1, 1)
            out.append(((index,) + path if index else path, reason, line, col))
    return out
