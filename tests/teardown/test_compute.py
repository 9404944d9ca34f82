"""The teardown plan computed from model variants (rendered in memory), with the repository's template or an
edited copy: which steps, which commands in which order, what survives and why."""

from __future__ import annotations

import copy

from generator.teardown import Teardown

from .helpers import model_of, plan_for, replace_once, template_text


def _index(plan: Teardown, needle: str) -> int:
    """Position of the first command containing ``needle`` (fails when none does)."""
    commands = plan.commands()
    found = [i for i, c in enumerate(commands) if needle in c]
    assert found, f"no command contains {needle!r}:\n" + "\n".join(commands)
    return found[0]


def _survivor(plan: Teardown, kind: str):
    return [s for s in plan.survivors if s.kind == kind]


def test_prod_order_flux_hubs_claims_namespaces_platform_stack():
    plan = plan_for(model_of("prod"))
    assert [s.id for s in plan.steps] == ["stop-flux", "hubs", "platform", "stack"]
    order = [
        "suspend kustomization flux-system prod-hubs",
        "delete helmrelease course --namespace course",
        "delete pvc --all --namespace course",
        "delete helmrelease research --namespace research",
        "delete pvc --all --namespace research",
        "get pv -o custom-columns=",
        "delete namespace course research",
        "delete helmrelease cluster-autoscaler --namespace kube-system",
        "delete helmrelease nvidia-device-plugin --namespace kube-system",
        "delete storageclass gp3 gp3-retain",
        "aws cloudformation delete-stack --stack-name jupyter-prod --region us-west-2",
        "aws cloudformation wait stack-delete-complete --stack-name jupyter-prod --region us-west-2",
    ]
    positions = [_index(plan, n) for n in order]
    assert positions == sorted(positions), list(zip(order, positions))
    # Every kubectl and flux command names the cluster's context, so none runs against another cluster.
    assert all("--context jupyter-prod" in c for c in plan.commands() if c.startswith(("kubectl", "flux")))


def test_prod_retain_class_survives_with_the_command_that_finds_its_volumes():
    plan = plan_for(model_of("prod"))
    [volumes] = _survivor(plan, "EBS volumes")
    assert "gp3-retain" in volumes.name and volumes.certain
    assert "users of hub research" in volumes.reason
    [find] = volumes.find
    assert find.startswith("aws ec2 describe-volumes --filters Name=tag:hubgen:environment,Values=prod ")
    assert find.endswith("--region us-west-2")
    hubs = next(s for s in plan.steps if s.id == "hubs")
    research = next(a for a in hubs.actions if a.title.startswith("Hub research"))
    assert "StorageClass gp3-retain, reclaimPolicy Retain: the EBS volume SURVIVES" in research.note
    assert "hub-db-dir (part of the release, deleted by the uninstall): StorageClass gp3, reclaimPolicy Delete" \
        in research.note


def test_delete_only_classes_leave_no_volume_behind():
    def delete_only(spec: dict) -> None:
        spec["cluster"]["storage"]["classes"][1]["reclaimPolicy"] = "Delete"

    plan = plan_for(model_of("prod", delete_only))
    assert _survivor(plan, "EBS volumes") == []
    wait = next(a for s in plan.steps for a in s.actions if a.title.startswith("Wait for the volumes"))
    assert "No hub's volumes use a Retain class." in wait.note


def test_dev_has_no_gpu_plugin_and_no_retain_class():
    plan = plan_for(model_of("dev"))
    assert not [c for c in plan.commands() if "nvidia-device-plugin" in c]
    assert _index(plan, "delete helmrelease cluster-autoscaler") < _index(plan, "delete storageclass gp3")
    assert _index(plan, "delete-stack --stack-name jupyter-dev --region us-east-1") > 0
    assert _survivor(plan, "EBS volumes") == []


