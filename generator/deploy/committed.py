"""Whether what `hubgen deploy` is about to send is committed: the inputs of a deploy must be the files git has at
HEAD, so that every stack is what some commit says (and CI, a colleague or a rollback can reproduce it).

The inputs of an environment's deploy are its spec, its generated files (``cloudformation/``, ``cluster/``,
``hubs/``) and the stack template. :func:`uncommitted` asks ``git status`` about exactly those paths: anything
modified (staged or not), deleted, renamed, untracked or ignored there is uncommitted.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator.paths import CLUSTER_TEMPLATE, GENERATED_DIRS, RepoPaths

#: ``git status --porcelain`` XY codes -> what a person reads.
_STATES = {"?": "untracked", "!": "ignored by git (never committed)", "D": "deleted", "A": "added, not committed",
           "R": "renamed", "C": "copied", "M": "modified", "T": "type changed", "U": "unmerged"}


@dataclass(frozen=True)
class Dirty:
    path: str  # relative to the hubgen repository root
    state: str  # modified, untracked, deleted, ...


@dataclass(frozen=True)
class Status:
    #: Inputs that differ from HEAD; empty when everything is committed.
    dirty: tuple[Dirty, ...] = ()
    #: Why git could not answer (not a git repository, git missing); None when it did.
    unknown: str | None = None

    @property
    def clean(self) -> bool:
        return not self.dirty and self.unknown is None


def deploy_inputs(repo: RepoPaths, environment: str) -> list[str]:
    """The paths (repository-relative) a deploy of ``environment`` reads."""
    env = repo.env(environment)
    return [env.spec, *(f"{env.dir}/{g}" for g in GENERATED_DIRS), CLUSTER_TEMPLATE]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "--no-optional-locks", *args], cwd=root, capture_output=True)


def uncommitted(repo: RepoPaths, paths: list[str]) -> Status:
    """Which of ``paths`` (files or folders, repository-relative) differ from git's HEAD."""
    root = repo.root
    try:
        prefix = _git(root, "rev-parse", "--show-prefix")
    except FileNotFoundError:
        return Status(unknown="git is not installed, so hubgen cannot tell whether the files are committed")
    except OSError as e:  # pragma: no cover - an unreadable folder
        return Status(unknown=f"git cannot run in {root}: {e.strerror or e}")
    if prefix.returncode != 0:
        return Status(unknown=f"{root} is not inside a git repository, so nothing in it is committed")
    pre = prefix.stdout.decode("utf-8", "surrogateescape").strip()
    proc = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching",
                "--no-renames", "--", *paths)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return Status(unknown=f"git status failed: {message[-1] if message else f'exit code {proc.returncode}'}")
    dirty = []
    for entry in proc.stdout.split(b"\0"):
        if len(entry) < 4:
            continue
        xy, path = entry[:2].decode("ascii", "replace"), entry[3:].decode("utf-8", "surrogateescape")
        if path.startswith(pre):
            path = path[len(pre):]
        state = next((_STATES[c] for c in (xy[1], xy[0]) if c in _STATES), "changed")
        dirty.append(Dirty(path, state))
    return Status(tuple(sorted(dirty, key=lambda d: d.path)))
