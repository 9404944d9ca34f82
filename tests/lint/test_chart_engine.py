"""`hubgen lint -e chart`: the charts rendered by the real helm, their objects through the real kubeconform and
the cross-object invariants, the Flux Kustomizations built by the real kustomize.

The charts (JupyterHub 4.4.0, cluster-autoscaler 9.59.0, nvidia-device-plugin 0.20.0) come from the reference
copies through hubgen's own fetcher (tests/charts.py): the session chart cache of tests/lint/conftest.py, or,
for the fetch test, a local Helm repository the HelmRepository URLs are redirected to (``HUBGEN_CHART_REPOSITORY``
for the JupyterHub chart, ``HUBGEN_CHART_MIRRORS`` for the platform charts).

Each invariant is shown failing on a spec built to break it. Where `validate` already refuses the obvious break
(HG218 owned values, HG235 profile node groups, HG238 storage classes), the break is made where validate cannot
see it -- the hub's raw `values`, the stack template, the renderer itself -- since the chart engine is the
second line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.engines import chart_render as cr
from generator.platform.nodes import Taint
from tests.charts import helm_repository, package, reference_chart, rendered_charts
from tests.lint.helpers import fresh_cache, lint_json, position, problems, replace_once

DEV = "environments/dev/environment.yaml"
PROD = "environments/prod/environment.yaml"
CLUSTER = "manifests/cloudformation/cluster.yaml"
RESEARCH_VALUES = "    values:\n      singleuser:\n        defaultUrl: /lab\n"


@pytest.fixture
def engines(lint_env, helm_bin, kustomize_bin, kubeconform_bin):
    """Every engine the chart engine runs is here (else the test skips, or fails under CI)."""
    return lint_env


def research_values(repo: Path, yaml_block: str) -> str:
    """Put ``yaml_block`` (indented for `values:`'s children) into prod's research hub's `values`."""
    return replace_once(repo / PROD, RESEARCH_VALUES, RESEARCH_VALUES + yaml_block)


def only(doc: dict, code: str) -> dict:
    found = problems(doc, code)
    assert len(found) == 1, doc["problems"]
    others = [p for p in doc["problems"] if p["code"] != code]
    assert not others, others
    return found[0]


def at(p: dict) -> tuple[str, int, int]:
    return p["file"], p["line"], p["column"]


# --- the examples ------------------------------------------------------------------------------------

def test_examples_lint_clean_and_the_second_run_is_cached(repo, invoke_hubgen, engines, tmp_path, session_cache,
                                                          monkeypatch):
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(fresh_cache(tmp_path, session_cache)))
    rc, cold = lint_json(invoke_hubgen, repo, "-e", "chart")
    assert rc == 0 and cold["problems"] == [], cold["problems"]
    stats = cold["engines"]["chart"]
    assert (stats["units"], stats["cached"]) == (2, 0)
    assert stats["version"] == "helm v3.22.0, kustomize v5.8.2"

    rc, warm = lint_json(invoke_hubgen, repo, "-e", "chart")
    assert rc == 0 and warm["engines"]["chart"]["cached"] == 2

    # A change to one environment re-runs that one only.
    research_values(repo, "      hub:\n        nodeSelector:\n          disktype: ssd\n")
    rc, changed = lint_json(invoke_hubgen, repo, "-e", "chart")
    assert rc == 1 and changed["engines"]["chart"]["cached"] == 1
    assert {p["environment"] for p in changed["problems"]} == {"prod"}


