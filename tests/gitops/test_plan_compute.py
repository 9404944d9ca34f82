"""The plan logic in plain Python: in-memory snapshots built from the committed examples, edited the way
a render would edit them, compared with :func:`compute_plan`. (The git layer is covered by test_plan.py.)"""

from __future__ import annotations

import json

import pytest

from generator.plan.compute import MemorySnapshot, compute_plan, flatten
from generator.plan.formats import MARKDOWN_LIMIT, matrix, to_markdown, to_text
from generator.plan.model import Action, Status
from generator.plan.touch import Touch, classify, select

from .conftest import REPO_ROOT

DEV_CONF = "environments/dev/cloudformation/cluster.template-configuration.json"
DEV_SPEC = "environments/dev/environment.yaml"
DEV_RELEASE = "environments/dev/hubs/dev/helmrelease.yaml"
PROD_SPEC = "environments/prod/environment.yaml"


def example_files() -> dict[str, bytes]:
    out = {}
    for top in ("environments", "manifests/cloudformation"):
        for p in sorted((REPO_ROOT / top).rglob("*")):
            if p.is_file():
                out[p.relative_to(REPO_ROOT).as_posix()] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return example_files()


def edit(files: dict[str, bytes], path: str, old: str, new: str) -> dict[str, bytes]:
    text = files[path].decode()
    assert text.count(old) == 1, f"{old!r} not exactly once in {path}"
    return {**files, path: text.replace(old, new).encode()}


def set_parameter(files: dict[str, bytes], env: str, key: str, value: str) -> dict[str, bytes]:
    path = f"environments/{env}/cloudformation/cluster.template-configuration.json"
    doc = json.loads(files[path])
    doc["Parameters"][key] = value
    return {**files, path: json.dumps(doc, indent=2).encode()}


def changed(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))


def plan_of(a: dict[str, bytes], b: dict[str, bytes]):
    return compute_plan(MemorySnapshot("base", a), MemorySnapshot("head", b), changed(a, b))


def only(plan, name):
    [env] = [e for e in plan.environments if e.name == name]
    return env


# ------------------------------------------------------------------ path classification
@pytest.mark.parametrize("path,touch,env", [
    ("environments/dev/environment.yaml", Touch.ENVIRONMENT, "dev"),
    ("./environments/dev/hubs/dev/helmrelease.yaml", Touch.ENVIRONMENT, "dev"),
    ("environments/dev/secrets/dev.secret.yaml", Touch.ENVIRONMENT, "dev"),
    ("manifests/cloudformation/cluster.yaml", Touch.TEMPLATE, ""),
    ("generator/render/flux.py", Touch.HUBGEN, ""),
    ("schema/environment.schema.json", Touch.HUBGEN, ""),
    ("pyproject.toml", Touch.HUBGEN, ""),
    ("docs/workflow.md", Touch.OTHER, ""),
    ("environments/README.md", Touch.OTHER, ""),
    # Any folder is an environment, whatever its name (validation reports a bad name as HG225, so a commit
    # adding one must reach it); hidden folders are hubgen's own staging.
    ("environments/Not_An_Env/environment.yaml", Touch.ENVIRONMENT, "Not_An_Env"),
    ("environments/.qa.hubgen-new-0123456789ab/environment.yaml", Touch.OTHER, ""),
])
def test_classify(path, touch, env):
    c = classify(path)
    assert (c.touch, c.environment) == (touch, env)


def test_select_maps_files_to_environments_and_shared_files_to_all():
    assert select(["environments/dev/environment.yaml", "README.md"]).environments == ("dev",)
    assert not select(["environments/dev/environment.yaml"]).everything
    sel = select(["environments/prod/hubs/course/helmrelease.yaml", "generator/model.py"])
    assert sel.everything and sel.shared == ("generator/model.py",)
    assert select(["docs/checks.md", ".github/workflows/pr.yml"]).empty


