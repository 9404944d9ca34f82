"""Whether a chart's ``kubeVersion`` admits an EKS cluster's Kubernetes version, as Helm decides it.

Helm refuses to install a chart whose Chart.yaml ``kubeVersion`` constraint does not admit the cluster's
version (``chart requires kubeVersion: ... which is incompatible with Kubernetes ...``), and Flux's
helm-controller uses Helm's check. The check is Masterminds/semver v3's constraint matching against the
version the API server reports. On EKS that version carries a suffix, ``v1.35.2-eks-ac2d5a0``, which semver
reads as a *pre-release*: a comparator without a pre-release of its own (``>=1.28.0``) never matches a
pre-release, which is why charts write ``>=1.28.0-0`` (helm/helm#10375, aws/eks-distro#512).

This module implements that matching for the constraint forms charts use: comparators ``=``, ``!=``, ``>``,
``<``, ``>=``, ``<=`` (``=>``/``=<`` too), ``~``/``~>``, ``^``, wildcards (``1.28.x``, ``*``), partial
versions (``>=1.28``), hyphen ranges (``1.28 - 1.35``), AND by spaces or commas and OR by ``||``.
:func:`eks_admits` asks the question for an EKS minor version: is there a patch release of it whose
reported version the constraint admits?
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A version as constraints write it (Masterminds' ``cvRegex``): optional ``v``, one to three parts (numbers
#: or the wildcards x, X, *), an optional pre-release and build metadata. Groups: 1 major, 2 ``.minor``,
#: 3 ``.patch``, 4 ``-pre``.
_CV = (r"v?([0-9xX*]+)(\.[0-9xX*]+)?(\.[0-9xX*]+)?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
       r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_CV_PLAIN = _CV.replace("(", "(?:").replace("(?:?:", "(?:")
_OPS = r"!=|>=|=>|<=|=<|~>|=|>|<|~|\^|"
_COMPARATOR_RE = re.compile(rf"\s*({_OPS})\s*{_CV}\s*")
_FIND_RE = re.compile(rf"({_OPS})\s*({_CV_PLAIN})")
_VALID_RE = re.compile(rf"^(\s*(?:{_OPS})\s*(?:{_CV_PLAIN})\s*)((?:\s+|,\s*)(?:{_OPS})\s*(?:{_CV_PLAIN})\s*)*$")
_RANGE_RE = re.compile(rf"\s*({_CV_PLAIN})\s+-\s+({_CV_PLAIN})\s*")
#: Patch levels tried for an EKS minor version (EKS has never shipped a minor past its 20th patch).
EKS_PATCHES = range(0, 100)
#: The suffix EKS adds to the version its API server reports (any alphanumeric one behaves the same).
EKS_SUFFIX = "eks-0000000"


class ConstraintError(ValueError):
    """The constraint is not one Helm would accept."""


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    def precedence(self) -> tuple:
        """A sort key in SemVer 2.0 precedence (build metadata plays no part)."""
        # Semver precedence: a pre-release sorts before its release; numeric identifiers before alphanumeric
        # ones, numerically; alphanumeric ones in ASCII order; a shorter list first when all else is equal.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")) \
            if self.prerelease else ()
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def compare(self, other: "Version") -> int:
        a, b = self.precedence(), other.precedence()
        return (a > b) - (a < b)


@dataclass(frozen=True)
class _Comparator:
    """One comparator, as Masterminds/semver v3 (``constraints.go``) evaluates it: a partial or wildcard
    version is *dirty* (``1.28`` is patch-dirty, ``1`` and ``1.x`` minor-dirty, ``*`` wholly dirty)."""

    op: str
    con: Version
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    def admits(self, v: Version) -> bool:
        return _OPERATORS[self.op](self, v)

    def _tilde(self, v: Version) -> bool:
        c = self.con
        if v.compare(c) < 0:
            return False
        if (c.major, c.minor, c.patch) == (0, 0, 0) and not self.minor_dirty and not self.patch_dirty:
            return True
        if v.major != c.major:
            return False
        return v.minor == c.minor or self.minor_dirty

    def _tilde_or_equal(self, v: Version) -> bool:
        return self._tilde(v) if self.dirty else v.compare(self.con) == 0

    def _not_equal(self, v: Version) -> bool:
        c = self.con
        if self.dirty:
            if c.major != v.major:
                return True
            if c.minor != v.minor and not self.minor_dirty:
                return True
            if self.minor_dirty:
                return False
            if c.patch != v.patch and not self.patch_dirty:
                return True
            if self.patch_dirty:
                if v.prerelease or c.prerelease:
                    return Version(0, 0, 0, v.prerelease).compare(Version(0, 0, 0, c.prerelease)) != 0
                return False
        return v.compare(c) != 0

    def _greater(self, v: Version) -> bool:
        c = self.con
        if not self.dirty:
            return v.compare(c) > 0
        if v.major != c.major:
            return v.major > c.major
        if self.minor_dirty:
            return False
        if self.patch_dirty:
            return v.minor > c.minor
        return v.compare(c) > 0

    def _less_equal(self, v: Version) -> bool:
        c = self.con
        if not self.dirty:
            return v.compare(c) <= 0
        if v.major > c.major:
            return False
        return not (v.major == c.major and v.minor > c.minor and not self.minor_dirty)

    def _caret(self, v: Version) -> bool:
        c = self.con
        if v.compare(c) < 0:
            return False
        if c.major > 0 or self.minor_dirty:
            return v.major == c.major
        if v.major > 0:
            return False
        if c.minor > 0 or self.patch_dirty:
            return v.minor == c.minor
        if v.minor > 0:
            return False
        return v.patch == c.patch


_OPERATORS = {
    "": _Comparator._tilde_or_equal, "=": _Comparator._tilde_or_equal, "!=": _Comparator._not_equal,
    ">": _Comparator._greater, "<": lambda c, v: v.compare(c.con) < 0,
    ">=": lambda c, v: v.compare(c.con) >= 0, "=>": lambda c, v: v.compare(c.con) >= 0,
    "<=": _Comparator._less_equal, "=<": _Comparator._less_equal,
    "~": _Comparator._tilde, "~>": _Comparator._tilde, "^": _Comparator._caret,
}


def _comparator(text: str) -> _Comparator:
    """One comparator (Masterminds' ``parseConstraint``)."""
    m = _COMPARATOR_RE.fullmatch(text)
    if not m:
        raise ConstraintError(f"improper constraint: {text!r}")
    op, major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5) or ""
    pre = pre[1:]
    minor, patch = (minor or "")[1:], (patch or "")[1:]
    if _is_x(major):
        return _Comparator(op, Version(0, 0, 0, pre), dirty=True)
    if not minor or _is_x(minor):
        return _Comparator(op, Version(int(major), 0, 0, pre), dirty=True, minor_dirty=True)
    if not patch or _is_x(patch):
        return _Comparator(op, Version(int(major), int(minor), 0, pre), dirty=True, patch_dirty=True)
    return _Comparator(op, Version(int(major), int(minor), int(patch), pre))


