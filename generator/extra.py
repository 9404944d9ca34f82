"""The team's own manifests: ``environments/<env>/extra/``.

hubgen never writes, moves or deletes anything there. When the folder holds manifests (``*.yaml``,
``*.yml``, in any sub-folder), the environment's Flux entry point gets an ``<env>-extra``
Kustomization applying it (see :func:`generator.render.flux.flux_kustomizations`), `hubgen
validate` refuses links and plain-text secrets there (:mod:`generator.checks.extra`), and `hubgen
lint` runs kubeconform on every manifest that is not sops-encrypted.

Files are read without following symbolic links (a link there is reported, never read).
"""

from __future__ import annotations

import errno

from generator.artifacts import Kind, RenderedFile
from generator.paths import RepoPaths
from generator.safefs import Refused, read_file

#: Same limit as secret files: a manifest is kilobytes.
MAX_BYTES = 1024 * 1024
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml")


class ExtraFile:
    """One file of extra/: its bytes, or why it cannot be used."""

    def __init__(self, path: str, content: bytes | None = None, unusable: str = "") -> None:
        self.path = path
        self.content = content
        self.unusable = unusable

    @property
    def text(self) -> str | None:
        try:
            return None if self.content is None else self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def sops_encrypted(self) -> bool:
        """Whether a document carries sops metadata (Flux decrypts it; kubeconform cannot read it)."""
        text = self.text or ""
        return "\nsops:\n" in f"\n{text}"

    @property
    def kind(self) -> Kind:
        return Kind.KUSTOMIZE if self.path.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES else Kind.K8S_MANIFEST


def read(repo: RepoPaths, name: str) -> list[ExtraFile]:
    """Every manifest of ``environments/<name>/extra/`` (sorted), links and unreadable files included."""
    out = []
    for path in repo.extra_manifests(name):
        try:
            data = read_file(repo.root, path)
        except Refused:
            out.append(ExtraFile(path, unusable="is a symbolic link; keep the team's manifests as regular files "
                                                "in the repository (Flux would apply whatever it points to)"))
            continue
        except OSError as e:
            why = "is not a regular file" if e.errno in (errno.EISDIR, errno.ENOTDIR) else f"cannot be read: {e.strerror}"
            out.append(ExtraFile(path, unusable=why))
            continue
        if data is None:
            continue  # removed meanwhile
        if len(data) > MAX_BYTES:
            out.append(ExtraFile(path, unusable=f"is {len(data)} bytes; a manifest is a few kilobytes (limit 1 MiB)"))
        else:
            f = ExtraFile(path, data)
            if f.text is None:
                f.unusable = "is not UTF-8 text"
            out.append(f)
    return out


def artifacts(repo: RepoPaths, name: str) -> list[RenderedFile]:
    """The usable, unencrypted manifests of extra/ as artifacts for the engines (kubeconform)."""
    return [RenderedFile(f.path, f.content, f.kind, name) for f in read(repo, name)
            if not f.unusable and f.content is not None and not f.sops_encrypted]
