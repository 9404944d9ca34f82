"""Building teardown inputs in memory: a spec (a committed example, edited) rendered by hubgen's own renderers,
read back by the plan's readers, with the repository's cluster template or an edited copy of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import yaml

from generator.model import Environment, build
from generator.paths import CLUSTER_TEMPLATE
from generator.render import render_environment
from generator.teardown import Inputs, Teardown, teardown
from generator.teardown.manifests import read_manifests
from generator.teardown.template import read_template

REPO_ROOT = Path(__file__).resolve().parents[2]


def example(env: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "environments" / env / "environment.yaml").read_text(encoding="utf-8"))


def template_text() -> str:
    return (REPO_ROOT / CLUSTER_TEMPLATE).read_text(encoding="utf-8")


def model_of(env: str, edit: Callable[[dict], None] | None = None) -> Environment:
    spec = copy.deepcopy(example(env))
    if edit is not None:
        edit(spec)
    return build(spec)


def plan_for(model: Environment, template: str | None = None, **extra: Any) -> Teardown:
    """The plan of ``model`` from its rendered files (in memory) and ``template`` (default: the repository's)."""
    files = {f.path: f.content for f in render_environment(model)}
    text = template_text() if template is None else template
    inputs = Inputs(manifests=read_manifests(model.name, files),
                    template=read_template(text.encode("utf-8"), model, CLUSTER_TEMPLATE), **extra)
    return teardown(model, inputs)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected one {old!r}"
    return text.replace(old, new)
