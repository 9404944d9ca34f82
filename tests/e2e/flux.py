"""Flux on the loopback control plane: its CRDs, its four controllers as local processes, and the objects
``flux bootstrap`` would create.

The controllers run as processes of the test (not as pods: kwok's pods run nothing), with the admin
kubeconfig, leader election off and ``RUNTIME_NAMESPACE=flux-system``; every listener on 127.0.0.1.
source-controller serves its artifacts on a loopback port it advertises to the others. notification-controller
starts first: the other three send every event they record to its event endpoint (``--events-addr``, as the
Deployments ``flux install`` writes do with its Service), and it forwards them as the Alerts say.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.e2e.kubeapi import Client
from generator.engines.flux_crds import crd_files
from generator.versions import FLUX_GITREPOSITORY_API, FLUX_KUSTOMIZATION_API
from tests.e2e.processes import Processes, free_port, wait_until

NAMESPACE = "flux-system"
CONTROLLERS = ("notification-controller", "source-controller", "kustomize-controller", "helm-controller")
#: What the e2e run needs faster than a production cluster: how soon a Kustomization waiting on another
#: (``dependsOn``) looks again (Flux's default is 30 s).
REQUEUE_DEPENDENCY = "2s"
#: How long notification-controller gets to answer its health endpoint.
START_TIMEOUT = 60.0


def install_crds(client: Client) -> None:
    """Every Flux CRD of the pinned controllers (the same files kubeconform validates against), Established."""
    names = []
    for path in crd_files(offline=True):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                client.apply(doc)
                names.append(doc["metadata"]["name"])

    def established() -> bool:
        for name in names:
            crd = client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            conds = {c["type"]: c["status"] for c in (crd or {}).get("status", {}).get("conditions", [])}
            if conds.get("Established") != "True":
                return False
        return True

    wait_until("the Flux CRDs to be established", established, 60)
    client.forget_discovery()


@dataclass
class FluxControllers:
    tools: dict[str, Path]
    procs: Processes
    kubeconfig: Path
    work: Path

    def start(self) -> None:
        # Each cluster's controllers get a temporary folder of their own: kustomize-controller purges every
        # stale-looking kustomization-* folder of its TMPDIR when it starts, also another cluster's.
        tmp = self.work / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env = {"KUBECONFIG": str(self.kubeconfig), "RUNTIME_NAMESPACE": NAMESPACE, "TMPDIR": str(tmp)}
        logs = ["--log-encoding=console", "--log-level=info", "--watch-all-namespaces=true"]
        events = self._notification_controller(logs, env)
        common = [*logs, f"--events-addr={events}", f"--requeue-dependency={REQUEUE_DEPENDENCY}",
                  "--min-retry-delay=250ms", "--max-retry-delay=10s"]
        storage = free_port()
        (self.work / "artifacts").mkdir(parents=True, exist_ok=True)
        self.procs.start("source-controller", [
            str(self.tools["source-controller"]), *common, *self._listeners(),
            f"--storage-path={self.work / 'artifacts'}", f"--storage-addr=127.0.0.1:{storage}",
            f"--storage-adv-addr=127.0.0.1:{storage}",
        ], env=env)
        self.procs.start("kustomize-controller", [
            str(self.tools["kustomize-controller"]), *common, *self._listeners(), "--no-remote-bases=true",
        ], env=env)
        self.procs.start("helm-controller", [str(self.tools["helm-controller"]), *common, *self._listeners()],
                         env=env)

    def _notification_controller(self, logs: list[str], env: dict[str, str]) -> str:
        """Start notification-controller and wait until it is ready (its manager started, so the event
        endpoint can read Alerts): the first events of the other controllers (a new cluster's first
        reconciliation) are not lost. Its event endpoint's URL, for the others' ``--events-addr``. The webhook
        receiver endpoint (Flux's Receivers, unused here) listens on a loopback port too."""
        events, health = free_port(), free_port()
        self.procs.start("notification-controller", [
            str(self.tools["notification-controller"]), *logs, f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{health}", f"--events-addr=127.0.0.1:{events}",
            f"--receiverAddr=127.0.0.1:{free_port()}", "--min-retry-delay=250ms", "--max-retry-delay=10s",
        ], env=env)

        def ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{health}/readyz", timeout=2) as r:
                return r.status == 200

        wait_until("notification-controller to be ready", ready, START_TIMEOUT, alive=self.procs.check_alive)
        return f"http://127.0.0.1:{events}/"

    @staticmethod
    def _listeners() -> list[str]:
        return [f"--metrics-addr=127.0.0.1:{free_port()}", f"--health-addr=127.0.0.1:{free_port()}"]


def redirect_helm_repositories(url: str) -> list[dict]:
    """Kustomize patches for the bootstrap Kustomization: every Flux Kustomization it applies gets a patch of
    its own that points each HelmRepository it applies at ``url``. The generated files are never edited; the
    redirect lives in the test's bootstrap object and survives every re-apply (a new commit, a retry)."""
    inner = [{"op": "replace", "path": "/spec/url", "value": url}]
    outer = [{"op": "add", "path": "/spec/patches", "value": [
        {"target": {"group": "source.toolkit.fluxcd.io", "kind": "HelmRepository"}, "patch": yaml.safe_dump(inner)},
    ]}]
    return [{"target": {"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustomization"},
             "patch": yaml.safe_dump(outer)}]


def redirect_providers(addresses: dict[str, str]) -> list[dict]:
    """Kustomize patches for the bootstrap Kustomization: the Provider named by each key (cluster/ holds them,
    so the bootstrap Kustomization applies them itself) gets the value as its ``spec.address``. Like
    :func:`redirect_helm_repositories`, it leaves the generated files alone and survives every re-apply."""
    return [{"target": {"group": "notification.toolkit.fluxcd.io", "kind": "Provider", "name": name},
             "patch": yaml.safe_dump([{"op": "replace", "path": "/spec/address", "value": address}])}
            for name, address in addresses.items()]


def bootstrap_objects(git_url: str, path: str, patches: list[dict] | None = None) -> list[dict]:
    """What ``flux bootstrap --path=<path>`` commits as gotk-sync.yaml (its GitRepository and entry
    Kustomization, both named flux-system, with bootstrap's intervals), plus the namespace."""
    kustomization = {
        "apiVersion": FLUX_KUSTOMIZATION_API, "kind": "Kustomization",
        "metadata": {"name": NAMESPACE, "namespace": NAMESPACE},
        "spec": {"interval": "10m0s", "path": "./" + path.removeprefix("./"), "prune": True,
                 "sourceRef": {"kind": "GitRepository", "name": NAMESPACE}},
    }
    if patches:
        kustomization["spec"]["patches"] = patches
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": FLUX_GITREPOSITORY_API, "kind": "GitRepository",
         "metadata": {"name": NAMESPACE, "namespace": NAMESPACE},
         "spec": {"interval": "1m0s", "ref": {"branch": "main"}, "url": git_url}},
        kustomization,
    ]


def sops_age_secret(private_key: str) -> dict:
    """flux-system/sops-age: the age identity kustomize-controller decrypts with (key name ``*.agekey``)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sops-age", "namespace": NAMESPACE},
            "type": "Opaque", "stringData": {"age.agekey": private_key}}
