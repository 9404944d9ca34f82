"""Golden-file tests of every renderer: what `hubgen render` writes, byte for byte.

The committed examples (``environments/dev``, ``environments/prod``) and a few targeted variants of them
(generic-oauth login with groups, a hub without IRSA, three hubs, three load balancer CIDRs, IAM *users* as
cluster admins, access entries only, pinned AMIs with a spot user group, no autoscaler) are rendered in-process and every generated file is compared with its golden copy:

* examples: ``tests/golden/<env>/<path inside environments/<env>/>``
* variants: ``tests/golden/variants/<variant>/<path inside environments/<variant>/>``

The set of files must match too: a new or vanished output file fails until the goldens are updated.

To regenerate the goldens after an intended change to a renderer, run::

    HUBGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/core/test_golden.py

then review ``git diff tests/golden`` like any other change (and re-render the examples with
``hubgen render``, which ``render --check`` in tests/core/test_cli.py insists on).

Besides the byte comparison: rendering is deterministic (twice in one process, and across processes with
different hash seeds), output is UTF-8 with LF line ends and a final newline, every YAML file carries the
generated-file header naming its spec with a matching body hash and parses, every JSON file parses, and the
three CloudFormation inputs carry the same parameters and tags.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from generator.generate import plan
from generator.paths import RepoPaths
from generator.render.common import HEADER_MARK, hand_edited, split_header

from .specs import REPO_ROOT, dump, example_data, write_spec

GOLDEN = REPO_ROOT / "tests" / "golden"
UPDATE = os.environ.get("HUBGEN_UPDATE_GOLDEN", "") == "1"
EXAMPLES = ("dev", "prod")


# --- variants: small, targeted edits of the examples ---------------------------------------------------------


def _generic_oauth(spec: dict) -> None:
    """dev's shared password replaced by an Amazon Cognito login authorized by its groups (prod's research hub
    shows Keycloak's `groups` claim; Cognito names it cognito:groups)."""
    auth = spec["hubs"][0]["auth"]
    del auth["passwordSecret"], auth["allowSharedPasswordAdmins"]
    auth["type"] = "generic-oauth"
    auth["oauth"] = {
        "clientId": "hubgen-dev",
        "clientSecret": {"name": "hub-oauth", "key": "client-secret"},
        "callbackUrl": "https://dev.jupyter.example.org/hub/oauth_callback",
        "authorizeUrl": "https://login.example.org/oauth2/authorize",
        "tokenUrl": "https://login.example.org/oauth2/token",
        "userdataUrl": "https://login.example.org/oauth2/userinfo",
        "usernameClaim": "preferred_username",
        "scope": ["openid", "profile", "email"],
        "groups": {"claim": "cognito:groups", "allowed": ["hub-users"], "admin": ["hub-admins"]},
    }


def _no_irsa(spec: dict) -> None:
    del spec["hubs"][0]["singleuser"]["awsRoleArn"]


def _three_hubs(spec: dict) -> None:
    third = copy.deepcopy(spec["hubs"][1])
    third.update(name="workshop", namespace="workshop", host="workshop.jupyter.asf.alaska.edu", nodePort=30062)
    third["auth"] = {"type": "dummy", "passwordSecret": {"name": "workshop-auth", "key": "password"},
                     "admins": ["asf-instructor"], "allowedUsers": ["asf-instructor", "guest"],
                     "allowSharedPasswordAdmins": True}
    third["singleuser"].pop("awsRoleArn")
    third.pop("values")
    # A principal has one access entry per cluster: the workshop's operator is its own role.
    third["operators"] = [{"arn": "arn:aws:iam::553778890976:role/jupyter-workshop-helper", "access": "view"}]
    third["culling"] = {"enabled": False}
    spec["hubs"].append(third)


def _three_cidrs(spec: dict) -> None:
    lb = spec["cluster"]["loadBalancer"]
    lb["allowedCidrs"] = ["137.229.0.0/16", "199.165.64.0/18", "203.0.113.0/24"]
    lb.pop("public")


def _user_admins(spec: dict) -> None:
    spec["cluster"]["admins"] = [
        {"arn": "arn:aws:iam::553778890976:user/alice"},
        {"arn": "arn:aws:iam::553778890976:role/jupyter-hub-admin", "username": "hub-admin"},
        {"arn": "arn:aws:iam::553778890976:user/ops/bob", "username": "bob-ops"},
    ]


