"""Each hub's Helm values against the chart's own ``values.schema.json`` (HG503/HG504/HG507).

Helm validates *the chart's default values coalesced with the user's values*
against the chart's schema, so this engine does the same:

1. the values Helm will see: :func:`generator.render.values.effective_values`
   (generated values, the raw ``values`` escape hatch merged last, and a
   placeholder string at every ``valuesFrom`` ``targetPath``);
2. merged over the chart version's ``values.yaml`` as Helm coalesces them
   (:func:`helm_merge`: maps merge recursively, the user's value wins, a user
   ``null`` deletes the key; the renderer's merge, in Helm's coalescing mode);
3. validated against that chart version's ``values.schema.json`` with the
   JSON Schema dialect it declares (``$schema``; draft 7 when absent), the
   validator built once per chart version. Formats are not asserted (Helm
   does not either).

Findings are reported where they can be fixed: a value that came from the
hub's raw ``values`` at its key in the spec (``hubs[i].values...``), a value
hubgen generates at the spec field feeding it
(:data:`generator.render.values.VALUE_SOURCES`), anything else at the key in
the rendered HelmRelease.

**Kubernetes version (HG508).** The chart's ``Chart.yaml`` ``kubeVersion`` must admit the version EKS
reports for the environment's ``cluster.kubernetesVersion`` (``v1.35.N-eks-...``), as Helm checks it before
installing (:mod:`generator.engines.kube_version`); otherwise Flux could never install the hub.

**Chart cache.** One directory per chart version,
``<cache>/jupyterhub-<version>/`` holding ``values.yaml``,
``values.schema.json`` and ``Chart.yaml`` (plus ``hubgen-chart.json`` when hubgen fetched it; a directory
that hubgen fetched before it kept ``Chart.yaml`` is fetched again when the network may be used, and read
without the HG508 check otherwise).
``<cache>`` is ``$HUBGEN_CHART_CACHE``, else ``<RepoPaths.cache>/charts``.
A version missing from the cache is fetched from the chart repository
(``$HUBGEN_CHART_REPOSITORY``, else the repository Flux uses): its
``index.yaml``, then the chart package, whose sha256 must equal the index's
``digest``; those three files are taken from the package, and the package itself is kept as ``chart.tgz``
(the ``chart`` engine renders it, :mod:`generator.engines.chart_render`). ``--offline`` (or
``HUBGEN_OFFLINE=1``) never touches the network. A chart version whose schema
is not available is a warning (HG504: *not checked*), never a silent pass; a
version the repository does not have is an error (HG507).
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from generator import __version__, codes
from generator.engines.base import EngineResult, EnvArtifacts, LintInputs, Stopwatch, cached_units, unit_key
from generator.engines.cache import canonical_json
from generator.engines.kube_version import ConstraintError, eks_admits, release_admits
from generator.model import Hub
from generator.paths import RepoPaths
from generator.problems import Location, Problem
from generator.render.values import VALUE_SOURCES, effective_values, generated_values, merge_values
from generator.tree import MISSING, get_path
from generator.validate.schema import pointer
from generator.versions import CHART_NAME, CHART_REPOSITORY_URL

NAME = "values"
SOURCE = "chart-values"

CHART_CACHE_ENV = "HUBGEN_CHART_CACHE"
CHART_REPOSITORY_ENV = "HUBGEN_CHART_REPOSITORY"
OFFLINE_ENV = "HUBGEN_OFFLINE"
VALUES_FILE = "values.yaml"
SCHEMA_FILE = "values.schema.json"
CHART_FILE = "Chart.yaml"
#: The chart package as the repository served it (digest-checked), for `helm template` (the chart engine).
PACKAGE_FILE = "chart.tgz"
MARKER_FILE = "hubgen-chart.json"
#: ``URL=MIRROR`` pairs (separated by spaces, commas or newlines): fetch the charts of the Helm repository at URL
#: from MIRROR instead (an ``index.yaml`` with the packages), e.g. for the platform charts on a machine that
#: cannot reach their repositories. ``HUBGEN_CHART_REPOSITORY`` stays the mirror of the JupyterHub chart's.
CHART_MIRRORS_ENV = "HUBGEN_CHART_MIRRORS"
#: Network limits for the fetcher.
TIMEOUT_SECONDS = 30
MAX_INDEX_BYTES = 128 * 1024 * 1024
MAX_CHART_BYTES = 32 * 1024 * 1024
MAX_MEMBER_BYTES = 8 * 1024 * 1024

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ChartError(Exception):
    """A chart could not be fetched or read; the message says why."""


class ChartVersionNotFound(ChartError):
    """The chart repository's index has no such version."""