def test_every_release_and_the_values_flux_hands_helm(repo, engines):
    """What the engine sees of prod: the two hubs' charts and the two platform charts, with their values (a
    placeholder where `valuesFrom` puts a secret), and the notebook servers KubeSpawner will start."""
    state, course = _state_with_release(repo, "prod", 0)
    assert [(r.namespace, r.name, r.chart, r.version) for r in state.releases] == [
        ("course", "course", "jupyterhub", "4.4.0"), ("research", "research", "jupyterhub", "4.4.0"),
        ("kube-system", "cluster-autoscaler", "cluster-autoscaler", "9.59.0"),
        ("kube-system", "nvidia-device-plugin", "nvidia-device-plugin", "0.20.0")]
    assert [r.url for r in state.releases[1:]] == ["https://hub.jupyter.org/helm-chart/",
                                                   "https://kubernetes.github.io/autoscaler",
                                                   "https://nvidia.github.io/k8s-device-plugin"]
    assert course.values["hub"]["config"]["GitHubOAuthenticator"]["client_secret"] == cr.PLACEHOLDER
    # KubeSpawner's servers, one per profile, with the profile's node selector and tolerations.
    pods = cr.user_pods(course)
    assert [p.node_selector for p in pods] == [{"hubgen.dev/node-group": "user"},
                                               {"hubgen.dev/node-group": "user-spot"}]
    assert all(p.storage_class == "gp3" and p.service_account == "course-notebook" for p in pods)
    assert all(p.terms == [{"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In",
                                                  "values": ["user"]}]}] for p in pods)


# --- kubeconform and helm ----------------------------------------------------------------------------

def test_rendered_object_refused_by_kubeconform_is_hg502_naming_it(repo, invoke_hubgen, engines):
    text = research_values(repo, "      hub:\n        extraPodSpec:\n          bogusField: 1\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG502")
    assert at(p) == (PROD, *position(text, "bogusField"))
    assert p["path"] == "/hubs/1/values/hub/extraPodSpec/bogusField"
    assert "HelmRelease research/research" in p["message"] and "Deployment hub" in p["message"]
    assert "unknown field 'bogusField'" in p["message"] and "jupyterhub/templates/hub/deployment.yaml" in p["message"]


def test_chart_helm_cannot_render_is_hg509(repo, invoke_hubgen, engines):
    """The chart's own schema refuses the values: `helm template` fails, as helm-controller would."""
    text = research_values(repo, "      proxy:\n        chp:\n          bogus: 1\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG509")
    line, col = position(text, RESEARCH_VALUES)
    assert at(p) == (PROD, line, col + len("    "))  # the hub's `values`: what Helm refused came from there
    assert p["path"] == "/hubs/1/values"
    assert "helm template" in p["message"] and "bogus" in p["message"]


# --- HG510 StorageClass --------------------------------------------------------------------------------

def test_volume_claim_of_a_class_the_environment_does_not_render(repo, invoke_hubgen, engines):
    """HG238 refuses `hub.db.pvc.storageClassName`; the legacy class annotation, which Kubernetes still honours,
    is past validate. The chart engine sees the rendered claim."""
    text = research_values(repo, "      hub:\n        db:\n          pvc:\n            annotations:\n"
                                 "              volume.beta.kubernetes.io/storage-class: io2\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG510")
    assert at(p) == (PROD, *position(text, "io2"))
    assert p["path"] == "/hubs/1/values/hub/db/pvc/annotations/volume.beta.kubernetes.io/storage-class"
    assert "PersistentVolumeClaim research/hub-db-dir" in p["message"] and "'io2'" in p["message"]
    assert "gp3, gp3-retain" in p["message"]


def test_user_volume_class_checked_at_the_hub_setting(repo, engines):
    """KubeSpawner's claims are not chart objects: the class comes from the chart values (HG238's field)."""
    state, release = _state_with_release(repo, "prod", 1)
    for o in [o for o in state.objects if o.kind == "StorageClass" and o.name == "gp3-retain"]:
        state.objects.remove(o)  # as if the class were not rendered
    cr.check_storage(state)
    [f] = state.findings  # once for the hub: no profile sets a class of its own
    assert f["code"] == "HG510" and f["at"] == {"spec": ["hubs", 1, "singleuser", "storage", "storageClass"],
                                                "key": False}
    assert "home volume KubeSpawner claims for hub research's notebook servers" in f["message"]
    assert "'gp3-retain'" in f["message"] and "renders gp3)" in f["message"]


