"""A fork server for hubgen: a process that has imported the CLI once and forks a child per run.

Each child is a real process running the real `hubgen` command line (``generator.cli.app``), with
its own working directory, environment variables and output files, that can be SIGKILLed like
any other; it only skips the interpreter start-up and imports (a few hundred milliseconds that
write nothing), which lets the crash-injection test afford many trials. Some trials still start
the installed ``hubgen`` executable itself.

Protocol (JSON lines on the server's stdin/stdout):
``{"run": [args], "cwd": dir, "env": {...}, "out": file}`` -> ``{"pid": n}``;
``{"wait": pid}`` -> ``{"status": returncode}`` (negative: killed by that signal).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, _clean_env

_SERVER = r"""
import json, os, sys
from generator.cli.app import app

for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        _, status = os.waitpid(req["wait"], 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"status": code}), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            fd = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            try:
                app(args=req["run"], prog_name="hubgen")
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
"""


class ForkServer:
    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, "-c", _SERVER], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=_clean_env(None), text=True)

    def _ask(self, request: dict) -> dict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the hubgen fork server died")
        return json.loads(line)

    def start(self, args: list[str], cwd: Path, env: dict[str, str], out: Path) -> "Child":
        pid = self._ask({"run": args, "cwd": str(cwd), "env": _clean_env(env), "out": str(out)})["pid"]
        return Child(self, pid, out)

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


class Child:
    """A hubgen run forked by the server (the same interface as the parts of Popen the test uses)."""

    def __init__(self, server: ForkServer, pid: int, out: Path) -> None:
        self.server, self.pid, self.out = server, pid, out
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
                # Still there -- but it may be a zombie waiting for the server to reap it.
                with open(f"/proc/{self.pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        return None
            except (ProcessLookupError, FileNotFoundError):
                pass
            self.wait()
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self.server._ask({"wait": self.pid})["status"]
        return self.returncode

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""
