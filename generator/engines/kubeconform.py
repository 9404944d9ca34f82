"""Validate generated Kubernetes manifests with kubeconform, offline and strict.

One kubeconform process validates every manifest of a run, all of one Kubernetes
version (``hubgen lint`` runs it once per version its environments use, each
environment against its own ``cluster.kubernetesVersion``). Schemas come only
from the directory built by :mod:`generator.engines.k8s_schemas` for that version
(Kubernetes core + Flux CRDs); kubeconform's default (network) schema location is never
used, a resource without a schema is an error, and unknown fields are errors
(``-strict``). Findings become ``HG502`` problems positioned at the offending
key in the generated file; an unavailable engine becomes one ``HG506``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence, Union

import yaml

from generator import codes
from generator.artifacts import Kind, RenderedFile
from generator.paths import ENVIRONMENTS_DIR, RepoPaths
from generator.problems import Location, Problem
from generator.versions import GO_TOOLS, KUBERNETES_SCHEMA_VERSION

from generator.engines.k8s_schemas import CORE_TEMPLATE, CRD_TEMPLATE, SchemaBuildError, build_schema_dir

#: Env var naming the kubeconform binary to use.
KUBECONFORM_ENV = "HUBGEN_KUBECONFORM"
SOURCE = "kubeconform"
#: Generous: one run over a few hundred manifests takes well under a second.
TIMEOUT_SECONDS = 300
#: Any HTTP(S) request kubeconform might attempt goes to this dead proxy, so a
#: schema that (against the build's checks) still points at the network fails
#: loudly instead of being fetched.
_DEAD_PROXY = "http://127.0.0.1:9"
_KUSTOMIZE_NAMES = {"kustomization.yaml", "kustomization.yml", "kustomization"}
_MODULE, _VERSION = GO_TOOLS["kubeconform"]
INSTALL_HINT = (
    "Install kubeconform with `bash .ci/install-tools` "
    f"(or `go install {_MODULE}@{_VERSION}`), or set {KUBECONFORM_ENV} to its path."
)

ManifestInput = Union[RenderedFile, tuple[str, bytes]]


# --- finding the binary ------------------------------------------------------

def find_kubeconform(repo_root: Path | None = None) -> Path | None:
    """kubeconform to run: ``$HUBGEN_KUBECONFORM``, ``<repo>/.tools/bin/kubeconform``, then ``PATH``."""
    env = os.environ.get(KUBECONFORM_ENV)
    if env:
        p = Path(env).expanduser()
        return p if p.is_file() and os.access(p, os.X_OK) else None
    if repo_root is not None:
        p = Path(repo_root) / ".tools" / "bin" / "kubeconform"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    found = shutil.which("kubeconform")
    return Path(found) if found else None


# --- input selection ---------------------------------------------------------

@dataclass
class _Manifest:
    path: str  # repository-relative
    content: bytes
    environment: str
    docs: list["_Doc"] = field(default_factory=list)
    yaml_error: Problem | None = None


@dataclass
class _Doc:
    api_version: str
    kind: str
    name: str
    node: yaml.Node


def _environment_of(path: str) -> str:
    parts = PurePosixPath(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == ENVIRONMENTS_DIR else ""


def _select(files: Iterable[ManifestInput]) -> list[_Manifest]:
    """Kubernetes manifests only: kustomize config, locks and CloudFormation files are not cluster objects."""
    out = []
    for f in files:
        if isinstance(f, RenderedFile):
            if f.kind is not Kind.K8S_MANIFEST:
                continue
            out.append(_Manifest(f.path, f.content, f.environment or _environment_of(f.path)))
        else:
            path, content = f
            if PurePosixPath(path).name.lower() in _KUSTOMIZE_NAMES:
                continue
            out.append(_Manifest(path, bytes(content), _environment_of(path)))
    return out


# --- locating findings in the YAML -------------------------------------------

def _scalar(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _text(node: yaml.Node | None) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else ""


_DOC_START_RE = re.compile(r"^---(?:[ \t]|$)")


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split a YAML stream at ``---`` lines, as kubeconform does: [(first line index, text)]."""
    lines = text.splitlines(keepends=True)
    starts = [0] + [i for i, line in enumerate(lines) if i and _DOC_START_RE.match(line)]
    bounds = zip(starts, starts[1:] + [len(lines)])
    return [(a, "".join(lines[a:b])) for a, b in bounds]