def _api_access(spec: dict) -> None:
    """dev once its migration is done: access entries only, so no aws-auth ConfigMap is rendered."""
    spec["cluster"]["authenticationMode"] = "API"


def _pinned_amis(spec: dict) -> None:
    """dev with a pinned core AMI, and a spot user group (several types) pinned to an AMI release in the
    second subnet's zone."""
    cluster = spec["cluster"]
    cluster["nodeGroups"][0]["imageId"] = "ami-0abcdef1234567890"
    cluster["nodeGroups"].append({"name": "spot", "purpose": "user", "instanceTypes": ["m6i.xlarge", "m6a.xlarge"],
                                  "capacityType": "spot", "minSize": 0, "maxSize": 6, "diskSize": 80,
                                  "availabilityZone": "us-east-1b", "releaseVersion": "1.35.0-20260120"})


def _no_autoscaler(spec: dict) -> None:
    """dev with cluster-autoscaler turned off: its node group stays at its minSize (1)."""
    spec["cluster"]["autoscaler"] = {"enabled": False}


#: variant name -> (example it starts from, edit). The variant's environment is named after the variant.
VARIANTS: dict[str, tuple[str, Callable[[dict], None]]] = {
    "generic-oauth": ("dev", _generic_oauth),
    "no-irsa": ("dev", _no_irsa),
    "three-hubs": ("prod", _three_hubs),
    "three-cidrs": ("dev", _three_cidrs),
    "user-admins": ("dev", _user_admins),
    "api-access": ("dev", _api_access),
    "pinned-amis": ("dev", _pinned_amis),
    "no-autoscaler": ("dev", _no_autoscaler),
}


def variant_spec(name: str) -> dict[str, Any]:
    base, edit = VARIANTS[name]
    spec = example_data(base)
    spec["name"] = name
    spec["cluster"]["stackName"] = f"jupyter-{name}"  # stack names are unique per account
    spec.get("tags", {})["environment"] = name
    edit(spec)
    return spec


# --- rendering -------------------------------------------------------------------------------------------------


def render_files(root: Path, env: str) -> dict[str, bytes]:
    """Render ``env`` of the repository at ``root`` in-process: path inside environments/<env>/ -> bytes."""
    result = plan(RepoPaths(root), [env])
    assert result.ok, [f"{p.location} {p.code} {p.message}" for p in result.problems]
    assert result.problems == [], [f"{p.location} {p.code} {p.message}" for p in result.problems]
    prefix = f"environments/{env}/"
    out = {}
    for f in result.files[env]:
        assert f.path.startswith(prefix), f.path
        out[f.path[len(prefix):]] = f.content
    return out


@pytest.fixture(scope="module")
def example_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("golden-examples")
    for env in EXAMPLES:
        write_spec(root, env, (REPO_ROOT / f"environments/{env}/environment.yaml").read_bytes())
    return root


@pytest.fixture(scope="module")
def variant_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("golden-variants")
    for name in VARIANTS:
        write_spec(root, name, dump(variant_spec(name)))
    return root


def _golden_dir(kind: str, name: str) -> Path:
    return GOLDEN / name if kind == "example" else GOLDEN / "variants" / name


def _golden_files(d: Path) -> dict[str, bytes]:
    if not d.is_dir():
        return {}
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _update(d: Path, files: dict[str, bytes]) -> None:
    if d.exists():
        shutil.rmtree(d)
    for rel, content in files.items():
        target = d / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _compare(kind: str, name: str, files: dict[str, bytes]) -> None:
    d = _golden_dir(kind, name)
    if UPDATE:
        _update(d, files)
    golden = _golden_files(d)
    assert golden, f"no golden files in {d}; create them with HUBGEN_UPDATE_GOLDEN=1"
    assert sorted(files) == sorted(golden), (
        f"{name}: rendered file set differs from {d.relative_to(REPO_ROOT)} "
        f"(new: {sorted(set(files) - set(golden))}, gone: {sorted(set(golden) - set(files))}); "
        "if intended, regenerate with HUBGEN_UPDATE_GOLDEN=1")
    for rel in sorted(files):
        if files[rel] != golden[rel]:
            import difflib

            diff = "".join(difflib.unified_diff(golden[rel].decode().splitlines(True),
                                                files[rel].decode().splitlines(True),
                                                f"golden/{rel}", f"rendered/{rel}"))
            pytest.fail(f"{name}/{rel} differs from its golden copy (HUBGEN_UPDATE_GOLDEN=1 regenerates):\n{diff}")


