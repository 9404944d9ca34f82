"""Crash injection: `hubgen render` killed with SIGKILL at random points never corrupts an environment.

A ten-environment repository rendered at spec version A (or B) gets the other version's specs, so the
next render updates every environment and creates or deletes files. A real `hubgen render` process is
then killed with SIGKILL -- 50 trials in three ways:

* ``random``: after a random delay anywhere in the run (start-up, validation, rendering, staging,
  commit, moving files into place), half of them with the commit window widened;
* ``staging``: at a random moment while the journal is written (``HUBGEN_TEST_SLOW_STAGE`` sleeps
  after every staged file, so the moment is spread over the whole staging phase);
* ``writing``: at a random moment after the first generated file changed on disk (watched through
  inodes and mtimes, knowing nothing of the journal), while files are moved into place
  (``HUBGEN_TEST_SLOW_COMMIT`` sleeps after the commit and after every file).

After each kill, *before* anything recovers, the tree is checked against the precomputed renders of
both versions:

* no journal: every environment is entirely old or entirely new (in fact all environments are on
  the same side: a render is one transaction);
* an uncommitted journal: every environment is entirely old;
* a committed journal: every file is either its old or its new version, and rolling the journal
  forward (re-implemented here from the manifest, independently of hubgen) gives exactly the new
  state.

Then the next hubgen invocation (`hubgen validate`: in-process through the CLI for most trials, a
real process for every fourth) must recover: journal gone, no rename probes left behind, every
environment entirely old (uncommitted) or entirely new (committed), the folder structure too.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from generator.cli.app import app
from tests.conftest import _clean_env, hubgen_command, run_hubgen

from .conftest import Version, Versions, directories
from .forkserver import Child, ForkServer
from .synthetic import generated_files, probes

TRIALS = {"random": 14, "staging": 18, "writing": 18}
SLOW = 0.003  # seconds per staged / moved file in the widened windows
TIMEOUT = 60


def _journal(root: Path) -> str:
    txn = root / ".hubgen" / "txn"
    if not txn.exists():
        return "none"
    return "committed" if (txn / "COMMITTED").exists() else "uncommitted"


def _side(current: dict[str, dict[str, bytes]], old: Version, new: Version) -> dict[str, str]:
    """environment -> "old" / "new" / "MIXED"."""
    out = {}
    for env, files in current.items():
        out[env] = "old" if files == old.files[env] else "new" if files == new.files[env] else "MIXED"
    return out


def _roll_forward(root: Path, current: dict[str, dict[str, bytes]]) -> dict[str, dict[str, bytes]]:
    """What completing the committed journal yields, computed from its manifests alone
    (``.hubgen/txn/<env>.json``: the writes with their staged names under ``files/``, the deletes)."""
    state = {env: dict(files) for env, files in current.items()}
    txn = root / ".hubgen" / "txn"
    for path in sorted(txn.glob("*.json")):
        try:
            manifest = json.loads(path.read_text())
        except ValueError:
            # Killed while the completed journal was being deleted (manifests are written before the
            # commit and deleted only after every environment was rolled forward).
            continue
        for target, name in zip(manifest["writes"], manifest["staged"]):
            staged = txn / "files" / name
            env = target.split("/")[1]
            if staged.exists():
                state[env][target] = staged.read_bytes()
            else:  # already moved into place before the kill
                assert target in state[env], f"{target}: neither staged nor in place"
        for target in manifest["deletes"]:
            state[target.split("/")[1]].pop(target, None)
    return state


def _check_before_recovery(root: Path, journal: str, old: Version, new: Version) -> None:
    current = generated_files(root)
    sides = _side(current, old, new)
    if journal == "none":
        assert set(sides.values()) in ({"old"}, {"new"}), sides
        assert not probes(root)
    elif journal == "uncommitted":
        assert set(sides.values()) == {"old"}, sides
    else:
        for env, files in current.items():
            for path, content in files.items():
                assert content in (old.files[env].get(path), new.files[env].get(path)), f"{path} is torn"
        rolled = _roll_forward(root, current)
        assert _side(rolled, old, new) == {env: "new" for env in current}


def _recover(root: Path, real_process: bool) -> None:
    if real_process:
        result = run_hubgen(["validate"], cwd=root)
        output = result.output
    else:
        res = CliRunner().invoke(app, ["--repo", str(root), "validate"])
        output = res.output
        assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), output
    assert "Traceback" not in output


def _check_after_recovery(root: Path, journal: str, old: Version, new: Version) -> str:
    assert not (root / ".hubgen" / "txn").exists(), "the next hubgen run did not recover"
    assert not probes(root)
    sides = set(_side(generated_files(root), old, new).values())
    expected = {"uncommitted": {"old"}, "committed": {"new"}}.get(journal)
    assert sides in ({"old"}, {"new"}), sides
    if expected:
        assert sides == expected
    side = sides.pop()
    assert directories(root) == (old if side == "old" else new).dirs
    return side


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
    means (it knows nothing of hubgen's journal): each of those changes the mtime of the folder
    holding the file, or creates that folder in one whose mtime then changes."""
    folders: set[Path] = set()
    for env in old.files:
        for p in (*old.files[env], *new.files[env]):
            parent = (root / p).parent
            while parent != root / "environments":
                folders.add(parent)
                parent = parent.parent
    baseline = {d: _stat(d) for d in sorted(folders)}
    return lambda: any(_stat(d) != before for d, before in baseline.items())


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
        return rc, self.out.read_text(errors="replace")


