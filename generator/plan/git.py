"""The thin git layer of `hubgen plan`: snapshots of a git tree or the working tree, and the
paths that changed between two of them. All logic lives in :mod:`generator.plan.compute`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from generator.paths import ENVIRONMENTS_DIR, TEMPLATES_DIR

#: What a snapshot lists (everything the plan reads lives below these).
SNAPSHOT_DIRS = (ENVIRONMENTS_DIR, TEMPLATES_DIR)
WORKTREE = "working tree"


class GitError(Exception):
    """git failed or a ref does not exist (a usage error: exit code 2)."""


def _git(root: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=root, input=input, capture_output=True)
    except FileNotFoundError:
        raise GitError("git is not installed (it is needed to compare revisions)") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else f'exit code {proc.returncode}'}")
    return proc.stdout


def _split_z(data: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in data.split(b"\0") if p]


def _file_or_link(path: Path) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


class Repo:
    """The git repository holding a hubgen repository (which may be a sub-folder of it)."""

    def __init__(self, root: Path):
        self.root = root
        try:
            self.prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
        except GitError:
            raise GitError(f"{root} is not inside a git repository (hubgen plan compares git revisions)") from None

    def tree(self, ref: str) -> tuple[str, str]:
        """(tree id, label) of a commit-ish or tree-ish; GitError when it does not exist."""
        if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
            raise GitError(f"'{ref}' is not a git revision")
        try:
            tree = _git(self.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{tree}}")
        except GitError:
            raise GitError(f"unknown git revision '{ref}' (fetch it first, e.g. `git fetch origin main`; "
                           "CI checkouts need fetch-depth: 0)") from None
        tree_id = tree.decode().strip()
        try:
            commit = _git(self.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            label = f"{ref} ({commit.decode().strip()[:12]})"
        except GitError:
            label = f"{ref} (tree {tree_id[:12]})"
        return tree_id, label

    def changed_paths(self, base_tree: str, head_tree: str | None) -> list[str]:
        """Repository-relative paths that differ between base and head (None: the working tree,
        including untracked files that are not ignored)."""
        args = ["diff", "--name-only", "-z", "--no-renames", "--relative", base_tree]
        if head_tree is not None:
            args.append(head_tree)
        paths = _split_z(_git(self.root, *args, "--", "."))
        if head_tree is None:
            paths += _split_z(_git(self.root, "ls-files", "-z", "--others", "--exclude-standard", "--", "."))
        return sorted(set(paths))


class GitSnapshot:
    """A git tree, read with one long-lived `git cat-file --batch`."""

    def __init__(self, repo: Repo, tree: str, label: str):
        self.repo = repo
        self.tree = tree
        self.label = label
        self._paths: frozenset[str] | None = None
        self._proc: subprocess.Popen | None = None

    def paths(self) -> frozenset[str]:
        if self._paths is None:
            pre = self.repo.prefix
            out = _git(self.repo.root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", self.tree, "--",
                       *(pre + d for d in SNAPSHOT_DIRS))
            self._paths = frozenset(p[len(pre):] for p in _split_z(out) if p.startswith(pre))
        return self._paths

    def read(self, path: str) -> bytes | None:
        if path not in self.paths():
            return None
        if self._proc is None:
            self._proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.repo.root,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(f"{self.tree}:{self.repo.prefix}{path}\n".encode("utf-8", "surrogateescape"))
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            return None
        data = self._proc.stdout.read(int(header[2]))
        self._proc.stdout.read(1)
        return data if header[1] == b"blob" else None

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


class WorkTreeSnapshot:
    """The files on disk that git would see: tracked (and not deleted) or untracked and not ignored.

    Read as git would commit them: a symbolic link is its target's *name* (the bytes git stores for a link),
    never what it points to, and nothing is read through a linked folder (a checkout is hostile input)."""

    label = WORKTREE

    def __init__(self, repo: Repo):
        self.repo = repo
        self.root = repo.root
        self._paths: frozenset[str] | None = None

    def paths(self) -> frozenset[str]:
        if self._paths is None:
            listed = _split_z(_git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                                   *SNAPSHOT_DIRS))
            self._paths = frozenset(p for p in listed if _file_or_link(self.root / p))
        return self._paths

    def read(self, path: str) -> bytes | None:
        from generator.safefs import Refused, read_file

        if path not in self.paths():
            return None
        full = self.root / path
        try:
            if stat.S_ISLNK(os.lstat(full).st_mode):
                return os.fsencode(os.readlink(full))
            return read_file(self.root, path)
        except (OSError, Refused):
            return None

    def close(self) -> None:
        pass