@pytest.mark.parametrize("env", EXAMPLES)
def test_examples_match_golden(example_repo: Path, env: str) -> None:
    _compare("example", env, render_files(example_repo, env))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_match_golden(variant_repo: Path, name: str) -> None:
    _compare("variant", name, render_files(variant_repo, name))


def test_no_stray_golden_directories() -> None:
    """Goldens of removed examples or variants do not linger."""
    expected = {*EXAMPLES, "variants"}
    assert {p.name for p in GOLDEN.iterdir()} == expected
    assert {p.name for p in (GOLDEN / "variants").iterdir()} == set(VARIANTS)


# --- what each variant is about (so a golden update cannot quietly lose the point of the variant) -------------


def _yaml_docs(content: bytes) -> list[Any]:
    return list(yaml.safe_load_all(split_header(content.decode())[1]))


def test_variant_generic_oauth_wires_client_secret_through_values_from(variant_repo: Path) -> None:
    files = render_files(variant_repo, "generic-oauth")
    (release,) = _yaml_docs(files["hubs/dev/helmrelease.yaml"])
    config = release["spec"]["values"]["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert config["GenericOAuthenticator"]["token_url"] == "https://login.example.org/oauth2/token"
    assert config["GenericOAuthenticator"]["username_claim"] == "preferred_username"
    assert "client_secret" not in config["GenericOAuthenticator"]
    assert release["spec"]["valuesFrom"] == [{"kind": "Secret", "name": "hub-oauth", "valuesKey": "client-secret",
                                              "targetPath": "hub.config.GenericOAuthenticator.client_secret"}]
    # Cognito's groups claim, read from the user info OAuthenticator keeps in the auth state.
    generic = config["GenericOAuthenticator"]
    assert generic["scope"] == ["openid", "profile", "email"]
    assert (generic["manage_groups"], generic["auth_state_groups_key"]) == (True, "oauth_user.cognito:groups")
    assert (generic["allowed_groups"], generic["admin_groups"]) == (["hub-users"], ["hub-admins"])


def test_variant_without_irsa_has_no_service_account(variant_repo: Path) -> None:
    files = render_files(variant_repo, "no-irsa")
    assert "hubs/dev/serviceaccount.yaml" not in files
    (release,) = _yaml_docs(files["hubs/dev/helmrelease.yaml"])
    assert "serviceAccountName" not in release["spec"]["values"]["singleuser"]
    (kustomization,) = _yaml_docs(files["hubs/kustomization.yaml"])
    assert "dev/serviceaccount.yaml" not in kustomization["resources"]


def test_variant_three_hubs_fills_every_hub_slot(variant_repo: Path) -> None:
    files = render_files(variant_repo, "three-hubs")
    params = json.loads(files["cloudformation/cluster.template-configuration.json"])["Parameters"]
    assert (params["NodeProxyPort"], params["Hub2NodeProxyPort"], params["Hub3NodeProxyPort"]) == (
        "30060", "30061", "30062")
    assert params["Hub3Hostname"] == "workshop.jupyter.asf.alaska.edu"
    assert "hubs/workshop/helmrelease.yaml" in files
    namespaces = [d["metadata"]["name"] for d in _yaml_docs(files["cluster/namespaces.yaml"])]
    assert namespaces == ["course", "research", "workshop"]
    (kustomization,) = _yaml_docs(files["hubs/kustomization.yaml"])
    assert "workshop/helmrelease.yaml" in kustomization["resources"]


def test_variant_three_cidrs_fills_every_cidr_slot(variant_repo: Path) -> None:
    files = render_files(variant_repo, "three-cidrs")
    params = json.loads(files["cloudformation/cluster.template-configuration.json"])["Parameters"]
    assert [params[k] for k in ("LoadBalancerCidrBlock", "LoadBalancerCidrBlock2", "LoadBalancerCidrBlock3")] == [
        "137.229.0.0/16", "199.165.64.0/18", "203.0.113.0/24"]


def test_variant_user_admins_go_to_map_users(variant_repo: Path) -> None:
    files = render_files(variant_repo, "user-admins")
    (cm,) = _yaml_docs(files["cluster/aws-auth.yaml"])
    users = yaml.safe_load(cm["data"]["mapUsers"])
    roles = yaml.safe_load(cm["data"]["mapRoles"])
    assert users == [
        {"userarn": "arn:aws:iam::553778890976:user/alice", "username": "alice", "groups": ["system:masters"]},
        {"userarn": "arn:aws:iam::553778890976:user/ops/bob", "username": "bob-ops", "groups": ["system:masters"]},
    ]
    assert [r["rolearn"] for r in roles] == [
        "arn:aws:iam::553778890976:role/jupyter-user-admins-node",  # node role: fixed name derived from the stack
        "arn:aws:iam::553778890976:role/jupyter-hub-build",  # the deploy role, always admin
        "arn:aws:iam::553778890976:role/jupyter-hub-admin",
    ]
    assert roles[2]["username"] == "hub-admin"


def _parameters(files: dict[str, bytes]) -> dict[str, str]:
    return json.loads(files["cloudformation/cluster.template-configuration.json"])["Parameters"]


def test_variant_api_access_renders_no_aws_auth(variant_repo: Path) -> None:
    files = render_files(variant_repo, "api-access")
    assert _parameters(files)["AuthenticationMode"] == "API"
    assert not [rel for rel in files if "aws-auth" in rel]
    # dev itself still reads aws-auth, so it renders the ConfigMap.
    assert _parameters(render_files(variant_repo, "user-admins"))["AuthenticationMode"] == "API_AND_CONFIG_MAP"


def test_variant_pinned_amis_pins_both_kinds_of_group(variant_repo: Path) -> None:
    params = _parameters(render_files(variant_repo, "pinned-amis"))
    assert params["CoreNodeImageId"] == "ami-0abcdef1234567890"
    assert params["UserNodeGroup1Name"] == "spot" and params["UserNodeGroup2Name"] == ""
    assert (params["UserNodeGroup1CapacityType"], params["UserNodeGroup1InstanceTypes"]) == (
        "SPOT", "m6i.xlarge,m6a.xlarge")
    assert params["UserNodeGroup1ReleaseVersion"] == "1.35.0-20260120"
    assert params["UserNodeGroup1Subnets"] == "subnet-4388e824"  # the subnet of us-east-1b only
    assert (params["UserNodeGroup1MinSize"], params["UserNodeGroup1MaxSize"], params["UserNodeGroup1DiskSize"]) == (
        "0", "6", "80")


def test_variant_no_autoscaler_runs_no_cluster_autoscaler(variant_repo: Path) -> None:
    files = render_files(variant_repo, "no-autoscaler")
    assert _parameters(files)["ClusterAutoscaler"] == "false"
    assert _parameters(render_files(variant_repo, "user-admins"))["ClusterAutoscaler"] == "true"
    assert not [rel for rel, content in files.items() if b"cluster-autoscaler" in content and rel.endswith(".yaml")
                and rel.startswith("platform/")]


# --- determinism and file format -------------------------------------------------------------------------------


def _all_rendered(example_repo: Path, variant_repo: Path) -> dict[str, dict[str, bytes]]:
    out = {env: render_files(example_repo, env) for env in EXAMPLES}
    out.update({name: render_files(variant_repo, name) for name in VARIANTS})
    return out


def test_rendering_twice_gives_identical_bytes(example_repo: Path, variant_repo: Path) -> None:
    assert _all_rendered(example_repo, variant_repo) == _all_rendered(example_repo, variant_repo)


def test_output_format(example_repo: Path, variant_repo: Path) -> None:
    for env, files in _all_rendered(example_repo, variant_repo).items():
        spec = f"environments/{env}/environment.yaml"
        for rel, content in files.items():
            where = f"{env}/{rel}"
            text = content.decode("utf-8")  # UTF-8 or UnicodeDecodeError
            assert b"\r" not in content, f"{where}: CR in output (LF line ends only)"
            assert content.endswith(b"\n") and not content.endswith(b"\n\n"), f"{where}: must end in one newline"
            assert "\t" not in text, f"{where}: tab in output"
            assert not any(line != line.rstrip() for line in text.split("\n")), f"{where}: trailing whitespace"
            if rel.endswith(".json"):
                json.loads(text)  # JSON cannot carry a comment header; it must parse
                continue
            assert rel.endswith(".yaml"), where
            first = text.split("\n", 1)[0]
            assert first == f"{HEADER_MARK} from {spec}. DO NOT EDIT.", f"{where}: header is {first!r}"
            recorded, body = split_header(text)
            assert recorded is not None and not hand_edited(text), f"{where}: header hash does not match the body"
            docs = list(yaml.safe_load_all(body))
            assert docs and all(isinstance(d, dict) for d in docs), where
            if rel != "cloudformation/cluster.deployment.yaml":
                for d in docs:
                    assert d.get("apiVersion") and d.get("kind"), f"{where}: object without apiVersion/kind"


def test_cloudformation_inputs_agree(example_repo: Path, variant_repo: Path) -> None:
    """The CodePipeline, AWS CLI and Git sync inputs are three spellings of one parameter set."""
    for env, files in _all_rendered(example_repo, variant_repo).items():
        tc = json.loads(files["cloudformation/cluster.template-configuration.json"])
        cli = json.loads(files["cloudformation/cluster.parameters.json"])
        (deployment,) = _yaml_docs(files["cloudformation/cluster.deployment.yaml"])
        assert set(tc) == {"Parameters", "Tags"}
        assert all(isinstance(v, str) for v in tc["Parameters"].values()), env
        assert {p["ParameterKey"]: p["ParameterValue"] for p in cli} == tc["Parameters"], env
        assert len(cli) == len(tc["Parameters"]), f"{env}: a parameter is listed twice"
        assert deployment["parameters"] == tc["Parameters"], env
        assert deployment["tags"] == tc["Tags"], env
        assert deployment["template-file-path"] == "manifests/cloudformation/cluster.yaml"
        assert tc["Tags"]["hubgen:environment"] == env


def test_output_does_not_depend_on_hash_seed(tmp_path: Path, repo: Path, run_hubgen, tree_hashes) -> None:
    """Two fresh processes with different PYTHONHASHSEEDs write identical trees (no set/dict-order leaks)."""
    trees = []
    for seed in ("0", "4242"):
        root = tmp_path / f"seed-{seed}"
        shutil.copytree(repo / "environments", root / "environments")
        for env in EXAMPLES:
            for generated in ("cloudformation", "cluster", "hubs"):
                shutil.rmtree(root / "environments" / env / generated)
        r = run_hubgen(["--repo", root, "render"], env={"PYTHONHASHSEED": seed})
        assert r.rc == 0, r
        trees.append(tree_hashes(root))
    assert trees[0] == trees[1]
    committed = {f"environments/{k}": v for k, v in tree_hashes(repo / "environments").items()}
    assert trees[0] == committed, "a fresh render differs from the committed example outputs"


def test_integral_floats_render_like_integers(tmp_path: Path, example_repo: Path) -> None:
    """JSON Schema's "integer" accepts 2.0; it must render as 2, never "2.0" (a CloudFormation Number, a
    Kubernetes port or an nvidia.com/gpu limit that reads "2.0" fails at deploy time, long after review).
    Every integer of both examples: node group sizes and disks, node ports, culling, profile GPUs."""
    for env in EXAMPLES:
        spec = example_data(env)
        for group in spec["cluster"]["nodeGroups"]:
            for k in ("minSize", "maxSize", "diskSize"):
                group[k] = float(group[k])
        for hub in spec["hubs"]:
            hub["nodePort"] = float(hub["nodePort"])
            if "culling" in hub:
                hub["culling"] = {k: float(v) if k != "enabled" else v for k, v in hub["culling"].items()}
            for profile in hub.get("profiles", []):
                if "gpus" in profile:
                    profile["gpus"] = float(profile["gpus"])
        text = dump(spec)
        assert "maxSize: 4.0" in text and f"nodePort: {spec['hubs'][0]['nodePort']}" in text, env
        assert env == "dev" or "gpus: 1.0" in text
        write_spec(tmp_path, env, text)
        assert render_files(tmp_path, env) == render_files(example_repo, env), env