def _rewrite_ranges(text: str) -> str:
    """``1.28 - 1.35`` -> ``>= 1.28, <= 1.35`` (Masterminds' ``rewriteRange``)."""
    return _RANGE_RE.sub(lambda m: f">= {m.group(1)}, <= {m.group(2)} ", text)


@dataclass(frozen=True)
class Constraint:
    """A parsed ``kubeVersion``: alternatives (OR, ``||``) of comparator lists (AND, spaces or commas)."""

    text: str
    alternatives: tuple[tuple[_Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        groups = []
        for part in _rewrite_ranges(text).split("||"):
            if not _VALID_RE.match(part):
                raise ConstraintError(f"improper constraint: {part.strip()!r}")
            groups.append(tuple(_comparator(m.group(0)) for m in _FIND_RE.finditer(part)))
        return cls(text, tuple(groups))

    def admits(self, version: Version) -> bool:
        """Masterminds v3.5 ``Check``: a pre-release version matches an AND group only when one of the group's
        comparators carries a pre-release (the ``-0`` convention), and then every comparator compares it."""
        for group in self.alternatives:
            if version.prerelease and not any(c.con.prerelease for c in group):
                continue
            if all(c.admits(version) for c in group):
                return True
        return False


def eks_version(minor: str, patch: int) -> Version:
    """The version an EKS cluster of ``minor`` ("1.35") reports at ``patch``: ``1.35.<patch>-eks-...``."""
    major, minor_number = (int(p) for p in minor.split(".")[:2])
    return Version(major, minor_number, patch, EKS_SUFFIX)


def eks_admits(constraint: str, minor: str) -> bool:
    """Whether Helm would install a chart with ``kubeVersion: constraint`` on an EKS cluster of ``minor``
    at some patch level. Raises :class:`ConstraintError` for a constraint Helm could not read."""
    c = Constraint.parse(constraint)
    return any(c.admits(eks_version(minor, patch)) for patch in EKS_PATCHES)


def release_admits(constraint: str, minor: str) -> bool:
    """The same question for a cluster reporting a plain release version (``1.35.<patch>``): true where
    :func:`eks_admits` is false means the constraint lacks the ``-0`` that admits EKS's suffix."""
    c = Constraint.parse(constraint)
    major, minor_number = (int(p) for p in minor.split(".")[:2])
    return any(c.admits(Version(major, minor_number, patch)) for patch in EKS_PATCHES)
