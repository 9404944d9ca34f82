"""The end-to-end harness: one example environment, deployed by the real engines onto a loopback cluster.

For one environment, :class:`Harness` builds (all on 127.0.0.1, every process started and stopped here):

* a copy of the repository (``environments/``, ``schema/``, ``manifests/``, ``.sops.yaml``), committed to a
  bare git repository served over smart HTTP (:mod:`tests.e2e.gitserver`);
* a throwaway age key; the copy's ``.sops.yaml`` names it as the environment's only recipient, and every
  Secret the environment's hubs and notifiers read is created afresh through hubgen's own ``secrets create``
  path (the committed files are encrypted for keys this machine does not have);
* the charts every HelmRelease pins (the reference copies, packaged as ``helm package`` does) in a local Helm
  repository (:mod:`tests.charts`);
* the control plane with fake nodes shaped like the spec's node groups (:mod:`tests.e2e.controlplane`);
* the Flux CRDs and controllers, the ``flux-system/sops-age`` Secret and the objects ``flux bootstrap
  --path=environments/<env>/cluster`` creates (:mod:`tests.e2e.flux`); the bootstrap Kustomization also
  points every HelmRepository at the local chart repository (the generated files stay as rendered);
* a test-only volume provisioner standing in for the EBS CSI driver (:class:`Provisioner`);
* a receiver for notification-controller's notifications (:mod:`tests.e2e.receiver`): each Slack or webhook
  notifier Secret's ``address`` is one of its hooks, and the bootstrap Kustomization points each github
  Provider at its emulation of GitHub's commit status API.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from generator.e2e import readiness
from generator.e2e.kubeapi import Client, KubeError
from generator.paths import EnvPaths, RepoPaths
from tests.charts import ci, helm_repository, package, reference_dir, require_reference
from tests.e2e import flux
from tests.e2e.controlplane import KWOK_NODE_ANNOTATION, ControlPlane
from tests.e2e.gitserver import init_repositories, publish, serve_git
from tests.e2e.processes import Processes
from tests.e2e.receiver import serve_receiver

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_PARTS = ("environments", "schema", "manifests")
REPO_FILES = (".sops.yaml",)
ENGINES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", *flux.CONTROLLERS, "age-keygen")
#: hubgen's test-only provisioner: the name it signs the volumes it creates with.
PROVISIONER_ANNOTATION = "hubgen.dev/e2e-provisioner"


# --- engines ----------------------------------------------------------------------------------------------------


def tools_dirs() -> list[Path]:
    """Where the engines are looked for: ``$HUBGEN_TOOLS_BIN``, else ``.tools/bin`` (where ``make setup``
    builds them); then ``PATH``."""
    env = os.environ.get("HUBGEN_TOOLS_BIN")
    return [Path(env)] if env else [REPO_ROOT / ".tools" / "bin"]


def find_engines(names=ENGINES) -> dict[str, Path]:
    """Every engine the e2e suite runs; skips (fails under CI=true) naming the missing ones."""
    found: dict[str, Path] = {}
    for name in names:
        for d in tools_dirs():
            if os.access(d / name, os.X_OK):
                found[name] = d / name
                break
        else:
            on_path = shutil.which(name)
            if on_path:
                found[name] = Path(on_path)
    missing = [n for n in names if n not in found]
    if missing:
        message = (f"end-to-end engines not built: {', '.join(missing)} (looked in "
                   f"{', '.join(map(str, tools_dirs()))} and PATH); `make setup` builds them")
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


# --- the repository copy, its secrets and its charts -------------------------------------------------------------


def copy_repository(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in REPO_PARTS:
        if (REPO_ROOT / part).is_dir():
            shutil.copytree(REPO_ROOT / part, dest / part, symlinks=True)
    for name in REPO_FILES:
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, dest / name)
    return dest


@dataclass(frozen=True)
class AgeKey:
    private: str
    recipient: str


def age_key(age_keygen: Path) -> AgeKey:
    out = subprocess.run([str(age_keygen)], capture_output=True, text=True, check=True).stdout
    recipient = re.search(r"public key: (age1\w+)", out).group(1)
    private = next(line for line in out.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    return AgeKey(private, recipient)


def reencrypt_secrets(root: Path, environment: str, key: AgeKey,
                      choose: Callable[[object], str | None] = lambda _requirement: None,
                      ) -> dict[tuple[str, str, str], str]:
    """Every Secret the environment's hubs and notifiers read (:func:`generator.secrets.inventory.requirements`:
    the hubs' logins, the notifiers' token and webhook URLs in flux-system), with fresh values, encrypted for
    ``key`` alone (through
    ``.sops.yaml`` and the code behind ``hubgen secrets create``); (namespace, name, key) -> the value, so
    that the tests can follow each value to where the chart puts it. ``choose`` gives, for a
    :class:`~generator.secrets.inventory.Requirement`, the value the test needs instead of a random one (a
    notifier's ``address``: the local receiver), or None."""
    from generator.secrets.inventory import requirements
    from generator.secrets.sops import encrypt, random_value, secret_manifest, write_secret_file
    from generator.validate.environments import validate_one

    rule = {"path_regex": rf"^environments/{re.escape(environment)}/secrets/.*\.secret\.yaml$",
            "encrypted_regex": "^(data|stringData)$", "age": key.recipient}
    (root / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [rule]}, sort_keys=False))
    result = validate_one(RepoPaths(root), environment)
    assert result.ok, [str(p) for p in result.problems]
    by_file: dict[str, list] = {}
    for r in requirements(result.context.model):
        by_file.setdefault(r.file, []).append(r)
    plain: dict[tuple[str, str, str], str] = {}
    for relpath, reqs in by_file.items():
        values = {(r.name, r.key): choose(r) or random_value() for r in reqs}
        encrypted = encrypt(root, relpath, secret_manifest(reqs, values), list(values.values()))
        write_secret_file(root, relpath, encrypted.text)
        plain.update({(r.namespace, r.name, r.key): values[(r.name, r.key)] for r in reqs})
    return plain


