"""End to end: each example environment, as rendered, deployed by Flux onto a loopback Kubernetes cluster.

The engines that consume the generated files run them: source-controller fetches the repository over git and
the pinned charts from a Helm repository, kustomize-controller decrypts the secrets with sops and applies
every Kustomization, helm-controller installs every HelmRelease (hooks included), and a real API server,
controller-manager and scheduler run what the charts create on fake nodes shaped like the spec's node groups
(kwok). What this proves and what it cannot: docs/e2e.md.

One test per environment runs the scenario's phases (:data:`PHASES`) in order on the environment's cluster:
everything ready; `hubgen verify` agrees; nodePort, volume and secrets as the files say; a second commit (the
first hub's culling timeout) reconciles as a Helm upgrade; a broken commit (values the API server refuses)
fails the HelmRelease, whose reason reaches the test, and is rolled back by remediation; reverting it heals.
(One test, not one per phase: see tests/e2e/conftest.py.)
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import yaml

from generator.e2e import readiness
from generator.e2e.kubeapi import condition
from tests.e2e.harness import Harness

READY_TIMEOUT = 240.0
CHANGE_TIMEOUT = 180.0
HELMRELEASE = ("helm.toolkit.fluxcd.io/v2", "HelmRelease")
KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
#: A value the chart renders into the hub Deployment and the API server refuses (not a quantity). hubgen's
#: validation and the chart's values schema accept it: only a live API server catches it.
BROKEN_CPU = "lots"


def _assert_ready(cluster: Harness, results: list[readiness.Result]) -> None:
    bad = readiness.failing(results)
    assert not bad, f"not ready:\n{readiness.describe(bad)}\n\nprocess logs:\n{cluster.logs()}"


def _deployed(cluster: Harness) -> Harness:
    """The cluster with its latest commit reconciled."""
    if cluster.ready_revision != cluster.commits[-1]:
        t = time.monotonic()
        _assert_ready(cluster, cluster.wait_ready(READY_TIMEOUT, revision=cluster.commits[-1]))
        cluster.timings.setdefault("ready", round(time.monotonic() - t, 2))
        cluster.ready_revision = cluster.commits[-1]
    return cluster


def _b64(path: str) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def inline_kubeconfig(cluster: Harness) -> Path:
    """The admin kubeconfig with its certificates and key inline (``*-data``, as cloud CLIs write them)."""
    doc = yaml.safe_load(cluster.control.kubeconfig.read_text())
    c, u = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    c["certificate-authority-data"] = _b64(c.pop("certificate-authority"))
    u["client-certificate-data"], u["client-key-data"] = _b64(u.pop("client-certificate")), _b64(u.pop("client-key"))
    path = cluster.work / "kubeconfig-inline"
    path.write_text(yaml.safe_dump(doc))
    return path


def readonly_exec_kubeconfig(cluster: Harness) -> Path:
    """A kubeconfig whose user is an exec credential plugin printing a ServiceAccount token (TokenRequest API);
    the account may get and list every resource, nothing else."""
    c = cluster.client
    c.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hubgen-verify", "namespace": "default"}})
    c.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "hubgen-verify"},
             "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]})
    c.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "hubgen-verify"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "hubgen-verify"},
             "subjects": [{"kind": "ServiceAccount", "name": "hubgen-verify", "namespace": "default"}]})
    token = c.request("POST", "/api/v1/namespaces/default/serviceaccounts/hubgen-verify/token",
                      {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                       "spec": {"expirationSeconds": 3600}})["status"]["token"]
    credential = cluster.work / "exec-credential.json"
    credential.write_text(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                                      "status": {"token": token}}))
    doc = yaml.safe_load(inline_kubeconfig(cluster).read_text())
    doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "cat",
                                        "args": [str(credential)], "interactiveMode": "Never"}}
    path = cluster.work / "kubeconfig-exec"
    path.write_text(yaml.safe_dump(doc))
    return path


def _spec(cluster: Harness) -> dict:
    return yaml.safe_load((cluster.repo / "environments" / cluster.environment / "environment.yaml").read_text())


def _edit_spec_and_render(cluster: Harness, change) -> None:
    """Change the spec (a function of its parsed YAML) and `hubgen render` it, as a person would."""
    path = cluster.repo / "environments" / cluster.environment / "environment.yaml"
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = cluster.hubgen("render", cluster.environment)
    assert result.returncode == 0, f"hubgen render failed:\n{result.stdout}{result.stderr}"


def _first_hub(cluster: Harness) -> tuple[str, str]:
    hub = _spec(cluster)["hubs"][0]
    return hub["namespace"], hub["name"]


def _helmrelease(cluster: Harness, namespace: str, name: str) -> dict:
    obj = cluster.client.get(*HELMRELEASE, name, namespace)
    assert obj is not None, f"HelmRelease {namespace}/{name} not found"
    return obj


def _hub_values(cluster: Harness, namespace: str) -> dict:
    """The values the chart rendered the hub with (the `hub` Secret's values.yaml)."""
    secret = cluster.client.get("v1", "Secret", "hub", namespace)
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


def _at(mapping: dict, dotted: str):
    for key in dotted.split("."):
        mapping = mapping[key]
    return mapping


def _wait(cluster: Harness, what: str, probe, timeout: float = CHANGE_TIMEOUT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        cluster.procs.check_alive()
        last = probe()
        if last and last[0]:
            return last[1]
        time.sleep(1.0)
    pytest.fail(f"timed out waiting for {what}; last seen: {last[1] if last else None}\n\n{cluster.logs()}")


def everything_ready(cluster: Harness) -> None:
    """Every Kustomization and HelmRelease Ready at the first commit, hub and proxy available, the hub's
    volume bound, the proxy's nodePort the stack's, every node group's nodes Ready."""
    _deployed(cluster)
    results = readiness.check(cluster.client, cluster.expected(), cluster.commits[-1])
    _assert_ready(cluster, results)
    checks = {r.check for r in results}
    assert {"kustomization ready", "helmrelease ready", "hub available", "proxy available", "hub volume bound",
            "proxy nodePort"} <= checks


def hubgen_verify_agrees(cluster: Harness) -> None:
    """`hubgen verify` passes on the deployed cluster, with each kind of kubeconfig it reads: file paths to a
    client certificate (the harness's admin), inline ``*-data``, and an exec credential plugin handing out a
    bearer token (as ``aws eks get-token`` does on EKS) of a ServiceAccount that may only get and list: verify
    is read-only."""
    for kubeconfig in (cluster.control.kubeconfig, inline_kubeconfig(cluster), readonly_exec_kubeconfig(cluster)):
        result = cluster.hubgen("verify", cluster.environment, "--kubeconfig", str(kubeconfig), "--revision",
                                cluster.commits[-1], "--format", "json")
        assert result.returncode == 0, f"{kubeconfig}:\n{result.stdout}{result.stderr}"
        checks = json.loads(result.stdout)["verify"]["checks"]
        assert checks and all(c["ok"] for c in checks), checks
    text = cluster.hubgen("verify", cluster.environment, "--kubeconfig", str(cluster.control.kubeconfig))
    assert text.returncode == 0 and "NOT OK" not in text.stdout, text.stdout + text.stderr


def proxy_node_port_is_the_stacks(cluster: Harness) -> None:
    """The proxy's nodePort, as the API server allocated it, is the one the stack's load balancer targets."""
    params = json.loads((cluster.repo / "environments" / cluster.environment / "cloudformation"
                         / "cluster.template-configuration.json").read_text())["Parameters"]
    names = ["NodeProxyPort", "Hub2NodeProxyPort", "Hub3NodeProxyPort"]
    for hub, param in zip(_spec(cluster)["hubs"], names):
        service = cluster.client.get("v1", "Service", "proxy-public", hub["namespace"])
        ports = {p["name"]: p.get("nodePort") for p in service["spec"]["ports"]}
        assert service["spec"]["type"] == "NodePort"
        assert str(ports["http"]) == params[param], (hub["name"], ports, param, params[param])


def hub_volume_on_the_rendered_default_class(cluster: Harness) -> None:
    """The hub database's claim names no class; the API server's DefaultStorageClass admission gives it the one
    the environment renders as default, and the test provisioner (standing in for the EBS CSI driver) binds
    it once the scheduler chose a core node for the hub."""
    rendered = yaml.safe_load_all((cluster.repo / "environments" / cluster.environment / "platform"
                                   / "storageclasses.yaml").read_text())
    default = [c["metadata"]["name"] for c in rendered if c and
               c["metadata"].get("annotations", {}).get(readiness.DEFAULT_CLASS_ANNOTATION) == "true"]
    assert len(default) == 1
    for hub in _spec(cluster)["hubs"]:
        pvc = cluster.client.get("v1", "PersistentVolumeClaim", "hub-db-dir", hub["namespace"])
        assert pvc["status"]["phase"] == "Bound"
        assert pvc["spec"]["storageClassName"] == default[0]
        node = pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
        labels = cluster.client.get("v1", "Node", node)["metadata"]["labels"]
        assert labels["hub.jupyter.org/node-purpose"] == "core", (node, labels)


def secrets_decrypted_and_passed_to_the_chart(cluster: Harness) -> None:
    """sops decryption with the sops-age key, then each valuesFrom Secret value at its target path."""
    for path in sorted((cluster.repo / "environments" / cluster.environment / "hubs").glob("*/helmrelease.yaml")):
        release = yaml.safe_load(path.read_text())
        namespace = release["metadata"]["namespace"]
        for ref in release["spec"].get("valuesFrom", []):
            secret = cluster.client.get("v1", "Secret", ref["name"], namespace)
            value = base64.b64decode(secret["data"][ref["valuesKey"]]).decode()
            assert value == cluster.secret_values[(namespace, ref["name"], ref["valuesKey"])]
            assert _at(_hub_values(cluster, namespace), ref["targetPath"]) == value, ref["targetPath"]


def second_commit_is_a_helm_upgrade(cluster: Harness) -> None:
    """The first hub's culling timeout halved in the spec, rendered, committed: Flux upgrades the release (a
    new Helm revision of the same chart with new values) and the hub gets the new timeout."""
    namespace, name = _first_hub(cluster)
    before = _helmrelease(cluster, namespace, name)["status"]
    old_timeout = _hub_values(cluster, namespace)["cull"]["timeout"]

    def halve_cull_timeout(spec):
        spec["hubs"][0].setdefault("culling", {})["timeout"] = old_timeout // 2

    _edit_spec_and_render(cluster, halve_cull_timeout)
    sha = cluster.commit("halve the culling timeout")
    t = time.monotonic()
    _assert_ready(cluster, cluster.wait_ready(CHANGE_TIMEOUT, revision=sha))
    cluster.ready_revision = sha
    cluster.timings["upgrade"] = round(time.monotonic() - t, 2)

    after = _helmrelease(cluster, namespace, name)
    status = after["status"]
    assert condition(after)["reason"] == "UpgradeSucceeded", condition(after)
    assert status["history"][0]["version"] == before["history"][0]["version"] + 1
    assert status["history"][0]["status"] == "deployed"
    assert status["lastAttemptedReleaseAction"] == "upgrade"
    assert status["lastAttemptedRevision"] == before["lastAttemptedRevision"]  # same chart version
    assert status["lastAttemptedConfigDigest"] != before["lastAttemptedConfigDigest"]  # new values
    assert _hub_values(cluster, namespace)["cull"]["timeout"] == old_timeout // 2


def broken_commit_fails_and_is_rolled_back(cluster: Harness) -> None:
    """A value through the spec's `values` that validation and the chart accept but the API server refuses:
    the upgrade fails, the refusal reaches the HelmRelease's status, remediation rolls the release back, the
    hub keeps running; reverting the commit heals the release."""
    namespace, name = _first_hub(cluster)
    good = _helmrelease(cluster, namespace, name)["status"]
    good_revision = cluster.commits[-1]

    def break_hub_cpu(spec):
        values = spec["hubs"][0].setdefault("values", {})
        values.setdefault("hub", {})["resources"] = {"requests": {"cpu": BROKEN_CPU}}

    _edit_spec_and_render(cluster, break_hub_cpu)
    cluster.commit("a hub cpu request that is no quantity")
    t = time.monotonic()

    def rolled_back():
        obj = _helmrelease(cluster, namespace, name)
        status = obj.get("status", {})
        released, remediated = condition(obj, "Released") or {}, condition(obj, "Remediated") or {}
        seen = {c["type"]: (c["status"], c["reason"], c["message"][:400]) for c in status.get("conditions", [])}
        done = (status.get("lastAttemptedConfigDigest") != good["lastAttemptedConfigDigest"]
                and released.get("reason") == "UpgradeFailed" and remediated.get("status") == "True"
                and remediated.get("reason") == "RollbackSucceeded")
        return done, (obj, seen)

    obj, _ = _wait(cluster, f"HelmRelease {namespace}/{name} to fail and roll back", rolled_back)
    cluster.timings["broken: failed and rolled back"] = round(time.monotonic() - t, 2)
    ready, released = condition(obj), condition(obj, "Released")
    # The API server's refusal reaches the HelmRelease's status, word for word.
    assert ready["status"] == "False"
    assert "quantities must match the regular expression" in released["message"], released
    assert "Deployment" in released["message"]
    # Remediation rolled back to the last good release: deployed again, with the good values.
    history = obj["status"]["history"]
    assert history[0]["status"] == "deployed" and history[0]["configDigest"] == good["history"][0]["configDigest"]
    assert any(h["status"] == "failed" for h in history)
    assert _hub_values(cluster, namespace)["hub"].get("resources", {}).get("requests", {}).get("cpu") != BROKEN_CPU
    # Flux's own summary (`flux get kustomizations`) is not Ready either: its health check waits on the release.
    hubs = condition(cluster.client.get(*KUSTOMIZATION, f"{cluster.environment}-hubs", "flux-system"))
    assert hubs["status"] != "True", hubs
    # `hubgen verify` (what a deploy workflow runs after Flux reconciled) fails, naming the release and why.
    result = cluster.hubgen("verify", cluster.environment, "--kubeconfig", str(cluster.control.kubeconfig),
                            "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = json.loads(result.stdout)["problems"]
    failed = [p for p in problems if p["code"] == "HG702" and f"HelmRelease {namespace}/{name}" in p["message"]]
    assert failed and "quantities must match the regular expression" in failed[0]["message"], problems
    # The hub kept running through it all.
    deployment = [r for r in readiness.check(cluster.client, cluster.expected())
                  if r.check in ("hub available", "proxy available")]
    assert all(r.ok for r in deployment), readiness.describe(deployment)

    # Reverting the change heals the release, without anyone touching the cluster.
    def revert(spec):
        del spec["hubs"][0]["values"]["hub"]["resources"]
        if not spec["hubs"][0]["values"]["hub"]:
            del spec["hubs"][0]["values"]["hub"]
        if not spec["hubs"][0]["values"]:
            del spec["hubs"][0]["values"]

    _edit_spec_and_render(cluster, revert)
    sha = cluster.commit("revert the broken cpu request")
    assert sha != good_revision
    t = time.monotonic()
    _assert_ready(cluster, cluster.wait_ready(CHANGE_TIMEOUT, revision=sha))
    cluster.ready_revision = sha
    cluster.timings["broken: reverted"] = round(time.monotonic() - t, 2)
    # Flux applied the fix only once the failing release had spent its retries: kustomize-controller's health
    # check of the broken revision then failed naming the release (Flux's default; the opt-in feature gate
    # CancelHealthCheckOnNewRevision would apply a fix at once), as its events say.
    events = [e for e in cluster.client.list("v1", "Event", "flux-system")
              if e.get("involvedObject", {}).get("name") == f"{cluster.environment}-hubs"
              and e.get("reason") == "HealthCheckFailed"]
    assert any(f"HelmRelease/{namespace}/{name}" in e.get("message", "") for e in events), \
        [e.get("message") for e in events]


#: The scenario, in order, on one cluster.
PHASES = (
    everything_ready,
    hubgen_verify_agrees,
    proxy_node_port_is_the_stacks,
    hub_volume_on_the_rendered_default_class,
    secrets_decrypted_and_passed_to_the_chart,
    second_commit_is_a_helm_upgrade,
    broken_commit_fails_and_is_rolled_back,
)


def test_environment_end_to_end(cluster: Harness):
    """The whole scenario of one example environment (see the module docstring); a failure names its phase."""
    for phase in PHASES:
        t = time.monotonic()
        try:
            phase(cluster)
        except BaseException as e:
            e.add_note(f"e2e {cluster.environment}: phase '{phase.__name__}' failed "
                       f"(process logs under {cluster.work / 'logs'})")
            raise
        cluster.timings[f"phase {phase.__name__}"] = round(time.monotonic() - t, 2)