def _parse(m: _Manifest) -> None:
    """Compose every document with line tracking; a syntax error spoils only its own document.

    Each document is composed on its own, preceded by as many blank lines as
    precede it in the file, so node marks are positions in the whole file.
    """
    text = m.content.decode("utf-8", errors="replace")
    for first_line, chunk in _chunks(text):
        try:
            nodes = list(yaml.compose_all("\n" * first_line + chunk, Loader=yaml.SafeLoader))
        except yaml.YAMLError as e:
            if m.yaml_error is None:
                mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
                line, col = (mark.line + 1, mark.column + 1) if mark else (first_line + 1, 1)
                problem = getattr(e, "problem", None) or str(e)
                m.yaml_error = codes.HG502.problem(
                    f"not valid YAML: {problem}", Location(m.path, line, col),
                    environment=m.environment, source=SOURCE,
                )
            continue
        for node in nodes:
            if node is None:
                continue
            m.docs.append(_Doc(
                _text(_scalar(node, "apiVersion")),
                _text(_scalar(node, "kind")),
                _text(_scalar(_scalar(node, "metadata"), "name")),
                node,
            ))


def _pick_doc(m: _Manifest, kind: str, name: str, version: str) -> _Doc | None:
    """The document kubeconform reported on (it reports kind, name and apiVersion, not an index)."""
    for match in (
        lambda d: (d.kind, d.name, d.api_version) == (kind, name, version),
        lambda d: (d.kind, d.name) == (kind, name),
        lambda d: bool(name) and d.name == name,
        lambda d: bool(kind) and d.kind == kind,
    ):
        hits = [d for d in m.docs if match(d)]
        if hits:
            return hits[0]
    return m.docs[0] if len(m.docs) == 1 else None


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _segments(pointer: str) -> list[str]:
    if not pointer or pointer == "/":
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.lstrip("/").split("/")]


def _resolve(doc: yaml.Node, pointer: str) -> tuple[yaml.Node | None, yaml.Node]:
    """(key node or None, value node) of the deepest node along ``pointer`` that exists.

    kubeconform joins path tokens without JSON-pointer escaping, so a key holding
    a ``/`` (annotations such as ``eks.amazonaws.com/role-arn``) spans several
    segments: longer joins are tried when a single segment is not a key.
    """
    key_node: yaml.Node | None = None
    node = doc
    segs = _segments(pointer)
    i = 0
    while i < len(segs):
        if isinstance(node, yaml.MappingNode):
            for j in range(len(segs), i, -1):
                candidate = "/".join(segs[i:j])
                found = next(((k, v) for k, v in node.value
                              if isinstance(k, yaml.ScalarNode) and k.value == candidate), None)
                if found:
                    key_node, node = found
                    i = j
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and segs[i].isdigit() and int(segs[i]) < len(node.value):
            key_node, node = None, node.value[int(segs[i])]
            i += 1
        else:
            break
    return key_node, node


_AT_RE = re.compile(r"- at '(.*?)': (.*?)(?=\s+- at '|$)", re.S)
_ADDITIONAL_RE = re.compile(r"^additional propert(?:y|ies) (.+) not allowed$")
_QUOTED_RE = re.compile(r"'((?:[^']|'')*)'")


def _findings(result: dict) -> list[tuple[str, str]]:
    """(instance path, message) pairs of one invalid resource, one per path.

    kubeconform's ``validationErrors`` list only the first level of the error
    tree (often just ``/spec: validation failed`` behind a ``$ref``); its ``msg``
    holds the whole tree flattened, so the findings are taken from there.
    Generic parents ("validation failed") with a more specific child are
    dropped, and the messages of one path are joined (an ``anyOf`` failure and
    its alternatives read as one finding). Unknown-field findings stay apart,
    since each names its own key.
    """
    found = [(p, " ".join(msg.split())) for p, msg in _AT_RE.findall(result.get("msg") or "")]
    if not found:
        found = [(e.get("path", ""), e.get("msg", "")) for e in result.get("validationErrors") or []]
    out: list[tuple[str, str]] = []
    joined: dict[str, int] = {}
    for path, msg in found:
        if msg in ("validation failed", "") and any(
            q != path and (q.startswith(path + "/") or path == "") for q, _ in found
        ):
            continue
        if (path, msg) in out:
            continue
        if _ADDITIONAL_RE.match(msg):
            out.append((path, msg))
        elif path in joined:
            i = joined[path]
            out[i] = (path, f"{out[i][1]}; {msg}")
        else:
            joined[path] = len(out)
            out.append((path, msg))
    return out


