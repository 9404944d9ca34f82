"""Deterministic, atomic writing of generated files, and drift detection.

Atomicity. One `hubgen render` is one transaction over every environment it changes:

1. every changed environment's new files are staged in ``.hubgen/txn/files/`` and a manifest
   ``.hubgen/txn/<env>.json`` lists its writes (and their staged names), its deletes and the
   folders the change creates;
2. the target folders are created and probed (a file is renamed from the journal into each of
   them and back), so a read-only folder, a folder on another mount or filesystem, or a full disk
   fails here, before anything a reader sees has changed; generated paths that are symbolic links
   or lead out of the repository are refused before that;
3. the ``.hubgen/txn/COMMITTED`` marker is created by an atomic rename -- the point of no return;
4. the staged files are moved into place with ``os.replace`` (same filesystem, atomic per file) and
   stale files are removed, then the journal is deleted.

A process killed before step 3 leaves every generated file untouched (the next hubgen run discards
the staging area and the folders it created); one killed after it is rolled forward by the next
hubgen run, before anything else reads the tree. Either way every environment's outputs end up
entirely old or entirely new -- in fact the whole run is all-or-nothing. Runs on one repository are
serialised by a lock (:func:`repo_lock`; `render --check` and other readers share it).
``HUBGEN_FSYNC=1`` adds fsync calls for power-loss durability; a killed process needs none (the page
cache survives it). tests/robustness/ kills renders with SIGKILL, runs them concurrently, and
renders onto read-only mounts and a full disk to hold all of this to account.
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
from generator.paths import STATE_DIR, RepoPaths
from generator.problems import Location, Problem
from generator.render.common import hand_edited

COMMITTED = "COMMITTED"
#: ``.hubgen/txn/<env>.json``: what the run changes in one environment.
MANIFEST_SUFFIX = ".json"
#: ``.hubgen/txn/files/<n>``: the new files, numbered across the run.
STAGED_DIR = "files"


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
    links: list[str] = field(default_factory=list)  # generated paths that are symbolic links (refused)

    @property
    def empty(self) -> bool:
        return not self.writes and not self.deletes and not self.links


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def plan_environment(repo: RepoPaths, environment: str, files: list[RenderedFile]) -> EnvChange:
    """Compare rendered files with the disk. ``files`` empty means the environment is gone."""
    change = EnvChange(environment)
    wanted = {f.path: f.content for f in files}
    on_disk, change.links = repo._scan_generated(environment)
    for path, content in wanted.items():
        current = _read(repo.abs(path))
        if current is None:
            change.writes[path] = content
            change.created.add(path)
        elif current != content:
            change.writes[path] = content
            change.old[path] = current
    for path in on_disk:
        if path not in wanted:
            change.deletes.append(path)
            change.old[path] = _read(repo.abs(path)) or b""
    change.deletes.sort()
    return change


def drift_problems(change: EnvChange) -> list[Problem]:
    """HG401-HG404 problems for a planned change (render --check)."""
    out = []
    env = change.environment
    for path in change.links:
        out.append(codes.HG406.problem(f"{path} is a symbolic link; hubgen does not write through links",
                                       Location(path), environment=env))
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

TXN_DIR = "txn"
PROBE_NAME = ".hubgen-probe"


def _state_dir(repo: RepoPaths) -> Path:
    state = repo.state
    if state.is_symlink():
        raise WriteError(f"refusing to use {STATE_DIR}: it is a symbolic link (hubgen keeps its lock and "
                         "journal there, inside the repository)")
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return state


@contextlib.contextmanager
def repo_lock(repo: RepoPaths, *, wait_message: bool = True, shared: bool = False) -> Iterator[None]:
    """Lock serialising hubgen runs on one repository.

    Exclusive by default (writers, and whoever recovers an interrupted run). ``shared=True`` is for
    readers (`render --check`): they run alongside each other but never alongside a writer, and on a
    read-only checkout, where nothing can write, they proceed without a lock.
    """
    try:
        state = _state_dir(repo)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        if shared and e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield
            return
        raise WriteError(_describe_os_error(repo, e)) from e
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                print("hubgen: waiting for another hubgen run on this repository to finish...", file=sys.stderr)
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _txn_root(repo: RepoPaths) -> Path:
    return repo.state / TXN_DIR


def pending(repo: RepoPaths) -> bool:
    """Whether an interrupted run left a journal behind (cheap: one stat)."""
    return _txn_root(repo).is_dir()


def recover_if_needed(repo: RepoPaths) -> list[str]:
    """Finish or discard an interrupted run, if there is one, under the lock. Returns recovered envs."""
    if not pending(repo):
        return []
    with repo_lock(repo):
        return recover(repo)


def _fsync_enabled() -> bool:
    return os.environ.get("HUBGEN_FSYNC", "") not in ("", "0")


def _write_file(path: Path | str, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        if _fsync_enabled():
            os.fsync(fd)
    except OSError as e:  # write() errors do not name the file
        raise OSError(e.errno, e.strerror, str(path)) from e
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if _fsync_enabled():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Targets:
    """Safety checks of the paths a run writes, with per-folder results cached (one run touches
    thousands of files in a few folders each)."""

    def __init__(self, repo: RepoPaths) -> None:
        self.repo = repo
        self.root = os.path.realpath(repo.root)
        self._link: dict[str, bool] = {}
        self._inside: dict[str, bool] = {}

    def _is_link(self, path: str) -> bool:
        if path not in self._link:
            self._link[path] = os.path.islink(path)
        return self._link[path]

    def _leads_inside(self, folder: str) -> bool:
        """Whether ``folder`` (or, when missing, its nearest existing ancestor) resolves inside the repo."""
        if folder not in self._inside:
            if os.path.isdir(folder) or not os.path.dirname(folder) or os.path.dirname(folder) == folder:
                real = os.path.realpath(folder)
                self._inside[folder] = real == self.root or real.startswith(self.root + os.sep)
            else:
                self._inside[folder] = self._leads_inside(os.path.dirname(folder))
        return self._inside[folder]

    def check(self, relpath: str) -> None:
        """Refuse writing through symbolic links or outside the repository (WriteError)."""
        target = os.path.join(self.repo.root, relpath)
        if self._is_link(target):
            raise WriteError(f"refusing to write {relpath}: it is a symbolic link; nothing was changed")
        # No folder between the environment folder and the file may be a link (a generated folder
        # linked elsewhere, even inside the repository, would let two environments write one file).
        parts = relpath.split("/")
        for i in range(len(parts) - 1, 2, -1):
            folder = "/".join(parts[:i])
            if self._is_link(os.path.join(self.repo.root, folder)):
                raise WriteError(f"refusing to write {relpath}: {folder} is a symbolic link; nothing was changed")
        if not self._leads_inside(os.path.dirname(target)):
            raise WriteError(f"refusing to write {relpath}: its folder leads outside the repository; nothing was "
                             "changed")


def _check_target(repo: RepoPaths, relpath: str) -> Path:
    """Refuse writing through symbolic links or outside the repository."""
    _Targets(repo).check(relpath)
    return repo.abs(relpath)


def _slow(phase: str) -> None:
    """Test hooks widening the windows the crash-injection test (tests/robustness) kills in:
    HUBGEN_TEST_SLOW_STAGE=<seconds> sleeps after every file staged and every folder probed,
    HUBGEN_TEST_SLOW_COMMIT=<seconds> after the commit and after every file moved into place."""
    delay = os.environ.get("HUBGEN_TEST_SLOW_STAGE" if phase == "stage" else "HUBGEN_TEST_SLOW_COMMIT")
    if delay:
        time.sleep(float(delay))


def recover(repo: RepoPaths) -> list[str]:
    """Finish (committed) or discard (uncommitted) an interrupted run. Call with the repo lock held.

    Returns the environments whose change was completed.
    """
    root = _txn_root(repo)
    if not root.is_dir():
        return []
    committed = (root / COMMITTED).exists()
    done = []
    for path in sorted(root.glob(f"*{MANIFEST_SUFFIX}")):
        manifest = _read_manifest(path)
        if manifest is None:
            continue  # killed while it was written (so before the commit) or while the journal was deleted
        if committed:
            _roll_forward(repo, root, manifest)
            done.append(path.name[: -len(MANIFEST_SUFFIX)])
        else:
            _discard_dirs(repo, manifest)
    _remove_journal(root)
    if done:
        print(f"hubgen: completed an interrupted render of {len(done)} environment(s): {', '.join(done)}",
              file=sys.stderr)
    return done


def _remove_journal(root: Path) -> None:
    """Delete the journal, the COMMITTED marker last (a kill in between leaves a journal that
    recovery rolls forward again, which is idempotent)."""
    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name != COMMITTED:
            with contextlib.suppress(OSError):
                p.unlink()
    with contextlib.suppress(OSError):
        (root / COMMITTED).unlink()
    with contextlib.suppress(OSError):
        root.rmdir()


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _roll_forward(repo: RepoPaths, root: Path, manifest: dict) -> None:
    """Move the staged files into place and remove the stale ones. Idempotent (re-run after a kill)."""
    files = os.path.join(root, STAGED_DIR)
    for relpath, name in zip(manifest["writes"], manifest["staged"]):
        staged = os.path.join(files, name)
        target = os.path.join(repo.root, relpath)
        try:
            os.replace(staged, target)
        except FileNotFoundError:
            if not os.path.exists(staged):
                continue  # moved into place before an interruption
            os.makedirs(os.path.dirname(target), exist_ok=True)  # recovery: a folder removed meanwhile
            os.replace(staged, target)
        _slow("replace")
    for relpath in manifest["deletes"]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(repo.root, relpath))
        _prune_empty_dirs(repo, repo.abs(relpath).parent)
    for d in manifest.get("probes", []):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(repo.root, d, PROBE_NAME))


def _discard_dirs(repo: RepoPaths, manifest: dict) -> None:
    """Undo what an uncommitted change did outside the journal: probe files and created folders."""
    for d in manifest.get("probes", []):
        with contextlib.suppress(OSError):
            (repo.abs(d) / PROBE_NAME).unlink()
    for d in sorted(manifest.get("mkdirs", []), key=lambda p: p.count("/"), reverse=True):
        with contextlib.suppress(OSError):
            repo.abs(d).rmdir()  # only if still empty


def _prune_empty_dirs(repo: RepoPaths, d: Path) -> None:
    stop = repo.environments.resolve()
    d = d.resolve()
    while d != stop and stop in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


def _missing_dirs(repo: RepoPaths, relpaths: list[str]) -> list[str]:
    """Folders (repo-relative) that writing ``relpaths`` creates, parents first."""
    out: set[str] = set()
    present: set[str] = set()
    for relpath in relpaths:
        parts = relpath.split("/")[:-1]
        for i in range(len(parts), 0, -1):  # deepest first: most folders exist, one check then
            d = "/".join(parts[:i])
            if d in present or d in out:
                break
            if os.path.isdir(os.path.join(repo.root, d)):
                present.add(d)
                break
            out.add(d)
    return sorted(out, key=lambda p: (p.count("/"), p))


def _probe(repo: RepoPaths, root: Path, d: str) -> None:
    """Make sure folder ``d`` accepts files renamed from the journal: the journal's probe file is
    renamed into it and back (raises OSError naming the folder otherwise: read-only, not permitted,
    another filesystem or mount)."""
    folder = os.path.join(repo.root, d)
    probe, staged = os.path.join(folder, PROBE_NAME), os.path.join(root, PROBE_NAME)
    try:
        os.replace(staged, probe)
        os.replace(probe, staged)
    except OSError as e:
        if e.errno == errno.EXDEV:  # a mount boundary; say so, unless creating a file there fails anyway
            try:
                os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
                os.unlink(probe)
            except OSError as e2:
                e = e2
        raise OSError(e.errno, e.strerror, folder) from e


def apply(repo: RepoPaths, change: EnvChange) -> None:
    """Apply one environment's change atomically. Call with the repo lock held."""
    apply_all(repo, [change])


