"""A fake Kubernetes API (plain HTTP on 127.0.0.1, a thread of the test) serving a fixed set of objects: discovery,
GET of one object, LIST with a namespace and a label selector. Enough for `hubgen verify`'s read-only checks;
the end-to-end suite runs the same checks against a real API server."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

#: (apiVersion, kind) -> (plural, namespaced)
KINDS = {
    ("v1", "Node"): ("nodes", False),
    ("v1", "Service"): ("services", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): ("kustomizations", True),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): ("helmreleases", True),
}


class FakeApi:
    def __init__(self) -> None:
        self.objects: list[dict] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Authorization)

    def add(self, *objs: dict) -> None:
        self.objects.extend(copy.deepcopy(o) for o in objs)

    def find(self, kind: str, name: str, namespace: str = "") -> dict:
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace", "") == namespace:
                return o
        raise KeyError((kind, namespace, name))

    def remove(self, kind: str, name: str, namespace: str = "") -> None:
        self.objects.remove(self.find(kind, name, namespace))

    # -- HTTP --

    def answer(self, method: str, raw_path: str) -> tuple[int, dict]:
        url = urllib.parse.urlsplit(raw_path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        if method != "GET":
            return 405, {"kind": "Status", "message": "read-only fake", "reason": "MethodNotAllowed"}
        if parts == ["version"]:
            return 200, {"gitVersion": "v1.35.0-fake"}
        if parts[0] == "api":
            version, rest = "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return 404, {"kind": "Status", "message": "not found", "reason": "NotFound"}
        if not rest:
            return 200, {"kind": "APIResourceList", "groupVersion": version, "resources": [
                {"name": plural, "kind": kind, "namespaced": namespaced}
                for (api, kind), (plural, namespaced) in KINDS.items() if api == version]}
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        kinds = {plural: kind for (api, kind), (plural, _) in KINDS.items() if api == version}
        kind = kinds.get(rest[0])
        if kind is None:
            return 404, {"kind": "Status", "message": f"no resource {rest[0]}", "reason": "NotFound"}
        items = [o for o in self.objects if o["apiVersion"] == version and o["kind"] == kind
                 and (not namespace or o["metadata"].get("namespace") == namespace)]
        if len(rest) == 2:
            found = [o for o in items if o["metadata"]["name"] == rest[1]]
            if not found:
                return 404, {"kind": "Status", "message": f'{kind} "{rest[1]}" not found', "reason": "NotFound"}
            return 200, found[0]
        selector = urllib.parse.parse_qs(url.query).get("labelSelector", [""])[0]
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        items = [o for o in items if all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
        return 200, {"kind": f"{kind}List", "items": items}


@contextlib.contextmanager
def serve(api: FakeApi) -> Iterator[str]:
    """``api`` over HTTP on 127.0.0.1; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._reply()

        def do_PATCH(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            self._reply()

        def do_DELETE(self) -> None:
            self._reply()

        def _reply(self) -> None:
            api.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
            status, body = api.answer(self.command, self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
