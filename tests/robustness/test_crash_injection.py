"""Crash injection: `hubgen render` killed with SIGKILL at random points never corrupts a file, and the
next `render` completes the change.

hubgen keeps no journal (a pull request could plant one): each file is replaced atomically, and all
new files are staged before the first is renamed into place. So the guarantee under SIGKILL is:

* every generated file is, at every moment, entirely its old or entirely its new version (never torn,
  never empty), and nothing outside the environments' generated folders changes;
* temporary files (``.<name>.hubgen-<hex>.tmp``) may be left next to their targets;
* `hubgen render --check` then reports exactly the files that are not new yet (and the leftovers) and
  exits 1 -- or 0 when the render had finished;
* the next `hubgen render` brings every environment to its new version, removes the leftovers and
  the folders the old version had and the new one does not.

A ten-environment repository rendered at spec version A (or B) gets the other version's specs, so the
next render updates every environment and creates or deletes files and folders. 32 trials in two ways:

* ``random``: after a random delay anywhere in the run (start-up, validation, rendering, staging,
  renaming), half of them with the renaming window widened;
* ``writing``: at a random moment after the first generated file changed on disk (watched through
  folder mtimes, knowing nothing of how hubgen writes), while files are renamed into place
  (``HUBGEN_TEST_SLOW_WRITE`` sleeps after every file).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

from generator.paths import GENERATED_DIRS
from tests.conftest import _clean_env, hubgen_command, invoke_hubgen, run_hubgen, tree_hashes

from .conftest import Version, Versions, directories
from .forkserver import Child, ForkServer
from .synthetic import generated_files, temp_files

TRIALS = {"random": 14, "writing": 18}
SLOW = 0.003  # seconds per file renamed into place in the widened window
TIMEOUT = 60


def _side(current: dict[str, dict[str, bytes]], old: Version, new: Version) -> dict[str, str]:
    """environment -> "old" / "new" / "mixed" (some files new, some old)."""
    out = {}
    for env, files in current.items():
        out[env] = "old" if files == old.files[env] else "new" if files == new.files[env] else "mixed"
    return out


def _check_after_kill(root: Path, old: Version, new: Version) -> set[str]:
    """Every file whole (old or new version); returns the paths that are not at their new version."""
    current = generated_files(root)
    behind = set()
    for env, files in current.items():
        for path, content in files.items():
            assert content in (old.files[env].get(path), new.files[env].get(path)), f"{path} is torn"
            if content != new.files[env].get(path):
                behind.add(path)
        behind.update(p for p in new.files[env] if p not in files)
    return behind


def _check_drift_report(root: Path, behind: set[str], real_process: bool) -> None:
    args = ["--format", "json", "render", "--check"]
    result = run_hubgen(args, cwd=root) if real_process else invoke_hubgen(["--repo", str(root), *args])
    assert "Traceback" not in result.output, result
    leftovers = temp_files(root)
    problems = json.loads(result.stdout)["problems"]
    reported = {p["file"] for p in problems if p["code"] in ("HG401", "HG403", "HG404")}
    assert behind <= reported, (behind - reported, result)
    assert set(leftovers) <= reported, result
    assert result.rc == (1 if behind or leftovers or reported else 0), result


def _check_repaired(root: Path, new: Version, outside_before: dict[str, str]) -> None:
    result = run_hubgen(["render"], cwd=root)
    assert result.rc == 0 and "Traceback" not in result.output, result
    assert generated_files(root) == new.files
    assert not temp_files(root)
    assert directories(root) == new.dirs
    assert _outside_generated(root) == outside_before


def _outside_generated(root: Path) -> dict[str, str]:
    """Hashes of every file of the repository that is not generated (specs, secrets, templates)."""
    return {p: h for p, h in tree_hashes(root).items()
            if not re.match(rf"^environments/[^/]+/({'|'.join(GENERATED_DIRS)})/", p)}


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _wait_for(ready: Callable[[], bool], proc: "_Process", timeout: float = TIMEOUT) -> bool:
    """Poll (every 2 ms) until ``ready()``; False when the process ended first."""
    end = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            return ready()
        if time.monotonic() > end:
            raise AssertionError(f"hubgen did not get there within {timeout} s")
        time.sleep(0.002)
    return True


def _tree_changes(root: Path, old: Version, new: Version) -> Callable[[], bool]:
    """A probe telling whether any generated file was replaced, created or deleted yet, by whatever
    means (it knows nothing of how hubgen writes): a replaced file has a new inode, a created one
    exists, a deleted one is gone. (Temporary files staged beside their targets change nothing here.)"""
    paths = sorted({p for env in old.files for p in (*old.files[env], *new.files[env])})
    baseline = {p: _stat(root / p) for p in paths}
    return lambda: any(_stat(root / p) != before for p, before in baseline.items())


class _Process:
    """`hubgen render` as a real process: the installed executable, or a child of the fork server."""

    def __init__(self, root: Path, extra: dict[str, str], server: ForkServer | None) -> None:
        self.out = root.parent / f"{root.name}.out"
        if server is None:
            self._log = open(self.out, "wb")
            self._proc: subprocess.Popen | Child = subprocess.Popen(
                [*hubgen_command(), "render"], cwd=root, env=_clean_env(extra), stdout=self._log,
                stderr=subprocess.STDOUT)
        else:
            self._proc = server.start(["render"], root, extra, self.out)

    def poll(self) -> int | None:
        return self._proc.poll()

    def kill_and_wait(self) -> tuple[int, str]:
        self._proc.kill()
        if isinstance(self._proc, subprocess.Popen):
            rc = self._proc.wait(timeout=TIMEOUT)
            self._log.close()
        else:
            rc = self._proc.wait()
        # A child killed before it opened its output file (a kill right after the fork) wrote nothing.
        return rc, self.out.read_text(errors="replace") if self.out.exists() else ""


def _trial(versions: Versions, tmp: Path, mode: str, i: int, rng: random.Random, server: ForkServer) -> str:
    old, new = (versions.a, versions.b) if i % 2 == 0 else (versions.b, versions.a)
    root = versions.start(tmp / f"{mode}-{i}", old, new)
    outside = _outside_generated(root)
    real = i % 4 == 3  # every fourth trial: the installed executable
    extra: dict[str, str] = {}
    if mode == "writing" or rng.random() < 0.5:
        extra["HUBGEN_TEST_SLOW_WRITE"] = str(SLOW)
    files = sum(len(set(old.files[e]) | set(new.files[e])) for e in old.files)
    proc = _Process(root, extra, None if real else server)
    try:
        if mode == "random":
            time.sleep(rng.uniform(0.0, _duration(versions, server, real, extra, files) * 1.1))
        elif _wait_for(_tree_changes(root, old, new), proc):
            time.sleep(rng.uniform(0.0, SLOW * files * 0.6))  # renaming takes about SLOW * files
    finally:
        rc, output = proc.kill_and_wait()
    assert "Traceback" not in output, output
    if rc == 0:
        outcome = "finished"
    else:
        assert rc == -signal.SIGKILL, (rc, output)
        outcome = "killed"
    behind = _check_after_kill(root, old, new)
    sides = set(_side(generated_files(root), old, new).values())
    state = "new" if sides == {"new"} else "old" if sides == {"old"} else "mixed"
    if outcome == "finished":
        assert state == "new" and not temp_files(root)
    _check_drift_report(root, behind, real_process=real)
    _check_repaired(root, new, outside)
    return f"{outcome}:{state}"


_DURATION: dict[bool, float] = {}


def _duration(versions: Versions, server: ForkServer, real: bool, extra: dict[str, str], files: int) -> float:
    """Wall time of one uninterrupted render of every environment (measured once per worker and
    kind of process, plus the widened window when there is one), so random kills spread over a
    whole run."""
    if real not in _DURATION:
        with tempfile.TemporaryDirectory() as tmp:
            root = versions.start(Path(tmp) / "repo", versions.a, versions.b)
            t = time.monotonic()
            proc = _Process(root, {}, None if real else server)
            while proc.poll() is None:
                time.sleep(0.005)
            _DURATION[real] = time.monotonic() - t
            rc, output = proc.kill_and_wait()
            assert rc == 0, output
    return _DURATION[real] + (SLOW * (files + 1) if extra else 0.0)


@pytest.fixture(scope="module")
def server():
    s = ForkServer()
    yield s
    s.close()


@pytest.mark.parametrize("mode", sorted(TRIALS))
def test_sigkill_leaves_whole_files_and_render_completes(versions: Versions, server: ForkServer, tmp_path: Path,
                                                          mode: str) -> None:
    rng = random.Random(f"hubgen-crash-{mode}-{os.getpid()}")
    outcomes = Counter(_trial(versions, tmp_path, mode, i, rng, server) for i in range(TRIALS[mode]))
    print(f"{mode}: {dict(outcomes)}")
    # The kills landed where each mode aims (so the checks above checked the interesting states).
    if mode == "writing":
        assert outcomes["killed:mixed"] >= TRIALS[mode] // 2, outcomes
    else:
        assert len(outcomes) >= 2, outcomes
