"""Where notification-controller's notifications land in the end-to-end suite: one HTTP server on 127.0.0.1.

It plays two destinations, both recorded for the tests to assert on:

* **webhooks** (``POST /hooks/<name>``): what Slack's incoming webhooks and a generic webhook receive. The
  test makes each notifier Secret's ``address`` point here (the Secret values are the test's to choose), so
  the rendered Providers stay as they are; ``<name>`` is the Secret's name, so each post says which Provider
  sent it.
* **GitHub's commit status API**, as GitHub Enterprise serves it (``/api/v3/...``): notification-controller's
  github provider talks to ``<scheme>://<host>/api/v3/`` for any host other than github.com, over plain
  http too. The test points the github Provider's ``address`` here (a patch in the bootstrap Kustomization).
  It answers the two calls the provider makes: ``GET /api/v3/repos/<owner>/<repo>/commits/<sha>/statuses``
  (to skip a status it already set) and ``POST /api/v3/repos/<owner>/<repo>/statuses/<sha>``, keeping the
  statuses per commit, newest first, as GitHub does.

Any other request is answered 404 and recorded in :attr:`Receiver.unexpected`, so a test sees a provider
calling something the emulator does not know instead of waiting for a status that never comes.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Where the emulated GitHub Enterprise API lives (go-github's ``WithEnterpriseURLs`` adds it to the host).
GITHUB_API = "/api/v3"
_LIST = re.compile(rf"^{GITHUB_API}/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{{40}})/statuses$")
_CREATE = re.compile(rf"^{GITHUB_API}/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{{40}})$")
_HOOK = re.compile(r"^/hooks/([a-z0-9.-]+)$")


@dataclass(frozen=True)
class CommitStatus:
    """One status a github provider set: on which repository and commit, what, with which token."""

    repository: str  # owner/repo
    sha: str
    context: str
    state: str
    description: str
    authorization: str


@dataclass(frozen=True)
class Post:
    """One webhook post: the hook (the notifier Secret's name) and the JSON body."""

    hook: str
    body: dict


@dataclass
class Receiver:
    """What arrived, guarded by a lock (the server answers each request in a thread of its own)."""

    url: str = ""
    statuses: list[CommitStatus] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def github_address(self, address: str) -> str:
        """A github Provider's ``address`` (``https://github.com/<owner>/<repo>``) on this emulator."""
        path = re.sub(r"^[a-z]+://[^/]+", "", address).removesuffix(".git")
        return self.url + path

    def statuses_of(self, sha: str) -> list[CommitStatus]:
        with self.lock:
            return [s for s in self.statuses if s.sha == sha]

    def posts_to(self, hook: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.hook == hook]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: the recorded requests are the log
            pass

        def _answer(self, code: int, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return json.loads(raw or b"{}")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if m := _LIST.match(path):
                repository, sha = f"{m[1]}/{m[2]}", m[3]
                with receiver.lock:
                    mine = [s for s in receiver.statuses if s.repository == repository and s.sha == sha]
                self._answer(200, [{"state": s.state, "context": s.context, "description": s.description}
                                   for s in reversed(mine)])
                return
            with receiver.lock:
                receiver.unexpected.append(f"GET {self.path}")
            self._answer(404, {"message": "Not Found"})

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            body = self._body()
            with receiver.lock:
                if m := _CREATE.match(path):
                    status = CommitStatus(f"{m[1]}/{m[2]}", m[3], body.get("context", ""), body.get("state", ""),
                                          body.get("description", ""), self.headers.get("Authorization", ""))
                    receiver.statuses.append(status)
                    answer = (201, {"state": status.state, "context": status.context})
                elif m := _HOOK.match(path):
                    receiver.posts.append(Post(m[1], body))
                    answer = (200, {"ok": True})
                else:
                    receiver.unexpected.append(f"POST {self.path}")
                    answer = (404, {"message": "Not Found"})
            self._answer(*answer)

    return Handler


@contextlib.contextmanager
def serve_receiver():
    """A :class:`Receiver` listening on a free 127.0.0.1 port until the block ends."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="e2e-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
