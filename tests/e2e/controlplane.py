"""A Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and
kwok standing in for the kubelets of fake nodes.

Every listener binds 127.0.0.1 (or is disabled); every process is started by :class:`ControlPlane` and
stopped by :meth:`ControlPlane.stop`. The controller-manager has the service-account signing key, so
ServiceAccounts get tokens and the Deployment, ReplicaSet, DaemonSet, StatefulSet, Job and PV/PVC binding
controllers run as in a real cluster; the scheduler places pods on the fake nodes by their labels, taints
and allocatable resources; kwok marks scheduled pods Running and Ready and Job pods Succeeded.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.e2e.kubeapi import Client
from tests.e2e.pki import Pki, make_pki
from tests.e2e.processes import Processes, free_port, wait_until

SERVICE_CIDR = "10.0.0.0/24"
#: kwok's fake pod addresses (never routed anywhere).
POD_CIDR = "10.244.0.0/16"
#: The annotation kwok selects the nodes it plays by.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
START_TIMEOUT = 90.0

#: kwok Stages (kwok v0.8.0's "fast" node and pod stages, kustomize/stage/{node,pod}/fast, plus the node
#: heartbeat): a node becomes Ready at once and keeps its conditions fresh; a scheduled pod becomes Running
#: and Ready; a Running pod owned by a Job Succeeds; a deleted pod goes away.
_KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")


def kubeconfig(path: Path, server: str, pki: Pki, user: str = "admin") -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
        "clusters": [{"name": "e2e", "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)}}],
        "users": [{"name": user, "user": {"client-certificate": str(pki.admin_cert),
                                          "client-key": str(pki.admin_key)}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
    }
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


@dataclass
class ControlPlane:
    work: Path
    tools: dict[str, Path]
    procs: Processes
    pki: Pki | None = None
    kubeconfig: Path | None = None
    client: Client | None = None
    server: str = ""

    def start(self) -> None:
        self.pki = make_pki(self.work / "pki")
        etcd_client, etcd_peer, api = free_port(), free_port(), free_port()
        self.server = f"https://127.0.0.1:{api}"
        self.kubeconfig = kubeconfig(self.work / "kubeconfig", self.server, self.pki)
        self._etcd(etcd_client, etcd_peer)
        self._apiserver(api, etcd_client)
        self.client = Client(self.kubeconfig)
        wait_until("the API server to be ready", lambda: self._readyz(), START_TIMEOUT, alive=self.procs.check_alive)
        self._controller_manager()
        self._scheduler()
        self._kwok()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.procs.stop_all()

    def _readyz(self) -> bool:
        try:
            self.client.request("GET", "/readyz")
            return True
        except Exception:  # noqa: BLE001 - not yet
            return False

    def _etcd(self, client_port: int, peer_port: int) -> None:
        data = self.work / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
        self.procs.start("etcd", [
            str(self.tools["etcd"]), "--name=e2e", f"--data-dir={data}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=e2e={peer}", "--initial-cluster-state=new",
            "--unsafe-no-fsync", "--log-level=warn", "--quota-backend-bytes=1073741824",
        ])

    def _apiserver(self, port: int, etcd_port: int) -> None:
        p = self.pki
        self.procs.start("kube-apiserver", [
            str(self.tools["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--tls-cert-file={p.server_cert}", f"--tls-private-key-file={p.server_key}",
            f"--client-ca-file={p.ca_cert}",
            f"--service-account-key-file={p.sa_pub}", f"--service-account-signing-key-file={p.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # As on EKS: privileged pods are allowed (the NVIDIA device plugin's DaemonSets are privileged).
            "--allow-privileged=true",
            # The `kubernetes` Service's endpoints would be 127.0.0.1, which the API refuses for an endpoint.
            "--endpoint-reconciler-type=none",
            "--profiling=false", "--v=1",
        ])

    def _controller_manager(self) -> None:
        p = self.pki
        self.procs.start("kube-controller-manager", [
            str(self.tools["kube-controller-manager"]), f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            f"--service-account-private-key-file={p.sa_key}", f"--root-ca-file={p.ca_cert}",
            "--leader-elect=false", "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # No cloud, no node IPAM: kwok gives pods their addresses.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
            "--profiling=false", "--v=1",
        ])

    def _scheduler(self) -> None:
        self.procs.start("kube-scheduler", [
            str(self.tools["kube-scheduler"]), f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            "--leader-elect=false", "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            "--profiling=false", "--v=1",
        ])

    def _kwok(self) -> None:
        key, value = KWOK_NODE_ANNOTATION
        self.procs.start("kwok", [
            str(self.tools["kwok"]), f"--kubeconfig={self.kubeconfig}", f"--config={_KWOK_STAGES}",
            f"--manage-nodes-with-annotation-selector={key}={value}",
            "--node-ip=127.0.0.1", f"--cidr={POD_CIDR}",
            f"--server-address=127.0.0.1:{free_port()}", "--node-lease-duration-seconds=40",
        ])
