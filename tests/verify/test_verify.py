"""`hubgen verify` against a fake Kubernetes API: each check passes on a healthy cluster and fails, with its own
code and the reason, on a cluster that lacks what the generated files say; the kubeconfig's credential kinds;
the cluster being unreachable. (The end-to-end suite, tests/e2e, runs verify against a real API server.)"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
import yaml

from generator.e2e import readiness
from generator.e2e.kubeapi import Client, KubeconfigError
from generator.paths import RepoPaths
from generator.validate.environments import validate_one
from tests.e2e.processes import free_port
from tests.verify.fakeapi import FakeApi, serve

REVISION = "0" * 40  # a commit id


def _ready(reason: str = "Succeeded", message: str = "ok") -> dict:
    return {"type": "Ready", "status": "True", "reason": reason, "message": message}


def healthy(repo: Path, env: str) -> tuple[FakeApi, readiness.Expected]:
    """A fake cluster running exactly what ``env``'s generated files say."""
    model = validate_one(RepoPaths(repo), env).context.model
    exp = readiness.expected(RepoPaths(repo), env, model)
    api = FakeApi()
    for ref, _ in exp.kustomizations:
        api.add({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                 "metadata": {"name": ref.name, "namespace": ref.namespace, "generation": 1},
                 "status": {"observedGeneration": 1, "conditions": [_ready()],
                            "lastAppliedRevision": f"main@sha1:{REVISION}"}})
    for ref, doc, _ in exp.helmreleases:
        api.add({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                 "metadata": {"name": ref.name, "namespace": ref.namespace, "generation": 1},
                 "status": {"observedGeneration": 1, "conditions": [_ready("InstallSucceeded")],
                            "history": [{"version": 1, "status": "deployed",
                                         "chartVersion": doc["spec"]["chart"]["spec"]["version"]}]}})
    for hub in exp.hubs:
        labels = {"release": hub.release}
        for component in ("hub", "proxy"):
            api.add({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": component, "namespace": hub.namespace, "generation": 2,
                                  "labels": {**labels, "component": component}},
                     "spec": {"replicas": 1},
                     "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                                "message": "ok"}]}})
        api.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": "hub-db-dir", "namespace": hub.namespace, "labels": {**labels, "component": "hub"}},
                 "spec": {"storageClassName": hub.storage_class}, "status": {"phase": "Bound"}})
        api.add({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "proxy-public", "namespace": hub.namespace,
                              "labels": {**labels, "component": "proxy-public"}},
                 "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": hub.node_port}]}})
    for group in exp.node_groups:
        api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"{group.name}-0", "labels": group.labels},
                 "status": {"conditions": [_ready("KubeletReady")]}})
    return api, exp


def kubeconfig(path: Path, server: str, user: dict | None = None, context: str = "fake") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user or {"token": "t0ken"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}],
    }))
    return path


def verify(invoke_hubgen, repo: Path, env: str, config: Path, *args: str):
    result = invoke_hubgen(["--repo", str(repo), "--format", "json", "verify", env, "--kubeconfig", str(config),
                            *args])
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_healthy_cluster_passes(repo, tmp_path, invoke_hubgen, env):
    api, exp = healthy(repo, env)
    with serve(api) as url:
        result, doc = verify(invoke_hubgen, repo, env, kubeconfig(tmp_path / "kc", url), "--revision", REVISION)
    assert result.rc == 0, result
    checks = doc["verify"]["checks"]
    assert all(c["ok"] for c in checks) and doc["problems"] == []
    assert len([c for c in checks if c["check"] == "proxy nodePort"]) == len(exp.hubs)
    # Read-only, with the kubeconfig's token.
    assert {m for m, _, _ in api.requests} == {"GET"}
    assert {auth for _, _, auth in api.requests} == {"Bearer t0ken"}


def _broken(api: FakeApi, exp: readiness.Expected, what: str) -> str:
    """Break one thing of a healthy fake cluster; the code verify must report."""
    hub = exp.hubs[0]
    if what == "kustomization":
        k = api.find("Kustomization", exp.kustomizations[-1][0].name, "flux-system")
        k["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "DependencyNotReady",
                                      "message": "dependency 'flux-system/x' is not ready"}]
        return "HG701"
    if what == "revision":
        api.find("Kustomization", exp.kustomizations[0][0].name, "flux-system")["status"]["lastAppliedRevision"] = \
            "main@sha1:" + "f" * 40
        return "HG701"
    if what == "helmrelease":
        hr = api.find("HelmRelease", hub.hub, hub.namespace)
        hr["status"]["conditions"] = [
            {"type": "Ready", "status": "False", "reason": "RollbackSucceeded", "message": "Helm rollback succeeded"},
            {"type": "Released", "status": "False", "reason": "UpgradeFailed", "message": "quantities must match"}]
        return "HG702"
    if what == "chart version":
        api.find("HelmRelease", hub.hub, hub.namespace)["status"]["history"][0]["chartVersion"] = "0.0.1"
        return "HG702"
    if what == "stale generation":
        api.find("HelmRelease", hub.hub, hub.namespace)["metadata"]["generation"] = 2
        return "HG702"
    if what == "hub":
        d = api.find("Deployment", "hub", hub.namespace)
        d["status"].update(availableReplicas=0, conditions=[{"type": "Available", "status": "False",
                                                             "reason": "MinimumReplicasUnavailable", "message": "0/1"}])
        return "HG703"
    if what == "proxy missing":
        api.remove("Deployment", "proxy", hub.namespace)
        return "HG703"
    if what == "volume":
        api.find("PersistentVolumeClaim", "hub-db-dir", hub.namespace)["status"]["phase"] = "Pending"
        return "HG704"
    if what == "volume class":
        api.find("PersistentVolumeClaim", "hub-db-dir", hub.namespace)["spec"]["storageClassName"] = "gp2"
        return "HG704"
    if what == "node port":
        api.find("Service", "proxy-public", hub.namespace)["spec"]["ports"][0]["nodePort"] = 31999
        return "HG705"
    if what == "nodes":
        api.objects = [o for o in api.objects if o["kind"] != "Node"]
        return "HG706"
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["kustomization", "revision", "helmrelease", "chart version", "stale generation",
                                  "hub", "proxy missing", "volume", "volume class", "node port", "nodes"])
