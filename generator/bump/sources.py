"""What an environment pins, and which newer version of each pin exists.

A :class:`Pin` is one version in a spec: each hub's JupyterHub chart, the platform charts hubgen renders for the
environment (cluster-autoscaler when it is enabled, the NVIDIA device plugin when a node group has GPUs: a chart
hubgen does not render is not the environment's to bump), ``cluster.kubernetesVersion``, and the image tag of each
hub's single-user image and of each profile with its own image. A platform chart the spec does not pin is pinned at
hubgen's default (:mod:`generator.versions`): its bump inserts the pin.

Where newer versions come from:

* charts: the ``index.yaml`` of the chart's Helm repository, through the chart engines' own fetching
  (:func:`generator.engines.chart_values.chart_index`, :func:`~generator.engines.chart_values.repository_for`:
  ``HUBGEN_CHART_REPOSITORY``, ``HUBGEN_CHART_MIRRORS``), each index fetched once per run. The newest stable semver
  release above the current one; pre-releases only when the current version is one;
* Kubernetes: the next minor version (EKS upgrades a cluster one minor at a time) once the shipped EKS calendar
  (:mod:`generator.platform.eks_versions`) says EKS released it;
* images: the tag lists the user gives (``repository:tag`` lines), the newest tag of the same *shape* as the current
  one (:func:`tag_key`): ``build.41`` -> ``build.42``, ``2026.11.02`` -> ``2026.12.01``, ``v1.2.3`` -> ``v1.3.0``;
  a tag without a number (``latest``) is never proposed, a tag that looks like a hash never ordered.

``--follow TIER`` caps every proposal at what the environments of TIER pin now (:func:`caps`): production follows
what staging already runs, and a component staging does not run at all is held.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable

from generator import codes, versions
from generator.engines.kube_version import Version
from generator.model import Environment
from generator.platform import eks_versions
from generator.problems import Location, Problem
from generator.tree import MISSING, get_path

CHARTS, KUBERNETES, IMAGES = "charts", "kubernetes", "images"

#: Where each chart hubgen renders comes from (the HelmRepository URL Flux uses; mirrors apply on top).
CHART_REPOSITORIES = {
    versions.CHART_NAME: versions.CHART_REPOSITORY_URL,
    versions.CLUSTER_AUTOSCALER_CHART.name: versions.CLUSTER_AUTOSCALER_CHART.repository,
    versions.NVIDIA_DEVICE_PLUGIN_CHART.name: versions.NVIDIA_DEVICE_PLUGIN_CHART.repository,
}
#: Spec paths of the platform chart pins.
AUTOSCALER_PATH = ("cluster", "autoscaler", "chart", "version")
DEVICE_PLUGIN_PATH = ("cluster", "nvidiaDevicePlugin", "chart", "version")
KUBERNETES_PATH = ("cluster", "kubernetesVersion")

#: An image repository and a tag as the spec's schema accepts them.
IMAGE_NAME_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
IMAGE_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
#: A tag list larger than this is not a list a person or a registry query wrote.
MAX_TAG_LIST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Pin:
    """One pinned version of one environment."""

    environment: str
    kind: str  # CHARTS, KUBERNETES or IMAGES
    #: The chart's name, "kubernetes", or the image repository.
    component: str
    #: Where the version is (or goes) in the spec.
    path: tuple
    current: str
    #: What a person calls it: "chart jupyterhub (hub course)".
    label: str
    #: The version is written in the spec; False: hubgen's default, which the bump writes in.
    present: bool = True


@dataclass(frozen=True)
class Bump:
    """A newer version for a pin, and where it was found."""

    pin: Pin
    new: str
    source: str


@dataclass(frozen=True)
class Held:
    """A newer version exists but ``--follow`` holds it back: ``cap`` is what the followed tier pins ("" none)."""

    pin: Pin
    newest: str
    cap: str
    tier: str


class SourceError(Exception):
    """A source of versions cannot be read; ``problem`` says which and how to fix it (HG801, HG802)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


# --- what an environment pins ----------------------------------------------------------------------------------


