"""What hubgen renders for Kubernetes and Flux beyond the hubs: environments/<env>/platform/ (StorageClasses,
cluster-autoscaler, the NVIDIA device plugin), the Flux Kustomizations that apply it, the hubs' placement and
auth values, aws-auth by authentication mode; kubeconform per environment version; HG508 (the chart's
kubeVersion); HG218 for the new owned values.

The examples are rendered in memory from the checkout (nothing is written); the CLI cases work on a copy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from generator import paths, versions
from generator.artifacts import Kind
from generator.engines import kube_version
from generator.engines.chart_values import fetch_chart, helm_merge, resolve_chart
from generator.engines.kubeconform import check_manifests
from generator.model import Environment
from generator.paths import RepoPaths
from generator.platform import nodes
from generator.render import render_environment
from generator.render.cloudformation import tags
from generator.render.common import HEADER_MARK, hand_edited
from generator.render.values import owned_overrides, release_values
from generator.validate.environments import validate

from tests.charts import helm_repository, package, reference_chart
from tests.core.specs import REPO_ROOT, position, replace_once

ENVS = ("dev", "prod")


# --- the examples, rendered in memory ----------------------------------------------------------------

@pytest.fixture(scope="module")
def models() -> dict[str, Environment]:
    validation = validate(RepoPaths(REPO_ROOT), list(ENVS), files=False)
    assert all(r.ok for r in validation.environments.values()), validation.problems
    return {name: r.context.model for name, r in validation.environments.items()}


def rendered(env: Environment) -> dict[str, bytes]:
    return {f.path: f.content for f in render_environment(env)}


def docs(content: bytes) -> list[dict]:
    return [d for d in yaml.safe_load_all(content.decode("utf-8")) if d is not None]


def one(content: bytes, kind: str) -> dict:
    [doc] = [d for d in docs(content) if d["kind"] == kind]
    return doc


def platform_files(env: Environment) -> dict[str, bytes]:
    p = paths.EnvPaths(env.name)
    return {path: c for path, c in rendered(env).items() if path.startswith(p.platform_dir + "/")}


def hub_values(env: Environment, hub: str) -> dict:
    release = one(rendered(env)[paths.EnvPaths(env.name).hub_release(hub)], "HelmRelease")
    return release["spec"]["values"]


def with_cluster(env: Environment, **changes) -> Environment:
    return dataclasses.replace(env, cluster=dataclasses.replace(env.cluster, **changes))


# --- the platform folder -------------------------------------------------------------------------------

def test_platform_folder_is_generated_with_headers_and_a_kustomization(models):
    assert "platform" in paths.GENERATED_DIRS
    for env in models.values():
        p = paths.EnvPaths(env.name)
        files = platform_files(env)
        for path, content in files.items():
            text = content.decode()
            assert text.startswith(HEADER_MARK) and not hand_edited(text), path
            assert RepoPaths(REPO_ROOT).is_generated(path), path
        listed = yaml.safe_load(files[p.platform_kustomization])["resources"]
        assert sorted(listed) == sorted(Path(f).name for f in files if f != p.platform_kustomization)


def test_storage_classes_are_encrypted_gp3_on_the_ebs_csi_driver_tagged_for_cost(models):
    for env in models.values():
        classes = docs(platform_files(env)[paths.EnvPaths(env.name).storage_classes])
        assert [c["metadata"]["name"] for c in classes] == [sc.name for sc in env.cluster.storage_classes]
        expected_tags = {**dict(env.tags), "hubgen:environment": env.name}
        for doc, sc in zip(classes, env.cluster.storage_classes):
            assert doc["apiVersion"] == "storage.k8s.io/v1" and doc["kind"] == "StorageClass"
            assert doc["provisioner"] == "ebs.csi.aws.com"
            assert doc["volumeBindingMode"] == "WaitForFirstConsumer" and doc["allowVolumeExpansion"] is True
            assert doc["reclaimPolicy"] == sc.reclaim_policy
            params = doc["parameters"]
            assert params["type"] == sc.volume_type and params["encrypted"] == "true" and "kmsKeyId" not in params
            spec_tags = {k: v for k, v in params.items() if k.startswith("tagSpecification_")}
            assert sorted(spec_tags) == [f"tagSpecification_{i}" for i in range(1, len(expected_tags) + 1)]
            assert dict(v.split("=", 1) for v in spec_tags.values()) == expected_tags == tags(env)
            annotations = doc["metadata"]["annotations"]
            assert annotations["kustomize.toolkit.fluxcd.io/force"] == "enabled"  # parameters are immutable
            assert (annotations.get("storageclass.kubernetes.io/is-default-class") == "true") is sc.default


def test_prod_renders_both_classes_with_one_default_and_the_retained_one(models):
    classes = {c["metadata"]["name"]: c for c in docs(platform_files(models["prod"])[
        paths.EnvPaths("prod").storage_classes])}
    assert set(classes) == {"gp3", "gp3-retain"}
    assert classes["gp3-retain"]["reclaimPolicy"] == "Retain"
    defaults = [n for n, c in classes.items()
                if c["metadata"]["annotations"].get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["gp3"]


def test_a_kms_key_is_passed_to_the_driver(models):
    env = models["dev"]
    key = "arn:aws:kms:us-east-1:553778890976:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    classes = tuple(dataclasses.replace(sc, kms_key_arn=key) for sc in env.cluster.storage_classes)
    [doc] = docs(platform_files(with_cluster(env, storage_classes=classes))[paths.EnvPaths("dev").storage_classes])
    assert doc["parameters"]["kmsKeyId"] == key and doc["parameters"]["encrypted"] == "true"


# --- cluster-autoscaler ----------------------------------------------------------------------------------

def test_autoscaler_release_is_pinned_and_tied_to_the_stack(models):
    chart = versions.CLUSTER_AUTOSCALER_CHART
    assert (chart.name, chart.version, chart.repository) == (
        "cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
    for env in models.values():
        content = platform_files(env)[paths.EnvPaths(env.name).cluster_autoscaler]
        repo = one(content, "HelmRepository")
        release = one(content, "HelmRelease")
        assert repo["spec"]["url"] == chart.repository and repo["metadata"]["namespace"] == "flux-system"
        assert release["apiVersion"] == versions.FLUX_HELMRELEASE_API
        assert release["metadata"]["namespace"] == "kube-system"
        source = release["spec"]["chart"]["spec"]
        assert (source["chart"], source["version"]) == (chart.name, chart.version)
        assert source["sourceRef"] == {"kind": "HelmRepository", "name": repo["metadata"]["name"],
                                       "namespace": "flux-system"}
        values = release["spec"]["values"]
        assert values["autoDiscovery"]["clusterName"] == env.cluster.stack_name
        assert values["awsRegion"] == env.region and values["cloudProvider"] == "aws"
        # The stack's EKS Pod Identity association names kube-system/cluster-autoscaler.
        assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
        assert values["nodeSelector"] == {nodes.NODE_PURPOSE_LABEL: "core"}
        args = values["extraArgs"]
        assert args["balance-similar-node-groups"] is True and args["skip-nodes-with-local-storage"] is False
        assert args["expander"] == "least-waste"
        assert values["image"]["tag"] == "v1.35.2"  # the examples run Kubernetes 1.35


def test_autoscaler_image_follows_the_cluster_minor_or_keeps_the_chart_default(models):
    def values(version: str) -> dict:
        env = with_cluster(models["dev"], kubernetes_version=version)
        return one(platform_files(env)[paths.EnvPaths("dev").cluster_autoscaler], "HelmRelease")["spec"]["values"]

    assert values("1.32")["image"] == {"tag": "v1.32.7"}
    assert values("1.34")["image"] == {"tag": "v1.34.5"}
    assert "image" not in values("1.99")  # no known release for that minor: the chart's own image
    chart_values = yaml.safe_load((reference_chart("cluster-autoscaler", "9.59.0") / "values.yaml").read_text())
    assert chart_values["image"]["tag"] == "v1.35.0"


def test_autoscaler_disabled_renders_no_release(models):
    env = with_cluster(models["prod"], autoscaler=False)
    files = platform_files(env)
    p = paths.EnvPaths("prod")
    assert p.cluster_autoscaler not in files
    assert "cluster-autoscaler.yaml" not in yaml.safe_load(files[p.platform_kustomization])["resources"]


# --- the NVIDIA device plugin -----------------------------------------------------------------------------

def test_device_plugin_only_where_a_node_group_has_gpus(models):
    assert any(nodes.has_gpus(g) for g in models["prod"].cluster.node_groups)
    assert not any(nodes.has_gpus(g) for g in models["dev"].cluster.node_groups)
    assert paths.EnvPaths("prod").nvidia_device_plugin in platform_files(models["prod"])
    assert paths.EnvPaths("dev").nvidia_device_plugin not in platform_files(models["dev"])


def test_device_plugin_runs_on_every_gpu_node_and_tolerates_its_taints(models):
    env = models["prod"]
    content = platform_files(env)[paths.EnvPaths("prod").nvidia_device_plugin]
    chart = versions.NVIDIA_DEVICE_PLUGIN_CHART
    assert one(content, "HelmRepository")["spec"]["url"] == "https://nvidia.github.io/k8s-device-plugin"
    release = one(content, "HelmRelease")
    assert release["spec"]["chart"]["spec"]["version"] == chart.version == "0.20.0"
    assert release["metadata"]["namespace"] == "kube-system"  # the chart refuses namespace default
    values = release["spec"]["values"]
    # Merged over the chart's defaults as Helm does: no Node Feature Discovery label is left in the affinity.
    defaults = yaml.safe_load((reference_chart(chart.name, chart.version) / "values.yaml").read_text())
    merged = helm_merge(defaults, values)
    terms = merged["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": nodes.GPU_LABEL, "operator": "In", "values": ["true"]}]}]
    tolerations = merged["tolerations"]
    assert tolerations == [nodes.USER_TAINT.toleration(), nodes.GPU_TAINT.toleration()]
    for group in env.cluster.node_groups:
        if nodes.has_gpus(group):
            assert nodes.labels(group)[nodes.GPU_LABEL] == "true"
            for taint in nodes.taints(group):
                assert taint.toleration() in tolerations, (group.name, taint)


def test_pinned_platform_charts_admit_the_examples_kubernetes_version(models):
    for chart in (versions.CLUSTER_AUTOSCALER_CHART, versions.NVIDIA_DEVICE_PLUGIN_CHART):
        meta = yaml.safe_load((reference_chart(chart.name, chart.version) / "Chart.yaml").read_text())
        assert meta["version"] == chart.version
        constraint = meta.get("kubeVersion")
        for env in models.values():
            assert constraint is None or kube_version.eks_admits(constraint, env.cluster.kubernetes_version)


# --- Flux ---------------------------------------------------------------------------------------------------

def test_platform_kustomization_comes_before_the_hubs(models):
    for env in models.values():
        p = paths.EnvPaths(env.name)
        entry = {d["metadata"]["name"]: d for d in docs(rendered(env)[p.flux_entrypoint])}
        platform = entry[f"{env.name}-platform"]["spec"]
        assert platform["path"] == f"./{p.platform_dir}" and platform["prune"] is True and platform["wait"] is True
        depends = [d["name"] for d in entry[f"{env.name}-hubs"]["spec"]["dependsOn"]]
        assert depends[0] == f"{env.name}-platform"
        assert (f"{env.name}-secrets" in depends) is (f"{env.name}-secrets" in entry)


# --- the hubs' values -----------------------------------------------------------------------------------------

def test_prod_profiles_render_to_profile_lists(models):
    env = models["prod"]
    for hub in env.hubs:
        entries = hub_values(env, hub.name)["singleuser"]["profileList"]
        assert [e["slug"] for e in entries] == [p.name for p in hub.profiles]
        for entry, profile in zip(entries, hub.profiles):
            assert entry["display_name"] == profile.display_name
            assert entry.get("description", "") == profile.description
            assert entry.get("default", False) is profile.default
            override = entry["kubespawner_override"]
            group = env.cluster.node_group(profile.node_group)
            assert override["node_selector"] == {nodes.NODE_GROUP_LABEL: group.name}
            assert override["tolerations"] == [t.toleration() for t in nodes.taints(group)]
            assert nodes.USER_TAINT.toleration() in override["tolerations"]  # KubeSpawner replaces the chart's
            for key, value in (("cpu_guarantee", profile.cpu_guarantee), ("cpu_limit", profile.cpu_limit),
                               ("mem_guarantee", profile.memory_guarantee), ("mem_limit", profile.memory_limit)):
                assert override.get(key) == value, (profile.name, key)
            assert "image" not in override  # the examples' profiles use the hub's image
            if profile.gpus:
                assert override["extra_resource_limits"] == {"nvidia.com/gpu": profile.gpus}
                assert nodes.GPU_TAINT.toleration() in override["tolerations"]
            else:
                assert "extra_resource_limits" not in override
                assert nodes.GPU_TAINT.toleration() not in override["tolerations"]
    gpu = next(e for e in hub_values(env, "research")["singleuser"]["profileList"] if e["slug"] == "gpu")
    assert gpu["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": 1}


def test_a_profile_image_is_name_and_tag(models):
    env = models["prod"]
    hub = env.hubs[0]
    profile = dataclasses.replace(hub.profiles[0], image_name="quay.io/jupyter/scipy-notebook", image_tag="2026-11-02")
    values = release_values(dataclasses.replace(hub, profiles=(profile,)), env.cluster)
    assert values["singleuser"]["profileList"][0]["kubespawner_override"]["image"] == \
        "quay.io/jupyter/scipy-notebook:2026-11-02"


def test_scheduling_requires_user_nodes_only_where_there_are_user_groups(models):
    prod = hub_values(models["prod"], "course")["scheduling"]
    assert prod["userPods"]["nodeAffinity"]["matchNodePurpose"] == "require"
    assert prod["corePods"]["nodeAffinity"]["matchNodePurpose"] == "require"
    dev = hub_values(models["dev"], "dev")["scheduling"]
    assert dev["userPods"]["nodeAffinity"]["matchNodePurpose"] == "prefer"
    assert dev["corePods"]["nodeAffinity"]["matchNodePurpose"] == "require"
    # The spec's own `values` keep what hubgen does not own (research turns the user scheduler on).
    assert hub_values(models["prod"], "research")["scheduling"]["userScheduler"] == {"enabled": True}


def test_github_organizations_request_read_org(models):
    env = models["prod"]
    section = hub_values(env, "course")["hub"]["config"]["GitHubOAuthenticator"]
    assert section["allowed_organizations"] == ["asfadmin:course-staff", "asfadmin:geos-students"]
    assert section["scope"] == ["read:org"]
    hub = env.hubs[0]
    bare = dataclasses.replace(hub, auth=dataclasses.replace(
        hub.auth, oauth=dataclasses.replace(hub.auth.oauth, allowed_organizations=())))
    section = release_values(bare, env.cluster)["hub"]["config"]["GitHubOAuthenticator"]
    assert "scope" not in section and "allowed_organizations" not in section


def test_generic_oauth_authorizes_by_groups_without_deprecated_names(models):
    env = models["prod"]
    section = hub_values(env, "research")["hub"]["config"]["GenericOAuthenticator"]
    assert section["scope"] == ["openid", "profile", "email", "groups"]
    assert section["manage_groups"] is True
    assert section["auth_state_groups_key"] == "oauth_user.groups"
    assert section["allowed_groups"] == ["research"] and section["admin_groups"] == ["research-admins"]
    assert "claim_groups_key" not in section  # deprecated since OAuthenticator 17 (the 4.x hub image's)
    hub = env.hubs[1]
    with_orgs = dataclasses.replace(hub, auth=dataclasses.replace(
        hub.auth, oauth=dataclasses.replace(hub.auth.oauth, allowed_organizations=("asfadmin",))))
    section = release_values(with_orgs, env.cluster)["hub"]["config"]["GenericOAuthenticator"]
    assert "allowed_organizations" not in section  # GenericOAuthenticator has no such option


# --- aws-auth ----------------------------------------------------------------------------------------------------

def test_aws_auth_is_rendered_exactly_when_the_cluster_reads_it(models):
    dev, prod = models["dev"], models["prod"]
    assert dev.cluster.authentication_mode == "API_AND_CONFIG_MAP" and prod.cluster.authentication_mode == "API"
    assert paths.EnvPaths("dev").aws_auth in rendered(dev)
    assert paths.EnvPaths("prod").aws_auth not in rendered(prod)
    for env in (dev, with_cluster(prod, authentication_mode="CONFIG_MAP")):
        data = one(rendered(env)[paths.EnvPaths(env.name).aws_auth], "ConfigMap")["data"]
        roles = yaml.safe_load(data["mapRoles"])
        users = yaml.safe_load(data.get("mapUsers", "[]"))
        assert roles[0]["rolearn"] == env.node_role_arn and "system:nodes" in roles[0]["groups"]
        admitted = {r["rolearn"] for r in roles[1:]} | {u["userarn"] for u in users}
        assert admitted == {p.arn_without_path if p.kind == "role" else p.arn for p in env.admin_principals}


# --- kubeconform, per environment version ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hubgen-cache")


def test_rendered_examples_are_kubeconform_clean_at_their_version(models, kubeconform_bin, schema_cache,
                                                                  monkeypatch):
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(schema_cache))
    monkeypatch.setenv("HUBGEN_KUBECONFORM", str(kubeconform_bin))
    for env in models.values():
        assert env.cluster.kubernetes_version == "1.35"
        files = [f for f in render_environment(env) if f.kind is Kind.K8S_MANIFEST]
        assert any(f.path.startswith(paths.EnvPaths(env.name).platform_dir) for f in files)
        assert check_manifests(RepoPaths(REPO_ROOT), files, kubernetes_version="1.35.0") == []


DEVICE_CLASS = """\
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata:
  name: gpu.example.com