# ------------------------------------------------------------------ plan logic
def test_no_change_no_plan(files):
    plan = plan_of(files, files)
    assert plan.environments == [] and plan.ok
    assert matrix(plan) == {"staging": {"include": []}, "production": {"include": []}, "has_staging": False,
                            "has_production": False, "removed": [], "has_removed": False}


def test_parameter_change_is_a_stack_update_with_old_and_new(files):
    head = set_parameter(edit(files, DEV_SPEC, "maxSize: 4", "maxSize: 6"), "dev", "CoreNodeMaxSize", "6")
    plan = plan_of(files, head)
    assert [e.name for e in plan.environments] == ["dev"]
    dev = only(plan, "dev")
    assert dev.status is Status.CHANGED and dev.action is Action.UPDATE
    assert [(c.key, c.old, c.new) for c in dev.parameters] == [("CoreNodeMaxSize", "4", "6")]
    assert "spec changed" in dev.reasons and "generated files changed" in dev.reasons
    assert "CoreNodeMaxSize: 4 -> 6" in to_text(plan)


def test_spec_only_change_without_effect_deploys_nothing(files):
    head = edit(files, DEV_SPEC, "description: ASF", "description: The ASF")
    dev = only(plan_of(files, head), "dev")
    assert dev.status is Status.CHANGED and dev.action is Action.NONE and not dev.deploys
    assert dev.effects() == ["no deployable change"]


def test_values_change_is_a_hub_upgrade_not_a_stack_update(files):
    head = edit(files, DEV_RELEASE, "tag: build.23", "tag: build.24")
    plan = plan_of(files, head)
    dev = only(plan, "dev")
    assert dev.action is Action.NONE and not matrix(plan)["has_staging"]
    [hub] = dev.hubs
    assert hub.status is Status.CHANGED and not hub.chart_changed
    assert [(c.key, c.old, c.new) for c in hub.values] == [("singleuser.image.tag", "build.23", "build.24")]
    assert "hub dev upgrade" in dev.effects()


def test_chart_version_change_and_release_settings(files):
    head = edit(files, DEV_RELEASE, "version: 4.4.0", "version: 4.5.0")
    head = edit(head, DEV_RELEASE, "timeout: 15m", "timeout: 20m")
    [hub] = only(plan_of(files, head), "dev").hubs
    assert (hub.chart_old, hub.chart_new) == ("4.4.0", "4.5.0")
    assert [(c.key, c.old, c.new) for c in hub.values] == [("spec.timeout", "15m", "20m")]


def test_header_only_change_of_a_generated_manifest_is_no_change(files):
    path = "environments/dev/cluster/aws-auth.yaml"
    text = files[path].decode()
    head = {**files, path: ("# a comment a renderer might add\n" + text).encode()}
    dev = only(plan_of(files, head), "dev")
    assert dev.flux_files == [] and dev.hubs == [] and dev.action is Action.NONE


def test_new_environment_is_created(files):
    head = {p.replace("environments/dev/", "environments/dev2/"): v for p, v in files.items()
            if p.startswith("environments/dev/")}
    head = {**files, **head}
    plan = plan_of(files, head)
    dev2 = only(plan, "dev2")
    assert dev2.status is Status.NEW and dev2.action is Action.CREATE
    assert {c.key for c in dev2.parameters} >= {"VpcId", "NodeProxyPort"}
    assert all(c.old is None for c in dev2.parameters)
    assert [h.status for h in dev2.hubs] == [Status.NEW]
    m = matrix(plan)
    assert m["has_staging"] and m["staging"]["include"][0]["environment"] == "dev2"


def test_removed_environment_is_flagged_loudly_and_never_deployed(files):
    head = {p: v for p, v in files.items() if not p.startswith("environments/prod/")}
    plan = plan_of(files, head)
    prod = only(plan, "prod")
    assert prod.status is Status.REMOVED and prod.action is Action.MANUAL and not prod.deploys
    assert "nothing is deleted automatically" in prod.warnings[0]
    m = matrix(plan)
    assert m["removed"] == ["prod"] and m["has_removed"] and not m["has_production"]
    md = to_markdown(plan)
    assert "> [!CAUTION]" in md and "**Environment `prod` is removed. Nothing is deleted automatically.**" in md
    assert "`jupyter-prod`" in md
    assert "REMOVED" in to_text(plan)