def pins(model: Environment, data: dict) -> list[Pin]:
    """Every pin of one environment (``data``: its loaded spec), in spec order: charts, Kubernetes, images."""
    from generator.render.platform import has_gpus

    env = model.name
    out: list[Pin] = []
    for i, hub in enumerate(model.hubs):
        out.append(Pin(env, CHARTS, versions.CHART_NAME, ("hubs", i, "chart", "version"), hub.chart_version,
                       f"chart {versions.CHART_NAME} (hub {hub.name})"))
    platform = []
    if model.cluster.autoscaler:
        platform.append((versions.CLUSTER_AUTOSCALER_CHART.name, AUTOSCALER_PATH,
                         model.cluster.autoscaler_chart_version))
    if has_gpus(model):
        platform.append((versions.NVIDIA_DEVICE_PLUGIN_CHART.name, DEVICE_PLUGIN_PATH,
                         model.cluster.device_plugin_chart_version))
    for name, path, current in platform:
        out.append(Pin(env, CHARTS, name, path, current, f"chart {name}",
                       present=get_path(data, path) is not MISSING))
    out.append(Pin(env, KUBERNETES, "kubernetes", KUBERNETES_PATH, model.cluster.kubernetes_version,
                   "Kubernetes (EKS)"))
    for i, hub in enumerate(data.get("hubs") or []):
        image = get_path(hub, ("singleuser", "image"))
        if isinstance(image, dict):
            out.append(_image_pin(env, ("hubs", i, "singleuser", "image"), image, f"hub {hub.get('name')}"))
        for j, profile in enumerate(hub.get("profiles") or []):
            image = profile.get("image") if isinstance(profile, dict) else None
            if isinstance(image, dict):
                out.append(_image_pin(env, ("hubs", i, "profiles", j, "image"), image,
                                      f"hub {hub.get('name')}, profile {profile.get('name')}"))
    return out


def _image_pin(env: str, path: tuple, image: dict, where: str) -> Pin:
    return Pin(env, IMAGES, str(image["name"]), (*path, "tag"), str(image["tag"]), f"image {image['name']} ({where})")


def where(path: tuple) -> str:
    """A spec path as people write it: ``hubs[0].chart.version``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# --- semantic versions -------------------------------------------------------------------------------------------

_SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                        r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
                        r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")


def semver(text: str) -> Version | None:
    """``text`` as a semantic version (semver 2.0, no leading ``v``: what a chart's version is); None otherwise."""
    m = _SEMVER_RE.match(str(text))
    if m is None:
        return None
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "")


def _semver_order(a: tuple[Version, str], b: tuple[Version, str]) -> int:
    """Semver precedence; versions equal but for build metadata ordered by their text (a stable choice)."""
    return a[0].compare(b[0]) or (a[1] > b[1]) - (a[1] < b[1])


def newest_version(current: str, offered: Iterable[str], cap: str | None = None) -> str | None:
    """The newest of ``offered`` above ``current`` (and not above ``cap``), semver order; stable releases only
    unless ``current`` is a pre-release. None when there is none (or ``current`` is not a semantic version)."""
    now = semver(current)
    if now is None:
        return None
    limit = semver(cap) if cap is not None else None
    best: tuple[Version, str] | None = None
    for text in offered:
        v = semver(text)
        if v is None or (v.prerelease and not now.prerelease) or v.compare(now) <= 0:
            continue
        if limit is not None and v.compare(limit) > 0:
            continue
        if best is None or _semver_order((v, str(text)), best) > 0:
            best = (v, str(text))
    return best[1] if best else None


def highest_version(values: Iterable[str]) -> str | None:
    """The highest semantic version of ``values`` (None when there is none)."""
    parsed = [(v, str(t)) for t in values if (v := semver(t)) is not None]
    return max(parsed, key=functools.cmp_to_key(_semver_order))[1] if parsed else None


# --- Kubernetes minor versions ----------------------------------------------------------------------------------


def minor_key(version: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)", str(version))
    return (int(m.group(1)), int(m.group(2))) if m else None


def next_kubernetes(current: str, today: date, cap: str | None = None) -> str | None:
    """The minor version after ``current`` when the EKS calendar says EKS released it by ``today`` (and it is not
    above ``cap``); None otherwise. One minor at a time: EKS upgrades a control plane by one minor version."""
    key = minor_key(current)
    if key is None:
        return None
    candidate = f"{key[0]}.{key[1] + 1}"
    released = eks_versions.lookup(candidate)
    if released is None or released.released > today:
        return None
    if cap is not None and (minor_key(cap) or (0, 0)) < (key[0], key[1] + 1):
        return None
    return candidate


