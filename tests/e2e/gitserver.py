"""A git smart-HTTP server on 127.0.0.1: ``git http-backend`` (git's own CGI program) behind a small
``http.server`` handler, in a thread of the test process. source-controller clones from it exactly as from a
git host (go-git speaks only the smart protocol). Read-only: only ``git-upload-pack`` is enabled."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator


def http_backend() -> str:
    """The path of ``git http-backend`` (it lives in git's exec path, not on PATH)."""
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return str(Path(exec_path) / "git-http-backend")


class _GitHandler(BaseHTTPRequestHandler):
    server: _GitServer

    def log_message(self, *args) -> None:  # quiet tests
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(url.path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        proc = subprocess.run([self.server.backend], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _GitServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _GitHandler)
        self.root = root
        self.backend = http_backend()


@contextlib.contextmanager
def serve_git(root: Path) -> Iterator[str]:
    """Serve the bare repositories under ``root``; yields the base URL (``http://127.0.0.1:PORT/``)."""
    server = _GitServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "hubgen e2e", "GIT_AUTHOR_EMAIL": "e2e@hubgen.invalid",
           "GIT_COMMITTER_NAME": "hubgen e2e", "GIT_COMMITTER_EMAIL": "e2e@hubgen.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def publish(work: Path, bare: Path, message: str) -> str:
    """Commit everything in the work tree ``work`` and push it to ``bare`` (branch main); the commit id."""
    git(work, "add", "-A")
    git(work, "commit", "-q", "--allow-empty", "-m", message)
    git(work, "push", "-q", str(bare), "HEAD:refs/heads/main")
    return git(work, "rev-parse", "HEAD")


def init_repositories(work: Path, bare: Path) -> None:
    """A work tree (already holding the files) and the bare repository the server publishes."""
    if bare.exists():
        shutil.rmtree(bare)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(work, "init", "-q", "-b", "main")
