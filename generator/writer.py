"""Deterministic, atomic writing of generated files, and drift detection.

Atomicity: an environment's new files are first staged under
``.hubgen/txn/<env>/`` on the same filesystem, then a ``COMMITTED`` marker is
created by an atomic rename, then the staged files are moved into place with
``os.replace`` and stale files are removed. A process killed before the marker
leaves the tree untouched (the staging folder is discarded on the next run);
one killed after it is rolled forward by the next hubgen run, before anything
else reads the tree. Either way each environment's outputs end up entirely old
or entirely new. Runs on one repository are serialised by an exclusive lock.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from generator import codes
from generator.artifacts import RenderedFile
from generator.paths import RepoPaths
from generator.problems import Location, Problem
from generator.render.common import hand_edited

COMMITTED = "COMMITTED"
MANIFEST = "manifest.json"


class WriteError(Exception):
    """Writing failed (read-only or full disk, permissions, unsafe path); the tree is unchanged."""


@dataclass
class EnvChange:
    """What rendering one environment changes on disk."""

    environment: str
    writes: dict[str, bytes] = field(default_factory=dict)  # path -> new bytes (new or changed files)
    deletes: list[str] = field(default_factory=list)  # stale generated files
    created: set[str] = field(default_factory=set)  # subset of writes that do not exist yet
    old: dict[str, bytes] = field(default_factory=dict)  # current bytes of changed/deleted files

    @property
    def empty(self) -> bool:
        return not self.writes and not self.deletes


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def plan_environment(repo: RepoPaths, environment: str, files: list[RenderedFile]) -> EnvChange:
    """Compare rendered files with the disk. ``files`` empty means the environment is gone."""
    change = EnvChange(environment)
    wanted = {f.path: f.content for f in files}
    for path, content in wanted.items():
        current = _read(repo.abs(path))
        if current is None:
            change.writes[path] = content
            change.created.add(path)
        elif current != content:
            change.writes[path] = content
            change.old[path] = current
    for path in repo.generated_files_on_disk(environment):
        if path not in wanted:
            change.deletes.append(path)
            change.old[path] = _read(repo.abs(path)) or b""
    change.deletes.sort()
    return change


def drift_problems(change: EnvChange) -> list[Problem]:
    """HG401-HG404 problems for a planned change (render --check)."""
    out = []
    env = change.environment
    for path in sorted(change.writes):
        loc = Location(path, 1, 1)
        if path in change.created:
            out.append(codes.HG404.problem(f"{path} is missing", loc, environment=env))
            continue
        text = change.old[path].decode("utf-8", errors="replace")
        if hand_edited(text):
            out.append(codes.HG402.problem(f"{path} was edited by hand (its content no longer matches the hash in "
                                           "its header)", loc, environment=env))
        else:
            out.append(codes.HG401.problem(f"{path} differs from what {_spec_of(env)} renders to", loc,
                                           environment=env))
    for path in change.deletes:
        out.append(codes.HG403.problem(f"{path} is not produced by any spec", Location(path, 1, 1), environment=env,
                                       hint=f"Run `hubgen render {env}` to remove it, or delete it."
                                       if env else codes.HG403.hint))
    return out


def _spec_of(env: str) -> str:
    return f"environments/{env}/environment.yaml"


def unified_diff(change: EnvChange) -> str:
    chunks = []
    for path in sorted(set(change.writes) | set(change.deletes)):
        old = change.old.get(path, b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        new = change.writes.get(path, b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        a = "/dev/null" if path in change.created else f"a/{path}"
        b = "/dev/null" if path in change.deletes else f"b/{path}"
        chunks.append("".join(difflib.unified_diff(old, new, a, b)))
    return "".join(chunks)


# --- locking and transactions ----------------------------------------------------------------------------------


def _state_dir(repo: RepoPaths) -> Path:
    state = repo.state
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return state


@contextlib.contextmanager
def repo_lock(repo: RepoPaths, *, wait_message: bool = True) -> Iterator[None]:
    """Exclusive lock serialising hubgen runs that write to (or recover) one repository."""
    try:
        state = _state_dir(repo)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise WriteError(f"cannot create {repo.state}: {e.strerror}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                print("hubgen: waiting for another hubgen run on this repository to finish...", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _txn_root(repo: RepoPaths) -> Path:
    return repo.state / "txn"


def _fsync_enabled() -> bool:
    return os.environ.get("HUBGEN_FSYNC", "") not in ("", "0")


def _write_file(path: Path, content: bytes) -> None:
    with open(path, "wb") as f:
        f.write(content)
        if _fsync_enabled():
            f.flush()
            os.fsync(f.fileno())


def _check_target(repo: RepoPaths, relpath: str) -> Path:
    """Refuse writing through symbolic links or outside the repository."""
    root = repo.root.resolve()
    target = repo.abs(relpath)
    if target.is_symlink():
        raise WriteError(f"refusing to write {relpath}: it is a symbolic link")
    parent = target.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if existing.resolve() != root and root not in existing.resolve().parents:
        raise WriteError(f"refusing to write {relpath}: its folder leads outside the repository")
    return target


def recover(repo: RepoPaths) -> list[str]:
    """Finish or discard interrupted transactions. Call with the repo lock held. Returns recovered envs."""
    root = _txn_root(repo)
    if not root.is_dir():
        return []
    done = []
    for txn in sorted(root.iterdir()):
        if (txn / COMMITTED).exists():
            _roll_forward(repo, txn)
            done.append(txn.name)
        shutil.rmtree(txn, ignore_errors=True)
    return done


def _roll_forward(repo: RepoPaths, txn: Path) -> None:
    manifest = json.loads((txn / MANIFEST).read_text())
    for i, relpath in enumerate(manifest["writes"]):
        staged = txn / "files" / str(i)
        if staged.exists():
            target = repo.abs(relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for relpath in manifest["deletes"]:
        with contextlib.suppress(FileNotFoundError):
            repo.abs(relpath).unlink()
        _prune_empty_dirs(repo, repo.abs(relpath).parent)


def _prune_empty_dirs(repo: RepoPaths, d: Path) -> None:
    stop = repo.environments.resolve()
    d = d.resolve()
    while d != stop and stop in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


def apply(repo: RepoPaths, change: EnvChange) -> None:
    """Apply one environment's change atomically (see module docstring). Call with the repo lock held."""
    if change.empty:
        return
    txn = _txn_root(repo) / (change.environment or "_repository")
    try:
        for relpath in [*change.writes, *change.deletes]:
            _check_target(repo, relpath)
        if txn.exists():
            shutil.rmtree(txn)
        (txn / "files").mkdir(parents=True)
        writes = sorted(change.writes)
        for i, relpath in enumerate(writes):
            _write_file(txn / "files" / str(i), change.writes[relpath])
        _write_file(txn / MANIFEST, json.dumps({"writes": writes, "deletes": change.deletes}).encode())
        # Make sure every target folder exists before the point of no return.
        for relpath in writes:
            repo.abs(relpath).parent.mkdir(parents=True, exist_ok=True)
        _write_file(txn / (COMMITTED + ".tmp"), b"")
        os.replace(txn / (COMMITTED + ".tmp"), txn / COMMITTED)
    except OSError as e:
        shutil.rmtree(txn, ignore_errors=True)
        raise WriteError(_describe_os_error(e)) from e
    if os.environ.get("HUBGEN_TEST_SLOW_COMMIT"):  # used by the crash-injection test to widen the window
        time.sleep(float(os.environ["HUBGEN_TEST_SLOW_COMMIT"]))
    try:
        _roll_forward(repo, txn)
    except OSError as e:
        raise WriteError(_describe_os_error(e) + " (the change is committed and will be completed by the next "
                         "hubgen run)") from e
    shutil.rmtree(txn, ignore_errors=True)


def _describe_os_error(e: OSError) -> str:
    where = f" ({e.filename})" if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"no space left on device{where}; nothing was changed"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write{where}: {e.strerror}; nothing was changed"
    return f"{e.strerror or e}{where}; nothing was changed"
