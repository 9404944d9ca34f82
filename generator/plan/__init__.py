"""`hubgen plan`: what a change between two revisions means for each environment.

* :mod:`generator.plan.touch`    which environments a set of changed paths touches (also used by the hooks)
* :mod:`generator.plan.compute`  the plan itself, in plain Python on two snapshots
* :mod:`generator.plan.git`      the thin git layer (tree and working-tree snapshots, changed paths)
* :mod:`generator.plan.formats`  text, json, markdown (the PR comment) and github-matrix (the deploy jobs)
"""

from __future__ import annotations

from pathlib import Path

from generator.plan.compute import MemorySnapshot, compute_plan
from generator.plan.git import GitError, GitSnapshot, Repo, WorkTreeSnapshot
from generator.plan.model import Plan

__all__ = ["GitError", "MemorySnapshot", "Plan", "build_plan", "compute_plan"]


def build_plan(root: Path, base: str, head: str | None = None) -> Plan:
    """The plan of the change from ``base`` to ``head`` (None: the working tree, untracked files included).

    Raises :class:`GitError` when ``root`` is not in a git repository or a revision does not exist.
    """
    repo = Repo(root)
    base_tree, base_label = repo.tree(base)
    base_snap = GitSnapshot(repo, base_tree, base_label)
    if head is None:
        head_snap: GitSnapshot | WorkTreeSnapshot = WorkTreeSnapshot(repo)
        head_tree = None
    else:
        head_tree, head_label = repo.tree(head)
        head_snap = GitSnapshot(repo, head_tree, head_label)
    try:
        changed = repo.changed_paths(base_tree, head_tree)
        return compute_plan(base_snap, head_snap, changed)
    finally:
        base_snap.close()
        head_snap.close()
