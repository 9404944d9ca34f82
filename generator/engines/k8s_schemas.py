"""Offline JSON schemas for kubeconform: Kubernetes core objects and Flux CRDs.

The schema directory is built, never downloaded:

* Kubernetes core schemas for one Kubernetes version (each environment's
  ``cluster.kubernetesVersion``, :func:`schema_version`; :data:`generator.versions.KUBERNETES_SCHEMA_VERSION`
  where no environment is involved) come from the ``kubernetes-validate`` package (PyPI), which ships them as
  ``kubernetes-json-schema/v<ver>-local-strict/<kind>-<group>-<version>.json``
  plus one shared ``_definitions.json``. Those files reference
  ``/api/_definitions.json`` relative to an ``https://kubernetes.io/...``
  ``$id``: copied verbatim, kubeconform would try to fetch the definitions
  over HTTP. The builder instead makes every resource schema standalone (the
  definitions it needs inlined under ``$defs``, ``$id`` dropped), which is also
  ~10x faster for kubeconform than a shared 1.4 MB definitions file, and refuses
  to finish if any non-local reference remains.
* Flux CRD schemas are converted from the CRD YAMLs the way kubeconform's
  ``scripts/openapi2jsonschema.py`` does (one file per served version,
  ``<group>/<kind>_<version>.json``), made strict: every object schema with
  ``properties`` and neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields`` gets ``additionalProperties: false``
  (the root too), int-or-string fields accept a string or an integer, and the
  otherwise untyped ``metadata`` is checked against Kubernetes' ``ObjectMeta``.

One directory is built (and cached) per Kubernetes version. Layout of a built directory (see
:data:`CORE_TEMPLATE`, :data:`CRD_TEMPLATE`)::

    <dir>/v1.35.0-local-strict/namespace-v1.json, deployment-apps-v1.json, ...
    <dir>/v1.35.0-local-strict/_objectmeta.json     # metadata of custom resources
    <dir>/helm.toolkit.fluxcd.io/helmrelease_v2.json
    <dir>/hubgen-schemas.json          # stamp: key and inputs of this build

Reproducible command::

    python -m generator.engines.k8s_schemas [--out DIR] [--crds DIR] [--force]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from generator.paths import RepoPaths, find_repo_root
from generator.versions import KUBERNETES_SCHEMA_VERSION

#: Bump when the conversion below changes, so cached directories are rebuilt.
BUILDER_VERSION = "2"
#: Name of the file that marks a complete schema directory.
STAMP_FILENAME = "hubgen-schemas.json"

#: Sub-directory (per Kubernetes version) holding the core schemas.
CORE_DIR_TEMPLATE = "v{version}-local-strict"
#: kubeconform ``-schema-location`` templates, relative to the schema directory.
#: kubeconform fills ``NormalizedKubernetesVersion`` ("v1.35.0"), ``ResourceKind``
#: (lower-case kind), ``KindSuffix`` ("-v1", "-apps-v1", "-rbac-v1": first label
#: of the group plus version), ``Group`` (full group) and ``ResourceAPIVersion``.
CORE_TEMPLATE = "{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"

_K8S_DEFS = "_definitions.json"
_DEFS_FRAGMENT = "/$defs/"
_OBJECT_META_DEF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
#: Standalone ObjectMeta schema in the core folder, referenced by CRD schemas.
OBJECT_META_FILENAME = "_objectmeta.json"


class SchemaBuildError(Exception):
    """The schema directory could not be built (missing package or CRDs, bad input)."""


def schema_version(kubernetes_version: str) -> str:
    """The schema version of a cluster version: an EKS minor (``cluster.kubernetesVersion``, "1.35") is
    checked against that minor's ``.0`` schemas (kubernetes-validate ships one set per minor; patch releases
    do not change the API); a full version is kept."""
    parts = kubernetes_version.strip().lstrip("v").split(".")
    return ".".join((parts + ["0", "0"])[:3])


# --- inputs ------------------------------------------------------------------

def _package_root() -> Path:
    """The hubgen source checkout (the directory holding ``generator/``)."""
    return Path(__file__).resolve().parents[2]


def default_crd_files(*, offline: bool = False) -> list[Path]:
    """The Flux CRD YAML files (:func:`generator.engines.flux_crds.crd_files`); SchemaBuildError when
    they cannot be had."""
    from generator.engines.flux_crds import CrdsUnavailable, crd_files

    try:
        return crd_files(offline=offline)
    except CrdsUnavailable as e:
        raise SchemaBuildError(str(e)) from e


def _kubernetes_validate() -> tuple[Path, str]:
    """Schema root and version of the installed kubernetes-validate package."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.origin:
        raise SchemaBuildError(
            "the Python package kubernetes-validate is not installed; it provides the Kubernetes "
            "JSON schemas (pip install kubernetes-validate)"
        )
    try:
        version = importlib.metadata.version("kubernetes-validate")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - vendored copy
        version = "unknown"
    return Path(spec.origin).parent / "kubernetes-json-schema", version