def _state_with_release(repo: Path, env_name: str, index: int):
    from generator import lint
    from generator.engines.chart_values import chart_cache_dir, resolve_package
    from generator.paths import RepoPaths
    from generator.validate.environments import validate

    repo_paths = RepoPaths(repo)
    context = validate(repo_paths, [env_name], files=False).environments[env_name].context
    env = lint.artifacts(repo_paths, context, lint.render_in(repo_paths, env_name, context.model))
    state = cr.EnvState(env, cr.env_tree(repo_paths, env))
    cr.file_objects(state)
    cr.releases(state)
    release = state.releases[index]
    release.package = resolve_package(chart_cache_dir(repo_paths), release.chart, release.version,
                                      repository=release.url, offline=True)
    return state, release


# --- HG511 the proxy's node port -----------------------------------------------------------------------

def test_target_group_forwarding_to_another_port_is_hg511_at_the_template(repo, invoke_hubgen, engines):
    hub1 = "  Hub1TargetGroup:\n    Type: AWS::ElasticLoadBalancingV2::TargetGroup\n    Properties:\n"
    template = replace_once(repo / CLUSTER, hub1 + "      TargetType: instance\n      Protocol: HTTP\n"
                                                   "      Port: !Ref NodeProxyPort\n",
                            hub1 + "      TargetType: instance\n      Protocol: HTTP\n      Port: !Ref Hub2NodeProxyPort\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG511")
    line, col = position(template, "Port: !Ref Hub2NodeProxyPort\n      VpcId")
    assert at(p) == (CLUSTER, line, col)
    assert "Service course/proxy-public" in p["message"] and "node port 30060" in p["message"]
    assert "Hub1TargetGroup" in p["message"] and "30061" in p["message"] and "hubs[1].nodePort" in p["message"]


def test_node_port_override_past_validation_is_hg511_at_the_override(repo, invoke_hubgen, engines, monkeypatch):
    """HG218 owns `proxy.service.nodePorts`; with that guard gone, the chart engine still catches the override."""
    from generator.render import values

    monkeypatch.delitem(values.OWNED_VALUES, ("proxy", "service", "nodePorts"))
    text = replace_once(repo / DEV, "    culling:\n", "    values:\n      proxy:\n        service:\n"
                                                     "          nodePorts:\n            http: 30099\n    culling:\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG511")
    assert at(p) == (DEV, *position(text, "nodePorts"))
    assert "node port 30099" in p["message"] and "forwards to port 30052" in p["message"]
    assert "parameter NodeProxyPort, from hubs[0].nodePort" in p["message"]


# --- HG512 node groups -----------------------------------------------------------------------------------

def test_pod_node_selector_no_group_has(repo, invoke_hubgen, engines):
    text = research_values(repo, "      hub:\n        nodeSelector:\n          disktype: ssd\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG512")
    assert at(p) == (PROD, *position(text, "disktype"))
    assert p["path"] == "/hubs/1/values/hub/nodeSelector/disktype"
    assert "Deployment research/hub" in p["message"] and "nodeSelector disktype=ssd" in p["message"]
    assert "core, user, user-spot, gpu" in p["message"]


