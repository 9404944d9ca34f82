"""Helpers for the `hubgen lint` tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def fresh_cache(tmp_path: Path, session_cache: Path) -> Path:
    """An empty lint cache that shares the (slow to build) kubeconform schema directory of the session."""
    d = tmp_path / "fresh-cache"
    d.mkdir()
    schemas = session_cache / "kubeconform-schemas"
    schemas.mkdir(exist_ok=True)
    (d / "kubeconform-schemas").symlink_to(schemas, target_is_directory=True)
    return d


def replace_once(path: Path, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) in the file; returns the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``needle`` in ``text``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, col


def lint_json(invoke_hubgen, repo: Path, *args: str) -> tuple[int, dict]:
    result = invoke_hubgen(["--repo", str(repo), "--format", "json", "lint", *args])
    assert "Traceback" not in result.stderr, result
    try:
        return result.rc, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON:\n{result}") from None


def problems(doc: dict, code: str | None = None) -> list[dict]:
    return [p for p in doc["problems"] if code is None or p["code"] == code]


def copy_chart(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("values.yaml", "values.schema.json"):
        shutil.copy(src / name, dest / name)
    return dest


def only_cluster_template(repo: Path) -> None:
    """Remove every stack template but cluster.yaml (the one environments deploy), to keep cfn-lint runs few."""
    for p in (repo / "manifests" / "cloudformation").iterdir():
        if p.name != "cluster.yaml":
            p.unlink()


def clone_environment(repo: Path, src: str, dest: str, *replacements: tuple[str, str]) -> Path:
    """environments/<dest>/environment.yaml: a copy of <src>'s spec renamed to <dest> (its own stack name),
    with further (old, new) text replacements, each of which must apply exactly once."""
    d = repo / "environments" / dest
    d.mkdir()
    text = (repo / "environments" / src / "environment.yaml").read_text(encoding="utf-8")
    for old, new in ((f"\nname: {src}\n", f"\nname: {dest}\n"),
                     (f"stackName: jupyter-{src}\n", f"stackName: jupyter-{dest}\n"),
                     *replacements):
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {src}'s spec"
        text = text.replace(old, new)
    (d / "environment.yaml").write_text(text, encoding="utf-8")
    return d / "environment.yaml"
