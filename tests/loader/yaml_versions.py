"""Test oracles: how YAML 1.1 and YAML 1.2 read a plain (unquoted) scalar, written independently of the loader.

* :func:`yaml11` -- PyYAML's full loader (a YAML 1.1 reader) plus the ``y``/``n`` booleans of the YAML 1.1 type
  repository that PyYAML leaves out; dates and ``=`` are the strings hubgen has always kept them as.
* :func:`yaml12` -- the YAML 1.2.2 core schema, transcribed from the specification's table (section 10.3.2).
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.2.2, 10.3.2 "Tag Resolution" of the core schema, in the specification's order.
_CORE = [
    (r"null|Null|NULL|~|", lambda s: None),
    (r"true|True|TRUE|false|False|FALSE", lambda s: s in ("true", "True", "TRUE")),
    (r"[-+]?[0-9]+", lambda s: int(s, 10)),
    (r"0o[0-7]+", lambda s: int(s[2:], 8)),
    (r"0x[0-9a-fA-F]+", lambda s: int(s[2:], 16)),
    (r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", float),
    (r"[-+]?(\.inf|\.Inf|\.INF)", lambda s: -math.inf if s.startswith("-") else math.inf),
    (r"\.nan|\.NaN|\.NAN", lambda s: math.nan),
]


def yaml12(s: str) -> Any:
    for pattern, convert in _CORE:
        if re.fullmatch(pattern, s):
            return convert(s)
    return s


def yaml11(s: str) -> Any:
    if s in ("y", "Y"):
        return True
    if s in ("n", "N"):
        return False
    if s == "=":  # the YAML 1.1 "value" key, which PyYAML's safe loader cannot construct; hubgen keeps it a string
        return s
    value = yaml.load(f"v: {s}\n", Loader=_LOADER)["v"]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return s
    return value


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def ambiguous(s: str) -> bool:
    """Whether ``s``, written as a plain scalar, means different things to YAML 1.1 and YAML 1.2 (False for
    text that cannot be a plain scalar at all)."""
    return plain_scalar(s) and not same(yaml11(s), yaml12(s))


def plain_scalar(s: str) -> bool:
    """Whether ``v: s`` is a mapping whose value is the plain scalar ``s``, character for character."""
    try:
        events = list(yaml.parse(f"v: {s}\n", Loader=_LOADER))
    except yaml.YAMLError:
        return False
    scalars = [e for e in events if isinstance(e, yaml.ScalarEvent)]
    collections = [e for e in events if isinstance(e, (yaml.MappingStartEvent, yaml.SequenceStartEvent))]
    return (len(scalars) == 2 and len(collections) == 1 and scalars[1].value == s and scalars[1].implicit[0]
            and not scalars[1].style and scalars[1].tag is None and scalars[1].anchor is None)
