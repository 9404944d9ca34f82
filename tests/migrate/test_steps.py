"""The migration steps on text: the version 1 examples upgrade to their goldens (comments kept), the upgrade is
idempotent, every layout the loader accepts is either rewritten or refused with a located HG011, and the
upgraded examples describe the same cluster as before wherever the meaning did not change."""

from __future__ import annotations

import re

import pytest

from generator import codes
from generator.loader import load_yaml_text
from generator.migrate import CURRENT_SPEC_VERSION
from generator.migrate.document import MigrationError
from generator.migrate.steps import STEPS, quoted
from generator.migrate.upgrade import migrate_text, same
from generator.validate.schema import errors_to_problems

from .fixtures import ENVIRONMENTS, comment_lines, expected_text, v1_aws_auth, v1_stack_inputs, v1_text


def load(text: str):
    loaded = load_yaml_text(text.encode("utf-8"), "environment.yaml")
    assert not loaded.problems, [p.message for p in loaded.problems]
    return loaded


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_v1_example_upgrades_to_its_golden(env: str) -> None:
    m = migrate_text(v1_text(env), f"environments/{env}/environment.yaml")
    assert (m.source_version, m.target_version) == (1, CURRENT_SPEC_VERSION)
    assert [s.source for s in m.steps] == [1]
    assert m.text == expected_text(env), (
        f"tests/migrate/expected/{env}.yaml differs from what the upgrade writes now")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_upgrade_of_an_upgraded_spec_changes_nothing(env: str) -> None:
    m = migrate_text(expected_text(env))
    assert m.steps == [] and m.notes == []
    assert m.text == expected_text(env)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_golden_keeps_every_comment_and_every_line_outside_the_nodes_block(env: str) -> None:
    old, new = v1_text(env), expected_text(env)
    assert set(comment_lines(old)) <= set(comment_lines(new))
    old_lines = old.splitlines()
    start = old_lines.index("  nodes:")
    outside = old_lines[:start] + old_lines[start + 7:]  # the block is `nodes:` and its six fields
    new_lines = [line for line in new.splitlines()
                 if line != "specVersion: 2" and not line.startswith("  authenticationMode: API_AND_CONFIG_MAP  # ")]
    begin = new_lines.index("  nodeGroups:")
    end = begin + 1
    while new_lines[end].startswith("    "):
        end += 1
    assert new_lines[:begin] + new_lines[end:] == outside


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_golden_is_the_step_meaning_of_the_v1_data(env: str) -> None:
    before, after = load(v1_text(env)).data, load(expected_text(env)).data
    nodes = before["cluster"]["nodes"]
    expected = STEPS[0].transform(before)
    expected["specVersion"] = 2
    assert same(after, expected)
    assert after["cluster"]["nodeGroups"] == [{
        "name": "core", "purpose": "core", "instanceTypes": [nodes["instanceType"]], "minSize": nodes["minSize"],
        "maxSize": nodes["maxSize"], "diskSize": nodes["volumeSize"], "imageId": nodes["imageId"]}]
    assert after["cluster"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert list(after) == ["specVersion", *before]  # specVersion first, every other key in its place
    keys = [("nodeGroups" if k == "nodes" else k) for k in before["cluster"]]
    keys.insert(keys.index("kubernetesVersion") + 1, "authenticationMode")  # where the schema lists it
    assert list(after["cluster"]) == keys


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_golden_says_why_desired_capacity_is_gone_and_the_ami_stays(env: str) -> None:
    text = expected_text(env)
    desired = load(v1_text(env)).data["cluster"]["nodes"]["desiredCapacity"]
    assert f"# desiredCapacity: {desired} dropped in spec version 2: cluster-autoscaler" in text
    assert "desiredCapacity:" not in "".join(line.split("#")[0] for line in text.splitlines())
    assert "imageId: ami-" in text and "# kept: pins the AMI as before" in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_upgraded_example_passes_the_schema(env: str) -> None:
    loaded = load(expected_text(env))
    assert errors_to_problems(loaded, "environment.yaml", env) == []


# --- the same cluster where nothing changed in meaning ---------------------------------------------------------

#: Stack parameters that exist in both versions, and must not change.
SHARED_PARAMETERS = ("KubernetesVersion", "VpcId", "Subnets", "CertificateArn", "LoadBalancerCidrBlock",
                     "LoadBalancerCidrBlock2", "LoadBalancerCidrBlock3", "NodeProxyPort", "Hub2NodeProxyPort",
                     "Hub2Hostname", "Hub3NodeProxyPort", "Hub3Hostname", "DeployRoleArn",
                     *(f"AdminPrincipalArn{i}" for i in range(1, 11)))
#: The core node group's parameters (spec version 2) and the node parameters they replace (version 1).
RENAMED_PARAMETERS = {"CoreNodeInstanceType": "NodeInstanceType", "CoreNodeMinSize": "NodeAutoScalingGroupMinSize",
                      "CoreNodeMaxSize": "NodeAutoScalingGroupMaxSize", "CoreNodeVolumeSize": "NodeVolumeSize",
                      "CoreNodeImageId": "NodeImageId"}


def _stack_inputs(text: str) -> tuple[dict, dict]:
    """The upgraded spec's stack parameters and tags, rendered from its model (not validated first: dev's
    Kubernetes version is past EKS support, HG226, which is the person's decision, not the upgrade's)."""
    from generator.model import build
    from generator.render.cloudformation import flat_parameters, tags

    env = build(load(text).data)
    return flat_parameters(env), tags(env)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_upgraded_example_renders_the_same_stack_parameters(env: str) -> None:
    old = v1_stack_inputs(env)
    params, tags = _stack_inputs(expected_text(env))
    assert {k: params.get(k) for k in SHARED_PARAMETERS} == {k: old["Parameters"][k] for k in SHARED_PARAMETERS}
    assert {new: params.get(new) for new in RENAMED_PARAMETERS} == \
        {new: old["Parameters"][was] for new, was in RENAMED_PARAMETERS.items()}
    assert tags == old["Tags"]
    # Version 1's template fixed the mode; version 2's default (API) would be a one-way change of the cluster.
    assert params.get("AuthenticationMode") == "API_AND_CONFIG_MAP"
    assert not any("Desired" in k for k in params), "the autoscaler owns the size: no desired size is rendered"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_upgraded_example_renders_the_same_aws_auth(env: str) -> None:
    """The cluster keeps reading aws-auth (API_AND_CONFIG_MAP), with the same mappings as before."""
    import yaml

    from generator.model import build
    from generator.render import aws_auth

    (rendered,) = aws_auth.render(build(load(expected_text(env)).data))
    assert yaml.safe_load(rendered.content)["data"] == yaml.safe_load(v1_aws_auth(env))["data"]


# --- layouts -------------------------------------------------------------------------------------------------------

SPEC = """\
# header
name: dev
cluster:
  stackName: jupyter-dev
{nodes}\
  loadBalancer:
    certificateArn: arn:aws:acm:us-east-1:553778890976:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5
hubs: []
"""
NODES = """\
  nodes:
    instanceType: m5.xlarge
    imageId: ami-0c2b8ca1dad447f8a
    minSize: 1
    desiredCapacity: 2
    maxSize: 4
    volumeSize: 100
"""
GROUP = {"name": "core", "purpose": "core", "instanceTypes": ["m5.xlarge"], "minSize": 1, "maxSize": 4,
         "diskSize": 100, "imageId": "ami-0c2b8ca1dad447f8a"}


def upgraded(text: str) -> dict:
    m = migrate_text(text)
    assert migrate_text(m.text).text == m.text, "not idempotent"
    data = load(m.text).data
    assert data["specVersion"] == CURRENT_SPEC_VERSION
    return data


def test_comments_travel_with_their_fields_in_the_new_order() -> None:
    nodes = ("  # above nodes\n"
             "  nodes:   # header comment\n"
             "    # about the size\n"
             "    maxSize: 4  # max\n"
             "    # peak\n"
             "    desiredCapacity: 2 # exams\n"
             "    volumeSize: 100\n"
             "    imageId: ami-0c2b8ca1dad447f8a # pinned by ops\n"
             "    instanceType: m5.xlarge\n"
             "    minSize: 1\n"
             "    # end of the block\n"
             "\n"
             "  # about the load balancer\n")
    text = migrate_text(SPEC.format(nodes=nodes)).text
    assert ("  # above nodes\n"
            "  nodeGroups:   # header comment\n"
            "    - name: core\n"
            "      purpose: core\n"
            "      instanceTypes: [m5.xlarge]\n"
            "      minSize: 1\n"
            "      # about the size\n"
            "      maxSize: 4  # max\n"
            "      # peak\n"
            "      # exams\n"
            "      # desiredCapacity: 2 dropped in spec version 2: cluster-autoscaler sizes the group between minSize "
            "and maxSize.\n"
            "      diskSize: 100\n"
            "      # kept: pins the AMI as before (it must match kubernetesVersion; remove it to use AWS's)\n"
            "      imageId: ami-0c2b8ca1dad447f8a # pinned by ops\n"
            "      # end of the block\n"
            "\n"
            "  # about the load balancer\n"
            "  loadBalancer:\n") in text
    assert text.endswith("certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5\n  authenticationMode: "
                         "API_AND_CONFIG_MAP  # what spec version 1 clusters ran; moving to API is one way "
                         "(docs/platform.md)\nhubs: []\n")
    assert upgraded(SPEC.format(nodes=nodes))["cluster"]["nodeGroups"] == [GROUP]


def test_spec_version_goes_after_the_header_and_before_a_first_key_comment() -> None:
    text = migrate_text("# header\n\n# the name\n" + SPEC.format(nodes=NODES).split("\n", 1)[1]).text
    assert text.startswith("# header\n\nspecVersion: 2\n# the name\nname: dev\n")
    text = migrate_text("---\n" + SPEC.format(nodes=NODES)).text
    assert text.startswith("---\n# header\nspecVersion: 2\nname: dev\n")


def test_explicit_version_1_is_replaced_in_place() -> None:
    text = migrate_text(SPEC.format(nodes=NODES).replace("name: dev\n", "name: dev\nspecVersion: 1  # old\n")).text
    assert "name: dev\nspecVersion: 2  # old\ncluster:" in text


def test_four_space_indentation_and_crlf_are_kept() -> None:
    text = re.sub(r"(?m)^( +)", lambda m: m.group(1) * 2, SPEC.format(nodes=NODES)).replace("\n", "\r\n")
    out = migrate_text(text).text
    assert "\n" not in out.replace("\r\n", "")
    assert "    nodeGroups:\r\n        - name: core\r\n          purpose: core\r\n" in out
    assert upgraded(text)["cluster"]["nodeGroups"] == [GROUP]


def test_flow_style_nodes_and_quoted_values() -> None:
    nodes = ("  nodes: {instanceType: 'm5.xlarge', imageId: \"ami-0c2b8ca1dad447f8a\",  # flow\n"
             "    minSize: 1, desiredCapacity: 2, maxSize: 4, volumeSize: 100}\n")
    out = migrate_text(SPEC.format(nodes=nodes)).text
    assert "  nodeGroups:  # flow\n    - name: core\n" in out
    assert "instanceTypes: ['m5.xlarge']" in out and 'imageId: "ami-0c2b8ca1dad447f8a"' in out
    assert upgraded(SPEC.format(nodes=nodes))["cluster"]["nodeGroups"] == [GROUP]


def test_nodes_as_the_last_key_at_the_end_of_a_file_without_a_final_newline() -> None:
    text = "name: dev\ncluster:\n  stackName: x\n" + NODES.rstrip("\n")
    assert migrate_text(text).text == (
        "specVersion: 2\nname: dev\ncluster:\n  stackName: x\n  nodeGroups:\n    - name: core\n      purpose: core\n"
        "      instanceTypes: [m5.xlarge]\n      minSize: 1\n      maxSize: 4\n      # desiredCapacity: 2 dropped in "
        "spec version 2: cluster-autoscaler sizes the group between minSize and maxSize.\n      diskSize: 100\n"
        "      imageId: ami-0c2b8ca1dad447f8a  # kept: pins the AMI as before (it must match kubernetesVersion; "
        "remove it to use AWS's)\n  authenticationMode: API_AND_CONFIG_MAP  # what spec version 1 clusters ran; "
        "moving to API is one way (docs/platform.md)")
    assert upgraded(text)["cluster"]["nodeGroups"] == [GROUP]
    text = "name: dev\ncluster:\n  kubernetesVersion: \"1.31\""
    assert migrate_text(text).text == (
        "specVersion: 2\n" + text + "\n  authenticationMode: API_AND_CONFIG_MAP  # what spec version 1 clusters ran; "
        "moving to API is one way (docs/platform.md)")


def test_values_on_several_lines_are_written_on_one() -> None:
    nodes = NODES.replace("    imageId: ami-0c2b8ca1dad447f8a\n", "    imageId: \"ami-\\\n      0c2b8ca1dad447f8a\"\n")
    data = upgraded(SPEC.format(nodes=nodes))
    assert data["cluster"]["nodeGroups"] == [GROUP]


def test_a_spec_without_nodes_gets_the_version_and_the_v1_authentication_mode() -> None:
    text = "name: dev\ncluster:\n  stackName: x\n  admins:\n    - arn: a\n    # about admins\n"
    assert migrate_text(text).text == (
        "specVersion: 2\n" + text + "  authenticationMode: API_AND_CONFIG_MAP  # what spec version 1 clusters "
        "ran; moving to API is one way (docs/platform.md)\n")
    assert migrate_text("name: dev\n").text == "specVersion: 2\nname: dev\n"


def test_a_mode_already_written_is_kept() -> None:
    text = SPEC.format(nodes=NODES).replace("  stackName: jupyter-dev\n",
                                            "  stackName: jupyter-dev\n  authenticationMode: API\n")
    out = migrate_text(text).text
    assert out.count("authenticationMode") == 1 and upgraded(text)["cluster"]["authenticationMode"] == "API"


@pytest.mark.parametrize("value", ["plain", "with \"quotes\" and \\", "tab\tnew\nline", "é€😀\u2028\x85"])
def test_quoted_round_trips_through_the_loader(value: str) -> None:
    assert load(f"v: {quoted(value)}\n").data == {"v": value}


# --- refusals: located HG011, nothing rewritten ---------------------------------------------------------------------


@pytest.mark.parametrize(("nodes", "where", "words"), [
    (NODES.replace("instanceType:", "instanceTyp:"), (6, 5), "cluster.nodes.instanceTyp is not a field"),
    (NODES + "  nodeGroups: []\n", (12, 3), "both nodes"),
    (NODES.replace("    minSize: 1\n", "    minSize: [1]\n"), (8, 5), "is a sequence"),
    ("  nodes: m5.xlarge\n", (5, 3), "is not a mapping"),
])
def test_what_the_upgrade_cannot_rewrite_is_refused_where_it_is(nodes: str, where, words: str) -> None:
    with pytest.raises(MigrationError) as e:
        migrate_text(SPEC.format(nodes=nodes), "environments/dev/environment.yaml")
    (p,) = e.value.problems
    assert p.code == codes.HG011.id and words in p.message
    assert (p.location.file, p.location.line, p.location.column) == ("environments/dev/environment.yaml", *where)


def test_flow_style_cluster_is_refused() -> None:
    with pytest.raises(MigrationError) as e:
        migrate_text("name: dev\ncluster: {stackName: x, nodes: {instanceType: m5.xlarge}}\n")
    assert e.value.problems[0].code == codes.HG011.id and "flow style" in e.value.problems[0].message


@pytest.mark.parametrize(("version", "code"), [("3", codes.HG012.id), ('"2"', codes.HG105.id),
                                               ("true", codes.HG105.id)])
def test_newer_or_unusable_versions_are_refused(version: str, code: str) -> None:
    with pytest.raises(MigrationError) as e:
        migrate_text(f"specVersion: {version}\nname: dev\n")
    assert [p.code for p in e.value.problems] == [code]


def test_a_spec_the_loader_refuses_is_refused_with_the_loader_problems() -> None:
    with pytest.raises(MigrationError) as e:
        migrate_text("name: dev\nname: again\n")
    assert [p.code for p in e.value.problems] == [codes.HG002.id]
