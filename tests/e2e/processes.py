"""Processes a test starts and stops: each in its own process group, logged to a file, stopped with its
children (SIGTERM, then SIGKILL) whatever way the test ends."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

#: Seconds a process gets to exit after SIGTERM before SIGKILL.
STOP_GRACE = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the test process dies (Linux), so that even a test process
    killed outright (no finalizer runs) leaves no engine behind."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Started:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


class ProcessFailed(Exception):
    pass


@dataclass
class Processes:
    """The processes of one test cluster; :meth:`stop_all` ends every one of them and their children."""

    logs: Path
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Started:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        started = Started(name, popen, log)
        self.started.append(started)
        return started

    def check_alive(self) -> None:
        """Raise when a process this test started has exited (with the end of its log)."""
        for s in self.started:
            rc = s.popen.poll()
            if rc is not None:
                raise ProcessFailed(f"{s.name} exited with code {rc}; end of {s.log}:\n{s.tail()}")

    def stop_all(self) -> None:
        """SIGTERM every process group (newest first), SIGKILL what is left after the grace period."""
        for s in reversed(self.started):
            _signal_group(s.popen, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for s in reversed(self.started):
            try:
                s.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(s.popen, signal.SIGKILL)  # also any child left in the group
            try:
                s.popen.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        self.started.clear()


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(popen.pid, sig)  # start_new_session: the group id is the process id
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(what: str, probe: Callable[[], object], timeout: float, interval: float = 0.25,
               alive: Callable[[], None] | None = None) -> object:
    """``probe()``'s first truthy result; TimeoutError naming ``what`` (and the last exception) otherwise."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        if alive:
            alive()
        try:
            result = probe()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - retried until the deadline, reported then
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                               + (f" (last error: {last})" if last else ""))
        time.sleep(interval)