def apply_all(repo: RepoPaths, changes: list[EnvChange]) -> None:
    """Apply every change as one atomic transaction (see module docstring). Call with the repo lock held.

    Raises WriteError, with nothing changed, when a target is unsafe or cannot be written.
    """
    changes = [c for c in changes if not c.empty]
    if not changes:
        return
    root = _txn_root(repo)
    plans: list[dict] = []
    targets = _Targets(repo)
    try:
        for change in changes:
            if change.links:
                raise WriteError(f"refusing to write {change.environment}: {change.links[0]} is a symbolic link "
                                 f"({codes.HG406.id}); nothing was changed")
            for relpath in [*change.writes, *change.deletes]:
                targets.check(relpath)
        if root.exists():
            shutil.rmtree(root)
        files = root / STAGED_DIR
        files.mkdir(parents=True)
        staged = 0
        for change in changes:
            writes = sorted(change.writes)
            names = [str(staged + i) for i in range(len(writes))]
            staged += len(writes)
            manifest = {"writes": writes, "staged": names, "deletes": change.deletes,
                        "mkdirs": _missing_dirs(repo, writes),
                        "probes": sorted({relpath.rsplit("/", 1)[0] for relpath in [*writes, *change.deletes]})}
            _write_file(root / f"{change.environment or '_repository'}{MANIFEST_SUFFIX}",
                        json.dumps(manifest).encode())
            plans.append(manifest)
            for relpath, name in zip(writes, names):
                _write_file(os.path.join(files, name), change.writes[relpath])
                _slow("stage")
        # Create the target folders and make sure each accepts a file renamed from the journal
        # (read-only, full or foreign filesystems fail here, before the point of no return).
        _write_file(root / PROBE_NAME, b"")
        for manifest in plans:
            for d in manifest["mkdirs"]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(os.path.join(repo.root, d))
            for d in manifest["probes"]:
                _probe(repo, root, d)
                _slow("stage")
        _fsync_dir(files)
        _fsync_dir(root)
        _write_file(root / (COMMITTED + ".tmp"), b"")
        os.replace(root / (COMMITTED + ".tmp"), root / COMMITTED)
        _fsync_dir(root)
    except OSError as e:
        for manifest in plans:
            _discard_dirs(repo, manifest)
        _remove_journal(root)
        raise WriteError(_describe_os_error(repo, e)) from e
    _slow("commit")
    try:
        for manifest in plans:
            _roll_forward(repo, root, manifest)
    except OSError as e:
        raise WriteError(_describe_os_error(repo, e, committed=True)) from e
    _remove_journal(root)


def _describe_os_error(repo: RepoPaths, e: OSError, committed: bool = False) -> str:
    where = ""
    if e.filename:
        name = Path(os.fsdecode(e.filename))
        try:
            where = f" ({name.relative_to(repo.root).as_posix()})"
        except ValueError:
            where = f" ({name})"
    outcome = ("the change is committed and will be completed by the next hubgen run" if committed
               else "nothing was changed")
    if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
        return f"no space left on device{where}; {outcome}"
    if e.errno == errno.EROFS:
        return f"cannot write{where}: read-only file system; {outcome}"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write{where}: {e.strerror}; {outcome}"
    if e.errno == errno.EXDEV:
        return (f"cannot move files into place{where}: the folder is on another filesystem or mount than "
                f"{STATE_DIR}/, where hubgen stages them; {outcome}")
    return f"{e.strerror or e}{where}; {outcome}"
