"""Renderers: one module per artifact, all reading the typed model.

:func:`render_environment` returns every file of one environment, sorted by
path, as exact bytes. Nothing here touches the filesystem; :mod:`generator.writer`
does that.
"""

from __future__ import annotations

from generator.artifacts import RenderedFile
from generator.model import Environment
from generator.render import aws_auth, cloudformation, flux, notifications, platform

def render_environment(env: Environment, *, extra_manifests: bool = False) -> list[RenderedFile]:
    """``extra_manifests``: whether ``environments/<env>/extra/`` holds manifests of the team's own
    (:meth:`generator.paths.RepoPaths.extra_manifests`), which the Flux entry point then applies."""
    files = [*cloudformation.render(env), *aws_auth.render(env), *flux.render(env, extra_manifests),
             *platform.render(env), *notifications.render(env, extra_manifests)]
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):  # pragma: no cover - programming error
        raise AssertionError(f"renderers produced a path twice: {paths}")
    return sorted(files, key=lambda f: f.path)
