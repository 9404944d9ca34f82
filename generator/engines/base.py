"""The one interface every lint engine implements, and what engines are given.

An engine (cfn-lint, kubeconform, the chart's values schema, the template's
parameter constraints) looks at the artifacts of the selected environments and
reports :class:`~generator.problems.Problem` objects with its own HG5xx code::

    class Engine(Protocol):
        name: str
        def version(self) -> str: ...
        def check(self, inputs: LintInputs) -> EngineResult: ...

Engines split their work into *units* (one template in one region, one
environment's parameters, one environment's manifests, one hub's values). A
unit's cache key (built with :func:`unit_key`) covers
the engine's name and version and every byte the unit's result depends on;
:func:`cached_units` looks units up, computes only the misses (in one batch, so
an engine can run one process for all of them) and stores the new results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Protocol, Sequence, TypeVar

from generator.artifacts import RenderedFile
from generator.checks import EnvContext
from generator.engines.cache import ResultCache, cache_key
from generator.paths import RepoPaths
from generator.problems import Location, Problem
from generator.render.cloudformation import parameter_sources
from generator.tree import get_path
from generator.validate.schema import pointer


@dataclass(frozen=True)
class Template:
    """A CloudFormation template of the repository (``manifests/cloudformation/*``)."""

    path: str  # repository-relative, POSIX
    content: bytes


@dataclass(frozen=True)
class EnvArtifacts:
    """One environment that passed validation: its spec (with positions), model and rendered files."""

    context: EnvContext
    files: tuple[RenderedFile, ...]

    @property
    def name(self) -> str:
        return self.context.folder

    @property
    def spec_path(self) -> str:
        return self.context.paths.spec


@dataclass
class LintInputs:
    repo: RepoPaths
    #: Every template in manifests/cloudformation/, by repository-relative path.
    templates: dict[str, Template]
    environments: list[EnvArtifacts]
    cache: ResultCache
    #: Never touch the network (chart repository); from --offline / HUBGEN_OFFLINE.
    offline: bool = False


@dataclass
class EngineResult:
    engine: str
    version: str = ""
    problems: list[Problem] = field(default_factory=list)
    #: Units of work considered, and how many of them came from the cache.
    units: int = 0
    cached: int = 0
    seconds: float = 0.0

    def stats(self) -> dict[str, Any]:
        return {"version": self.version, "units": self.units, "cached": self.cached,
                "seconds": round(self.seconds, 3),
                "errors": sum(p.severity.value == "error" for p in self.problems),
                "warnings": sum(p.severity.value == "warning" for p in self.problems)}


class Engine(Protocol):
    #: What ``--engine`` selects and what the JSON report names.
    name: str

    def version(self) -> str:
        """Version of the underlying tool (part of every cache key)."""

    def check(self, inputs: LintInputs) -> EngineResult:
        """Check the inputs; never raises for bad input (problems instead)."""


def unit_key(engine: str, version: str, *parts: str | bytes) -> str:
    """Cache key of one unit of work of ``engine`` at ``version``."""
    return cache_key(engine, version, *parts)


K = TypeVar("K", bound=Hashable)
U = TypeVar("U")


def cached_units(
    cache: ResultCache,
    units: dict[K, tuple[str, U]],
    compute: Callable[[list[tuple[K, U]]], dict[K, Any]],
    *,
    decode: Callable[[Any], Any] = lambda payload: payload,
) -> tuple[dict[K, Any], int]:
    """Results of ``units`` (id -> (cache key, unit)), from the cache where possible.

    ``compute`` receives every miss at once and returns id -> JSON payload for
    those it could compute (an id it leaves out is neither cached nor
    returned: the engine reports why). ``decode`` turns a stored payload into
    the result, returning None for a malformed entry (then recomputed).
    Returns (id -> result, number of cache hits).
    """
    results: dict[K, Any] = {}
    misses: list[tuple[K, U]] = []
    hits = 0
    for uid, (key, unit) in units.items():
        payload = cache.get(key)
        decoded = decode(payload) if payload is not None else None
        if decoded is not None:
            results[uid] = decoded
            hits += 1
        else:
            misses.append((uid, unit))
    if misses:
        computed = compute(misses)
        for uid, _ in misses:
            if uid in computed:
                cache.put(units[uid][0], computed[uid])
                decoded = decode(computed[uid])
                if decoded is not None:
                    results[uid] = decoded
    return results, hits


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


# --- from stack parameters back to the spec ---------------------------------------

def parameter_spec_path(env: EnvArtifacts, name: str, value: Any = None) -> tuple | None:
    """The spec path feeding stack parameter ``name``, or None when no spec field feeds it.

    Sources come from :func:`generator.render.cloudformation.parameter_sources`
    (one place, next to the parameters themselves). When the source is a list
    in the spec and ``value`` is one item's value (a list-typed parameter
    checked item by item), the field of the item holding ``value`` is
    pointed at instead of the whole list.
    """
    src = parameter_sources(env.context.model).get(name)
    if src is None:
        return None
    src = tuple(src)
    items = get_path(env.context.spec, src, None)
    if isinstance(items, list) and value is not None and not isinstance(value, (list, dict)):
        for j, item in enumerate(items):
            if item == value:
                return (*src, j)
            if isinstance(item, dict):
                for k, v in item.items():
                    if v == value:
                        return (*src, j, k)
    return src


def describe_spec_path(path: Sequence) -> str:
    """``("hubs", 1, "nodePort")`` -> ``hubs[1].nodePort``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def parameter_location(env: EnvArtifacts, name: str, value: Any = None) -> tuple[Location, str, str]:
    """(spec location, JSON pointer, readable path) of the field feeding parameter ``name``.

    Falls back to the top of the spec when the parameter has no known source.
    """
    path = parameter_spec_path(env, name, value)
    if path is None:
        return Location(env.spec_path, 1, 1), "", ""
    return env.context.loc(path), pointer(path), describe_spec_path(path)