def test_user_servers_without_the_user_taint_toleration(repo, invoke_hubgen, engines):
    """prod has user groups, so servers require user nodes; without the chart's toleration of the user taint
    (replaced through `values`) they fit no group."""
    text = (repo / PROD).read_text()
    start = text.index("    profiles:\n      - name: standard")
    end = text.index("    # Teaching assistants")
    text = text[:start] + "    values:\n      scheduling:\n        userPods:\n          tolerations: []\n" + text[end:]
    (repo / PROD).write_text(text)
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    found = problems(doc, "HG512")
    assert len(found) == len(doc["problems"]) == 3, doc["problems"]
    assert {at(p) for p in found} == {(PROD, *position(text, "tolerations: []"))}
    servers, pullers = found[-1], found[:-1]
    assert "hub course's notebook servers (KubeSpawner" in servers["message"]
    assert "hub.jupyter.org/dedicated=user:NoSchedule" in servers["message"] and "user-spot" in servers["message"]
    # The chart's image pullers follow the same user-pod tolerations, and would run nowhere either.
    assert ["DaemonSet course/continuous-image-puller" in pullers[0]["message"],
            "DaemonSet course/hook-image-puller" in pullers[1]["message"]] == [True, True]


@pytest.mark.parametrize("break_,expect", [
    ("toleration", "nvidia.com/gpu=true:NoSchedule"),
    ("group", "nodeSelector hubgen.dev/node-group=gpu-old: no node group's nodes carry it"),
])
def test_profile_whose_node_group_is_missing_or_not_tolerated(repo, invoke_hubgen, engines, monkeypatch, break_,
                                                             expect):
    """A profile's node selector and tolerations come from its node group, which HG235 checks in the spec; a
    renderer that forgot the GPU taint, or named a group that is gone, is caught at the profile's node group."""
    from generator.render import values

    original = values.profile_entry

    def broken(profile, cluster):
        entry = original(profile, cluster)
        override = entry["kubespawner_override"]
        if profile.gpus and break_ == "toleration":
            override["tolerations"] = [t for t in override["tolerations"] if t["key"] != "nvidia.com/gpu"]
        elif profile.gpus:
            override["node_selector"] = {"hubgen.dev/node-group": "gpu-old"}
        return entry

    monkeypatch.setattr(values, "profile_entry", broken)
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG512")
    text = (repo / PROD).read_text()
    line, col = position(text, "nodeGroup: gpu")
    assert at(p) == (PROD, line, col + len("nodeGroup: "))
    assert p["path"] == "/hubs/1/profiles/2/nodeGroup"
    assert "profile 'gpu' of hub research" in p["message"] and expect in p["message"]


