"""Renderers: one module per artifact, all reading the typed model.

:func:`render_environment` returns every file of one environment, sorted by
path, as exact bytes. Nothing here touches the filesystem; :mod:`generator.writer`
does that.
"""

from __future__ import annotations

from generator.artifacts import RenderedFile
from generator.model import Environment
from generator.render import aws_auth, cloudformation, flux

RENDERERS = (cloudformation.render, aws_auth.render, flux.render)


def render_environment(env: Environment) -> list[RenderedFile]:
    files: list[RenderedFile] = []
    for renderer in RENDERERS:
        files.extend(renderer(env))
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):  # pragma: no cover - programming error
        raise AssertionError(f"renderers produced a path twice: {paths}")
    return sorted(files, key=lambda f: f.path)