def pinned_charts(root: Path, environment: str) -> dict[str, set[str]]:
    """chart name -> versions, of every HelmRelease the environment renders."""
    out: dict[str, set[str]] = {}
    for path in sorted((root / EnvPaths(environment).dir).rglob("*.yaml")):
        if "/secrets/" in path.as_posix():
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "HelmRelease":
                spec = doc["spec"]["chart"]["spec"]
                out.setdefault(spec["chart"], set()).add(str(spec["version"]))
    return out


def chart_packages(charts: dict[str, set[str]]) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for name, versions in charts.items():
        for version in versions:
            folder = require_reference(reference_dir() / "charts" / f"{name}-{version}", f"the {name} {version} chart")
            out.setdefault(name, {})[version] = package(folder, name)
    return out


# --- nodes -------------------------------------------------------------------------------------------------------


def node_objects(model) -> list[dict]:
    """Fake nodes shaped like the spec's node groups: max(minSize, 1) per group (so that every group's shape
    is exercised, also the ones that scale from zero), with the group's labels and taints, and the capacity and
    allocatable of its first instance type as an EKS AL2023 node reports them."""
    from generator.platform import instance_types, nodes

    out = []
    for group in model.cluster.node_groups:
        itype = instance_types.lookup(group.instance_types[0])
        assert itype is not None, f"node group {group.name}: {group.instance_types[0]} is not in the instance-type table"
        alloc = instance_types.allocatable(itype, managed=not nodes.is_core(group))
        capacity = {"cpu": str(itype.vcpus), "memory": f"{itype.memory_mib}Mi", "pods": str(alloc.max_pods)}
        allocatable = {"cpu": f"{alloc.cpu_millicores}m", "memory": f"{alloc.memory_mib}Mi", "pods": str(alloc.max_pods)}
        if nodes.gpus(group):
            capacity[nodes.GPU_RESOURCE] = allocatable[nodes.GPU_RESOURCE] = str(nodes.gpus(group))
        zone = group.availability_zone or model.cluster.subnets[0].availability_zone
        for i in range(max(group.min_size, 1)):
            name = f"{group.name}-{i}"
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "arm64" if itype.arch == "arm64" else "amd64",
                      "node.kubernetes.io/instance-type": itype.name, "topology.kubernetes.io/zone": zone,
                      "topology.kubernetes.io/region": model.region, "type": "kwok", **nodes.labels(group)}
            out.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels, "annotations": {KWOK_NODE_ANNOTATION[0]: KWOK_NODE_ANNOTATION[1]}},
                "spec": {"taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in nodes.taints(group)]},
                "status": {"capacity": capacity, "allocatable": allocatable},
            })
    return out