def test_no_autoscaler_no_release_and_one_role_fewer_in_the_stack():
    with_scaler = plan_for(model_of("dev"))
    plan = plan_for(model_of("dev", lambda s: s["cluster"].__setitem__("autoscaler", {"enabled": False})))
    assert not [c for c in plan.commands() if "cluster-autoscaler" in c]
    platform = next(s for s in plan.steps if s.id == "platform")
    assert [a.title for a in platform.actions] == ["The StorageClasses"]

    def roles(p: Teardown) -> str:
        stack = next(s for s in p.steps if s.id == "stack")
        note = next(a.note for a in stack.actions if a.title.startswith("Delete the stack"))
        return note.split(" AWS::IAM::Role")[0].rsplit(" ", 1)[-1]

    assert (roles(with_scaler), roles(plan)) == ("4", "3")


def test_three_hubs_in_spec_order():
    def third_hub(spec: dict) -> None:
        third = copy.deepcopy(spec["hubs"][0])
        third.update(name="workshop", namespace="workshop", host="workshop.jupyter.asf.alaska.edu", nodePort=30062)
        third["auth"] = {"type": "dummy", "passwordSecret": {"name": "workshop-auth", "key": "password"},
                         "admins": ["asf-instructor"], "allowedUsers": ["asf-instructor", "guest"],
                         "allowSharedPasswordAdmins": True}
        third["singleuser"].pop("awsRoleArn")
        third["operators"] = [{"arn": "arn:aws:iam::553778890976:role/jupyter-workshop-helper", "access": "view"}]
        spec["hubs"].append(third)

    plan = plan_for(model_of("prod", third_hub))
    hubs = next(s for s in plan.steps if s.id == "hubs")
    assert [a.title.split(":")[0] for a in hubs.actions[:3]] == ["Hub course", "Hub research", "Hub workshop"]
    assert _index(plan, "delete namespace course research workshop --timeout=15m") > _index(
        plan, "delete pvc --all --namespace workshop")
    assert "3 AWS::ElasticLoadBalancingV2::TargetGroup" in next(
        a.note for a in plan.steps[3].actions if a.title.startswith("Delete the stack"))
    secrets = " ".join(s.cleanup for s in _survivor(plan, "encrypted secrets in git"))
    assert secrets == ""  # no secret files given: nothing claimed about git history
    assert any(s.name.endswith("role/jupyter-workshop-helper") for s in _survivor(plan, "IAM role"))


def test_retained_resources_are_read_from_the_template():
    text = replace_once(template_text(), "    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n",
                        "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n")
    plan = plan_for(model_of("prod"), text)
    [kept] = _survivor(plan, "stack resource")
    assert kept.name == "AWS::Logs::LogGroup ClusterLogGroup (/aws/eks/jupyter-prod/cluster)"
    assert "DeletionPolicy Retain" in kept.reason and kept.certain
    # With the repository's template (DeletionPolicy Delete), the log group goes with the stack.
    assert _survivor(plan_for(model_of("prod")), "stack resource") == []


def test_a_log_group_eks_creates_itself_survives():
    text = template_text()
    start = text.index("  ClusterLogGroup:\n")
    end = text.index("\n  Cluster:\n")
    text = replace_once(text[:start] + text[end + 1:], "    DependsOn: ClusterLogGroup\n", "")
    plan = plan_for(model_of("dev"), text)
    [group] = _survivor(plan, "CloudWatch log group")
    assert group.name == "/aws/eks/jupyter-dev/cluster"
    assert "EKS created it" in group.reason


def _budget(spec: dict) -> None:
    spec["costs"] = {"budget": {"monthlyLimit": 500, "emails": ["ops@example.org"]}}


#: A minimal cluster template, with or without a budget: the plan reads whatever the template says.
MINIMAL_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  KubernetesVersion: {Type: String}
Conditions:
  InOregon: !Equals [!Ref AWS::Region, us-west-2]
  HasUnrenderedParameter: !Not [!Equals [!Ref NotRenderedByHubgen, ""]]
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties: {Name: !Ref AWS::StackName, Version: !Ref KubernetesVersion}
"""
BUDGET_RESOURCE = """
  Budget:
    Type: AWS::Budgets::Budget
    Condition: {condition}
    Properties:
      Budget:
        BudgetName: !Sub ${{AWS::StackName}}-monthly
        BudgetType: COST
        TimeUnit: MONTHLY