def test_placement_semantics():
    groups = [cr.GroupShape("core", 0, {"hub.jupyter.org/node-purpose": frozenset({"core"}),
                                        "kubernetes.io/hostname": cr.ANY}, ()),
              cr.GroupShape("gpu", 1, {"hub.jupyter.org/node-purpose": frozenset({"user"}),
                                       "node.kubernetes.io/instance-type": frozenset({"g5.xlarge", "g5.2xlarge"})},
                            (Taint("nvidia.com/gpu", "true", "NoSchedule"),))]
    tolerate_all = [{"operator": "Exists"}]

    def term(*exprs):
        return {"matchExpressions": list(exprs)}

    assert cr.placement(groups, {}, [], []) is None  # core has no taint
    assert cr.placement(groups, {"hub.jupyter.org/node-purpose": "user"}, [], tolerate_all) is None
    assert cr.placement(groups, {"hub.jupyter.org/node-purpose": "user"}, [], []).tolerations
    assert cr.placement(groups, {"hub.jupyter.org/node-purpose": "user"}, [],
                        [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]) is None
    # Terms are ORed, expressions ANDed.
    assert cr.placement(groups, {}, [term({"key": "node.kubernetes.io/instance-type", "operator": "In",
                                           "values": ["m5.large"]}),
                                      term({"key": "hub.jupyter.org/node-purpose", "operator": "NotIn",
                                            "values": ["user"]})], []) is None
    why = cr.placement(groups, {}, [term({"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]},
                                         {"key": "gpu-model", "operator": "Exists"})], tolerate_all)
    assert why is not None and "required node affinity" in why.reason and "gpu-model" in why.label_keys
    assert cr.placement(groups, {"kubernetes.io/hostname": "ip-10-0-0-1"}, [], []) is None  # any hostname
    # A label a component sets at run time: dormant by design, not a finding.
    assert cr.placement(groups, {"nvidia.com/mps.capable": "true"}, [], []) is None


# --- HG513 service accounts and roles ----------------------------------------------------------------------

def test_service_account_role_the_spec_does_not_declare(repo, invoke_hubgen, engines):
    role = "arn:aws:iam::553778890976:role/jupyter-prod-admin"
    text = research_values(repo, f"      hub:\n        serviceAccount:\n          annotations:\n"
                                 f"            eks.amazonaws.com/role-arn: {role}\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG513")
    assert at(p) == (PROD, *position(text, role))
    assert "ServiceAccount research/hub" in p["message"] and role in p["message"] and "does not declare" in p["message"]


def test_declared_role_on_another_service_account(repo, invoke_hubgen, engines):
    """The research notebooks' role, put on the hub's own service account: its trust policy names another."""
    role = "arn:aws:iam::553778890976:role/jupyter-prod-research-notebook"
    research_values(repo, f"      hub:\n        serviceAccount:\n          annotations:\n"
                          f"            eks.amazonaws.com/role-arn: {role}\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG513")
    assert p["path"] == "/hubs/1/values/hub/serviceAccount/annotations/eks.amazonaws.com/role-arn"
    assert "research/research-notebook" in p["message"] and "research/hub could not assume it" in p["message"]


def test_autoscaler_service_account_without_its_pod_identity_association(repo, invoke_hubgen, engines):
    template = replace_once(repo / CLUSTER, "      Namespace: kube-system\n      ServiceAccount: cluster-autoscaler\n",
                            "      Namespace: kube-system\n      ServiceAccount: autoscaler\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG513")
    assert at(p) == (CLUSTER, *position(template, "ServiceAccount: autoscaler"))
    assert "HelmRelease kube-system/cluster-autoscaler" in p["message"]
    assert "kube-system/cluster-autoscaler" in p["message"] and "kube-system/autoscaler" in p["message"]


# --- HG514 Secrets ----------------------------------------------------------------------------------------

def test_secret_a_pod_reads_that_nothing_provides(repo, invoke_hubgen, engines):
    text = research_values(repo, "      hub:\n        extraEnv:\n          API_TOKEN:\n            valueFrom:\n"
                                 "              secretKeyRef:\n                name: api-token\n"
                                 "                key: token\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG514")
    assert at(p) == (PROD, *position(text, "api-token"))
    assert "Deployment research/hub" in p["message"] and "Secret research/api-token key 'token'" in p["message"]


def test_values_from_secret_that_is_not_there(repo, invoke_hubgen, engines):
    """`validate` (HG305) checks the secret files; `lint` validates the spec only, so the chart engine checks
    what the HelmRelease reads against what the environment provides."""
    text = replace_once(repo / DEV, "        name: hub-auth\n", "        name: hub-login\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG514")
    assert at(p) == (DEV, *position(text, "hub-login"))
    assert p["path"] == "/hubs/0/auth/passwordSecret/name"
    assert "HelmRelease dev/dev" in p["message"] and "Secret dev/hub-login key 'password'" in p["message"]


def test_values_from_key_the_secret_lacks(repo, invoke_hubgen, engines):
    text = replace_once(repo / DEV, "        key: password\n", "        key: passwd\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG514")
    assert at(p) == (DEV, *position(text, "passwd"))
    assert "no such key (keys: password)" in p["message"]


# --- HG515 Flux Kustomizations -----------------------------------------------------------------------------

def test_kustomization_path_that_does_not_build(repo, invoke_hubgen, engines):
    """Two of the team's manifests define the same object: `validate` takes each file alone, kustomize refuses."""
    extra = repo / "environments" / "dev" / "extra"
    extra.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (extra / name).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: dev\n"
                                  "data:\n  greeting: hello\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG515")
    entry = "environments/dev/cluster/hubs.yaml"
    rendered = _rendered(repo, "dev", entry)
    assert at(p) == (entry, *position(rendered, "path: ./environments/dev/extra"))
    assert "flux-system/dev-extra" in p["message"] and "already registered id" in p["message"]