def test_each_check_fails_with_its_code(repo, tmp_path, invoke_hubgen, what):
    api, exp = healthy(repo, "prod")
    code = _broken(api, exp, what)
    with serve(api) as url:
        result, doc = verify(invoke_hubgen, repo, "prod", kubeconfig(tmp_path / "kc", url), "--revision", REVISION)
    assert result.rc == 1, result
    codes = {p["code"] for p in doc["problems"]}
    assert codes == {code}, doc["problems"]
    failed = [c for c in doc["verify"]["checks"] if not c["ok"]]
    assert failed and all(c["code"] == code and c["file"] for c in failed)
    if what == "helmrelease":  # after a rollback, the failed action's reason is what an operator needs
        assert "quantities must match" in doc["problems"][0]["message"]


def test_text_output_lists_every_check(repo, tmp_path, invoke_hubgen):
    api, exp = healthy(repo, "dev")
    _broken(api, exp, "node port")
    with serve(api) as url:
        result = invoke_hubgen(["--repo", str(repo), "verify", "dev", "--kubeconfig",
                                str(kubeconfig(tmp_path / "kc", url))])
    assert result.rc == 1
    assert "NOT OK" in result.stdout and "proxy nodePort" in result.stdout and "HG705" in result.stdout
    assert result.stdout.count("ok ") >= len(exp.kustomizations)


def test_wait_gives_up_after_the_time(repo, tmp_path, invoke_hubgen):
    api, exp = healthy(repo, "dev")
    _broken(api, exp, "hub")
    with serve(api) as url:
        result, doc = verify(invoke_hubgen, repo, "dev", kubeconfig(tmp_path / "kc", url), "--wait", "1.5")
    assert result.rc == 1 and {p["code"] for p in doc["problems"]} == {"HG703"}
    assert sum(1 for _, path, _ in api.requests if path == "/apis/apps/v1/namespaces/dev/deployments?labelSelector="
               "release%3Ddev%2Ccomponent%3Dhub") >= 2


@pytest.mark.parametrize("case", ["closed port", "missing file", "unknown context", "not yaml"])
def test_unreachable_cluster_is_hg707(repo, tmp_path, invoke_hubgen, case):
    config = tmp_path / "kc"
    if case == "closed port":
        kubeconfig(config, f"http://127.0.0.1:{free_port()}")
    elif case == "unknown context":
        kubeconfig(config, "http://127.0.0.1:1", context="elsewhere")
    elif case == "not yaml":
        config.write_text("{{{")
    result, doc = verify(invoke_hubgen, repo, "dev", config)
    assert result.rc == 1, result
    assert [p["code"] for p in doc["problems"]] == ["HG707"], doc


def test_unknown_environment_is_a_usage_error(repo, tmp_path, invoke_hubgen):
    result, _ = verify(invoke_hubgen, repo, "nope", tmp_path / "kc")
    assert result.rc == 2 and "no environment 'nope'" in result.stderr


def test_exec_plugin_token_and_token_file(repo, tmp_path):
    """An exec credential plugin (as `aws eks update-kubeconfig` writes: command, args, env) hands out the
    token; a tokenFile relative to the kubeconfig is read."""
    plugin = tmp_path / "get-token"
    plugin.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential',"
                      " 'status': {'token': os.environ['PREFIX'] + sys.argv[1],"
                      " 'expirationTimestamp': '2999-01-01T00:00:00Z'}}))\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "token").write_text("from-file\n")
    api = FakeApi()
    with serve(api) as url:
        exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
                              "args": ["-cluster"], "env": [{"name": "PREFIX", "value": "eks"}]}}
        with Client(kubeconfig(tmp_path / "exec", url, exec_user)) as client:
            client.version()
            client.version()
        with Client(kubeconfig(tmp_path / "file", url, {"tokenFile": "token"})) as client:
            client.version()
    assert [auth for _, _, auth in api.requests] == ["Bearer eks-cluster", "Bearer eks-cluster", "Bearer from-file"]


def test_failing_exec_plugin_is_reported(tmp_path):
    user = {"exec": {"command": "false"}}
    with pytest.raises(KubeconfigError, match="credential plugin 'false' failed"):
        Client(kubeconfig(tmp_path / "kc", "http://127.0.0.1:1", user)).version()


@pytest.mark.parametrize("revision,same", [("ab12cd3", True), ("AB12CD34" + "0" * 32, True), ("ab12cd4", False),
                                           ("ab12", False)])
def test_revision_full_or_abbreviated(revision, same):
    assert readiness._same_commit("main@sha1:ab12cd34" + "0" * 32, revision) is same