# --- image tags ------------------------------------------------------------------------------------------------

_TAG_TOKENS_RE = re.compile(r"\d+|\D+")


def tag_key(tag: str) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """(shape, numbers) of an image tag, or None when tags like it cannot be ordered.

    The shape is the tag with each run of digits replaced by ``#`` (``build.#``, ``#.#.#``, ``v#.#.#``); two tags
    of one shape are ordered by their numbers, left to right. None for a tag without a number (``latest``,
    ``stable``: a moving name, never a pin to bump) and for one with letters between two numbers (``1a2b3c``, a
    hash, or ``v1.2.3-rc1``, a pre-release: no order a newer release would follow)."""
    tokens = _TAG_TOKENS_RE.findall(str(tag))
    numeric = [t.isdigit() for t in tokens]
    if not any(numeric):
        return None
    first, last = numeric.index(True), len(numeric) - 1 - numeric[::-1].index(True)
    for i in range(first + 1, last):
        if not numeric[i] and re.search(r"[A-Za-z]", tokens[i]):
            return None
    shape = tuple("#" if n else t for t, n in zip(tokens, numeric))
    return shape, tuple(int(t) for t, n in zip(tokens, numeric) if n)


def newest_tag(current: str, offered: Iterable[str], cap: str | None = None) -> str | None:
    """The newest tag of ``offered`` with the shape of ``current``, above it (and not above ``cap``, a tag of the
    same shape); None when there is none or ``current`` cannot be ordered (:func:`tag_key`)."""
    now = tag_key(current)
    if now is None:
        return None
    limit = tag_key(cap) if cap is not None else None
    if cap is not None and (limit is None or limit[0] != now[0]):
        return None
    best: tuple[tuple[int, ...], str] | None = None
    for tag in offered:
        key = tag_key(tag)
        if key is None or key[0] != now[0] or key[1] <= now[1]:
            continue
        if limit is not None and key[1] > limit[1]:
            continue
        if best is None or (key[1], tag) > best:
            best = (key[1], tag)
    return best[1] if best else None


def highest_tag(tags: Iterable[str], shape_of: str) -> str | None:
    """The highest of ``tags`` with the shape of ``shape_of`` (``shape_of`` itself included)."""
    now = tag_key(shape_of)
    if now is None:
        return None
    same = [(k[1], t) for t in tags if (k := tag_key(t)) is not None and k[0] == now[0]]
    return max(same)[1] if same else None


@dataclass
class TagLists:
    """Image repository -> the tags the user's lists name, and the file each repository was first listed in."""

    tags: dict[str, set[str]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def read_tag_lists(paths: Iterable[Path]) -> TagLists:
    """The ``--image-tags`` files: one ``repository:tag`` per line, ``#`` comments and blank lines allowed. Raises
    SourceError (HG802, at the file and line) for a file that cannot be read or a line that is no image reference."""
    out = TagLists()
    for path in paths:
        shown = str(path)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_TAG_LIST_BYTES + 1)
        except OSError as e:
            raise SourceError(codes.HG802.problem(f"cannot read the image tag list {shown}: {e.strerror or e}",
                                                  Location(shown))) from e
        if len(raw) > MAX_TAG_LIST_BYTES:
            raise SourceError(codes.HG802.problem(
                f"the image tag list {shown} is larger than {MAX_TAG_LIST_BYTES // (1024 * 1024)} MiB",
                Location(shown, 1, 1)))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SourceError(codes.HG802.problem(f"the image tag list {shown} is not UTF-8 text ({e.reason})",
                                                  Location(shown, 1, 1))) from e
        for number, line in enumerate(text.splitlines(), 1):
            _tag_line(out, shown, number, line)
    return out


def _tag_line(out: TagLists, shown: str, number: int, line: str) -> None:
    entry = re.sub(r"(^|\s)#.*$", "", line).strip()
    if not entry:
        return
    repository, sep, tag = entry.rpartition(":")
    column = len(line) - len(line.lstrip()) + 1
    if not sep or "/" in tag or not IMAGE_NAME_RE.match(repository) or not IMAGE_TAG_RE.match(tag):
        raise SourceError(codes.HG802.problem(
            f"{entry!r} is not an image reference `repository:tag` (a repository as the spec's `image.name` "
            "accepts it, a tag as `image.tag` does)", Location(shown, number, column)))
    out.tags.setdefault(repository, set()).add(tag)
    out.files.setdefault(repository, shown)


