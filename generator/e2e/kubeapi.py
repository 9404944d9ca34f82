"""A small Kubernetes API client: a kubeconfig, HTTPS, JSON. Only the standard library.

hubgen talks to a cluster for one purpose: reading the state of what Flux applied (``hubgen verify``) and, in
the end-to-end tests, creating the objects a ``flux bootstrap`` would. That needs GET, LIST, server-side apply,
PATCH and DELETE on a handful of kinds -- not the official client's dependency tree. What a kubeconfig may
say and this client understands:

* the cluster: ``server``, ``certificate-authority`` / ``certificate-authority-data``,
  ``insecure-skip-tls-verify``, ``tls-server-name``;
* the user: ``client-certificate(-data)`` + ``client-key(-data)``, ``token``, ``tokenFile``, and ``exec``
  credential plugins (``aws eks get-token``, ``aws-iam-authenticator``): the plugin's ``ExecCredential``
  token or client certificate, cached until its ``expirationTimestamp``;
* contexts and ``current-context`` (or an explicit context).

Inline certificate data is written to a private temporary folder (the ``ssl`` module loads certificates from
files only), removed by :meth:`Client.close`.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import yaml

#: Seconds one request may take (connect, send, read).
REQUEST_TIMEOUT = 30.0
#: Seconds an exec credential plugin may take.
EXEC_TIMEOUT = 60.0
USER_AGENT = "hubgen"


class KubeError(Exception):
    """The cluster could not be reached, or refused a request (``status`` is the HTTP status, 0 if none)."""

    def __init__(self, message: str, status: int = 0, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeconfigError(Exception):
    """The kubeconfig cannot be used (missing, unreadable, names a context or user it lacks)."""


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API: ``/apis/<group>/<version>/[namespaces/<ns>/]<plural>``."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{urllib.parse.quote(namespace)}"
        base += f"/{self.plural}"
        if name:
            base += f"/{urllib.parse.quote(name)}"
        return base


def _load_yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise KubeconfigError(f"cannot read the kubeconfig {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise KubeconfigError(f"the kubeconfig {path} is not YAML: {e}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"the kubeconfig {path} is not a mapping")
    return doc


def _named(doc: dict, section: str, name: str, path: Path) -> dict:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(section[:-1])
            return value if isinstance(value, dict) else {}
    raise KubeconfigError(f"the kubeconfig {path} has no {section[:-1]} named {name!r}")


def _expiry(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
    except ValueError:
        return 0.0


class Client:
    """One cluster, one identity. Thread-safe: each thread keeps its own keep-alive connection."""

    def __init__(self, kubeconfig: Path, context: str | None = None):
        self.kubeconfig = Path(kubeconfig).expanduser()
        doc = _load_yaml(self.kubeconfig)
        context = context or doc.get("current-context")
        if not context:
            raise KubeconfigError(f"the kubeconfig {self.kubeconfig} names no current-context (pass a context)")
        ctx = _named(doc, "contexts", context, self.kubeconfig)
        cluster = _named(doc, "clusters", str(ctx.get("cluster", "")), self.kubeconfig)
        self._user = _named(doc, "users", str(ctx.get("user", "")), self.kubeconfig) if ctx.get("user") else {}
        self.context = context
        self.server = str(cluster.get("server", "")).rstrip("/")
        parsed = urllib.parse.urlsplit(self.server)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise KubeconfigError(f"cluster server {self.server!r} in {self.kubeconfig} is not an http(s) URL")
        self._scheme, self._host, self._port = parsed.scheme, parsed.hostname, parsed.port
        self._prefix = parsed.path.rstrip("/")
        self._tmp = Path(tempfile.mkdtemp(prefix="hubgen-kube-"))
        self._cluster = cluster
        self._local = threading.local()
        self._lock = threading.Lock()
        self._exec_cache: tuple[float, dict] | None = None
        self._resources: dict[tuple[str, str], Resource] = {}
        self._ssl = self._ssl_context(self._client_cert_files())

    # --- credentials -----------------------------------------------------------------------------------------

    def _file(self, name: str, data_b64: str) -> str:
        path = self._tmp / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(data_b64))
        return str(path)

    def _relative(self, value: str) -> str:
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else self.kubeconfig.parent / p)

    def _client_cert_files(self) -> tuple[str, str] | None:
        u = self._user
        if u.get("client-certificate-data") and u.get("client-key-data"):
            return self._file("client.crt", u["client-certificate-data"]), self._file("client.key", u["client-key-data"])
        if u.get("client-certificate") and u.get("client-key"):
            return self._relative(u["client-certificate"]), self._relative(u["client-key"])
        if isinstance(u.get("exec"), dict):
            status = self._exec_credential()
            if status.get("clientCertificateData") and status.get("clientKeyData"):
                return (self._file("exec.crt", base64.b64encode(status["clientCertificateData"].encode()).decode()),
                        self._file("exec.key", base64.b64encode(status["clientKeyData"].encode()).decode()))
        return None

    def _ssl_context(self, cert: tuple[str, str] | None) -> ssl.SSLContext | None:
        if self._scheme != "https":
            return None
        c = self._cluster
        if c.get("insecure-skip-tls-verify"):
            ctx = ssl._create_unverified_context()  # the kubeconfig asks for it explicitly  # noqa: S323
        elif c.get("certificate-authority-data"):
            ctx = ssl.create_default_context(cafile=self._file("ca.crt", c["certificate-authority-data"]))
        elif c.get("certificate-authority"):
            ctx = ssl.create_default_context(cafile=self._relative(c["certificate-authority"]))
        else:
            ctx = ssl.create_default_context()
        if cert:
            try:
                ctx.load_cert_chain(*cert)
            except (OSError, ssl.SSLError) as e:
                raise KubeconfigError(f"cannot load the client certificate of {self.kubeconfig}: {e}") from None
        return ctx

    def _exec_credential(self) -> dict:
        """The exec plugin's ExecCredential status, run again when the cached one has expired."""
        with self._lock:
            if self._exec_cache and self._exec_cache[0] > time.time() + 30:
                return self._exec_cache[1]
            spec = self._user["exec"]
            command = str(spec.get("command", ""))
            exe = shutil.which(command) or (self._relative(command) if "/" in command else None)
            if not exe:
                raise KubeconfigError(f"the kubeconfig's credential plugin {command!r} is not installed")
            env = dict(os.environ)
            for item in spec.get("env") or []:
                if isinstance(item, dict) and "name" in item:
                    env[str(item["name"])] = str(item.get("value", ""))
            api = spec.get("apiVersion", "client.authentication.k8s.io/v1beta1")
            env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api, "kind": "ExecCredential",
                                                      "spec": {"interactive": False}})
            try:
                proc = subprocess.run([exe, *[str(a) for a in spec.get("args") or []]], capture_output=True,
                                      text=True, env=env, timeout=EXEC_TIMEOUT, check=False)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise KubeconfigError(f"the credential plugin {command!r} failed: {e}") from None
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
                raise KubeconfigError(f"the credential plugin {command!r} failed: {last}")
            try:
                status = json.loads(proc.stdout).get("status") or {}
            except (ValueError, AttributeError):
                raise KubeconfigError(f"the credential plugin {command!r} printed no ExecCredential") from None
            self._exec_cache = (_expiry(status.get("expirationTimestamp")), status)
            return status

    def _authorization(self) -> str | None:
        u = self._user
        if u.get("token"):
            return f"Bearer {u['token']}"
        if u.get("tokenFile"):
            try:
                return f"Bearer {Path(self._relative(u['tokenFile'])).read_text().strip()}"
            except OSError as e:
                raise KubeconfigError(f"cannot read the token file {u['tokenFile']}: {e.strerror or e}") from None
        if isinstance(u.get("exec"), dict):
            token = self._exec_credential().get("token")
            return f"Bearer {token}" if token else None
        return None

    # --- HTTP ------------------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's keep-alive connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            server_name = self._cluster.get("tls-server-name")
            if self._scheme != "https":
                conn = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT)
            elif server_name:  # connect to the server's address, check its certificate against this name
                conn = _ServerNameConnection(self._host, self._port, REQUEST_TIMEOUT, self._ssl, server_name)
            else:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=REQUEST_TIMEOUT, context=self._ssl)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                query: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer of one request; :class:`KubeError` on a failure or an error status."""
        url = self._prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        auth = self._authorization()
        if auth:
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            conn = self._connection()
            try:
                conn.request(method, url, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise KubeError(f"{method} {self.server}{path}: {e}") from None
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._local.conn = None
                raise KubeError(f"{method} {self.server}{path}: {e}") from None
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        if resp.status >= 400:
            message = (doc or {}).get("message") if isinstance(doc, dict) else None
            reason = (doc or {}).get("reason", "") if isinstance(doc, dict) else ""
            raise KubeError(f"{method} {path}: {resp.status} {message or raw[:300].decode('utf-8', 'replace')}",
                            resp.status, reason)
        return doc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- resources -------------------------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """Where ``kind`` of ``api_version`` is served (API discovery, cached per group version)."""
        key = (api_version, kind)
        if key not in self._resources:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                doc = self.request("GET", path)
            except KubeError as e:
                if e.status == 404:
                    raise KubeError(f"the cluster does not serve {api_version} (is its CRD installed?)", 404,
                                    "NotFound") from None
                raise
            for r in doc.get("resources", []):
                if "/" not in r["name"]:
                    self._resources[(api_version, r["kind"])] = Resource(api_version, r["kind"], r["name"],
                                                                         bool(r.get("namespaced")))
            if key not in self._resources:
                raise KubeError(f"the cluster serves no kind {kind} in {api_version}", 404, "NotFound")
        return self._resources[key]

    def forget_discovery(self) -> None:
        """Discover again on next use (after CRDs were installed)."""
        self._resources.clear()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", self.resource(api_version, kind).path(namespace, name))
        except KubeError as e:
            if e.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[dict]:
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else None
        doc = self.request("GET", self.resource(api_version, kind).path(namespace), query=query)
        return list(doc.get("items") or [])

    def apply(self, obj: dict, *, manager: str = USER_AGENT, force: bool = True) -> dict:
        """Server-side apply of ``obj`` (create or update the fields ``manager`` owns)."""
        r = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        query = {"fieldManager": manager}
        if force:
            query["force"] = "true"
        return self.request("PATCH", r.path(meta.get("namespace"), meta["name"]), obj,
                            content_type="application/apply-patch+yaml", query=query)

    def apply_all(self, objs: Iterable[dict], *, manager: str = USER_AGENT) -> None:
        for obj in objs:
            self.apply(obj, manager=manager)

    def patch(self, api_version: str, kind: str, name: str, patch: dict, namespace: str | None = None, *,
              subresource: str = "") -> dict:
        """A JSON merge patch of the object (or of its ``status`` subresource)."""
        path = self.resource(api_version, kind).path(namespace, name) + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def create(self, obj: dict) -> dict:
        r = self.resource(obj["apiVersion"], obj["kind"])
        return self.request("POST", r.path((obj.get("metadata") or {}).get("namespace")), obj)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self.request("DELETE", self.resource(api_version, kind).path(namespace, name))
        except KubeError as e:
            if e.status != 404:
                raise

    def version(self) -> dict:
        return self.request("GET", "/version")


class _ServerNameConnection(http.client.HTTPSConnection):
    """HTTPS to the server's address, with the certificate checked against the kubeconfig's tls-server-name."""

    def __init__(self, host: str, port: int | None, timeout: float, context: ssl.SSLContext, server_name: str):
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)


def condition(obj: dict | None, kind: str = "Ready") -> dict | None:
    """The ``status.conditions`` entry of type ``kind``, if any."""
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None
