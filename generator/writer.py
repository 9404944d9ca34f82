"""Deterministic writing of generated files, and drift detection.

:func:`plan_environment` compares what an environment renders to with the disk; the result is an
:class:`EnvChange`: files to write, hubgen's own files to remove, and what stands in the way
(symbolic links, folders where files belong). `render --check` reports it (:func:`drift_problems`);
`render` applies it (:func:`apply_all`) through :mod:`generator.safefs`, the one place that changes
files, which refuses anything outside the environments' generated folders.

What hubgen removes. Only files it wrote: YAML files that start with its header, the two JSON stack
inputs it recognises by name (their format cannot carry a header) and temporary files a killed run
left behind. Any other file in a generated folder is the team's; hubgen keeps it and warns (HG408),
pointing at ``environments/<env>/extra/``.

Atomicity, without a journal. Every file is replaced atomically (written next to its target, then
renamed), and all new files are staged before the first rename, so an I/O error (full disk,
read-only folder) changes nothing. A process killed while files are renamed leaves some files new
and some old, each whole: a partly rendered environment, which `render --check` (and so pre-commit
and CI) reports as drift and the next `render` completes -- rendering is idempotent. Runs on one
repository are serialised by :func:`repo_lock`, an advisory lock on the repository folder itself
(nothing is written for it).
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from generator import codes
from generator.artifacts import RenderedFile
from generator.paths import RepoPaths
from generator.problems import Location, Problem
from generator.render.common import HEADER_MARK, hand_edited
from generator.safefs import TEMP_RE, Confined, PartlyWritten, Refused, read_file


class WriteError(Exception):
    """Writing failed (unsafe path, read-only or full disk, permissions); the message says what to do."""


@dataclass
class EnvChange:
    """What rendering one environment changes on disk."""

    environment: str
    writes: dict[str, bytes] = field(default_factory=dict)  # path -> new bytes (new or changed files)
    deletes: list[str] = field(default_factory=list)  # hubgen's files no spec produces any more
    created: set[str] = field(default_factory=set)  # subset of writes that do not exist yet
    old: dict[str, bytes] = field(default_factory=dict)  # current bytes of changed/deleted files
    links: list[str] = field(default_factory=list)  # generated paths that are symbolic links (HG406)
    blocked: list[str] = field(default_factory=list)  # generated file paths taken by a folder (HG407)
    foreign: list[str] = field(default_factory=list)  # files hubgen did not write (kept; HG408)
    temps: list[str] = field(default_factory=list)  # temporary files of an interrupted run (removed)

    @property
    def empty(self) -> bool:
        """Nothing to write, remove or refuse (foreign files are only reported)."""
        return not (self.writes or self.deletes or self.links or self.blocked or self.temps)

    @property
    def refused(self) -> list[Problem]:
        """The problems that stop `render` from writing anything."""
        return [p for p in drift_problems(self) if p.code in (codes.HG406.id, codes.HG407.id)]


def _is_hubgen_file(repo: RepoPaths, environment: str, relpath: str, content: bytes) -> bool:
    return content.startswith(HEADER_MARK.encode()) or repo.env(environment).is_headerless_output(relpath)


def _current(root: Path, relpath: str) -> tuple[str, bytes | None]:
    """("file", bytes) | ("missing", None) | ("link", None) | ("blocked", None), never following links."""
    try:
        data = read_file(root, relpath)
    except Refused as e:
        return ("link", None) if e.link else ("blocked", None)
    except IsADirectoryError:
        return "blocked", None
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            return "blocked", None
        raise
    return ("missing", None) if data is None else ("file", data)


def plan_environment(repo: RepoPaths, environment: str, files: list[RenderedFile]) -> EnvChange:
    """Compare rendered files with the disk. ``files`` empty means the environment is gone."""
    change = EnvChange(environment)
    on_disk, change.links = repo._scan_generated(environment)
    linked = set(change.links)

    def under_link(path: str) -> bool:
        return any(path == link or path.startswith(link + "/") for link in linked)

    for f in files:
        if under_link(f.path):
            continue
        kind, current = _current(repo.root, f.path)
        if kind == "link":
            change.links.append(f.path)
        elif kind == "blocked":
            change.blocked.append(f.path)
        elif current is None:
            change.writes[f.path] = f.content
            change.created.add(f.path)
        elif current != f.content:
            change.writes[f.path] = f.content
            change.old[f.path] = current
    wanted = {f.path for f in files}
    for path in on_disk:
        if path in wanted or under_link(path):
            continue
        if TEMP_RE.match(path.rsplit("/", 1)[-1]):
            change.temps.append(path)
            continue
        kind, current = _current(repo.root, path)
        if kind != "file" or current is None:
            continue
        if _is_hubgen_file(repo, environment, path, current):
            change.deletes.append(path)
            change.old[path] = current
        else:
            change.foreign.append(path)
    change.links = sorted(set(change.links))
    for lst in (change.deletes, change.blocked, change.foreign, change.temps):
        lst.sort()
    return change


def drift_problems(change: EnvChange) -> list[Problem]:
    """HG401-HG404, HG406-HG408 problems for a planned change (render --check)."""
    out = []
    env = change.environment
    fix = f"hubgen render {env}" if env else "hubgen render"
    for path in change.links:
        out.append(codes.HG406.problem(f"{path} is a symbolic link; hubgen does not write through links",
                                       Location(path, 1, 1), environment=env))
    for path in change.blocked:
        out.append(codes.HG407.problem(f"{path} is a folder (or another non-file) where hubgen writes a generated "
                                       "file", Location(path, 1, 1), environment=env,
                                       hint=f"Move what {path}/ holds elsewhere (your own manifests belong in "
                                            f"environments/{env}/extra/), remove it, then run `{fix}`."))
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
                                       hint=f"Run `{fix}` to remove it, or delete it."))
    for path in change.temps:
        out.append(codes.HG403.problem(f"{path} is a temporary file left by an interrupted hubgen run",
                                       Location(path, 1, 1), environment=env, hint=f"Run `{fix}` to remove it."))
    for path in change.foreign:
        out.append(codes.HG408.problem(f"{path} was not written by hubgen; hubgen keeps it but does not check it",
                                       Location(path, 1, 1), environment=env,
                                       hint=f"Move it to environments/{env}/extra/ (applied by Flux and checked by "
                                            "hubgen), or delete it."))
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


# --- locking and writing ------------------------------------------------------------------------------------


@contextlib.contextmanager
def repo_lock(repo: RepoPaths, *, wait_message: bool = True, shared: bool = False) -> Iterator[None]:
    """Advisory lock serialising hubgen runs on one repository: ``flock`` on the repository folder.

    Exclusive by default (writers); ``shared=True`` for readers (`render --check`), which run alongside
    each other but never alongside a writer. Nothing is written for it, so it works on read-only
    checkouts and leaves no state a pull request could plant.
    """
    try:
        fd = os.open(repo.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise WriteError(f"cannot open the repository folder {repo.root}: {e.strerror or e}") from e
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


def generated_files_only(repo: RepoPaths) -> Confined:
    """The confinement of `render`: generated folders of environments, nothing else."""
    return Confined(repo.root, repo.is_generated, what="hubgen render")


def apply_all(repo: RepoPaths, changes: list[EnvChange]) -> None:
    """Apply every change (see the module docstring). Call with the repo lock held.

    Raises WriteError, with nothing changed, when a target is unsafe or cannot be written.
    """
    changes = [c for c in changes if not c.empty]
    for change in changes:
        refused = change.refused
        if refused:
            p = refused[0]
            raise WriteError(f"{p.message} ({p.code}); nothing was changed. {p.hint}")
    writes = {path: data for c in changes for path, data in c.writes.items()}
    deletes = [path for c in changes for path in [*c.deletes, *c.temps]]
    if not writes and not deletes:
        return
    try:
        generated_files_only(repo).write_all(writes, deletes=deletes)
    except Refused as e:
        raise WriteError(f"{e}; nothing was changed") from e
    except PartlyWritten as e:
        raise WriteError(describe_os_error(repo, e.error, partly=True)) from e
    except OSError as e:
        raise WriteError(describe_os_error(repo, e)) from e


def describe_os_error(repo: RepoPaths, e: OSError, *, partly: bool = False) -> str:
    where = ""
    if e.filename:
        name = os.fsdecode(e.filename)
        where = f" ({os.path.relpath(name, repo.root) if os.path.isabs(name) else name})"
    outcome = ("some files were already replaced (each whole); fix the cause and run `hubgen render` again"
               if partly else "nothing was changed")
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on device{where}; {outcome}"
    if e.errno == errno.EROFS:
        return f"cannot write{where}: read-only file system; {outcome}"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write{where}: {e.strerror}; {outcome}"
    return f"{e.strerror or e}{where}; {outcome}"


def write_specs(repo: RepoPaths, edits: list[tuple[str, bytes | None, bytes]], command: str) -> list[str]:
    """Write spec edits (repository path, the bytes read, the new bytes) for ``command`` (`hubgen upgrade`,
    `hubgen bump`): all staged, then renamed, each atomically, confined to exactly those files. A spec whose bytes
    changed since it was read is not overwritten (WriteError, nothing written). Call with the repository lock
    held. Returns the paths written."""
    writes = {path: new for path, _old, new in edits}
    if not writes:
        return []
    try:
        for path, old, _new in edits:
            if read_file(repo.root, path) != old:
                raise WriteError(f"{path} changed while {command} ran; nothing was written: run it again")
        Confined(repo.root, writes.__contains__, what=command).write_all(writes)
    except Refused as e:
        raise WriteError(f"{e}; nothing was written") from e
    except PartlyWritten as e:
        raise WriteError(describe_os_error(repo, e.error, partly=True).replace("`hubgen render`", f"`{command}`")) from e
    except OSError as e:
        raise WriteError(describe_os_error(repo, e).replace("nothing was changed", "nothing was written")) from e
    return sorted(writes)