def _rendered(repo: Path, env: str, path: str) -> str:
    from generator import lint
    from generator.paths import RepoPaths
    from generator.validate.environments import validate

    repo_paths = RepoPaths(repo)
    context = validate(repo_paths, [env], files=False).environments[env].context
    return next(f.content.decode() for f in lint.render_in(repo_paths, env, context.model) if f.path == path)


def test_kustomize_build_runs_the_way_flux_generates_a_kustomization(tmp_path, kustomize_bin):
    """A folder without kustomization.yaml: every YAML file below it, a sub-folder with its own as a folder."""
    (tmp_path / "sub" / "own").mkdir(parents=True)
    (tmp_path / "b.yaml").write_text("")
    (tmp_path / "sub" / "a.yml").write_text("")
    (tmp_path / "sub" / "notes.txt").write_text("")
    (tmp_path / "sub" / "own" / "kustomization.yaml").write_text("")
    (tmp_path / "sub" / "own" / "x.yaml").write_text("")
    assert cr._generated_kustomization(tmp_path)["resources"] == ["./b.yaml", "./sub/a.yml", "./sub/own"]


# --- availability ----------------------------------------------------------------------------------------

def test_platform_chart_not_in_the_cache_is_a_warning_naming_it(repo, invoke_hubgen, engines, chart_cache, tmp_path,
                                                                monkeypatch):
    cache = tmp_path / "charts"
    shutil.copytree(chart_cache / "jupyterhub-4.4.0", cache / "jupyterhub-4.4.0")
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(cache))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 0
    p = only(doc, "HG504")
    assert p["severity"] == "warning" and p["file"] == "environments/dev/platform/cluster-autoscaler.yaml"
    assert "cluster-autoscaler 9.59.0" in p["message"] and "not rendered" in p["message"] and "offline" in p["message"]


def test_missing_helm_is_an_error(repo, invoke_hubgen, engines, tmp_path, monkeypatch):
    monkeypatch.setenv("HUBGEN_HELM", str(tmp_path / "no-such-helm"))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "chart")
    assert rc == 1
    p = only(doc, "HG506")
    assert "helm not found" in p["message"] and "HUBGEN_HELM" in p["message"]


def test_charts_fetched_from_their_redirected_repositories(repo, invoke_hubgen, engines, tmp_path, monkeypatch):
    """Online: each HelmRelease's chart is fetched through hubgen's fetcher (index, digest) from the local
    repository its HelmRepository URL is redirected to, and kept whole in the chart cache."""
    from generator import versions

    charts = {name: {version: package(reference_chart(name, version), name)} for name, version in rendered_charts()}
    cache = tmp_path / "chart-cache"
    monkeypatch.delenv("HUBGEN_OFFLINE")
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(cache))
    with helm_repository(tmp_path / "www", charts) as url:
        monkeypatch.setenv("HUBGEN_CHART_REPOSITORY", url)
        monkeypatch.setenv("HUBGEN_CHART_MIRRORS", " ".join(
            f"{c.repository}={url}" for c in (versions.CLUSTER_AUTOSCALER_CHART, versions.NVIDIA_DEVICE_PLUGIN_CHART)))
        rc, doc = lint_json(invoke_hubgen, repo, "-e", "chart")
    assert rc == 0 and doc["problems"] == [], doc["problems"]
    for name, version in rendered_charts():
        entry = cache / f"{name}-{version}"
        assert (entry / "chart.tgz").read_bytes() == charts[name][version]
        assert json.loads((entry / "hubgen-chart.json").read_text())["url"].startswith(url)
