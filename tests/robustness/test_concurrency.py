"""Concurrent hubgen runs on one repository are serialised by its lock, never interleaved.

To make the overlap certain rather than likely, the first run is frozen with SIGSTOP right after it
replaced its first file (while it holds the lock with files still to rename into place) until the
second run says it is waiting; without the lock each scenario below ends in a mixed tree or a reader
seeing a half-written environment.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import _clean_env, hubgen_command

from .conftest import ENVIRONMENTS, Version, Versions
from .synthetic import generated_files, write_specs

SLOW = "0.005"
WAITING = "waiting for another hubgen run"


def _start(root: Path, *args: str, slow: str | None = None) -> subprocess.Popen:
    extra = {"HUBGEN_TEST_SLOW_WRITE": slow} if slow else {}
    return subprocess.Popen([*hubgen_command(), *args], cwd=root, env=_clean_env(extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _freeze_after_commit(root: Path, proc: subprocess.Popen, old: Version) -> None:
    """Stop ``proc`` (SIGSTOP) once it has renamed its first file into place, before it finished."""
    end = time.monotonic() + 60
    while generated_files(root) == old.files:
        assert proc.poll() is None, "the first render ended before it replaced a file"
        assert time.monotonic() < end
        time.sleep(0.001)
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the first render finished before it could be frozen"


def _wait_until_waiting(proc: subprocess.Popen) -> str:
    """Read ``proc``'s stderr until it reports waiting for the lock (fails at end of output)."""
    assert proc.stderr is not None
    seen = ""
    while WAITING not in seen:
        line = proc.stderr.readline()
        assert line, f"the second run never waited for the lock; its stderr: {seen!r}"
        seen += line
    return seen


def _assert_tree_is(root: Path, version: Version) -> None:
    current = generated_files(root)
    mixed = sorted(env for env in current if current[env] != version.files[env])
    assert not mixed, f"not entirely version {version.name}: {mixed}"


def test_a_second_render_waits_for_the_first_and_then_sees_its_complete_result(versions: Versions,
                                                                              tmp_path: Path) -> None:
    """Render B (slowly); while it moves files into place, switch the specs back to A and render
    again. The second run must wait, find B complete, and leave exactly A."""
    root = versions.start(tmp_path / "repo", versions.a, versions.b)
    first = _start(root, "render", slow=SLOW)
    _freeze_after_commit(root, first, versions.a)
    write_specs(root, ENVIRONMENTS, "A")
    second = _start(root, "render")
    try:
        _wait_until_waiting(second)
    finally:
        first.send_signal(signal.SIGCONT)
    rc1, out1, err1 = _finish(first)
    rc2, out2, err2 = _finish(second)
    assert (rc1, rc2) == (0, 0), (err1, err2)
    assert f"render: {ENVIRONMENTS} environment(s), {ENVIRONMENTS} changed" in out1
    # The second run saw every environment at B (the first run's complete result) and changed them all.
    assert f"render: {ENVIRONMENTS} environment(s), {ENVIRONMENTS} changed" in out2
    _assert_tree_is(root, versions.a)


def test_two_renders_started_together_do_the_work_once(versions: Versions, tmp_path: Path) -> None:
    root = versions.start(tmp_path / "repo", versions.a, versions.b)
    procs = [_start(root, "render", slow="0.005") for _ in range(2)]
    results = [_finish(p) for p in procs]
    assert [r[0] for r in results] == [0, 0], results
    summaries = sorted(line for r in results for line in r[1].splitlines() if line.startswith("render:"))
    # One run rendered everything; the other ran after it (never alongside) and found nothing to do.
    assert summaries == [f"render: {ENVIRONMENTS} environment(s), 0 changed",
                         f"render: {ENVIRONMENTS} environment(s), {ENVIRONMENTS} changed"], results
    _assert_tree_is(root, versions.b)


def test_a_check_never_sees_a_half_written_tree(versions: Versions, tmp_path: Path) -> None:
    """`render --check` started while a render moves files into place waits for it and then finds
    the tree up to date -- never the drift of a half-applied render."""
    root = versions.start(tmp_path / "repo", versions.a, versions.b)
    writer = _start(root, "render", slow=SLOW)
    _freeze_after_commit(root, writer, versions.a)
    checker = _start(root, "render", "--check")
    try:
        _wait_until_waiting(checker)
    finally:
        writer.send_signal(signal.SIGCONT)
    rc_check, out, err = _finish(checker)
    rc_write, _, werr = _finish(writer)
    assert rc_write == 0, werr
    assert rc_check == 0, out + err
    assert "no problems" in out
    _assert_tree_is(root, versions.b)


def test_checks_share_the_lock_and_writers_wait_for_them(versions: Versions, tmp_path: Path) -> None:
    """Readers do not queue behind each other (two `render --check` runs hold the lock together),
    but a writer waits until the readers are done."""
    root = versions.start(tmp_path / "repo", versions.a, versions.b)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)  # the lock is the repository folder itself
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # a reader holds the lock
        rc, out, err = _finish(_start(root, "render", "--check"))
        assert rc == 1 and "HG401" in out, out + err  # ran at once: the specs are B, the files A
        assert WAITING not in err
        writer = _start(root, "render")
        _wait_until_waiting(writer)
        _assert_tree_is(root, versions.a)
    finally:
        os.close(fd)
    rc, out, err = _finish(writer)
    assert rc == 0, out + err
    _assert_tree_is(root, versions.b)