spec:
  selectors:
  - cel:
      expression: device.driver == "gpu.example.com"
"""


@pytest.fixture
def lint_repo(repo, monkeypatch, kubeconform_bin, tmp_path):
    """The repository copy, hubgen offline with its own cache and the real kubeconform."""
    for k in [k for k in os.environ if k.startswith("HUBGEN_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("HUBGEN_OFFLINE", "1")
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HUBGEN_KUBECONFORM", str(kubeconform_bin))
    return repo


def test_each_environment_is_checked_against_its_own_kubernetes_version(lint_repo, invoke_hubgen, tmp_path):
    """resource.k8s.io/v1 (DeviceClass) is served from Kubernetes 1.34: valid for a 1.35 environment, no schema
    for a 1.32 one, in the same run."""
    old = lint_repo / "environments" / "old"
    old.mkdir()
    text = (lint_repo / "environments" / "dev" / "environment.yaml").read_text()
    for a, b in (("\nname: dev\n", "\nname: old\n"), ("stackName: jupyter-dev\n", "stackName: jupyter-old\n"),
                 ('kubernetesVersion: "1.35"', 'kubernetesVersion: "1.32"')):
        text = replace_once(text, a, b)
    (old / "environment.yaml").write_text(text)
    for name in ("dev", "old"):
        extra = lint_repo / "environments" / name / "extra"
        extra.mkdir()
        (extra / "deviceclass.yaml").write_text(DEVICE_CLASS)
    result = invoke_hubgen(["--repo", str(lint_repo), "--format", "json", "lint", "dev", "old", "-e", "kubeconform"])
    assert "Traceback" not in result.stderr, result
    doc = json.loads(result.stdout)
    found = [(p["file"], p["code"]) for p in doc["problems"] if p["severity"] == "error"]
    assert found == [("environments/old/extra/deviceclass.yaml", "HG502")], result
    [p] = [p for p in doc["problems"] if p["code"] == "HG502"]
    assert "no schema for apiVersion 'resource.k8s.io/v1' kind 'DeviceClass'" in p["message"]
    built = sorted(d.name.split("-")[0] for d in (tmp_path / "cache" / "kubeconform-schemas").iterdir()
                   if not d.name.startswith("."))
    assert built == ["k8s1.32.0", "k8s1.35.0"]


# --- HG508: the chart's kubeVersion ------------------------------------------------------------------------------

@pytest.mark.parametrize("constraint,minor,admitted", [
    (">=1.28.0-0", "1.35", True),          # the JupyterHub chart 4.4.0's
    (">= 1.10.0-0", "1.35", True),         # the NVIDIA device plugin 0.20.0's
    (">=1.28.0", "1.35", False),           # no -0: EKS's v1.35.N-eks-... is a pre-release to semver
    (">= 1.21.0-0 < 1.35.0-0", "1.35", False),
    (">= 1.21.0-0, < 1.36.0-0", "1.35", True),
    (">=1.36.0-0", "1.35", False),
    ("1.30.0-0 - 1.35.99-0", "1.35", True),  # hyphen range
    ("<1.30.0-0 || >=1.34.0-0", "1.35", True),
    ("<1.30.0-0 || >=1.36.0-0", "1.35", False),
    ("~1.35.0-0", "1.35", True),
    ("^1.20.0-0", "1.35", True),
    (">=1.33.0-0", "1.32", False),
])
def test_kube_version_constraints_as_helm_reads_them_on_eks(constraint, minor, admitted):
    assert kube_version.eks_admits(constraint, minor) is admitted


def test_kube_version_without_the_prerelease_suffix_admits_release_versions_only():
    assert kube_version.release_admits(">=1.28.0", "1.35") and not kube_version.eks_admits(">=1.28.0", "1.35")
    with pytest.raises(kube_version.ConstraintError):
        kube_version.Constraint.parse(">>1.28")


@pytest.fixture
def chart_cache_with(tmp_path, monkeypatch):
    """A chart cache filled by hubgen's fetcher with the reference JupyterHub chart 4.4.0 whose Chart.yaml
    kubeVersion is replaced; hubgen is offline afterwards."""
    def build(constraint: str) -> Path:
        chart = tmp_path / "chart"
        shutil.copytree(reference_chart("jupyterhub", "4.4.0"), chart)
        meta = (chart / "Chart.yaml").read_text()
        (chart / "Chart.yaml").write_text(replace_once(meta, 'kubeVersion: ">=1.28.0-0"',
                                                       f"kubeVersion: {json.dumps(constraint)}"))
        cache = tmp_path / "charts"
        with helm_repository(tmp_path / "www", {"jupyterhub": {"4.4.0": package(chart, "jupyterhub")}}) as url:
            fetch_chart(cache, "4.4.0", repository=url)
        assert (cache / "jupyterhub-4.4.0" / "Chart.yaml").is_file()
        monkeypatch.setenv("HUBGEN_CHART_CACHE", str(cache))
        return cache
    return build


@pytest.mark.parametrize("constraint,reason", [
    (">=1.36.0-0", "which excludes Kubernetes 1.35"),
    (">=1.20.0", "not the version EKS reports"),
])
def test_chart_excluding_the_cluster_version_is_hg508_at_the_hub_chart_version(lint_repo, invoke_hubgen,
                                                                               chart_cache_with, constraint, reason):
    chart_cache_with(constraint)
    result = invoke_hubgen(["--repo", str(lint_repo), "--format", "json", "lint", "dev", "-e", "values"])
    assert result.rc == 1, result
    doc = json.loads(result.stdout)
    [p] = [p for p in doc["problems"] if p["code"] == "HG508"]
    text = (lint_repo / "environments" / "dev" / "environment.yaml").read_text()
    assert p["file"] == "environments/dev/environment.yaml"
    assert (p["line"], p["column"]) == position(text, "4.4.0", within="    chart:\n      version: 4.4.0\n")
    assert reason in p["message"] and constraint in p["message"]
    assert [q["code"] for q in doc["problems"] if q["severity"] == "error"] == ["HG508"]


def test_chart_admitting_the_cluster_version_is_no_problem(lint_repo, invoke_hubgen, chart_cache_with):
    chart_cache_with(">=1.28.0-0")
    result = invoke_hubgen(["--repo", str(lint_repo), "--format", "json", "lint", "dev", "-e", "values"])
    assert result.rc == 0, result


def test_a_cache_entry_fetched_without_chart_yaml_is_completed_when_online(tmp_path, monkeypatch):
    chart = reference_chart("jupyterhub", "4.4.0")
    cache = tmp_path / "charts"
    with helm_repository(tmp_path / "www", {"jupyterhub": {"4.4.0": package(chart, "jupyterhub")}}) as url:
        fetch_chart(cache, "4.4.0", repository=url)
        (cache / "jupyterhub-4.4.0" / "Chart.yaml").unlink()  # as an older hubgen left it
        offline = resolve_chart(cache, "4.4.0", offline=True)
        assert offline.kube_version is None and offline.schema is not None  # values still checked
        monkeypatch.setenv("HUBGEN_CHART_REPOSITORY", url)
        online = resolve_chart(cache, "4.4.0", offline=False)
    assert online.kube_version == ">=1.28.0-0" and online.schema is not None
    assert sorted(p.name for p in cache.iterdir()) == ["jupyterhub-4.4.0"]  # nothing left behind


# --- HG218: the new owned values --------------------------------------------------------------------------------

@pytest.mark.parametrize("values,owned", [
    ({"singleuser": {"profileList": []}}, ("singleuser", "profileList")),
    ({"scheduling": {"userPods": {"nodeAffinity": {"matchNodePurpose": "ignore"}}}},
     ("scheduling", "userPods", "nodeAffinity", "matchNodePurpose")),
    ({"scheduling": {"corePods": {"nodeAffinity": {"matchNodePurpose": "prefer"}}}},
     ("scheduling", "corePods", "nodeAffinity", "matchNodePurpose")),
    ({"hub": {"config": {"GitHubOAuthenticator": {"scope": ["user"]}}}},
     ("hub", "config", "GitHubOAuthenticator", "scope")),
    ({"hub": {"config": {"GenericOAuthenticator": {"auth_state_groups_key": "x"}}}},
     ("hub", "config", "GenericOAuthenticator", "auth_state_groups_key")),
    ({"hub": {"config": {"GenericOAuthenticator": {"claim_groups_key": "roles"}}}},
     ("hub", "config", "GenericOAuthenticator", "claim_groups_key")),
    ({"hub": {"config": {"OAuthenticator": {"manage_groups": False}}}},
     ("hub", "config", "OAuthenticator", "manage_groups")),
    ({"hub": {"config": {"Authenticator": {"allowed_groups": ["x"]}}}},
     ("hub", "config", "Authenticator", "allowed_groups")),
])
def test_new_owned_values_are_refused_in_values(models, values, owned):
    env = models["prod"]
    [o] = owned_overrides(dataclasses.replace(env.hubs[1], values=values), env.cluster)
    assert o.owned[0][0] == owned


def test_values_may_still_set_the_user_scheduler(models):
    env = models["prod"]
    assert owned_overrides(env.hubs[1], env.cluster) == []  # research's `values` sets scheduling.userScheduler


def test_hg218_for_scheduling_in_values_end_to_end(repo, invoke_hubgen):
    spec = repo / "environments" / "prod" / "environment.yaml"
    text = replace_once(spec.read_text(), "      scheduling:\n        userScheduler:\n          enabled: true\n",
                        "      scheduling:\n        corePods:\n          nodeAffinity:\n"
                        "            matchNodePurpose: prefer\n")
    spec.write_text(text)
    result = invoke_hubgen(["--repo", str(repo), "--format", "json", "validate", "prod"])
    assert result.rc == 1, result
    [p] = [p for p in json.loads(result.stdout)["problems"] if p["code"] == "HG218"]
    assert (p["line"], p["column"]) == position(text, "matchNodePurpose")
    assert "cluster.nodeGroups" in p["hint"] + p["message"]