def test_removed_hub_is_flagged(files):
    head = {p: v for p, v in files.items() if not p.startswith("environments/prod/hubs/research/")}
    prod = only(plan_of(files, head), "prod")
    research = [h for h in prod.hubs if h.name == "research"][0]
    assert research.status is Status.REMOVED
    assert any("hub research is removed" in w for w in prod.warnings)
    assert "**Hub `research` of `prod` is removed.**" in to_markdown(plan_of(files, head))


def test_template_change_affects_every_environment_using_it(files):
    head = edit(files, "manifests/cloudformation/cluster.yaml", 'AWSTemplateFormatVersion: "2010-09-09"',
                'AWSTemplateFormatVersion: "2010-09-09"\n# tweak')
    plan = plan_of(files, head)
    assert [e.name for e in plan.environments] == ["dev", "prod"]
    for env in plan.environments:
        assert env.status is Status.AFFECTED and env.template_changed and env.action is Action.UPDATE
        assert "template manifests/cloudformation/cluster.yaml changed" in env.reasons
    m = matrix(plan)
    assert [e["environment"] for e in m["staging"]["include"]] == ["dev"]
    assert [e["environment"] for e in m["production"]["include"]] == ["prod"]


def test_unused_template_change_is_a_note_not_a_deploy(files):
    head = edit(files, "manifests/cloudformation/pipeline.yaml", 'AWSTemplateFormatVersion: "2010-09-09"',
                'AWSTemplateFormatVersion: "2010-09-09"\n# tweak')
    plan = plan_of(files, head)
    assert plan.environments == []
    assert any("pipeline.yaml" in n for n in plan.notes)


def test_hubgen_change_affects_every_environment(files):
    plan = compute_plan(MemorySnapshot("base", files), MemorySnapshot("head", files), ["generator/render/flux.py"])
    assert [e.name for e in plan.environments] == ["dev", "prod"]
    assert all(e.action is Action.UPDATE and e.hubgen_changed for e in plan.environments)


def test_staging_is_planned_before_production_whatever_the_names(files):
    head = dict(files)
    for name, tier in (("aaa", "production"), ("zzz", "staging")):
        for p, v in files.items():
            if p.startswith("environments/prod/"):
                new = p.replace("environments/prod/", f"environments/{name}/")
                text = v.decode()
                if p.endswith("environment.yaml"):
                    text = text.replace("tier: production", f"tier: {tier}").replace("name: prod", f"name: {name}")
                head[new] = text.encode()
    plan = plan_of(files, head)
    assert [e.name for e in plan.environments] == ["zzz", "aaa"]
    m = matrix(plan)
    assert [e["environment"] for e in m["staging"]["include"]] == ["zzz"]
    assert [e["environment"] for e in m["production"]["include"]] == ["aaa"]


def test_stack_move_creates_a_new_stack_and_warns(files):
    head = edit(files, DEV_SPEC, "stackName: jupyter-dev", "stackName: jupyter-dev2")
    dev = only(plan_of(files, head), "dev")
    assert dev.action is Action.CREATE and dev.old_stack and dev.old_stack.name == "jupyter-dev"
    assert any("a NEW stack is created" in w and "jupyter-dev keeps running" in w for w in dev.warnings)


@pytest.mark.parametrize("old,new,warn", [
    ("1.31", "1.32", None), ("1.31", "1.33", "one minor version at a time"), ("1.31", "1.30", "cannot downgrade")])
def test_kubernetes_version_steps(files, old, new, warn):
    head = set_parameter(files, "dev", "KubernetesVersion", new)
    base = set_parameter(files, "dev", "KubernetesVersion", old)
    dev = only(plan_of(base, head), "dev")
    found = [w for w in dev.warnings if "KubernetesVersion" in w]
    assert (warn in found[0]) if warn else not found