def _locate(doc: _Doc | None, path: str, msg: str) -> list[tuple[str, int, int, str]]:
    """[(pointer, line, column, message)] for one finding; one per name of 'additional properties a, b'."""
    extra = _ADDITIONAL_RE.match(msg)
    if doc is None:
        return [(path, 0, 0, msg)]
    key_node, node = _resolve(doc.node, path)
    if extra:
        names = [n.replace("''", "'") for n in _QUOTED_RE.findall(extra.group(1))]
        out = []
        for n in names:
            k, _ = _resolve(doc.node, f"{path}/{n.replace('~', '~0').replace('/', '~1')}")
            line, col = _mark(k) if k is not None else _mark(key_node or node)
            out.append((f"{path}/{n}", line, col, f"unknown field {n!r} (strict schema: additional properties not allowed)"))
        if out:
            return out
    if isinstance(node, yaml.ScalarNode) or key_node is None:
        return [(path, *_mark(node), msg)]
    return [(path, *_mark(key_node), msg)]


def _duplicate_key(node: yaml.Node) -> yaml.Node | None:
    """First key repeated in a mapping (kubeconform -strict refuses those)."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in seen:
                    return k
                seen.add(k.value)
            dup = _duplicate_key(v)
            if dup is not None:
                return dup
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            dup = _duplicate_key(v)
            if dup is not None:
                return dup
    return None


def _label(kind: str, name: str, version: str) -> str:
    if not kind:
        return f"resource {name}" if name else "resource"
    return f"{kind} {name or '<unnamed>'} ({version})" if version else f"{kind} {name or '<unnamed>'}"


def _problems_for(result: dict, m: _Manifest) -> list[Problem]:
    kind, name, version = result.get("kind", ""), result.get("name", ""), result.get("version", "")
    status, msg = result.get("status", ""), " ".join((result.get("msg") or "").split())
    label = _label(kind, name, version)
    doc = _pick_doc(m, kind, name, version)

    def problem(text: str, line: int, col: int) -> Problem:
        return codes.HG502.problem(text, Location(m.path, line, col), environment=m.environment, source=SOURCE)

    if status == "statusInvalid":
        out = []
        for path, finding in _findings(result):
            for pointer, line, col, text in _locate(doc, path, finding):
                out.append(problem(f"{label}: {pointer or '/'}: {text}", line, col))
        if out:
            return out
        line, col = _mark(doc.node) if doc else (0, 0)
        return [problem(f"{label}: {msg}", line, col)]

    # statusError: no schema, unparsable resource, missing kind, ...
    if msg.startswith("error unmarshalling resource") and not kind and m.yaml_error is not None:
        return []  # a syntax error, already reported at the position our own parse found
    line, col = _mark(doc.node) if doc else (0, 0)
    if msg.startswith("could not find schema"):
        text = (f"{label}: no schema for apiVersion {version!r} kind {kind!r} "
                "(unknown or unsupported API version, or a typo in apiVersion/kind)")
        return [problem(text, line, col)]
    if "already set in map" in msg and doc is not None:
        dup = _duplicate_key(doc.node)
        if dup is not None:
            line, col = _mark(dup)
            return [problem(f"{label}: duplicate key {dup.value!r}", line, col)]
    return [problem(f"{label}: {msg}", line, col)]


# --- running -----------------------------------------------------------------

def _engine_unavailable(message: str, files: Sequence[_Manifest]) -> list[Problem]:
    loc = Location(files[0].path if files else "")
    env = files[0].environment if files and len({f.environment for f in files}) == 1 else ""
    return [codes.HG506.problem(message, loc, environment=env, source=SOURCE)]


def kubeconform_command(binary: Path, schema_dir: Path, kubernetes_version: str, paths: Sequence[str]) -> list[str]:
    """The exact kubeconform invocation (documented in docs/kubeconform.md)."""
    return [
        str(binary),
        "-strict",
        "-output", "json",
        "-summary",
        "-kubernetes-version", kubernetes_version,
        "-schema-location", f"{schema_dir}/{CORE_TEMPLATE}",
        "-schema-location", f"{schema_dir}/{CRD_TEMPLATE}",
        *paths,
    ]


def run_kubeconform(
    files: Sequence[ManifestInput],
    schema_dir: Path | None,
    *,
    kubernetes_version: str = KUBERNETES_SCHEMA_VERSION,
    kubeconform: Path | None = None,
    repo_root: Path | None = None,
) -> list[Problem]:
    """Validate every Kubernetes manifest in ``files`` with one kubeconform run.

    ``files`` are :class:`RenderedFile` objects (only ``Kind.K8S_MANIFEST`` is
    validated) or ``(repo-relative path, bytes)`` pairs (``kustomization.yaml``
    is skipped). ``schema_dir`` is a directory from
    :func:`generator.engines.k8s_schemas.build_schema_dir`. ``kubeconform``
    overrides :func:`find_kubeconform` (searched from ``repo_root``).
    Returns HG502 problems (HG506 when kubeconform or the schemas are unavailable).
    """
    manifests = _select(files)
    if not manifests:
        return []
    binary = kubeconform or find_kubeconform(repo_root)
    if binary is None:
        return _engine_unavailable(f"kubeconform not found; Kubernetes manifests were not validated. {INSTALL_HINT}", manifests)
    if schema_dir is None or not Path(schema_dir).is_dir():
        return _engine_unavailable(
            f"kubeconform schema directory {schema_dir} does not exist; build it with "
            "`python -m generator.engines.k8s_schemas`", manifests)
    schema_dir = Path(schema_dir).resolve()

    problems: list[Problem] = []
    for m in manifests:
        _parse(m)
        if m.yaml_error is not None:
            problems.append(m.yaml_error)

    by_name: dict[str, _Manifest] = {}
    with tempfile.TemporaryDirectory(prefix="hubgen-kubeconform-") as tmp:
        # Neutral names (kubeconform only reads *.yaml/*.yml/*.json, and repo paths
        # need no sanitising); results are mapped back to repository paths.
        for i, m in enumerate(manifests):
            name = f"{i:05d}.yaml"
            Path(tmp, name).write_bytes(m.content)
            by_name[name] = m
        env = dict(os.environ)
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[var] = _DEAD_PROXY
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
        cmd = kubeconform_command(binary, schema_dir, kubernetes_version, list(by_name))
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return problems + _engine_unavailable(f"kubeconform ({binary}) could not run: {e}", manifests)

    try:
        report = json.loads(proc.stdout.decode("utf-8", errors="replace"))
        results = report.get("resources") or []
    except (ValueError, AttributeError):
        detail = (proc.stderr or proc.stdout).decode("utf-8", errors="replace").strip()[:500]
        return problems + _engine_unavailable(
            f"kubeconform ({binary}) exited {proc.returncode} without a JSON report: {detail}", manifests)
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not results):
        detail = proc.stderr.decode("utf-8", errors="replace").strip()[:500]
        return problems + _engine_unavailable(f"kubeconform ({binary}) failed (exit {proc.returncode}): {detail}", manifests)

    for result in results:
        m = by_name.get(result.get("filename", ""))
        if m is None:  # pragma: no cover - kubeconform only reports the files it was given
            continue
        problems.extend(_problems_for(result, m))
    return problems


def check_manifests(
    repo: RepoPaths,
    files: Sequence[ManifestInput],
    *,
    kubernetes_version: str = KUBERNETES_SCHEMA_VERSION,
    crd_files: list[Path] | None = None,
) -> list[Problem]:
    """Build (or reuse) the schema directory of ``kubernetes_version``, then :func:`run_kubeconform`; HG506 if
    schemas cannot be built. Every file is checked against that one version: callers group environments by
    theirs (:class:`generator.lint.KubeconformEngine`)."""
    manifests = _select(files)
    if not manifests:
        return []
    try:
        schema_dir = build_schema_dir(repo, crd_files, kubernetes_version=kubernetes_version)
    except (SchemaBuildError, OSError) as e:
        return _engine_unavailable(f"kubeconform schemas could not be built: {e}", manifests)
    return run_kubeconform(files, schema_dir, kubernetes_version=kubernetes_version, repo_root=repo.root)