"""


def test_budget_outside_the_stack_is_flagged():
    plan = plan_for(model_of("prod", _budget), MINIMAL_TEMPLATE)
    [budget] = _survivor(plan, "AWS Budget")
    assert not budget.certain and "creates no AWS::Budgets::Budget" in budget.reason
    assert budget.find == ("aws budgets describe-budgets --account-id 553778890976 --query 'Budgets[].BudgetName' "
                           "--output text",)
    # Without costs.budget in the spec, nothing is said about budgets.
    no_budget = model_of("prod", lambda spec: spec.get("costs", {}).pop("budget", None))
    assert _survivor(plan_for(no_budget, MINIMAL_TEMPLATE), "AWS Budget") == []


def test_budget_in_the_stack_goes_with_it():
    plan = plan_for(model_of("prod", _budget), MINIMAL_TEMPLATE + BUDGET_RESOURCE.format(condition="InOregon"))
    assert _survivor(plan, "AWS Budget") == []
    assert "1 AWS::Budgets::Budget" in next(a.note for a in plan.steps[3].actions
                                            if a.title.startswith("Delete the stack"))


def test_budget_under_a_condition_hubgen_cannot_evaluate_is_a_check():
    text = MINIMAL_TEMPLATE + BUDGET_RESOURCE.format(condition="HasUnrenderedParameter")
    plan = plan_for(model_of("prod", _budget), text)
    [budget] = _survivor(plan, "AWS Budget")
    assert budget.name == "AWS::Budgets::Budget Budget (jupyter-prod-monthly)" and not budget.certain


def test_the_repository_template_and_the_budget_agree():
    """Whether or not the repository's template holds a budget, a spec's budget is either the stack's (deleted
    with it, named in step 4) or flagged as made outside it."""
    plan = plan_for(model_of("prod", _budget))
    in_stack = "AWS::Budgets::Budget" in template_text()
    deletes = next(a.note for a in plan.steps[3].actions if a.title.startswith("Delete the stack"))
    assert ("AWS::Budgets::Budget" in deletes) is in_stack
    assert (_survivor(plan, "AWS Budget") == []) is in_stack


def test_sops_keys_and_files_survive_in_git_history():
    plan = plan_for(model_of("prod"), secret_files=("environments/prod/secrets/course.secret.yaml",),
                    sops_keys=(("kms", "arn:aws:kms:us-west-2:553778890976:key/k1"), ("age", "age1xyz")))
    [files] = _survivor(plan, "encrypted secrets in git")
    assert "arn:aws:kms:us-west-2:553778890976:key/k1" in files.reason
    assert "OAuth client Iv1.8a61f9b3a7aba766" in files.cleanup
    assert [s.name for s in _survivor(plan, "KMS key")] == ["arn:aws:kms:us-west-2:553778890976:key/k1"]


def test_storage_class_kms_key_and_referenced_roles_survive():
    key = "arn:aws:kms:us-west-2:553778890976:key/volumes"
    plan = plan_for(model_of("prod", lambda s: s["cluster"]["storage"]["classes"][1].__setitem__("kmsKeyArn", key)))
    [kms] = _survivor(plan, "KMS key")
    assert kms.name == key and "gp3-retain" in kms.reason
    roles = {s.name: s.reason for s in _survivor(plan, "IAM role")}
    assert "aws.deployRoleArn" in roles["arn:aws:iam::553778890976:role/jupyter-hub-deploy"]
    assert "OIDC provider" in roles["arn:aws:iam::553778890976:role/jupyter-prod-research-notebook"]
    # The roles the stack creates itself (<stack>-node, ...) are not survivors.
    assert not [r for r in roles if r.endswith(("jupyter-prod-node", "jupyter-prod-cluster"))]
