"""Problems: what every stage of hubgen reports, in one shape.

A :class:`Problem` always carries a stable code (see :mod:`generator.codes`),
a severity, a location (``file:line:column``, 1-based, 0 meaning unknown) and a
fix hint. Loader, schema, semantic checks, drift detection and the external
engines all report through this type, so every output format treats them alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        return 0 if self is Severity.ERROR else 1


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; ``file`` is relative to the repository root where possible."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


@dataclass(frozen=True)
class Problem:
    code: str
    severity: Severity
    message: str
    location: Location
    hint: str = ""
    #: Environment the problem belongs to ("" for repository-wide problems).
    environment: str = ""
    #: JSON-pointer-like path in the spec ("/cluster/nodes/maxSize"), when known.
    path: str = ""
    #: Which engine found it ("hubgen", "cfn-lint", "kubeconform", ...).
    source: str = field(default="hubgen")

    def sort_key(self) -> tuple:
        return (self.location.file, self.location.line, self.location.column, self.code, self.message)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "hint": self.hint,
            "environment": self.environment,
            "path": self.path,
            "source": self.source,
        }


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Deduplicate and order problems by file, position and code."""
    seen: set = set()
    out = []
    for p in sorted(problems, key=Problem.sort_key):
        key = (p.code, p.location, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
