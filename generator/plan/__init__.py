"""`hubgen plan`: what a change between two revisions means for each environment.

* :mod:`generator.plan.touch`    which environments a set of changed paths touches (also used by the hooks)
* :mod:`generator.plan.compute`  the plan itself, in plain Python on two snapshots
* :mod:`generator.plan.git`      the thin git layer (tree and working-tree snapshots, changed paths)
* :mod:`generator.plan.drift`    specs at the head that do not render to the generated files there
* :mod:`generator.plan.formats`  text, json, markdown (the PR comment) and github-matrix (the deploy jobs)
"""

from __future__ import annotations

from pathlib import Path

from generator.paths import EnvPaths, RepoPaths
from generator.plan import drift as _drift
from generator.plan.compute import MemorySnapshot, compute_plan
from generator.plan.git import WORKTREE, GitError, GitSnapshot, Repo, WorkTreeSnapshot
from generator.plan.model import Plan, Status

__all__ = ["GitError", "MemorySnapshot", "Plan", "add_drift", "build_plan", "compute_plan"]


def build_plan(root: Path, base: str, head: str | None = None, *, check_drift: bool = True) -> Plan:
    """The plan of the change from ``base`` to ``head`` (None: the working tree, untracked files included).

    ``check_drift``: also render every planned environment at the head side and report (as errors, which make
    the plan incomplete) those whose generated files are not what their spec renders to (:func:`add_drift`).

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
        plan = compute_plan(base_snap, head_snap, changed)
        if check_drift:
            names = [e.name for e in plan.environments if e.status is not Status.REMOVED]
            found = (_drift.check(RepoPaths(Path(root)), names) if isinstance(head_snap, WorkTreeSnapshot)
                     else _drift.check_snapshot(head_snap, names))
            add_drift(plan, found)
        return plan
    finally:
        base_snap.close()
        head_snap.close()


def add_drift(plan: Plan, found: _drift.Drift) -> None:
    """Attach the head side's render --check errors to the plan's environments (each one becomes a plan error,
    so the environment is not deployed and the plan exits 1)."""
    where = "in the working tree" if plan.head == WORKTREE else f"at {plan.head}"
    for env in plan.environments:
        problems = found.problems.get(env.name)
        if not problems:
            continue
        env.drift = problems
        spec = EnvPaths(env.name).spec
        if env.name in found.invalid:
            env.spec_invalid = True
            if not env.errors:
                env.errors.append(f"{spec} has errors {where}, so its generated files cannot be checked: "
                                  f"`hubgen validate {env.name}` lists them")
            continue
        codes = ", ".join(sorted({p.code for p in problems}))
        env.errors.append(f"generated files out of date {where}: {spec} does not render to the "
                          f"generated files the plan read ({len(problems)} file(s): {codes}); run "
                          f"`hubgen render {env.name}` and commit the result")