# --- the volume provisioner -----------------------------------------------------------------------------------------


class Provisioner:
    """Binds each Pending claim of a StorageClass the cluster has to a new hostPath PersistentVolume, once the
    scheduler picked its node (``WaitForFirstConsumer``), as the EBS CSI driver's provisioner would with an EBS
    volume. The PV carries the claim's class, size, access modes, the class's reclaim policy and the node's zone;
    the controller-manager's PV controller does the binding."""

    def __init__(self, client: Client, folder: Path):
        self.client, self.folder = client, folder
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-provisioner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._once()
            except KubeError as e:
                self.errors.append(str(e))

    def _once(self) -> None:
        classes = {c["metadata"]["name"]: c for c in self.client.list("storage.k8s.io/v1", "StorageClass")}
        for pvc in self.client.list("v1", "PersistentVolumeClaim"):
            meta, spec = pvc["metadata"], pvc["spec"]
            node = (meta.get("annotations") or {}).get("volume.kubernetes.io/selected-node")
            cls = classes.get(spec.get("storageClassName") or "")
            if (pvc.get("status") or {}).get("phase") != "Pending" or spec.get("volumeName") or cls is None:
                continue
            if cls.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
                continue
            self.client.create(self._volume(pvc, cls, node))

    def _volume(self, pvc: dict, cls: dict, node: str | None) -> dict:
        meta = pvc["metadata"]
        name = f"pvc-{meta['uid']}"
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        pv = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONER_ANNOTATION: cls["provisioner"],
                                                       "pv.kubernetes.io/provisioned-by": cls["provisioner"]}},
            "spec": {
                "capacity": {"storage": pvc["spec"]["resources"]["requests"]["storage"]},
                "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                "storageClassName": cls["metadata"]["name"],
                "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy", "Delete"),
                "volumeMode": pvc["spec"].get("volumeMode", "Filesystem"),
                "hostPath": {"path": str(path)},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                             "name": meta["name"], "uid": meta["uid"]},
            },
        }
        if node:
            pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        return pv


# --- the harness -------------------------------------------------------------------------------------------------


