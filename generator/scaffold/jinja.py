"""Jinja filters the scaffolding templates use to write YAML values safely.

Loaded by cookiecutter through ``_extensions`` in each template's ``cookiecutter.json``.
Values are written so that hubgen's strict loader reads back exactly the value
that was meant: strings that YAML would read as something else (``yes``,
``"553778890976"``, ``1.31``) are quoted, nothing ever becomes a tag or an alias.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from jinja2.ext import Extension

from generator.loader import load_yaml_text
from generator.render.common import dump_yaml


def _reads_back(text: str, value: str) -> bool:
    """Whether hubgen's strict loader reads ``x: <text>`` as exactly ``value``, with no problem (so
    no YAML 1.1 / 1.2 ambiguity, HG010, either), and a plain YAML 1.1 reader (PyYAML, editors, other
    tools reading the spec) agrees: it reads ``2026-01-05`` as a date."""
    document = f"x: {text}\n"
    loaded = load_yaml_text(document.encode("utf-8"), "x")
    if loaded.problems or loaded.data != {"x": value}:
        return False
    try:
        return yaml.safe_load(document) == {"x": value}
    except yaml.YAMLError:
        return False


def yaml_scalar(value: Any) -> str:
    """One YAML scalar (or a short flow collection) on one line."""
    if isinstance(value, str):
        plain_ok = (
            value != ""
            and value == value.strip()
            and "\n" not in value
            and ": " not in value
            and " #" not in value
            and value[0] not in "!&*{}[]|>'\"%@`#,?:-"
            and _reads_back(value, value)
        )
        return value if plain_ok else json.dumps(value, ensure_ascii=False)
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)  # flow collections: JSON is valid YAML


def yaml_block(value: Any, indent: int) -> str:
    """A block YAML rendering of ``value``, every line indented by ``indent`` spaces (no trailing newline)."""
    text = dump_yaml(value).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


class YamlExtension(Extension):
    """Adds the ``yaml`` (inline scalar) and ``yaml_block`` filters."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["yaml"] = yaml_scalar
        environment.filters["yaml_block"] = yaml_block