def crd_files_in(folder: Path) -> list[Path]:
    """The CRD YAML files of a folder (recursively), for ``--crds DIR``."""
    if not folder.is_dir():
        raise SchemaBuildError(f"CRD directory {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    if not files:
        raise SchemaBuildError(f"no CRD YAML files in {folder}")
    return files


def schema_key(crd_files: list[Path], kubernetes_version: str = KUBERNETES_SCHEMA_VERSION) -> str:
    """Cache key: kubernetes-validate version, Kubernetes version, builder version, CRD bytes."""
    _, kv_version = _kubernetes_validate()
    h = hashlib.sha256()
    for part in (BUILDER_VERSION, kv_version, kubernetes_version):
        h.update(part.encode() + b"\0")
    for f in crd_files:
        h.update(f.name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).hexdigest().encode() + b"\0")
    return f"k8s{kubernetes_version}-kv{kv_version}-{h.hexdigest()[:16]}"


# --- core schemas ------------------------------------------------------------

def _def_refs(node: Any, found: set[str]) -> set[str]:
    """Names of the ``_definitions.json`` entries ``node`` refers to."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and _DEFS_FRAGMENT in v:
                found.add(v.split(_DEFS_FRAGMENT, 1)[1])
            else:
                _def_refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _def_refs(v, found)
    return found


def _localise_refs(node: Any) -> Any:
    """``/api/_definitions.json#/$defs/X`` (and ``#/$defs/X``) -> ``#/$defs/X`` in the same file."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and _DEFS_FRAGMENT in v:
                v = "#" + _DEFS_FRAGMENT + v.split(_DEFS_FRAGMENT, 1)[1]
            out[k] = _localise_refs(v)
        return out
    if isinstance(node, list):
        return [_localise_refs(v) for v in node]
    return node


