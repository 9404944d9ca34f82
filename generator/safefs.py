"""Write containment: the one place where hubgen creates, replaces, moves or deletes a file in a repository.

A checkout is hostile input: a pull request can commit symbolic links, folders where files are
expected and files with any name. So every change to a repository goes through a :class:`Confined`
tree, which

* accepts only repository-relative POSIX paths with no empty, ``.`` or ``..`` part (never absolute),
  and only those its ``allowed`` predicate accepts (each command passes the narrowest one: `render`
  the generated files of its environments, `secrets create` one secret file, ...);
* walks every folder on the way from the repository root with ``O_NOFOLLOW`` file descriptors and
  refuses a symbolic link anywhere on the way or at the target (no check-then-use window: each
  operation is relative to a folder descriptor that was opened without following links);
* writes each file atomically (a temporary file in the target's folder, then ``rename``), so every
  file is always entirely old or entirely new.

:meth:`Confined.write_all` stages every temporary file before renaming the first one into place:
an I/O error (full disk, read-only folder) leaves the tree as it was. A process killed while files
are renamed leaves some files new and some old, each whole: that is drift, which
`hubgen render --check` reports and `hubgen render` repairs (rendering is idempotent).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Callable, Iterator

#: Temporary files hubgen stages next to their targets: ``.<name>.hubgen-<random>.tmp``.
TEMP_RE = re.compile(r"^\..+\.hubgen-[0-9a-f]{12}\.tmp$")

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Refused(Exception):
    """A path hubgen will not change or read (outside its allowed set, through a link, a folder in the way);
    ``link``: because of a symbolic link on the way or at the path itself."""

    def __init__(self, message: str, *, link: bool = False) -> None:
        super().__init__(message)
        self.link = link


def _fsync_enabled() -> bool:
    return os.environ.get("HUBGEN_FSYNC", "") not in ("", "0")


def check_relpath(relpath: str) -> list[str]:
    """The parts of a safe repository-relative path; raises Refused for anything else."""
    if not isinstance(relpath, str) or not relpath or relpath.startswith("/") or "\\" in relpath \
            or "\0" in relpath:
        raise Refused(f"refusing {relpath!r}: not a relative path inside the repository")
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise Refused(f"refusing {relpath!r}: not a plain relative path inside the repository")
    return parts


def temp_name(name: str) -> str:
    return f".{name}.hubgen-{secrets.token_hex(6)}.tmp"


class PartlyWritten(Exception):
    """Renaming staged files into place failed after some were renamed (``error`` says why)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Confined:
    """File changes under ``root``, restricted to the paths ``allowed`` accepts (see module docstring)."""

    def __init__(self, root: Path | str, allowed: Callable[[str], bool], *, what: str = "hubgen",
                 fsync: bool | None = None) -> None:
        self.root = os.path.realpath(root)
        #: fsync files and folders (power-loss durability): HUBGEN_FSYNC=1, or always for secrets.
        self.fsync = _fsync_enabled() if fsync is None else fsync
        self.allowed = allowed
        self.what = what
        self._created_dirs: list[str] = []  # folders made by the current write_all, for undo

    # --- walking folders without following links --------------------------------------------------

    def check(self, relpath: str) -> list[str]:
        parts = check_relpath(relpath)
        if not self.allowed(relpath):
            raise Refused(f"refusing to change {relpath}: {self.what} only changes its own files")
        return parts

    @contextlib.contextmanager
    def _folder(self, parts: list[str], *, create: bool) -> Iterator[int | None]:
        """A descriptor of the folder ``parts`` (relative to the root), opened link by link with
        O_NOFOLLOW; None when it does not exist and ``create`` is false."""
        fds = [os.open(self.root, _DIR_FLAGS)]
        try:
            for i, part in enumerate(parts):
                where = "/".join(parts[: i + 1])
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=fds[-1])
                except FileNotFoundError:
                    if not create:
                        yield None
                        return
                    try:
                        os.mkdir(part, 0o777, dir_fd=fds[-1])
                        self._created_dirs.append(where)
                    except FileExistsError:
                        pass
                    fd = os.open(part, _DIR_FLAGS, dir_fd=fds[-1])
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        link = _is_link(fds[-1], part)
                        raise Refused(f"refusing to write below {where}: it is "
                                      f"{'a symbolic link' if link else 'not a folder'}", link=link) from None
                    raise
                fds.append(fd)
            yield fds[-1]
        finally:
            for fd in fds:
                os.close(fd)

    def _target_kind(self, dir_fd: int, name: str, relpath: str) -> int | None:
        """st_mode of the target (None when absent); refuses links and folders."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise Refused(f"refusing to write {relpath}: it is a symbolic link", link=True)
        if stat.S_ISDIR(st.st_mode):
            raise Refused(f"refusing to write {relpath}: a folder is in the way of this file "
                          f"(remove it: rm -r {relpath})")
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"refusing to write {relpath}: it is not a regular file")
        return st.st_mode

    # --- reading (for callers that must not follow links either) ----------------------------------

    def read(self, relpath: str) -> bytes | None:
        """The bytes of a regular file (None when absent), without following any link."""
        parts = check_relpath(relpath)
        with self._folder(parts[:-1], create=False) as d:
            if d is None:
                return None
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=d)
            except FileNotFoundError:
                return None
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise Refused(f"refusing to read {relpath}: it is a symbolic link", link=True) from None
                raise
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise Refused(f"refusing to read {relpath}: it is not a regular file")
                return f.read()

    # --- changing ---------------------------------------------------------------------------------

    def write(self, relpath: str, data: bytes, *, mode: int = 0o644) -> None:
        self.write_all({relpath: data}, mode=mode)

    def write_all(self, files: dict[str, bytes], *, mode: int = 0o644, deletes: list[str] = ()) -> None:
        """Write every file and delete ``deletes``: all temporary files are staged first (an OSError
        or Refused then leaves the tree as it was, created folders removed), then renamed into place,
        then the deletes run. Raises Refused, OSError (nothing changed) or PartlyWritten."""
        for relpath in [*files, *deletes]:
            self.check(relpath)
        staged: list[tuple[str, str]] = []  # (relpath, temporary name)
        self._created_dirs = []
        try:
            for relpath in sorted(files):
                parts = relpath.split("/")
                try:
                    with self._folder(parts[:-1], create=True) as d:
                        assert d is not None
                        self._target_kind(d, parts[-1], relpath)
                        temp = temp_name(parts[-1])
                        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=d)
                        staged.append((relpath, temp))
                        _write_fd(fd, files[relpath], relpath, self.fsync)
                except OSError as e:  # name the file in the repository, not the temporary one
                    raise OSError(e.errno, e.strerror, relpath) from e
            for relpath in deletes:
                parts = relpath.split("/")
                with self._folder(parts[:-1], create=False) as d:
                    if d is not None:
                        self._target_kind(d, parts[-1], relpath)
        except BaseException:
            self._discard(staged)
            for where in reversed(self._created_dirs):
                with contextlib.suppress(OSError, Refused):
                    self._rmdir(where)
            self._created_dirs = []
            raise
        self._created_dirs = []
        done = 0
        try:
            for relpath, temp in staged:
                parts = relpath.split("/")
                with self._folder(parts[:-1], create=False) as d:
                    if d is None:
                        raise FileNotFoundError(errno.ENOENT, "folder removed while hubgen wrote", relpath)
                    os.replace(temp, parts[-1], src_dir_fd=d, dst_dir_fd=d)
                    if self.fsync:
                        _fsync_fd(d)
                done += 1
                _test_delay()
        except OSError as e:
            self._discard(staged[done:])
            if done == 0:
                raise
            raise PartlyWritten(e) from e
        except BaseException:
            self._discard(staged[done:])  # KeyboardInterrupt: no temporary file left behind
            raise
        for relpath in deletes:
            self.delete(relpath)

    def _discard(self, staged: list[tuple[str, str]]) -> None:
        for relpath, temp in staged:
            parts = relpath.split("/")
            with contextlib.suppress(OSError, Refused):
                with self._folder(parts[:-1], create=False) as d:
                    if d is not None:
                        os.unlink(temp, dir_fd=d)

    def _rmdir(self, relpath: str) -> None:
        parts = check_relpath(relpath)
        with self._folder(parts[:-1], create=False) as d:
            if d is not None:
                os.rmdir(parts[-1], dir_fd=d)

    def delete(self, relpath: str, *, prune_up_to: int = 1) -> bool:
        """Remove a file (never a link's target, never a folder); then remove the folders above it
        that became empty, keeping the first ``prune_up_to`` parts of the path (``environments``).
        Returns whether a file was removed."""
        parts = self.check(relpath)
        with self._folder(parts[:-1], create=False) as d:
            if d is None:
                return False
            if self._target_kind(d, parts[-1], relpath) is None:
                return False
            os.unlink(parts[-1], dir_fd=d)
        for i in range(len(parts) - 1, prune_up_to, -1):
            try:
                self._rmdir("/".join(parts[:i]))
            except (OSError, Refused):
                break
        return True

    def remove_temp(self, relpath: str) -> None:
        """Remove a temporary file a killed hubgen left behind (its name must match TEMP_RE)."""
        parts = check_relpath(relpath)
        if not TEMP_RE.match(parts[-1]) or not self.allowed("/".join([*parts[:-1], "x"])):
            raise Refused(f"refusing to remove {relpath}: not a hubgen temporary file")
        with self._folder(parts[:-1], create=False) as d:
            if d is not None:
                with contextlib.suppress(FileNotFoundError):
                    if self._target_kind(d, parts[-1], relpath) is not None:
                        os.unlink(parts[-1], dir_fd=d)

    def rename_dir(self, src: str, dst: str) -> None:
        """Move folder ``src`` to ``dst`` (which must not exist) in one rename; both must be allowed."""
        sp, dp = self.check(src), self.check(dst)
        with self._folder(sp[:-1], create=False) as s, self._folder(dp[:-1], create=True) as d:
            if s is None:
                raise FileNotFoundError(errno.ENOENT, "no such folder", src)
            st = os.stat(sp[-1], dir_fd=s, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise Refused(f"refusing to move {src}: not a folder")
            try:
                os.stat(dp[-1], dir_fd=d, follow_symlinks=False)
                raise FileExistsError(errno.EEXIST, "already exists", dst)
            except FileNotFoundError:
                pass
            os.rename(sp[-1], dp[-1], src_dir_fd=s, dst_dir_fd=d)

    def remove_tree(self, relpath: str) -> None:
        """Remove a folder hubgen made (a staging folder) with everything in it, links unfollowed."""
        parts = self.check(relpath)
        with self._folder(parts[:-1], create=False) as d:
            if d is not None:
                _rmtree_at(d, parts[-1])


def read_file(root: Path | str, relpath: str) -> bytes | None:
    """The bytes of the regular file ``relpath`` under ``root`` (None when absent), read without following any
    symbolic link on the way (Refused, ``link`` set). Reading needs no allow-list, only these rules."""
    return Confined(root, lambda _: False).read(relpath)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _write_fd(fd: int, data: bytes, relpath: str, fsync: bool) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    except OSError as e:  # write() errors do not name the file
        raise OSError(e.errno, e.strerror, relpath) from e
    finally:
        os.close(fd)


def _fsync_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _rmtree_at(parent: int, name: str) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            os.unlink(name, dir_fd=parent)  # a link or a file: remove the entry itself
            return
        raise
    try:
        for entry in os.listdir(fd):
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _rmtree_at(fd, entry)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def _test_delay() -> None:
    """HUBGEN_TEST_SLOW_WRITE=<seconds>: sleep after each file renamed into place (the crash-injection
    test in tests/robustness kills renders in this window)."""
    delay = os.environ.get("HUBGEN_TEST_SLOW_WRITE")
    if delay:
        import time

        time.sleep(float(delay))