# --- where charts are --------------------------------------------------------------

def chart_cache_dir(repo: RepoPaths) -> Path:
    env = os.environ.get(CHART_CACHE_ENV)
    return Path(env).expanduser() if env else repo.cache / "charts"


def chart_repository() -> str:
    return os.environ.get(CHART_REPOSITORY_ENV) or CHART_REPOSITORY_URL


def _normal_url(url: str) -> str:
    return url.strip().rstrip("/") + "/"


def chart_mirrors() -> dict[str, str]:
    """``$HUBGEN_CHART_MIRRORS`` as {repository URL (with a trailing '/'): mirror URL}."""
    out: dict[str, str] = {}
    for item in re.split(r"[\s,]+", os.environ.get(CHART_MIRRORS_ENV, "")):
        url, sep, mirror = item.partition("=")
        if sep and url and mirror:
            out[_normal_url(url)] = mirror
    return out


def repository_for(url: str) -> str:
    """Where to fetch the charts of the Helm repository ``url`` (a HelmRepository's ``spec.url``) from: its mirror
    in ``$HUBGEN_CHART_MIRRORS``, ``$HUBGEN_CHART_REPOSITORY`` for the JupyterHub chart's repository, else ``url``."""
    mirror = chart_mirrors().get(_normal_url(url))
    if mirror:
        return mirror
    if _normal_url(url) == _normal_url(CHART_REPOSITORY_URL):
        return chart_repository()
    return url


def offline_from_env() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def chart_dir(cache_dir: Path, version: str, chart: str = CHART_NAME) -> Path:
    return Path(cache_dir) / f"{chart}-{version}"


@dataclass
class Chart:
    """A chart version's defaults and schema, or why they are not available."""

    version: str
    directory: Path
    defaults: dict = field(default_factory=dict)
    schema: dict | None = None
    #: sha256 over values.yaml and values.schema.json (part of the cache key).
    digest: str = ""
    #: Why the values cannot be checked (then schema is None).
    unavailable: str = ""
    #: The version does not exist in the chart repository (an error, not a warning).
    not_found: bool = False
    #: Chart.yaml's ``kubeVersion`` constraint: "" when the chart sets none, None when the cache has no
    #: readable Chart.yaml (then the cluster's version is not checked).
    kube_version: str | None = None
    _validator: Any = None

    def validator(self) -> Any:
        """The schema's validator, built once (raises jsonschema's SchemaError for a broken schema)."""
        if self._validator is None:
            from jsonschema.validators import Draft7Validator, validator_for

            cls = validator_for(self.schema, default=Draft7Validator)
            cls.check_schema(self.schema)
            self._validator = cls(self.schema)
        return self._validator


def read_chart(directory: Path, version: str) -> Chart:
    """Load a cache directory (``values.yaml`` + ``values.schema.json``)."""
    chart = Chart(version, directory, kube_version=read_kube_version(directory))
    values_path, schema_path = directory / VALUES_FILE, directory / SCHEMA_FILE
    try:
        values_bytes = values_path.read_bytes()
    except OSError:
        chart.unavailable = f"{directory} has no {VALUES_FILE}"
        return chart
    try:
        schema_bytes = schema_path.read_bytes()
    except OSError:
        marker = _read_marker(directory)
        if marker is not None and marker.get("schema") is False:
            chart.unavailable = f"chart {CHART_NAME} {version} ships no {SCHEMA_FILE}"
        else:
            chart.unavailable = f"{directory} has no {SCHEMA_FILE}"
        return chart
    try:
        defaults = yaml.load(values_bytes.decode("utf-8"), Loader=_YAML_LOADER)
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        chart.unavailable = f"{values_path} is not readable YAML ({e})"
        return chart
    try:
        schema = json.loads(schema_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        chart.unavailable = f"{schema_path} is not valid JSON ({e})"
        return chart
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict) or not isinstance(schema, dict):
        chart.unavailable = f"{directory}: {VALUES_FILE} or {SCHEMA_FILE} is not a mapping"
        return chart
    chart.defaults, chart.schema = defaults, schema
    chart.digest = hashlib.sha256(hashlib.sha256(values_bytes).digest()
                                  + hashlib.sha256(schema_bytes).digest()).hexdigest()
    return chart


