"""Synthetic multi-environment repositories made from the committed `dev` example.

Each clone gets its own folder, ``name``, stack name and tags, so every cross-environment check
passes, and one of two spec *versions*:

* ``"A"``: the example's single hub, on node port ``30100 + i``;
* ``"B"``: that hub on node port ``30300 + i`` (changes the HelmRelease and all three CloudFormation
  inputs) and, for even ``i``, a second hub ``extra`` (adds a Namespace, ServiceAccount and
  HelmRelease and changes the hubs kustomization) -- so rendering B over A creates and updates
  files, and A over B updates and deletes them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from generator.paths import GENERATED_DIRS
from generator.safefs import TEMP_RE
from tests.conftest import REPO_ROOT

DEV_SPEC = (REPO_ROOT / "environments" / "dev" / "environment.yaml").read_text(encoding="utf-8")


def _sub(pattern: str, repl: str, text: str) -> str:
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, f"the dev example no longer matches {pattern!r}; update tests/robustness/synthetic.py"
    return new


def env_name(i: int) -> str:
    return f"env{i:02d}"


def clone_spec(i: int, version: str) -> str:
    """The dev example as environment ``env<i>`` in spec version ``A`` or ``B``."""
    name = env_name(i)
    text = _sub(r"^name: dev$", f"name: {name}", DEV_SPEC)
    text = _sub(r"^(\s+stackName:) jupyter-dev$", rf"\1 jupyter-{name}", text)
    text = _sub(r"^(\s+environment:) dev$", rf"\1 {name}", text)
    port = (30100 if version == "A" else 30300) + i
    text = _sub(r"^(\s+nodePort:) 30052$", rf"\g<1> {port}", text)
    if version == "B" and i % 2 == 0:
        start = text.index("\n  - name: dev\n") + 1
        hub = text[start:]
        hub = _sub(r"^  - name: dev$", "  - name: extra", hub)
        hub = _sub(r"^(\s+namespace:) dev$", rf"\1 extra\n    host: extra.{name}.example.org", hub)
        hub = _sub(r"^(\s+nodePort:) \d+$", rf"\g<1> {port + 1000}", hub)
        text = text.rstrip("\n") + "\n" + hub
    return text


DEV_SECRET = REPO_ROOT / "environments" / "dev" / "secrets" / "dev.secret.yaml"
NOTIFICATIONS_SECRET = DEV_SECRET.with_name("notifications.secret.yaml")


def make_multi_repo(dest: Path, count: int, version: str = "A") -> Path:
    """A repository (schema/, manifests/, .sops.yaml, environments/) with ``count`` clones of dev:
    specs and their hubs' sops-encrypted secret files, nothing generated yet."""
    dest.mkdir(parents=True)
    for part in ("schema", "manifests"):
        if (REPO_ROOT / part).is_dir():
            shutil.copytree(REPO_ROOT / part, dest / part)
    if (REPO_ROOT / ".sops.yaml").is_file():
        shutil.copy2(REPO_ROOT / ".sops.yaml", dest / ".sops.yaml")
    write_specs(dest, count, version)
    return dest


def write_specs(root: Path, count: int, version: str) -> None:
    """Write every clone's spec at ``version`` (and the secret files its hubs read)."""
    for i in range(count):
        d = root / "environments" / env_name(i)
        d.mkdir(parents=True, exist_ok=True)
        (d / "environment.yaml").write_text(clone_spec(i, version), encoding="utf-8")
        if DEV_SECRET.is_file():
            (d / "secrets").mkdir(exist_ok=True)
            secret = DEV_SECRET.read_text(encoding="utf-8")
            (d / "secrets" / "dev.secret.yaml").write_text(secret, encoding="utf-8")
            # The github notifier's Secret (flux-system: nothing to rename).
            shutil.copy2(NOTIFICATIONS_SECRET, d / "secrets" / NOTIFICATIONS_SECRET.name)
            if version == "B" and i % 2 == 0:
                (d / "secrets" / "extra.secret.yaml").write_text(
                    _sub(r"^(\s+namespace:) dev$", r"\1 extra", secret), encoding="utf-8")


def generated_files(root: Path) -> dict[str, dict[str, bytes]]:
    """environment -> {repo-relative path: bytes} of every file in its generated folders.

    hubgen's temporary files (``.<name>.hubgen-<hex>.tmp``) are left out: see :func:`temp_files`.
    """
    out: dict[str, dict[str, bytes]] = {}
    envs = root / "environments"
    for env in sorted(p for p in envs.iterdir() if p.is_dir()):
        files: dict[str, bytes] = {}
        for g in GENERATED_DIRS:
            base = env / g
            if not base.is_dir():
                continue
            for f in sorted(base.rglob("*")):
                if f.is_file() and not TEMP_RE.match(f.name):
                    files[f.relative_to(root).as_posix()] = f.read_bytes()
        out[env.name] = files
    return out


def temp_files(root: Path) -> list[str]:
    """Temporary files a killed hubgen left next to their targets."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "environments").rglob("*") if TEMP_RE.match(p.name))