@dataclass
class Harness:
    """One environment on one loopback cluster (see the module docstring). Use as a context manager:
    everything is stopped on exit, also when a step failed."""

    environment: str
    work: Path
    engines: dict[str, Path]
    repo: Path = field(init=False)
    bare: Path = field(init=False)
    procs: Processes = field(init=False)
    control: ControlPlane = field(init=False)
    client: Client = field(init=False)
    git_url: str = ""
    chart_url: str = ""
    commits: list[str] = field(default_factory=list)
    #: The last commit every readiness check passed on (set by the tests).
    ready_revision: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repo = self.work / "repo"
        self.bare = self.work / "git" / "hubgen.git"
        self.procs = Processes(self.work / "logs")
        self._stack = contextlib.ExitStack()

    # -- lifecycle --

    def __enter__(self) -> Harness:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything this harness started (threads, servers, processes), in reverse order."""
        self._stack.close()

    def _timed(self, name: str, t0: float) -> None:
        self.timings[name] = round(time.monotonic() - t0, 2)

    def _start(self) -> None:
        t0 = time.monotonic()
        from generator.validate.environments import validate_one

        copy_repository(self.repo)
        key = age_key(self.engines["age-keygen"])
        self.receiver = self._stack.enter_context(serve_receiver())
        self.secret_values = reencrypt_secrets(self.repo, self.environment, key, self._notifier_address)
        result = validate_one(RepoPaths(self.repo), self.environment)
        assert result.ok, [str(p) for p in result.problems]
        self.model = result.context.model
        self._timed("repository", t0)

        t = time.monotonic()
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        init_repositories(self.repo, self.bare)
        self.commits.append(publish(self.repo, self.bare, f"{self.environment}: as rendered"))
        self.git_url = self._stack.enter_context(serve_git(self.bare.parent)) + self.bare.name
        self.chart_url = self._stack.enter_context(helm_repository(
            self.work / "charts", chart_packages(pinned_charts(self.repo, self.environment))))
        self._timed("git and chart servers", t)

        t = time.monotonic()
        self.control = ControlPlane(self.work, self.engines, self.procs)
        self._stack.callback(self.control.stop)
        self.control.start()
        self.client = self.control.client
        self._timed("control plane", t)

        t = time.monotonic()
        self.client.apply_all(node_objects(self.model))
        provisioner = Provisioner(self.client, self.work / "volumes")
        provisioner.start()
        self._stack.callback(provisioner.stop)
        self.provisioner = provisioner
        flux.install_crds(self.client)
        self.client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": flux.NAMESPACE}})
        self.client.apply(flux.sops_age_secret(key.private))
        flux.FluxControllers(self.engines, self.procs, self.control.kubeconfig, self.work).start()
        patches = [*flux.redirect_helm_repositories(self.chart_url), *flux.redirect_providers(self.github_addresses())]
        self.client.apply_all(flux.bootstrap_objects(self.git_url, f"environments/{self.environment}/cluster",
                                                     patches))
        self._timed("flux", t)
        self._timed("start", t0)

    # -- notifications --

    def _notifier_address(self, requirement) -> str | None:
        """A Slack or webhook notifier's ``address``: the receiver's hook named after the Secret."""
        if requirement.notifier and requirement.key == "address":
            return self.receiver.hook_url(requirement.name)
        return None

    def rendered_notifications(self) -> list[dict]:
        """The Providers and Alerts of the copy's cluster/notifications.yaml (none without notifiers)."""
        path = self.repo / EnvPaths(self.environment).notifications
        return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.is_file() else []

    def github_addresses(self) -> dict[str, str]:
        """Provider name -> the receiver's GitHub emulator, same owner and repository, for each github Provider."""
        return {d["metadata"]["name"]: self.receiver.github_address(d["spec"]["address"])
                for d in self.rendered_notifications() if d["kind"] == "Provider" and d["spec"]["type"] == "github"}

    # -- operations the tests use --

    def expected(self) -> readiness.Expected:
        from generator.validate.environments import validate_one

        result = validate_one(RepoPaths(self.repo), self.environment)
        return readiness.expected(RepoPaths(self.repo), self.environment, result.context.model)

    def wait_ready(self, timeout: float, revision: str | None = None) -> list[readiness.Result]:
        """Readiness of the environment (see :mod:`generator.e2e.readiness`), waited for; process deaths fail
        at once."""
        def poll(_results):
            self.procs.check_alive()
        return readiness.wait(self.client, self.expected(), timeout, revision=revision, interval=1.0, on_poll=poll)

    def commit(self, message: str) -> str:
        """Commit the copy's current files, push, and ask Flux to fetch now (as `flux reconcile source git`
        does: the requestedAt annotation); the commit id."""
        sha = publish(self.repo, self.bare, message)
        self.commits.append(sha)
        self.reconcile("source.toolkit.fluxcd.io/v1", "GitRepository", flux.NAMESPACE, flux.NAMESPACE)
        return sha

    def reconcile(self, api_version: str, kind: str, name: str, namespace: str) -> str:
        """Ask the object's controller to reconcile it now (as `flux reconcile` does); the request's stamp, which
        the controller copies to ``status.lastHandledReconcileAt`` once it handled the request."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S") + f".{time.time_ns() % 10**9:09d}Z"
        self.client.patch(api_version, kind, name, {"metadata": {"annotations": {
            "reconcile.fluxcd.io/requestedAt": stamp}}}, namespace)
        return stamp

    def hubgen(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        from tests.conftest import hubgen_command

        env = {k: v for k, v in os.environ.items() if not k.startswith("HUBGEN_")}
        env.update({"NO_COLOR": "1", "COLUMNS": "200"})
        return subprocess.run([*hubgen_command(), "--repo", str(self.repo), *args], capture_output=True, text=True,
                              env=env, timeout=timeout)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {s.name} ({s.log})\n{s.tail(lines)}" for s in self.procs.started)