def _remote_refs(node: Any, found: set[str]) -> set[str]:
    """Every ``$ref``/``$id`` that is not a local file or fragment reference."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("$ref", "$id") and isinstance(v, str) and ("://" in v or v.startswith("/")):
                found.add(v)
            else:
                _remote_refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _remote_refs(v, found)
    return found


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")


def standalone(schema: dict, definitions: dict[str, Any]) -> dict:
    """``schema`` with every definition it needs (transitively) inlined under ``$defs``.

    kubernetes-validate's files share one 1.4 MB ``_definitions.json``; kubeconform
    would load and meta-validate it once per kind (about 0.17 s each), so every
    schema is made self-contained instead (kubeconform's own "standalone" form).
    """
    schema = dict(schema)
    schema.pop("$id", None)
    need: set[str] = set()
    todo = sorted(_def_refs(schema, set()))
    while todo:
        name = todo.pop()
        if name in need:
            continue
        if name not in definitions:
            raise SchemaBuildError(f"schema refers to missing definition {name!r}")
        need.add(name)
        todo.extend(_def_refs(definitions[name], set()) - need)
    out = _localise_refs(schema)
    if need:
        out["$defs"] = {name: _localise_refs(definitions[name]) for name in sorted(need)}
    remote = _remote_refs(out, set())
    if remote:
        raise SchemaBuildError(f"non-local schema references {sorted(remote)[:3]}")
    return out


def _build_core(dest: Path, kubernetes_version: str) -> int:
    """Standalone strict schemas of every resource kind; returns how many."""
    root, kv_version = _kubernetes_validate()
    src = root / CORE_DIR_TEMPLATE.format(version=kubernetes_version)
    if not (src / _K8S_DEFS).is_file():
        have = sorted(p.name for p in root.iterdir() if p.name.endswith("-local-strict")) if root.is_dir() else []
        raise SchemaBuildError(
            f"kubernetes-validate {kv_version} has no strict schemas for Kubernetes {kubernetes_version} "
            f"(has: {', '.join(have) or 'none'})"
        )
    definitions = json.loads((src / _K8S_DEFS).read_text(encoding="utf-8"))["$defs"]
    out = dest / CORE_DIR_TEMPLATE.format(version=kubernetes_version)
    out.mkdir(parents=True)
    n = 0
    for f in sorted(src.glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        # Only resource kinds: a manifest of kind "Affinity" must not find a schema.
        if not isinstance(data, dict) or "x-kubernetes-group-version-kind" not in data:
            continue
        try:
            _write_json(out / f.name, standalone(data, definitions))
        except SchemaBuildError as e:
            raise SchemaBuildError(f"{f.name}: {e}") from e
        n += 1
    # ObjectMeta on its own, for the metadata of custom resources.
    meta = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"/api/{_K8S_DEFS}#{_DEFS_FRAGMENT}{_OBJECT_META_DEF}"}
    _write_json(out / OBJECT_META_FILENAME, standalone(meta, definitions))
    return n


# --- CRD conversion ----------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("not", "additionalItems", "additionalProperties")
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def strict_schema(node: Any) -> Any:
    """OpenAPI v3 (CRD) schema -> strict JSON schema, recursing through schema keywords only.

    * ``additionalProperties: false`` on every schema with ``properties`` unless it
      sets ``additionalProperties`` or ``x-kubernetes-preserve-unknown-fields``;
    * ``x-kubernetes-int-or-string`` / ``format: int-or-string`` -> integer or string;
    * ``nullable: true`` -> ``null`` added to the type.
    """
    if not isinstance(node, dict):
        return node
    s = dict(node)
    for key in _SCHEMA_MAPS:
        if isinstance(s.get(key), dict):
            s[key] = {k: strict_schema(v) for k, v in s[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(s.get(key), list):
            s[key] = [strict_schema(v) for v in s[key]]
    for key in _SCHEMA_ONE:
        if isinstance(s.get(key), dict):
            s[key] = strict_schema(s[key])
    if isinstance(s.get("items"), dict):
        s["items"] = strict_schema(s["items"])
    elif isinstance(s.get("items"), list):
        s["items"] = [strict_schema(v) for v in s["items"]]

    if s.get("x-kubernetes-int-or-string") is True or s.get("format") == "int-or-string":
        if s.get("format") == "int-or-string":
            del s["format"]
        s.pop("type", None)
        if "anyOf" not in s and "oneOf" not in s:
            s["anyOf"] = copy.deepcopy(_INT_OR_STRING)
    if s.get("nullable") is True and isinstance(s.get("type"), str):
        s["type"] = [s["type"], "null"]
        if isinstance(s.get("enum"), list) and None not in s["enum"]:
            s["enum"] = [*s["enum"], None]
    if (
        "properties" in s
        and "additionalProperties" not in s
        and not s.get("x-kubernetes-preserve-unknown-fields")
    ):
        s["additionalProperties"] = False
    return s


def crd_schemas(crd_docs: list[dict], core_dir_name: str | None = None) -> dict[str, dict]:
    """``{"<group>/<kind>_<version>.json": schema}`` for every served version of the CRDs.

    With ``core_dir_name`` (the sibling core-schema folder), ``metadata`` is
    validated as Kubernetes ``ObjectMeta`` instead of being an untyped object.
    """
    out: dict[str, dict] = {}
    for crd in crd_docs:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        if not group or not kind:
            raise SchemaBuildError(f"CRD {crd.get('metadata', {}).get('name')!r} lacks spec.group or names.kind")
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
            if not isinstance(schema, dict):
                continue
            converted = strict_schema(schema)
            props = converted.get("properties") or {}
            if core_dir_name and props.get("metadata") in ({"type": "object"}, None):
                props["metadata"] = {"$ref": f"../{core_dir_name}/{OBJECT_META_FILENAME}"}
            name = f"{group}/{kind}_{version['name']}.json".lower()
            out[name] = converted
    return out


def _load_crds(crd_files: list[Path]) -> list[dict]:
    docs: list[dict] = []
    for f in crd_files:
        try:
            for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
                if not isinstance(doc, dict):
                    continue
                items = doc.get("items") if doc.get("kind", "").endswith("List") else [doc]
                docs.extend(d for d in items or [] if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition")
        except yaml.YAMLError as e:
            raise SchemaBuildError(f"{f}: not valid YAML: {e}") from e
    if not docs:
        raise SchemaBuildError(f"no CustomResourceDefinition in {', '.join(str(f) for f in crd_files)}")
    return docs


# --- building ----------------------------------------------------------------

def _read_stamp(path: Path) -> dict | None:
    try:
        return json.loads((path / STAMP_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _build_into(tmp: Path, crd_files: list[Path], kubernetes_version: str, key: str) -> None:
    n_core = _build_core(tmp, kubernetes_version)
    core_dir_name = CORE_DIR_TEMPLATE.format(version=kubernetes_version)
    crds = crd_schemas(_load_crds(crd_files), core_dir_name)
    for name, schema in sorted(crds.items()):
        _write_json(tmp / name, schema)
    _, kv_version = _kubernetes_validate()
    _write_json(tmp / STAMP_FILENAME, {
        "key": key,
        "builder": BUILDER_VERSION,
        "kubernetesVersion": kubernetes_version,
        "kubernetesValidate": kv_version,
        "crdFiles": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in crd_files},
        "coreSchemas": n_core,
        "crdSchemas": sorted(crds),
        "schemaLocations": [CORE_TEMPLATE, CRD_TEMPLATE],
    })


def build_schema_dir(
    repo: RepoPaths,
    crd_files: list[Path] | None = None,
    force: bool = False,
    *,
    out: Path | None = None,
    kubernetes_version: str = KUBERNETES_SCHEMA_VERSION,
) -> Path:
    """Build (or reuse) the kubeconform schema directory and return its path.

    Default location: ``repo.cache / "kubeconform-schemas" / <key>`` where the key
    hashes every input (see :func:`schema_key`), so a cached directory is never
    stale; ``out`` overrides the location (rebuilt when its stamp's key differs).
    The directory is built in a temporary sibling and renamed into place, so a
    reader never sees a half-built directory and concurrent builders are safe.
    Raises :class:`SchemaBuildError` when an input is missing or malformed.
    """
    crd_files = list(crd_files) if crd_files is not None else default_crd_files()
    key = schema_key(crd_files, kubernetes_version)
    target = Path(out) if out is not None else repo.cache / "kubeconform-schemas" / key
    if not force:
        stamp = _read_stamp(target)
        if stamp and stamp.get("key") == key:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _build_into(tmp, crd_files, kubernetes_version, key)
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            try:
                os.replace(target, trash / "d")
            except FileNotFoundError:  # a concurrent builder removed it
                pass
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            # A concurrent builder won the race; its directory is equally good.
            stamp = _read_stamp(target)
            if not (stamp and stamp.get("key") == key):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m generator.engines.k8s_schemas",
        description="Build the offline kubeconform schema directory (Kubernetes core + Flux CRDs).",
    )
    parser.add_argument("--out", type=Path, help="build into this directory (default: the repository cache)")
    parser.add_argument("--crds", type=Path, help="Flux CRD YAML directory (default: $HUBGEN_FLUX_CRDS, else the "
                                                  "pinned Flux controllers' Go modules)")
    parser.add_argument("--repo", type=Path, help="repository root (default: found from the current directory)")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_SCHEMA_VERSION)
    parser.add_argument("--force", action="store_true", help="rebuild even when the cached copy is current")
    args = parser.parse_args(argv)
    root = args.repo or find_repo_root(Path.cwd()) or _package_root()
    try:
        path = build_schema_dir(
            RepoPaths(Path(root)), crd_files_in(args.crds) if args.crds else None, args.force, out=args.out,
            kubernetes_version=args.kubernetes_version
        )
    except SchemaBuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