@pytest.mark.parametrize("old,new,expect", [
    ("CONFIG_MAP", "API_AND_CONFIG_MAP", "REPLACING the cluster"),
    ("API_AND_CONFIG_MAP", "API", "no longer read"),
    ("CONFIG_MAP", "API", "REPLACING the cluster"),
    ("API", "API_AND_CONFIG_MAP", "the stack update will fail"),
    ("API_AND_CONFIG_MAP", "CONFIG_MAP", "the stack update will fail"),
])
def test_authentication_mode_changes_warn_that_they_are_one_way(files, old, new, expect):
    base = set_parameter(files, "dev", "AuthenticationMode", old)
    head = set_parameter(files, "dev", "AuthenticationMode", new)
    [warning] = [w for w in only(plan_of(base, head), "dev").warnings if "AuthenticationMode" in w]
    assert f"{old} -> {new}" in warning and expect in warning


def test_unchanged_authentication_mode_warns_nothing(files):
    head = set_parameter(files, "dev", "ClusterAutoscaler", "false")
    assert not [w for w in only(plan_of(files, head), "dev").warnings if "AuthenticationMode" in w]


def test_operator_moving_slots_warns_like_an_admin(files):
    arn = "arn:aws:iam::553778890976:role/ops"
    base = set_parameter(files, "prod", "OperatorPrincipalArn3", arn)
    head = set_parameter(set_parameter(files, "prod", "OperatorPrincipalArn4", arn), "prod", "OperatorPrincipalArn3", "")
    [warning] = [w for w in only(plan_of(base, head), "prod").warnings if arn in w]
    assert "OperatorPrincipalArn3 to OperatorPrincipalArn4" in warning and "operators" in warning


def test_user_node_group_moving_slots_warns(files):
    base = set_parameter(set_parameter(files, "prod", "UserNodeGroup3Name", "gpu"), "prod", "UserNodeGroup2Name", "spot")
    head = set_parameter(set_parameter(files, "prod", "UserNodeGroup2Name", "gpu"), "prod", "UserNodeGroup3Name", "")
    [warning] = [w for w in only(plan_of(base, head), "prod").warnings if "moves from slot" in w]
    assert "user node group gpu moves from slot UserNodeGroup3 to UserNodeGroup2" in warning


@pytest.mark.parametrize("key,label", [("InstanceTypes", "instance types"), ("CapacityType", "capacity type"),
                                       ("Subnets", "zone"), ("AmiType", "AMI type")])
def test_user_node_group_replacing_change_under_the_same_name_warns(files, key, label):
    head = set_parameter(files, "prod", f"UserNodeGroup1{key}", "changed")
    [warning] = [w for w in only(plan_of(files, head), "prod").warnings if "node group" in w]
    assert label in warning and "Rename the group" in warning


def test_user_node_group_size_change_warns_nothing(files):
    head = set_parameter(files, "prod", "UserNodeGroup1MaxSize", "11")
    assert not [w for w in only(plan_of(files, head), "prod").warnings if "node group" in w]


def test_changed_allocation_tag_warns_that_every_node_is_replaced(files):
    head = set_parameter(files, "prod", "CostTagValue1", "other-center")
    [warning] = [w for w in only(plan_of(files, head), "prod").warnings if "cost allocation tags" in w]
    assert "change (tags, costs.allocationTags)" in warning and "running servers on them stop" in warning


def test_first_template_with_node_tags_warns_that_every_node_is_replaced(files):
    path = "environments/prod/cloudformation/cluster.template-configuration.json"
    doc = json.loads(files[path])
    doc["Parameters"] = {k: v for k, v in doc["Parameters"].items()
                         if not k.startswith("CostTag") and k != "EnvironmentName"}
    base = {**files, path: json.dumps(doc).encode()}
    [warning] = [w for w in only(plan_of(base, files), "prod").warnings if "cost allocation tags" in w]
    assert "for the first time" in warning and "replaced" in warning


