"""Cost allocation tags and the budget (docs/costs.md): what the cluster template tags and how, the parameters hubgen
writes for `costs`, the StorageClasses' volume tags, and the deploy roles' permissions for the budget.

Environments are prod's spec (which has a budget) and variants of it: more tags than slots with
`costs.allocationTags` choosing, a budget notifying only an SNS topic without forecast, and dev (no budget). The
template is read with cfn-lint's decoder and evaluated with test_cluster_template's evaluator (plus Fn::Join); which
resource types CloudFormation tags with the stack tags comes from the registry schemas cfn-lint ships.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.engines import cfnlint as cfn
from generator.engines.base import Template
from generator.engines.template_params import check_environment, parse_parameters
from generator.model import MAX_ALLOCATION_TAGS
from generator.paths import CLUSTER_TEMPLATE
from generator.render.cloudformation import (MAX_BUDGET_ALERTS, MAX_BUDGET_EMAILS, allocation_tags, budget_name,
                                             flat_parameters, parameter_sources, parameters, tags)
from generator.render.platform import ebs_parameters
from tests.conftest import REPO_ROOT
from tests.platform.test_cluster_template import (GITHUB_OIDC, PIPELINE, TEMPLATE_PATH, Evaluation, _artifacts,
                                                  _decode, _role_statements, _spec, _variant)

SNS = "arn:aws:sns:us-west-2:553778890976:hub-budget"
EXTRA_TAGS = {"team": "jupyter-ops", "owner": "platform", "data-class": "internal", "backup": "none",
              "app": "jupyterhub", "tier": "production"}
CHOSEN = ["cost-center", "team", "project", "environment", "app"]
SLOT = re.compile(r"^HasCostTag(\d)$")
#: Resource types of the template that CloudFormation cannot tag (their registry schema says `taggable: false`),
#: and how what matters about them is tagged instead. docs/costs.md lists the same.
NOT_TAGGABLE = {
    "AWS::EC2::LaunchTemplate": "its own TagSpecifications: launch-template, and instance, volume and "
                                "network-interface for what node groups launch from it",
    "AWS::IAM::InstanceProfile": "IAM instance profiles take tags only through the IAM API, and cost nothing",
    "AWS::EC2::SecurityGroupIngress": "a rule of the node security group, which is tagged; not a resource of its own",
}


class Evaluation2(Evaluation):
    """The evaluator of test_cluster_template, with Fn::Join (the budget's cost filter)."""

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Fn::Join"}:
            sep, items = node["Fn::Join"]
            return sep.join(str(self.resolve(x)) for x in items)
        return super().resolve(node)


def _more_tags(spec: dict) -> None:
    """Nine tags (more than the slots), five of them chosen, a budget notifying an SNS topic only, no forecast."""
    spec["tags"].update(EXTRA_TAGS)
    spec["costs"] = {"allocationTags": CHOSEN,
                     "budget": {"monthlyLimit": 1234.5, "alertAt": [50, 90, 120], "forecast": False,
                                "snsTopicArn": SNS}}


@pytest.fixture(scope="module")
def template() -> dict:
    return _decode(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def envs():
    prod, dev = _spec("prod"), _spec("dev")
    return {"prod": _artifacts("prod", prod), "dev": _artifacts("dev", dev),
            "chosen": _variant(prod, "chosen", _more_tags)}


def model(envs, name):
    return envs[name].context.model


def ev(template, envs, name) -> Evaluation2:
    return Evaluation2(template, parameters(model(envs, name)))


# --- parameters -------------------------------------------------------------------------------------------------

def test_parameters_of_a_budget_and_chosen_allocation_tags(envs):
    m = model(envs, "chosen")
    assert len(m.tags) == 9 > MAX_ALLOCATION_TAGS
    p = flat_parameters(m)
    cost = {k: v for k, v in p.items() if k.startswith(("CostTag", "Budget", "EnvironmentName"))}
    assert cost == {
        "EnvironmentName": "prod",  # the spec's name (the variant keeps it)
        "CostTagKey1": "cost-center", "CostTagValue1": "4711",
        "CostTagKey2": "team", "CostTagValue2": "jupyter-ops",
        "CostTagKey3": "project", "CostTagValue3": "asf-jupyter-hub",
        "CostTagKey4": "environment", "CostTagValue4": "prod",
        "CostTagKey5": "app", "CostTagValue5": "jupyterhub",
        **{f"CostTag{kind}{i}": "" for i in range(6, MAX_ALLOCATION_TAGS + 1) for kind in ("Key", "Value")},
        "BudgetName": budget_name(m), "BudgetLimit": "1234.5", "BudgetCostFilter": "user:hubgen:environment$prod",
        "BudgetAlert1": "50", "BudgetAlert2": "90", "BudgetAlert3": "120", "BudgetForecast": "false",
        "BudgetEmail1": "", "BudgetEmail2": "", "BudgetEmail3": "", "BudgetSnsTopicArn": SNS,
    }
    assert re.fullmatch(r"jupyter-prod-budget-[0-9a-f]{8}", p["BudgetName"])
    # Every tag is still a stack tag: the choice only decides what the slots carry.
    assert set(EXTRA_TAGS) < set(tags(m))
    src = parameter_sources(m)
    assert src["CostTagKey2"] == src["CostTagValue2"] == ("tags",)
    assert src["BudgetAlert3"] == ("costs", "budget", "alertAt", 2)
    assert src["BudgetEmail1"] == ("costs", "budget", "emails")


def test_prods_budget_and_default_allocation_tags(envs):
    m = model(envs, "prod")
    p = flat_parameters(m)
    assert [(p[f"CostTagKey{i}"], p[f"CostTagValue{i}"]) for i in (1, 2, 3, 4)] == [
        ("cost-center", "4711"), ("environment", "prod"), ("project", "asf-jupyter-hub"), ("", "")]
    assert (p["BudgetLimit"], p["BudgetAlert1"], p["BudgetAlert2"], p["BudgetAlert3"]) == ("2500", "80", "100", "")
    assert (p["BudgetEmail1"], p["BudgetForecast"], p["BudgetSnsTopicArn"]) == ("jupyter-ops@alaska.edu", "true", "")
    dev = flat_parameters(model(envs, "dev"))
    assert {dev[k] for k in dev if k.startswith("Budget") and k != "BudgetForecast"} == {""}
    assert dev["BudgetForecast"] == "false"


def test_budget_is_renamed_exactly_when_cloudformation_must_replace_it(envs):
    """Notifications are create-only: a change replaces the budget, which needs a new name; a new limit does not."""
    base = model(envs, "prod")

    def renamed(change) -> bool:
        return budget_name(_variant(envs["prod"].context.loaded, "prod", change).context.model) != budget_name(base)

    def budget(**kw):
        return lambda spec: spec["costs"]["budget"].update(kw)

    assert not renamed(budget(monthlyLimit=9000))
    assert renamed(budget(emails=["jupyter-ops@alaska.edu", "cfo@alaska.edu"]))
    assert renamed(budget(alertAt=[90]))
    assert renamed(budget(forecast=False))
    assert renamed(budget(snsTopicArn=SNS))


def test_slot_counts_match_the_template(template):
    params = template["Parameters"]
    assert {k for k in params if k.startswith("CostTagKey")} == {f"CostTagKey{i}" for i in
                                                                  range(1, MAX_ALLOCATION_TAGS + 1)}
    assert {k for k in params if k.startswith("BudgetAlert")} == {f"BudgetAlert{i}" for i in
                                                                   range(1, MAX_BUDGET_ALERTS + 1)}
    assert {k for k in params if k.startswith("BudgetEmail")} == {f"BudgetEmail{i}" for i in
                                                                   range(1, MAX_BUDGET_EMAILS + 1)}


def test_cfn_lint_and_params_engine_clean_with_costs(envs):
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    jobs = [(name, model(envs, name).region, parameters(model(envs, name))) for name in envs]
    found = cfn.evaluate_environments(text, jobs, {})
    assert {name: found[name]["findings"] for name in envs} == {name: [] for name in envs}
    tpl = Template(CLUSTER_TEMPLATE, text.encode())
    parsed = parse_parameters(tpl)
    for name, env in envs.items():
        assert check_environment(tpl, parsed, env, parameters(model(envs, name))) == [], name


def test_cfn_lint_really_evaluates_the_budget(envs):
    """A threshold the schema would never produce reaches the notification, and cfn-lint reports it there."""
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    bad = dict(parameters(model(envs, "prod")), BudgetAlert2="lots")
    [finding] = cfn.evaluate_environments(text, [("bad", "us-west-2", bad)], {})["bad"]["findings"]
    assert finding["parameter"] == "BudgetAlert2"
    assert finding["path"][:4] == ["Resources", "Budget", "Properties", "NotificationsWithSubscribers"]


# --- what carries the tags --------------------------------------------------------------------------------------

def _registry_tagging(resource_type: str) -> dict:
    """The `tagging` block of the resource type's CloudFormation registry schema (as cfn-lint ships it)."""
    import cfnlint

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    return json.loads((schemas / "resources" / f"{index[resource_type]}.json").read_text()).get("tagging", {})


def test_every_resource_type_is_tagged_by_the_stack_or_listed(template):
    """CloudFormation copies the stack tags to every resource whose type is taggable; the others are listed with
    how they are covered, and docs/costs.md names them."""
    types = {r["Type"] for r in template["Resources"].values()}
    taggable = {t for t in types if _registry_tagging(t).get("taggable")}
    assert types - taggable == set(NOT_TAGGABLE)
    assert "AWS::EKS::Nodegroup" in taggable and "AWS::Budgets::Budget" in taggable
    doc = (REPO_ROOT / "docs" / "costs.md").read_text(encoding="utf-8")
    for t in NOT_TAGGABLE:
        assert f"`{t}`" in doc, t


def _slot_entries(tag_list: list) -> tuple[list, list[int]]:
    """(fixed tags, slot numbers) of a Tags list of the template."""
    fixed, slots = [], []
    for t in tag_list:
        if isinstance(t, dict) and set(t) == {"Fn::If"}:
            cond, yes, no = t["Fn::If"]
            i = int(SLOT.match(cond).group(1))
            assert yes == {"Key": {"Ref": f"CostTagKey{i}"}, "Value": {"Ref": f"CostTagValue{i}"}}, cond
            assert no == {"Ref": "AWS::NoValue"}
            slots.append(i)
        else:
            fixed.append(t)
    return fixed, slots


def test_every_launch_template_tags_what_is_launched_from_it(template):
    """Instances, their root volumes and network interfaces of every node group, and the launch template itself,
    carry hubgen:environment and every allocation tag slot (stack tags reach none of them: EKS does not propagate
    a node group's tags, and volumes from block device mappings never get the stack's)."""
    launch_templates = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::EC2::LaunchTemplate"}
    assert len(launch_templates) == 5
    for name, r in launch_templates.items():
        props = r["Properties"]
        specs = {s["ResourceType"]: s["Tags"] for s in props["LaunchTemplateData"]["TagSpecifications"]}
        assert set(specs) == {"instance", "volume", "network-interface"}, name
        [own] = props["TagSpecifications"]
        specs["launch-template"] = own["Tags"]
        for kind, tag_list in specs.items():
            fixed, slots = _slot_entries(tag_list)
            assert slots == list(range(1, MAX_ALLOCATION_TAGS + 1)), (name, kind)
            assert {"Key": "hubgen:environment", "Value": {"Ref": "EnvironmentName"}} in fixed, (name, kind)


def test_the_allocation_tags_resolve_on_instances_volumes_and_interfaces(template, envs):
    for env_name in ("chosen", "prod"):
        m = model(envs, env_name)
        e = ev(template, envs, env_name)
        expected = allocation_tags(m)
        launch_templates = [n for n, r in e.resources().items() if r["Type"] == "AWS::EC2::LaunchTemplate"]
        assert len(launch_templates) == 1 + len(m.cluster.user_groups)
        for name in launch_templates:
            for spec in e.properties(name)["LaunchTemplateData"]["TagSpecifications"]:
                resolved = {t["Key"]: t["Value"] for t in spec["Tags"] if isinstance(t["Key"], str)}
                assert {k: resolved.get(k) for k in expected} == expected, (env_name, name, spec["ResourceType"])
                extra = set(resolved) - set(expected) - {"Name", "hubgen.dev/node-group"}
                assert not extra, (env_name, name, extra)  # the tags not chosen stay off (stack tags only)
    assert set(allocation_tags(model(envs, "chosen"))) == set(CHOSEN) | {"hubgen:environment"}


def test_storage_classes_tag_user_volumes_as_the_nodes(envs):
    """The EBS CSI driver's volumes carry the same tags as the node groups' volumes."""
    for name in ("chosen", "prod", "dev"):
        m = model(envs, name)
        for sc in m.cluster.storage_classes:
            p = ebs_parameters(m, sc)
            specs = [p[k] for k in sorted((k for k in p if k.startswith("tagSpecification_")),
                                          key=lambda k: int(k.rsplit("_", 1)[1]))]
            assert specs == [f"{k}={v}" for k, v in allocation_tags(m).items()], name
    assert "owner=platform" not in ebs_parameters(model(envs, "chosen"), model(envs, "chosen").cluster.storage_classes[0]).values()


# --- the budget -------------------------------------------------------------------------------------------------

def _notifications(e: Evaluation2) -> list[tuple]:
    out = []
    for n in e.properties("Budget")["NotificationsWithSubscribers"]:
        note = n["Notification"]
        assert (note["ComparisonOperator"], note["ThresholdType"]) == ("GREATER_THAN", "PERCENTAGE")
        out.append((note["NotificationType"], str(note["Threshold"]),
                    [(s["SubscriptionType"], s["Address"]) for s in n["Subscribers"]]))
    return out


def test_prods_budget_counts_the_environments_tagged_costs(template, envs):
    e = ev(template, envs, "prod")
    assert "Budget" in e.resources()
    budget = e.properties("Budget")["Budget"]
    assert budget == {"BudgetName": budget_name(model(envs, "prod")), "BudgetType": "COST", "TimeUnit": "MONTHLY",
                      "BudgetLimit": {"Amount": "2500", "Unit": "USD"},
                      "CostFilters": {"TagKeyValue": ["user:hubgen:environment$prod"]}}
    email = [("EMAIL", "jupyter-ops@alaska.edu")]
    assert _notifications(e) == [("ACTUAL", "80", email), ("ACTUAL", "100", email), ("FORECASTED", "100", email)]


def test_sns_only_budget_without_forecast(template, envs):
    e = ev(template, envs, "chosen")
    sns = [("SNS", SNS)]
    assert _notifications(e) == [("ACTUAL", "50", sns), ("ACTUAL", "90", sns), ("ACTUAL", "120", sns)]
    assert e.properties("Budget")["Budget"]["CostFilters"] == {"TagKeyValue": ["user:hubgen:environment$prod"]}


def test_no_budget_without_costs_budget(template, envs):
    assert "Budget" not in ev(template, envs, "dev").resources()


def test_deploy_roles_may_manage_only_hubgens_budgets():
    """Both deploy routes can create, update, tag and delete the budget the stack names, and no other."""
    for path, role in ((GITHUB_OIDC, "DeployRole"), (PIPELINE, "ClusterDeployRole")):
        statements = _role_statements(_decode(path), role)
        budget = [s for s in statements if any(a.startswith("budgets:") for a in
                                               ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
        assert len(budget) == 1, path.name
        [st] = budget
        assert set(st["Action"]) == {"budgets:ModifyBudget", "budgets:ViewBudget", "budgets:TagResource",
                                     "budgets:UntagResource", "budgets:ListTagsForResource"}
        assert st["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:budgets::${AWS::AccountId}:budget/"
                                             "${ClusterStackName}-budget-*"}


def test_budget_names_fit_the_deploy_roles_scope(envs):
    """The name hubgen renders is one the deploy roles' Resource pattern matches (stack name, then -budget-)."""
    for name in ("prod", "chosen"):
        m = model(envs, name)
        assert budget_name(m).startswith(f"{m.cluster.stack_name}-budget-")
        pattern = _decode(TEMPLATE_PATH)["Parameters"]["BudgetName"]["AllowedPattern"]
        assert re.fullmatch(pattern, budget_name(m))


def test_prod_example_has_a_budget_and_dev_none():
    prod = yaml.safe_load((REPO_ROOT / "environments/prod/environment.yaml").read_text(encoding="utf-8"))
    dev = yaml.safe_load((REPO_ROOT / "environments/dev/environment.yaml").read_text(encoding="utf-8"))
    assert prod["costs"]["budget"]["emails"] == ["jupyter-ops@alaska.edu"]
    assert "costs" not in dev


# --- what a user sees -------------------------------------------------------------------------------------------

PROD_SPEC = "environments/prod/environment.yaml"
PROD_COSTS = """costs:
  budget:
    monthlyLimit: 2500
    emails: [jupyter-ops@alaska.edu]
"""
CLI_COSTS = f"""costs:
  allocationTags: [cost-center, team, project, environment]
  budget:
    monthlyLimit: 800.25
    alertAt: [75]
    emails: [jupyter-ops@alaska.edu, finance@alaska.edu]
    snsTopicArn: {SNS}
"""


def test_render_writes_the_cost_parameters_and_lint_accepts_them(repo: Path, invoke_hubgen):
    """`hubgen render` of a spec with nine tags, chosen allocation tags and a budget writes every cost parameter in
    all three deploy shapes, and `hubgen lint` (cfn-lint with the parameters, the params engine) is clean."""
    spec = repo / PROD_SPEC
    text = spec.read_text(encoding="utf-8")
    assert text.count(PROD_COSTS) == 1
    extra = "".join(f"  {k}: {v}\n" for k, v in EXTRA_TAGS.items())
    text = text.replace(PROD_COSTS, CLI_COSTS).replace('  cost-center: "4711"\n', '  cost-center: "4711"\n' + extra)
    spec.write_text(text, encoding="utf-8")
    r = invoke_hubgen(["--repo", repo, "render", "prod"])
    assert r.rc == 0, r
    folder = repo / "environments/prod/cloudformation"
    cli = {p["ParameterKey"]: p["ParameterValue"]
           for p in json.loads((folder / "cluster.parameters.json").read_text(encoding="utf-8"))}
    configuration = json.loads((folder / "cluster.template-configuration.json").read_text(encoding="utf-8"))
    deployment = yaml.safe_load((folder / "cluster.deployment.yaml").read_text(encoding="utf-8"))
    assert cli == configuration["Parameters"] == deployment["parameters"]
    assert [(cli[f"CostTagKey{i}"], cli[f"CostTagValue{i}"]) for i in range(1, 6)] == [
        ("cost-center", "4711"), ("team", "jupyter-ops"), ("project", "asf-jupyter-hub"), ("environment", "prod"),
        ("", "")]
    assert {k: cli[k] for k in cli if k.startswith("Budget") and k != "BudgetName"} == {
        "BudgetLimit": "800.25", "BudgetCostFilter": "user:hubgen:environment$prod", "BudgetAlert1": "75", "BudgetAlert2": "", "BudgetAlert3": "",
        "BudgetForecast": "true", "BudgetEmail1": "jupyter-ops@alaska.edu", "BudgetEmail2": "finance@alaska.edu",
        "BudgetEmail3": "", "BudgetSnsTopicArn": SNS}
    assert re.fullmatch(r"jupyter-prod-budget-[0-9a-f]{8}", cli["BudgetName"]) and cli["EnvironmentName"] == "prod"
    # Every spec tag stays a stack tag; the volumes of the StorageClasses get only the allocation tags.
    assert configuration["Tags"]["owner"] == "platform" and configuration["Tags"]["hubgen:environment"] == "prod"
    classes = list(yaml.safe_load_all((repo / "environments/prod/platform/storageclasses.yaml").read_text(
        encoding="utf-8")))
    assert classes
    for sc in classes:
        specs = sorted(v for k, v in sc["parameters"].items() if k.startswith("tagSpecification_"))
        assert specs == ["cost-center=4711", "environment=prod", "hubgen:environment=prod",
                         "project=asf-jupyter-hub", "team=jupyter-ops"], sc["metadata"]["name"]
    r = invoke_hubgen(["--repo", repo, "lint", "prod", "-e", "cfn-lint", "-e", "params", "--no-cache"])
    assert r.rc == 0, r
