"""End to end: each example environment, as rendered, deployed by Flux onto a loopback Kubernetes cluster.

The engines that consume the generated files run them: source-controller fetches the repository over git and
the pinned charts from a Helm repository, kustomize-controller decrypts the secrets with sops and applies
every Kustomization, helm-controller installs every HelmRelease (hooks included), and a real API server,
controller-manager and scheduler run what the charts create on fake nodes shaped like the spec's node groups
(kwok). What this proves and what it cannot: docs/e2e.md.

One test per environment runs the scenario's phases (:data:`PHASES`) in order on the environment's cluster:
everything ready; `hubgen verify` agrees; the notification Providers and Alerts accepted, their Secrets
decrypted; no drift, and a hand edit reverted and reported; nodePort, volume and secrets as the files say; a second commit (the
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
from tests.e2e.flux import NAMESPACE as FLUX_NAMESPACE
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


def _subset(rendered, live) -> bool:
    """Whether ``live`` (what the API server stored) holds everything of ``rendered``, the API server's
    defaults aside."""
    if isinstance(rendered, dict):
        return isinstance(live, dict) and all(k in live and _subset(v, live[k]) for k, v in rendered.items())
    if isinstance(rendered, list):
        return isinstance(live, list) and len(live) == len(rendered) and all(map(_subset, rendered, live))
    return rendered == live


def notifications_accepted(cluster: Harness) -> None:
    """Every Provider and Alert of cluster/notifications.yaml was applied by the bootstrap Kustomization and
    accepted by the API server (the notification-controller CRDs' schemas and CEL rules, e.g. commitStatusExpr
    only on a git provider) with the rendered spec; each Provider's Secret was decrypted into flux-system by
    <env>-secrets, holding the value the test encrypted under the key the provider type reads."""
    rendered = cluster.rendered_notifications()
    assert {d["kind"] for d in rendered} == {"Provider", "Alert"}, rendered
    redirected = cluster.github_addresses()
    for doc in rendered:
        meta = doc["metadata"]
        live = cluster.client.get(doc["apiVersion"], doc["kind"], meta["name"], meta["namespace"])
        assert live is not None, f"{doc['kind']} {meta['namespace']}/{meta['name']} not in the cluster"
        spec = doc["spec"]
        if doc["kind"] == "Provider" and meta["name"] in redirected:  # the test's bootstrap patch: GitHub is the local emulator
            assert live["spec"]["address"] == redirected[meta["name"]], live["spec"]
            spec = {**spec, "address": redirected[meta["name"]]}
        assert _subset(spec, live["spec"]), (spec, live["spec"])
        assert live["metadata"]["labels"].get("kustomize.toolkit.fluxcd.io/name") == "flux-system", live["metadata"]
        if doc["kind"] == "Provider":
            name, key = doc["spec"]["secretRef"]["name"], "token" if doc["spec"]["type"] == "github" else "address"
            secret = cluster.client.get("v1", "Secret", name, meta["namespace"])
            assert secret is not None, f"Secret {meta['namespace']}/{name} of Provider {meta['name']} not applied"
            value = base64.b64decode(secret["data"][key]).decode()
            assert value == cluster.secret_values[(meta["namespace"], name, key)]


def _github(cluster: Harness) -> tuple[str, list[str], str] | None:
    """(owner/repo, the Alert's Kustomizations, the token) of the environment's github notifier, if any."""
    docs = {(d["kind"], d["metadata"]["name"]): d for d in cluster.rendered_notifications()}
    for (kind, name), provider in docs.items():
        if kind == "Provider" and provider["spec"]["type"] == "github":
            repository = provider["spec"]["address"].split("://", 1)[1].split("/", 1)[1].removesuffix(".git")
            sources = [s["name"] for s in docs[("Alert", name)]["spec"]["eventSources"]]
            token = cluster.secret_values[(FLUX_NAMESPACE, provider["spec"]["secretRef"]["name"], "token")]
            return repository, sources, token
    return None


def _hooks(cluster: Harness) -> dict[str, dict]:
    """Secret name (the receiver's hook) -> the Provider, of every Slack and generic webhook notifier."""
    return {d["spec"]["secretRef"]["name"]: d for d in cluster.rendered_notifications()
            if d["kind"] == "Provider" and d["spec"]["type"] in ("slack", "generic")}


def _notification(provider_type: str, body: dict) -> dict:
    """What a Slack or generic webhook post says, in one shape: object ("kind/namespace/name", lower case),
    severity, message, metadata."""
    if provider_type == "generic":  # the event itself, as JSON
        o = body["involvedObject"]
        return {"object": f"{o['kind']}/{o['namespace']}/{o['name']}".lower(), "severity": body["severity"],
                "message": body["message"], "metadata": body.get("metadata") or {}}
    attachment = body["attachments"][0]  # slack: author "kind/name.namespace", colour danger for errors
    kind_name, namespace = attachment["author_name"].rsplit(".", 1)
    kind, name = kind_name.split("/", 1)
    return {"object": f"{kind}/{namespace}/{name}", "channel": body.get("channel"),
            "severity": "error" if attachment["color"] == "danger" else "info", "message": attachment["text"],
            "metadata": {f["title"]: f["value"] for f in attachment["fields"]}}


def _notifications(cluster: Harness) -> dict[str, list[dict]]:
    """Hook -> what arrived there so far (see :func:`_notification`)."""
    return {hook: [_notification(p["spec"]["type"], post.body) for post in cluster.receiver.posts_to(hook)]
            for hook, p in _hooks(cluster).items()}


def _status_probe(cluster: Harness, sha: str, contexts: list[str], state: str):
    """A probe: a status of ``state`` for each of ``contexts`` on commit ``sha``."""
    def probe():
        seen = {(s.context, s.state) for s in cluster.receiver.statuses_of(sha)}
        return all((c, state) in seen for c in contexts), sorted(seen)
    return probe


def _assert_statuses_sent_right(cluster: Harness) -> None:
    """Every status so far: on the rendered repository, with the Provider's token, on a commit of the test,
    with a context of the github Alert's Kustomizations."""
    repository, kustomizations, token = _github(cluster)
    contexts = {f"hubgen/{cluster.environment}/{k}" for k in kustomizations}
    for status in cluster.receiver.statuses:
        assert status.repository == repository and status.authorization == f"Bearer {token}", status
        assert status.sha in cluster.commits and status.context in contexts, status


def _assert_all_statuses(cluster: Harness, sha: str) -> None:
    """A ``success`` status on ``sha`` for every Kustomization of the github Alert, flux-system included."""
    if _github(cluster):
        contexts = [f"hubgen/{cluster.environment}/{k}" for k in _github(cluster)[1]]
        _wait(cluster, f"success statuses {contexts} on {sha}", _status_probe(cluster, sha, contexts, "success"), 30)
        _assert_statuses_sent_right(cluster)


def deploys_report_back(cluster: Harness) -> None:
    """notification-controller forwards what Flux did, as the Alerts say. GitHub (the local emulator of its
    Enterprise API): a ``success`` commit status ``hubgen/<env>/<kustomization>`` for every Kustomization of
    the github Alert on the exact commit Flux applied, set with the Provider's token, and no status on any
    other commit. Slack and webhooks (severity ``error``): nothing arrived during a healthy first deploy.

    Except ``flux-system`` on a new cluster's first commit: its Ready event comes before ``<env>-secrets``
    (which it creates) has applied the Provider's token Secret, so notification-controller cannot send it
    (``failed to get secret``); its status arrives from the next commit on (:func:`_assert_all_statuses`)."""
    assert not cluster.receiver.unexpected, cluster.receiver.unexpected
    github = _github(cluster)
    if github:
        repository, kustomizations, token = github
        contexts = [f"hubgen/{cluster.environment}/{k}" for k in kustomizations if k != FLUX_NAMESPACE]
        t = time.monotonic()
        _wait(cluster, f"success statuses {contexts} on {cluster.commits[-1]}",
              _status_probe(cluster, cluster.commits[-1], contexts, "success"), 30)
        cluster.timings["notifications: statuses"] = round(time.monotonic() - t, 2)
        _assert_statuses_sent_right(cluster)
    for hook, received in _notifications(cluster).items():
        assert received == [], f"hook {hook}: a healthy deploy notified at severity error: {received}"


def _reconciled(cluster: Harness, requests: dict[tuple[str, str], str]):
    """A probe: every HelmRelease of ``requests`` ((namespace, name) -> requestedAt stamp) handled its request."""
    def probe():
        objs = {k: _helmrelease(cluster, *k) for k in requests}
        pending = [k for k, o in objs.items() if o.get("status", {}).get("lastHandledReconcileAt") != requests[k]]
        return not pending, (objs, pending)
    return probe


def drift_is_reverted_and_reported(cluster: Harness) -> None:
    """Drift detection (``driftDetection: {mode: enabled}``) on every HelmRelease: a reconciliation of the
    deployed environment finds no drift (nothing a controller legitimately sets counts, so no ignore rules are
    needed), and a hand edit of the hub (its Deployment scaled) is reverted at the next reconciliation and
    reported as a DriftDetected warning event, which the Alerts forward."""
    releases = [(ref.namespace, ref.name) for ref, _doc, _src in cluster.expected().helmreleases]
    requests = {k: cluster.reconcile(*HELMRELEASE, k[1], k[0]) for k in releases}
    objs, _ = _wait(cluster, "every HelmRelease to reconcile on request", _reconciled(cluster, requests))
    for (namespace, name), obj in objs.items():
        drifted = condition(obj, "Drifted")
        assert drifted and drifted["status"] == "False" and drifted["reason"] == "NoDriftDetected", \
            (namespace, name, obj["status"].get("conditions"))

    namespace, name = _first_hub(cluster)
    replicas = cluster.client.get("apps/v1", "Deployment", "hub", namespace)["spec"]["replicas"]
    cluster.client.patch("apps/v1", "Deployment", "hub", {"spec": {"replicas": replicas + 1}}, namespace)
    t = time.monotonic()
    request = {(namespace, name): cluster.reconcile(*HELMRELEASE, name, namespace)}
    _wait(cluster, f"HelmRelease {namespace}/{name} to reconcile on request", _reconciled(cluster, request))

    def reverted():
        spec = cluster.client.get("apps/v1", "Deployment", "hub", namespace)["spec"]
        return spec["replicas"] == replicas, spec["replicas"]

    _wait(cluster, f"the hand-scaled hub Deployment of {namespace} to be reverted", reverted)
    cluster.timings["drift: reverted"] = round(time.monotonic() - t, 2)
    events = [e for e in cluster.client.list("v1", "Event", namespace)
              if e.get("involvedObject", {}).get("kind") == "HelmRelease" and e.get("reason") == "DriftDetected"]
    assert events and events[-1]["type"] == "Warning", events
    assert f"Deployment/{namespace}/hub" in events[-1]["message"], events[-1]["message"]
    _assert_notified(cluster, f"helmrelease/{namespace}/{name}", f"Deployment/{namespace}/hub")
    _assert_ready(cluster, cluster.wait_ready(CHANGE_TIMEOUT, revision=cluster.commits[-1]))


def _assert_notified(cluster: Harness, obj: str, text: str) -> None:
    """Every Slack and webhook hook received an error about ``obj`` ("kind/namespace/name") whose message
    holds ``text``, with the Alert's metadata (environment, summary) and, for Slack, the Provider's channel."""
    hooks = _hooks(cluster)
    if not hooks:
        return
    alerts = {d["spec"]["providerRef"]["name"]: d for d in cluster.rendered_notifications() if d["kind"] == "Alert"}

    def arrived():
        found = {hook: [n for n in got if n["object"] == obj and text in n["message"]]
                 for hook, got in _notifications(cluster).items()}
        return all(found.values()), found

    found = _wait(cluster, f"an error notification about {obj} ({text!r}) at {sorted(hooks)}", arrived, 30)
    for hook, notifications in found.items():
        provider = hooks[hook]
        wanted = alerts[provider["metadata"]["name"]]["spec"]["eventMetadata"]
        for n in notifications:
            assert n["severity"] == "error", n
            assert {k: n["metadata"].get(k) for k in wanted} == wanted, n["metadata"]
            if provider["spec"].get("channel"):
                assert n["channel"] == provider["spec"]["channel"], n


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
    # GitHub: every Kustomization reported the commit it applied, the bootstrap one (flux-system) too.
    _assert_all_statuses(cluster, sha)


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
    broken = cluster.commit("a hub cpu request that is no quantity")
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
    # The failure reached Slack and the webhook, with the environment's metadata.
    _assert_notified(cluster, f"helmrelease/{namespace}/{name}", "quantities must match the regular expression")
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
    # GitHub: the broken commit has a failure status for the hubs' Kustomization, the fix a success.
    if _github(cluster):
        context = f"hubgen/{cluster.environment}/{cluster.environment}-hubs"
        _wait(cluster, f"a failure status {context} on the broken commit {broken}",
              _status_probe(cluster, broken, [context], "failure"), 30)
        _wait(cluster, f"a success status {context} on the fix {sha}", _status_probe(cluster, sha, [context], "success"),
              30)
        assert ("success", context) not in {(s.state, s.context) for s in cluster.receiver.statuses_of(broken)}
    assert not cluster.receiver.unexpected, cluster.receiver.unexpected


#: The scenario, in order, on one cluster.
PHASES = (
    everything_ready,
    hubgen_verify_agrees,
    notifications_accepted,
    deploys_report_back,
    drift_is_reverted_and_reported,
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