def test_budget_notification_change_warns_that_the_budget_is_replaced(files):
    head = set_parameter(files, "prod", "BudgetName", "jupyter-prod-budget-0123abcd")
    [warning] = [w for w in only(plan_of(files, head), "prod").warnings if "budget" in w]
    assert "replaces budget jupyter-prod-budget-" in warning and "history starts over" in warning


def test_unchanged_cost_settings_warn_nothing(files):
    head = set_parameter(files, "prod", "BudgetLimit", "3000")  # a new limit updates the budget in place
    assert not [w for w in only(plan_of(files, head), "prod").warnings if "budget" in w or "cost allocation" in w]


def test_tag_change(files):
    path = DEV_CONF
    doc = json.loads(files[path])
    doc["Tags"]["owner"] = "platform"
    head = {**files, path: json.dumps(doc).encode()}
    dev = only(plan_of(files, head), "dev")
    assert [(c.key, c.old, c.new) for c in dev.tags] == [("owner", None, "platform")]
    assert dev.action is Action.UPDATE


def test_unreadable_head_is_an_error_and_missing_generated_file_names_the_fix(files):
    broken = {**files, DEV_SPEC: b"name: [dev\n"}
    plan = plan_of(files, broken)
    assert not plan.ok and only(plan, "dev").errors and only(plan, "dev").action is Action.NONE
    missing = {p: v for p, v in files.items() if p != DEV_CONF}
    missing = edit(missing, DEV_SPEC, "maxSize: 4", "maxSize: 5")
    plan = plan_of(files, missing)
    assert any("hubgen render dev" in e for e in only(plan, "dev").errors)


def test_secret_changes_are_listed_without_content(files):
    path = "environments/dev/secrets/extra.secret.yaml"
    head = {**files, path: b"kind: Secret\ndata:\n  password: ENC[AES256_GCM,data:abc=,iv:x=,tag:y=,type:str]\n"}
    plan = plan_of(files, head)
    dev = only(plan, "dev")
    assert [(f.path, f.change) for f in dev.secrets] == [(path, "added")]
    assert "ENC[" not in to_markdown(plan) and "ENC[" not in to_text(plan)


def test_markdown_stays_under_githubs_comment_limit(files):
    head = dict(files)
    for i in range(120):
        for p, v in files.items():
            if p.startswith("environments/prod/"):
                head[p.replace("environments/prod/", f"environments/p{i:03d}/")] = v.replace(b"name: prod", f"name: p{i:03d}".encode(), 1)
    plan = plan_of(files, head)
    assert len(plan.environments) == 120
    md = to_markdown(plan)
    assert len(md) <= MARKDOWN_LIMIT
    assert md.startswith("<!-- hubgen-plan -->") and "`p119`" in md


def test_markdown_escapes_table_breaking_characters(files):
    head = edit(files, DEV_RELEASE, "tag: build.23", "tag: 'a|b<c>'")
    md = to_markdown(plan_of(files, head))
    row = [line for line in md.splitlines() if "singleuser.image.tag" in line][0]
    assert row.count("|") == 4 and "a&#124;b&lt;c&gt;" in row


def test_flatten():
    assert flatten({"a": {"b": [1, 2], "c": [{"d": 1}]}, "e.f": True, "g": {}}) == {
        "a.b": "[1, 2]", "a.c[0].d": "1", '["e.f"]': "true", "g": "{}"}


def test_renamed_folder_is_not_a_silent_takeover(files):
    head = {p: v for p, v in files.items() if not p.startswith("environments/dev/")}
    head.update({p.replace("environments/dev/", "environments/dev2/"): v for p, v in files.items()
                 if p.startswith("environments/dev/")})
    plan = plan_of(files, head)
    dev2, dev = only(plan, "dev2"), only(plan, "dev")
    assert dev2.status is Status.NEW and dev.status is Status.REMOVED
    assert any("belonged to the removed environment dev" in w and "HG603" in w for w in dev2.warnings)
    assert any("new environment dev2" in w for w in dev.warnings)
