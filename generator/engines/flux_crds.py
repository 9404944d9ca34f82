"""Where the Flux CustomResourceDefinitions come from: the pinned controllers' Go modules.

kubeconform validates Flux objects (Kustomization, HelmRepository, HelmRelease, ...) against JSON
schemas converted from the CRDs (:mod:`generator.engines.k8s_schemas`). Every Flux controller's Go
module carries its complete CRD set in ``config/crd/bases``, so hubgen takes them from the modules
pinned in :data:`generator.versions.FLUX_CONTROLLERS`, the way Go itself gets them:

1. ``$HUBGEN_FLUX_CRDS``: a folder of CRD YAML files (searched recursively), for air-gapped machines;
2. else the Go module cache (``$GOMODCACHE``, else ``$GOPATH/pkg/mod``, else ``~/go/pkg/mod``), where
   ``go mod download`` puts the modules (``.ci/install-tools`` does it on set-up);
3. else, unless offline, ``go mod download -json <module>@<version>`` (the Go module proxy; Go is
   needed for kubeconform anyway), then (2).

The module cache is verified by Go (``go.sum`` hashes of the module zips) and is read-only; nothing
is copied into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from generator.versions import FLUX_CONTROLLERS

CRD_DIR_ENV = "HUBGEN_FLUX_CRDS"
#: Inside a controller's module.
CRD_SUBDIR = "config/crd/bases"
CRD_SUFFIXES = (".yaml", ".yml")
DOWNLOAD_TIMEOUT = 300


class CrdsUnavailable(Exception):
    """The CRDs cannot be had (offline and not downloaded, no Go, a download failed)."""


def _module_cache() -> Path:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    gopath = os.environ.get("GOPATH")
    if gopath:
        return Path(gopath.split(os.pathsep)[0]) / "pkg" / "mod"
    return Path.home() / "go" / "pkg" / "mod"


def _escape(module: str) -> str:
    """Go's module cache path escaping: an upper-case letter becomes '!' + its lower case."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in module)


def module_dir(module: str, version: str, cache: Path | None = None) -> Path:
    return (cache or _module_cache()) / f"{_escape(module)}@{version}"


def _go() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/local/go/bin/go", str(Path.home() / "go" / "bin" / "go")):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def download(modules: dict[str, str]) -> dict[str, Path]:
    """``go mod download -json`` the modules; their folders. Raises CrdsUnavailable."""
    go = _go()
    if go is None:
        raise CrdsUnavailable("the Go toolchain (`go`) is not installed; it downloads the Flux controllers' modules "
                              "that hold the CRDs (install Go, or set HUBGEN_FLUX_CRDS to a folder of Flux CRD YAMLs)")
    specs = [f"{m}@{v}" for m, v in modules.items()]
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"}
    try:
        proc = subprocess.run([go, "mod", "download", "-json", *specs], capture_output=True, text=True, env=env,
                              timeout=DOWNLOAD_TIMEOUT, cwd=Path.home() if Path.home().is_dir() else None)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CrdsUnavailable(f"`go mod download` of the Flux controllers failed: {e}") from e
    decoder, text, out, errors = json.JSONDecoder(), proc.stdout, {}, []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        doc, pos = decoder.raw_decode(text, pos)
        if doc.get("Error"):
            errors.append(f"{doc.get('Path')}@{doc.get('Version')}: {doc['Error']}")
        elif doc.get("Dir"):
            out[doc["Path"]] = Path(doc["Dir"])
    if errors or (proc.returncode != 0 and not out):
        detail = "; ".join(errors) or (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise CrdsUnavailable(f"`go mod download` of the Flux controllers failed: {detail}")
    return out


def _yaml_files(folder: Path, *, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix in CRD_SUFFIXES)


def crd_files(*, offline: bool = False) -> list[Path]:
    """Every Flux CRD YAML file hubgen validates against (see the module docstring). Raises CrdsUnavailable."""
    env = os.environ.get(CRD_DIR_ENV)
    if env:
        folder = Path(env).expanduser()
        if not folder.is_dir():
            raise CrdsUnavailable(f"{CRD_DIR_ENV}={env} is not a directory")
        files = _yaml_files(folder, recursive=True)
        if not files:
            raise CrdsUnavailable(f"{CRD_DIR_ENV}={env} holds no CRD YAML files")
        return files
    dirs = {m: module_dir(m, v) for m, v in FLUX_CONTROLLERS.items()}
    missing = {m: FLUX_CONTROLLERS[m] for m, d in dirs.items() if not (d / CRD_SUBDIR).is_dir()}
    if missing:
        if offline:
            raise CrdsUnavailable("the Flux controllers' modules holding the CRDs are not in the Go module cache ("
                                  + ", ".join(f"{m}@{v}" for m, v in missing.items())
                                  + ") and hubgen is offline; run `go mod download` for them (`bash .ci/install-tools` "
                                  "does), or set HUBGEN_FLUX_CRDS")
        dirs.update(download(missing))
    files: list[Path] = []
    for module, d in sorted(dirs.items()):
        found = _yaml_files(d / CRD_SUBDIR, recursive=False) if (d / CRD_SUBDIR).is_dir() else []
        if not found:
            raise CrdsUnavailable(f"{module}@{FLUX_CONTROLLERS[module]} has no CRDs in {CRD_SUBDIR}")
        files.extend(found)
    return files