def _trial(versions: Versions, tmp: Path, mode: str, i: int, rng: random.Random, server: ForkServer) -> str:
    old, new = (versions.a, versions.b) if i % 2 == 0 else (versions.b, versions.a)
    root = versions.start(tmp / f"{mode}-{i}", old, new)
    real = i % 4 == 3  # every fourth trial: the installed executable, recovered by another process
    extra: dict[str, str] = {}
    if mode == "staging":
        extra["HUBGEN_TEST_SLOW_STAGE"] = str(SLOW)
    elif mode == "writing" or rng.random() < 0.5:
        extra["HUBGEN_TEST_SLOW_COMMIT"] = str(SLOW)
    files = sum(len(set(old.files[e]) | set(new.files[e])) for e in old.files)
    proc = _Process(root, extra, None if real else server)
    try:
        if mode == "random":
            time.sleep(rng.uniform(0.0, _duration(versions, server, real, extra, files) * 1.1))
        else:
            ready = (_tree_changes(root, old, new) if mode == "writing"
                     else (root / ".hubgen" / "txn").exists)
            if _wait_for(ready, proc):
                time.sleep(rng.uniform(0.0, SLOW * files))
    finally:
        rc, output = proc.kill_and_wait()
    assert "Traceback" not in output, output
    if rc == 0:
        outcome = "finished"
    else:
        assert rc == -signal.SIGKILL, (rc, output)
        outcome = _journal(root)
    journal = "none" if outcome == "finished" else outcome
    _check_before_recovery(root, journal, old, new)
    _recover(root, real_process=real)
    side = _check_after_recovery(root, journal, old, new)
    if outcome == "finished":
        assert side == "new"
    return f"{outcome}->{side}"


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
def test_sigkill_leaves_every_environment_old_or_new(versions: Versions, server: ForkServer, tmp_path: Path,
                                                     mode: str) -> None:
    rng = random.Random(f"hubgen-crash-{mode}-{os.getpid()}")
    outcomes = Counter(_trial(versions, tmp_path, mode, i, rng, server) for i in range(TRIALS[mode]))
    print(f"{mode}: {dict(outcomes)}")
    # The kills landed where each mode aims (so the checks above checked the interesting states).
    if mode == "staging":
        assert outcomes["uncommitted->old"] >= TRIALS[mode] // 2, outcomes
    elif mode == "writing":
        assert outcomes["committed->new"] >= TRIALS[mode] // 2, outcomes
    else:
        assert len(outcomes) >= 2, outcomes