def read_kube_version(directory: Path) -> str | None:
    """The ``kubeVersion`` of the cached Chart.yaml ("" when it has none); None without a readable one."""
    try:
        meta = yaml.load((directory / CHART_FILE).read_bytes().decode("utf-8"), Loader=_YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(meta, dict):
        return None
    value = meta.get("kubeVersion")
    return "" if value is None else str(value)


def _read_marker(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- fetching ----------------------------------------------------------------------

def _download(url: str, timeout: float, limit: int) -> bytes:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ChartError(f"refusing to fetch {url!r}: only http(s) chart repositories are supported")
    request = urllib.request.Request(url, headers={"User-Agent": f"hubgen/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            data = response.read(limit + 1)
    except urllib.error.HTTPError as e:
        raise ChartError(f"GET {url}: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise ChartError(f"GET {url}: no answer within {timeout:g} s") from e
        raise ChartError(f"GET {url}: {reason}") from e
    except (socket.timeout, TimeoutError) as e:
        raise ChartError(f"GET {url}: no answer within {timeout:g} s") from e
    except (OSError, ValueError) as e:
        raise ChartError(f"GET {url}: {e}") from e
    if len(data) > limit:
        raise ChartError(f"GET {url}: more than {limit // (1024 * 1024)} MiB, refusing")
    return data


def _extract(package: bytes, chart: str) -> dict[str, bytes]:
    """``values.yaml``, ``values.schema.json`` and ``Chart.yaml`` of the chart's top folder (nothing else is
    read)."""
    wanted = {f"{chart}/{name}": name for name in (VALUES_FILE, SCHEMA_FILE, CHART_FILE)}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name not in wanted or not member.isfile():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise ChartError(f"{name} in the chart package is larger than {MAX_MEMBER_BYTES} bytes")
                fh = tar.extractfile(member)
                if fh is not None:
                    out[wanted[name]] = fh.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ChartError(f"the chart package is not a readable .tgz ({e})") from e
    if VALUES_FILE not in out:
        raise ChartError(f"the chart package has no {chart}/{VALUES_FILE}; is it the {chart} chart?")
    return out


def index_url_of(repository: str) -> str:
    """The ``index.yaml`` URL of the Helm repository at ``repository``."""
    base = repository if repository.endswith("/") else repository + "/"
    return urllib.parse.urljoin(base, "index.yaml")


def chart_index(repository: str, chart: str, *, timeout: float = TIMEOUT_SECONDS) -> tuple[str, list[dict]]:
    """(index URL, the index's entries of ``chart``) of the Helm repository at ``repository`` (fetched from
    there: callers pass :func:`repository_for` of a HelmRepository's URL, so mirrors apply). Raises
    :class:`ChartError` when the index cannot be fetched, is not a Helm repository index, or lists no such
    chart. `hubgen bump` reads the versions a repository offers from here, the fetcher the entry to download."""
    index_url = index_url_of(repository)
    raw = _download(index_url, timeout, MAX_INDEX_BYTES)
    try:
        index = yaml.load(raw.decode("utf-8"), Loader=_YAML_LOADER)
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ChartError(f"{index_url} is not a Helm repository index ({e})") from e
    if not isinstance(index, dict) or not isinstance(index.get("entries", {}), (dict, type(None))):
        raise ChartError(f"{index_url} is not a Helm repository index (no `entries` mapping)")
    entries = (index.get("entries") or {}).get(chart)
    if not isinstance(entries, list):
        raise ChartError(f"{index_url} lists no chart named {chart!r}")
    return index_url, [e for e in entries if isinstance(e, dict)]


def fetch_chart(cache_dir: Path, version: str, *, repository: str | None = None, chart: str = CHART_NAME,
                timeout: float = TIMEOUT_SECONDS) -> Path:
    """Download ``chart`` ``version`` from ``repository`` into the cache; returns its directory.

    Raises :class:`ChartVersionNotFound` when the index lacks the version and
    :class:`ChartError` for everything else (network, digest mismatch, a
    package without values.yaml).
    """
    index_url, entries = chart_index(repository or chart_repository(), chart, timeout=timeout)
    entry = next((e for e in entries if isinstance(e, dict) and str(e.get("version")) == version), None)
    if entry is None:
        raise ChartVersionNotFound(f"{index_url} has no {chart} version {version}")
    urls = entry.get("urls") or []
    if not urls or not isinstance(urls[0], str):
        raise ChartError(f"{index_url}: {chart} {version} has no download URL")
    package_url = urllib.parse.urljoin(index_url, urls[0])
    digest = str(entry.get("digest") or "").lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ChartError(f"{index_url}: {chart} {version} has no sha256 digest; refusing an unverifiable package")
    package = _download(package_url, timeout, MAX_CHART_BYTES)
    actual = hashlib.sha256(package).hexdigest()
    if actual != digest:
        raise ChartError(f"{package_url}: sha256 {actual} does not match the index's digest {digest}")
    files = _extract(package, chart)

    dest = chart_dir(cache_dir, version, chart)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / PACKAGE_FILE).write_bytes(package)
        (tmp / MARKER_FILE).write_text(json.dumps({
            "chart": chart, "version": version, "url": package_url, "digest": digest,
            "schema": SCHEMA_FILE in files, "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _install(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _install(tmp: Path, dest: Path) -> None:
    """Rename the filled ``tmp`` into place, replacing an older entry (moved aside first: a directory cannot
    be renamed onto a non-empty one). A concurrent fetch that won the race leaves an equally good entry."""
    if dest.is_dir():
        trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        try:
            os.replace(dest, trash / "entry")
        except FileNotFoundError:  # a concurrent fetch moved it already
            pass
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(tmp, dest)
    except OSError:
        if not (dest / VALUES_FILE).is_file():  # not a concurrent fetch that won the race
            raise


def _incomplete(directory: Path) -> bool:
    """An entry hubgen fetched before it kept Chart.yaml (the HG508 check needs it); entries put there by
    hand (no marker) are used as they are."""
    return _read_marker(directory) is not None and not (directory / CHART_FILE).is_file()


def resolve_chart(cache_dir: Path, version: str, *, offline: bool) -> Chart:
    """The chart from the cache, fetching it first when it is missing and the network may be used."""
    directory = chart_dir(cache_dir, version)
    if directory.is_dir() and _incomplete(directory) and not offline:
        try:
            fetch_chart(cache_dir, version)
        except (ChartError, OSError):
            pass  # the entry still serves the values check; the kubeVersion check waits for a later fetch
    if not directory.is_dir():
        if offline:
            return Chart(version, directory, unavailable=f"chart {CHART_NAME} {version} is not in the chart cache "
                                                         f"{cache_dir} and hubgen is offline")
        try:
            directory = fetch_chart(cache_dir, version)
        except ChartVersionNotFound as e:
            return Chart(version, directory, unavailable=str(e), not_found=True)
        except ChartError as e:
            return Chart(version, directory, unavailable=f"chart {CHART_NAME} {version} is not in the chart cache "
                                                         f"{cache_dir} and could not be fetched: {e}")
        except OSError as e:
            return Chart(version, directory, unavailable=f"could not write the chart cache {cache_dir}: {e}")
    return read_chart(directory, version)


@dataclass
class ChartPackage:
    """A chart version's package (``chart.tgz``) in the chart cache, for `helm template`, or why it is not there."""

    chart: str
    version: str
    directory: Path
    #: sha256 of the package (the index's digest when hubgen fetched it); "" when unavailable.
    digest: str = ""
    unavailable: str = ""
    not_found: bool = False

    @property
    def path(self) -> Path:
        return self.directory / PACKAGE_FILE

    @property
    def defaults(self) -> dict:
        """The chart's ``values.yaml`` ({} when unreadable)."""
        try:
            data = yaml.load((self.directory / VALUES_FILE).read_bytes().decode("utf-8"), Loader=_YAML_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}


def _package_digest(directory: Path) -> str | None:
    """sha256 of the cached package when it is there and (for an entry hubgen fetched) matches the index's digest
    recorded beside it; None otherwise."""
    try:
        digest = hashlib.sha256((directory / PACKAGE_FILE).read_bytes()).hexdigest()
    except OSError:
        return None
    marker = _read_marker(directory)
    if marker is not None and str(marker.get("digest", "")).lower() != digest:
        return None
    return digest


def resolve_package(cache_dir: Path, chart: str, version: str, *, repository: str, offline: bool) -> ChartPackage:
    """The package of ``chart`` ``version`` from the cache, fetched (index, digest check) from ``repository`` when
    it is missing (or an entry was fetched by a hubgen that did not keep packages) and the network may be used."""
    directory = chart_dir(cache_dir, version, chart)
    digest = _package_digest(directory) if directory.is_dir() else None
    if digest:
        return ChartPackage(chart, version, directory, digest)
    what = f"chart {chart} {version}"
    if offline:
        why = ("is in the chart cache without its package (fetched by an older hubgen)" if directory.is_dir()
               else "is not in the chart cache")
        return ChartPackage(chart, version, directory,
                            unavailable=f"{what} {why} {cache_dir} and hubgen is offline")
    try:
        directory = fetch_chart(cache_dir, version, repository=repository, chart=chart)
    except ChartVersionNotFound as e:
        return ChartPackage(chart, version, directory, unavailable=str(e), not_found=True)
    except ChartError as e:
        return ChartPackage(chart, version, directory,
                            unavailable=f"{what} is not in the chart cache {cache_dir} and could not be fetched: {e}")
    except OSError as e:
        return ChartPackage(chart, version, directory, unavailable=f"could not write the chart cache {cache_dir}: {e}")
    digest = _package_digest(directory)
    if not digest:
        return ChartPackage(chart, version, directory, unavailable=f"{what}: the fetched package cannot be read")
    return ChartPackage(chart, version, directory, digest)


# --- merging and validating --------------------------------------------------------

def helm_merge(defaults: dict, values: dict) -> dict:
    """What Helm computes from a release's ``values`` and the chart's ``defaults`` (Helm's ``CoalesceValues``).

    The same merge hubgen renders the HelmRelease with, in its coalescing mode
    (:func:`generator.render.values.merge_values`): maps merge recursively, the release's value wins,
    its ``null`` deletes the chart's default.
    """
    return merge_values(defaults, values, coalesce=True)


def _json_path(path: Any) -> list:
    return [p if isinstance(p, (int, str)) else str(p) for p in path]


def validate_values(chart: Chart, values: dict) -> list[dict]:
    """Schema violations of ``values`` merged over the chart's defaults, as plain dicts."""
    merged = helm_merge(chart.defaults, values)
    out = []
    for e in sorted(chart.validator().iter_errors(merged), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        d: dict[str, Any] = {"path": _json_path(e.absolute_path), "validator": str(e.validator), "message": e.message}
        schema = e.schema if isinstance(e.schema, dict) else {}
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            props = schema.get("properties") or {}
            patterns = list((schema.get("patternProperties") or {}).keys())
            d["extra"] = sorted(k for k in e.instance
                                if k not in props and not any(re.search(p, k) for p in patterns))
            d["known"] = sorted(props)
        elif e.validator == "required" and isinstance(e.instance, dict) and isinstance(e.validator_value, list):
            d["missing"] = [r for r in e.validator_value if r not in e.instance]
        out.append(d)
    return out


# --- from values paths to the spec ---------------------------------------------------

def _dotted(path: list) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


class _Locator:
    """Finds where a values path of one hub comes from: the spec, or the rendered HelmRelease."""

    def __init__(self, env: EnvArtifacts, index: int, hub: Hub) -> None:
        self.env, self.index, self.hub = env, index, hub
        self.raw = hub.values or {}
        cluster = env.context.model.cluster
        self.generated = generated_values(hub, cluster)
        self.effective = effective_values(hub, cluster)
        self._release_doc: Any = None

    def _spec(self, spec_path: tuple, key: bool) -> tuple[Location, str]:
        return self.env.context.loc(spec_path, key=key), pointer(spec_path)

    def _from_raw(self, vpath: list, key: bool) -> tuple[Location, str] | None:
        if get_path(self.raw, vpath) is not MISSING:
            return self._spec(("hubs", self.index, "values", *vpath), key)
        return None

    def _from_generated(self, vpath: list) -> tuple[Location, str] | None:
        if get_path(self.effective, vpath) is MISSING:
            return None
        t = tuple(str(p) for p in vpath)
        for n in range(len(t), 0, -1):
            src = VALUE_SOURCES.get(t[:n])
            if src is not None:
                return self._spec(("hubs", self.index, *src), False)
        return None

    def _release(self, vpath: list) -> tuple[Location, str]:
        rel = self.env.context.paths.hub_release(self.hub.name)
        if self._release_doc is None:
            content = next((f.content for f in self.env.files if f.path == rel), b"")
            try:
                self._release_doc = yaml.compose(content.decode("utf-8"), Loader=_YAML_LOADER) or False
            except (UnicodeDecodeError, yaml.YAMLError):
                self._release_doc = False
        node = self._release_doc
        mark = None
        for p in ["spec", "values", *vpath]:
            if isinstance(node, yaml.MappingNode):
                hit = next(((k, v) for k, v in node.value
                            if isinstance(k, yaml.ScalarNode) and k.value == str(p)), None)
                if hit is None:
                    break
                mark, node = hit[0].start_mark, hit[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and p < len(node.value):
                node = node.value[p]
                mark = node.start_mark
            else:
                break
        if mark is None:
            return Location(rel, 1, 1), ""
        return Location(rel, mark.line + 1, mark.column + 1), ""

    def locate(self, vpath: list, *, key: bool = False) -> tuple[Location, str]:
        """Where to report a problem about values path ``vpath``."""
        hit = self._from_raw(vpath, key) or self._from_generated(vpath)
        if hit:
            return hit
        # Not a value anyone set (an object-level error, or a chart default): nearest ancestor that was set.
        for n in range(len(vpath) - 1, 0, -1):
            hit = self._from_raw(vpath[:n], True) or self._from_generated(vpath[:n])
            if hit:
                return hit
        return self._release(vpath)


def _problems(env: EnvArtifacts, index: int, hub: Hub, chart: Chart, errors: list[dict]) -> list[Problem]:
    locator = _Locator(env, index, hub)
    prefix = f"hub {hub.name}: chart {CHART_NAME} {chart.version} values"
    out = []

    def add(message: str, loc_ptr: tuple[Location, str]) -> None:
        loc, ptr = loc_ptr
        out.append(codes.HG503.problem(message, loc, environment=env.name, path=ptr, source=SOURCE))

    for e in errors:
        path = list(e.get("path") or [])
        where = _dotted(path)
        if e.get("extra"):
            for k in e["extra"]:
                close = difflib.get_close_matches(str(k), e.get("known") or [], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                add(f"{prefix}: {where}: unknown key {k!r}{hint}; the chart's schema allows no additional "
                    "properties here", locator.locate([*path, k], key=True))
        elif e.get("missing"):
            for m in e["missing"]:
                if get_path(locator.raw, [*path, m]) is None:
                    add(f"{prefix}: {where}: {m!r} is required by the chart's schema, but `values` sets it to null "
                        "(which deletes the chart's default)", locator.locate([*path, m], key=True))
                else:
                    add(f"{prefix}: {where}: {e['message']}", locator.locate(path))
        else:
            add(f"{prefix}: {where}: {e.get('message', 'invalid')}", locator.locate(path))
    return out


def _decode_errors(payload: Any) -> list[dict] | None:
    if isinstance(payload, list) and all(isinstance(e, dict) and "path" in e and "message" in e for e in payload):
        return payload
    return None


def _jsonschema_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jsonschema")
    except PackageNotFoundError:  # pragma: no cover - vendored copy
        return "unknown"


class ChartValuesEngine:
    name = NAME

    def version(self) -> str:
        return f"jsonschema {_jsonschema_version()}"

    def check(self, inputs: LintInputs) -> EngineResult:
        watch = Stopwatch()
        result = EngineResult(self.name, self.version())
        cache_dir = chart_cache_dir(inputs.repo)
        offline = inputs.offline or offline_from_env()
        charts: dict[str, Chart] = {}
        units: dict[tuple[str, int], tuple[str, tuple[EnvArtifacts, int, Hub, Chart]]] = {}
        unavailable: list[tuple[EnvArtifacts, int, Hub, Chart]] = []
        for env in inputs.environments:
            for i, hub in enumerate(env.context.model.hubs):
                version = hub.chart_version
                if version not in charts:
                    charts[version] = resolve_chart(cache_dir, version, offline=offline)
                chart = charts[version]
                kube = kube_version_problem(env, i, hub, chart)
                if kube is not None:
                    result.problems.append(kube)
                if chart.schema is None:
                    unavailable.append((env, i, hub, chart))
                    continue
                cluster = env.context.model.cluster
                key = unit_key(NAME, result.version, chart.digest, canonical_json(effective_values(hub, cluster)))
                units[(env.name, i)] = (key, (env, i, hub, chart))

        def compute(misses: list) -> dict:
            out = {}
            for uid, (env_, _i, hub, chart) in misses:
                if chart.schema is None:
                    continue
                try:
                    chart.validator()  # built (and the schema checked) once per chart version
                except Exception as e:  # noqa: BLE001 - jsonschema's SchemaError and whatever a bad schema raises
                    chart.schema = None
                    chart.unavailable = f"{chart.directory / SCHEMA_FILE} is not a usable JSON Schema ({e})"
                    continue
                out[uid] = validate_values(chart, effective_values(hub, env_.context.model.cluster))
            return out

        found, hits = cached_units(inputs.cache, units, compute, decode=_decode_errors)
        result.units, result.cached = len(units), hits
        for uid, (_key, (env, i, hub, chart)) in units.items():
            if uid in found:
                result.problems.extend(_problems(env, i, hub, chart, found[uid]))
            else:
                unavailable.append((env, i, hub, chart))
        for env, i, hub, chart in unavailable:
            result.problems.append(self._unavailable(env, i, hub, chart))
        result.seconds = watch.seconds
        return result

    @staticmethod
    def _unavailable(env: EnvArtifacts, index: int, hub: Hub, chart: Chart) -> Problem:
        spec_path = ("hubs", index, "chart", "version")
        loc = env.context.loc(spec_path)
        if chart.not_found:
            return codes.HG507.problem(f"hub {hub.name}: {chart.unavailable}", loc, environment=env.name,
                                       path=pointer(spec_path), source=SOURCE)
        return codes.HG504.problem(f"hub {hub.name}: values not checked against the chart's schema: "
                                   f"{chart.unavailable}", loc, environment=env.name, path=pointer(spec_path),
                                   source=SOURCE)


# --- the cluster's Kubernetes version (HG508) ----------------------------------------

def kube_version_problem(env: EnvArtifacts, index: int, hub: Hub, chart: Chart) -> Problem | None:
    """HG508 when the chart's ``kubeVersion`` refuses the version EKS reports for the environment's cluster
    (every patch level of ``cluster.kubernetesVersion``), located at the hub's chart version."""
    constraint = chart.kube_version
    if not constraint:
        return None
    minor = env.context.model.cluster.kubernetes_version
    what = f"hub {hub.name}: chart {CHART_NAME} {chart.version} requires kubeVersion {constraint!r}"
    try:
        if eks_admits(constraint, minor):
            return None
        if release_admits(constraint, minor):
            why = (f"{what}, which admits Kubernetes {minor} but not the version EKS reports (v{minor}.N-eks-...): "
                   "without a '-0' suffix on its lower bound, semver reads EKS's version as a pre-release, and "
                   "Helm refuses to install the chart")
        else:
            why = f"{what}, which excludes Kubernetes {minor} (cluster.kubernetesVersion): Helm refuses to install it"
    except ConstraintError as e:
        why = f"{what}, which is not a constraint Helm can read ({e}): Helm refuses to install the chart"
    spec_path = ("hubs", index, "chart", "version")
    return codes.HG508.problem(why, env.context.loc(spec_path), environment=env.name, path=pointer(spec_path),
                               source=SOURCE)