# --- caps: what the followed tier runs ---------------------------------------------------------------------------


def caps(followed: list[Pin]) -> dict[tuple[str, str], list[str]]:
    """(kind, component) -> every version the followed tier's environments pin for it."""
    out: dict[tuple[str, str], list[str]] = {}
    for pin in followed:
        out.setdefault((pin.kind, pin.component), []).append(pin.current)
    return out


def cap_for(pin: Pin, followed: dict[tuple[str, str], list[str]]) -> str | None:
    """The highest version the followed tier pins for ``pin``'s component (for an image: of the same tag shape);
    None when it pins none."""
    found = followed.get((pin.kind, pin.component), [])
    if pin.kind == CHARTS:
        return highest_version(found)
    if pin.kind == KUBERNETES:
        keyed = [(k, v) for v in found if (k := minor_key(v)) is not None]
        return max(keyed)[1] if keyed else None
    return highest_tag(found, pin.current)


# --- finding newer versions -------------------------------------------------------------------------------------


class Finder:
    """Newer versions for pins: chart indexes (each fetched once), the EKS calendar as of ``today``, tag lists;
    ``follow``: (tier, its pins by component) to cap proposals at."""

    def __init__(self, *, today: date, tag_lists: TagLists | None = None,
                 follow: tuple[str, dict[tuple[str, str], list[str]]] | None = None) -> None:
        self.today = today
        self.tag_lists = tag_lists or TagLists()
        self.follow = follow
        self._indexes: dict[str, tuple[str, list[str]]] = {}

    def index(self, chart: str) -> tuple[str, list[str]]:
        """(index URL, versions) of ``chart``'s Helm repository; SourceError (HG801) when it cannot be read."""
        if chart not in self._indexes:
            from generator.engines.chart_values import ChartError, chart_index, index_url_of, repository_for

            repository = repository_for(CHART_REPOSITORIES[chart])
            try:
                url, entries = chart_index(repository, chart)
            except ChartError as e:
                raise SourceError(codes.HG801.problem(
                    f"the versions of chart {chart} cannot be read: {e}", Location(index_url_of(repository)),
                    hint=_index_hint(chart))) from e
            self._indexes[chart] = (url, [str(e.get("version")) for e in entries if e.get("version") is not None])
        return self._indexes[chart]

    def _available(self, pin: Pin, cap: str | None) -> tuple[str | None, str]:
        """(newest version for ``pin`` not above ``cap``, where it was found)."""
        if pin.kind == CHARTS:
            url, offered = self.index(pin.component)
            return newest_version(pin.current, offered, cap), url
        if pin.kind == KUBERNETES:
            return (next_kubernetes(pin.current, self.today, cap),
                    f"EKS calendar of {eks_versions.CALENDAR_DATE} as of {self.today.isoformat()}")
        offered = self.tag_lists.tags.get(pin.component, set())
        return newest_tag(pin.current, offered, cap), self.tag_lists.files.get(pin.component, "")

    def find(self, pin: Pin) -> Bump | Held | None:
        """A Bump to the newest version allowed, a Held when ``--follow`` holds a newer one back, else None."""
        newest, source = self._available(pin, None)
        if newest is None:
            return None
        if self.follow is None:
            return Bump(pin, newest, source)
        tier, followed = self.follow
        cap = cap_for(pin, followed)
        allowed = self._available(pin, cap)[0] if cap is not None else None
        if allowed is not None:
            return Bump(pin, allowed, source)
        return Held(pin, newest, cap or "", tier)


def _index_hint(chart: str) -> str:
    url = CHART_REPOSITORIES[chart]
    via = ("HUBGEN_CHART_REPOSITORY=<mirror URL> or " if chart == versions.CHART_NAME else "")
    return (f"Check that this machine reaches the chart repository; to read the index from a mirror set {via}"
            f"HUBGEN_CHART_MIRRORS='{url}=<mirror URL>' (the same settings `hubgen lint` fetches charts with). "
            "`--only kubernetes --only images` bumps the rest without it.")
