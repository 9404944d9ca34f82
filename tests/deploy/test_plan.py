"""The deploy decisions that moto cannot exercise (it never rolls back, never reports resource events),
checked as plain data in, decisions out, plus the template reading the runner relies on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from generator.deploy import plan
from generator.deploy.inputs import check_parameters, parse_template
from generator.deploy.plan import Event, Stack

from .conftest import REPO_ROOT, TEMPLATE, real_parameters

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def stack(status: str, owner: str | None = "dev") -> Stack:
    tags = {plan.OWNER_TAG: owner} if owner else {}
    return Stack("jupyter-dev", "arn:aws:cloudformation:us-east-1:1:stack/jupyter-dev/x", status, tags=tags)


@pytest.mark.parametrize("current, action", [
    (None, "CREATE"),
    (stack("REVIEW_IN_PROGRESS", owner=None), "CREATE"),  # left by a dry run; holds no resources
    (stack("CREATE_COMPLETE"), "UPDATE"),
    (stack("UPDATE_COMPLETE"), "UPDATE"),
    (stack("UPDATE_ROLLBACK_COMPLETE"), "UPDATE"),  # a failed update leaves the old, working stack
    (stack("IMPORT_COMPLETE"), "UPDATE"),
])
def test_create_or_update(current, action):
    assert plan.decide(current, "dev", "us-east-1").action == action


@pytest.mark.parametrize("status, needle", [
    ("ROLLBACK_COMPLETE", "aws cloudformation delete-stack --stack-name jupyter-dev --region us-east-1"),
    ("ROLLBACK_FAILED", "delete-stack"),
    ("DELETE_FAILED", "delete-stack"),
    ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
    ("CREATE_FAILED", "rollback-stack"),
    ("UPDATE_IN_PROGRESS", "Wait until it has finished"),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "Wait until it has finished"),
    ("DELETE_IN_PROGRESS", "Wait until it has finished"),
])
def test_states_cloudformation_cannot_update_are_refused_with_the_manual_step(status, needle):
    d = plan.decide(stack(status), "dev", "us-east-1")
    assert d.action is None and d.code == "HG602"
    assert status in d.refusal
    assert needle in d.hint
    if status == "ROLLBACK_COMPLETE":
        assert "never deletes stacks" in d.hint and d.show_failures


def test_stacks_hubgen_does_not_own_are_refused():
    foreign = plan.decide(stack("CREATE_COMPLETE", owner="prod"), "dev", "us-east-1", adopt=True)
    assert (foreign.action, foreign.code) == (None, "HG603") and "'prod'" in foreign.refusal
    untagged = plan.decide(stack("CREATE_COMPLETE", owner=None), "dev", "us-east-1")
    assert (untagged.action, untagged.code) == (None, "HG603") and "--adopt" in untagged.hint
    assert plan.decide(stack("CREATE_COMPLETE", owner=None), "dev", "us-east-1", adopt=True).action == "UPDATE"


@pytest.mark.parametrize("status, result", [
    ("CREATE_IN_PROGRESS", "running"), ("ROLLBACK_IN_PROGRESS", "running"),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "running"), ("UPDATE_ROLLBACK_IN_PROGRESS", "running"),
    ("CREATE_COMPLETE", "succeeded"), ("UPDATE_COMPLETE", "succeeded"),
    ("ROLLBACK_COMPLETE", "failed"), ("UPDATE_ROLLBACK_COMPLETE", "failed"), ("CREATE_FAILED", "failed"),
    ("ROLLBACK_FAILED", "failed"), ("UPDATE_ROLLBACK_FAILED", "failed"), ("DELETE_COMPLETE", "failed"),
])
def test_waiting_ends_on_final_states(status, result):
    assert plan.outcome(status) == result


def test_change_set_states():
    assert [plan.change_set_outcome(s) for s in ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_COMPLETE",
                                                  "FAILED", "DELETE_COMPLETE")] == \
        ["running", "running", "ready", "failed", "failed"]


def test_no_change_messages():
    assert plan.is_no_change("The submitted information didn't contain changes. Submit different information to "
                             "create a change set.")
    assert plan.is_no_change("No updates are to be performed.")
    assert not plan.is_no_change("Parameters: [Foo] do not exist in the template")
    assert not plan.is_no_change(None)


def ev(i: int, logical: str, status: str, reason: str = "", rtype: str = "AWS::IAM::Role") -> Event:
    return Event(f"e{i}", T0 + timedelta(seconds=i), logical, rtype, status, reason)


def test_failures_put_the_root_cause_first_and_skip_stack_events():
    events = [
        ev(1, "jupyter-dev", "CREATE_IN_PROGRESS", "User Initiated", "AWS::CloudFormation::Stack"),
        ev(2, "LoadBalancer", "CREATE_FAILED", "Resource creation cancelled"),
        ev(3, "NodeInstanceRole", "CREATE_FAILED", "jupyter-dev-node already exists"),
        ev(4, "jupyter-dev", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [...]",
           "AWS::CloudFormation::Stack"),
        ev(5, "NodeInstanceRole", "DELETE_COMPLETE"),
    ]
    assert [(e.logical_id, e.reason) for e in plan.failures(events)] == [
        ("NodeInstanceRole", "jupyter-dev-node already exists"), ("LoadBalancer", "Resource creation cancelled")]


def test_the_last_operation_starts_at_its_user_initiated_event():
    stack_type = "AWS::CloudFormation::Stack"
    newest_first = [
        ev(6, "jupyter-dev", "UPDATE_ROLLBACK_FAILED", "", stack_type),
        ev(5, "NodeGroup", "UPDATE_FAILED", "Received 0 SUCCESS signal(s) out of 1",
           "AWS::AutoScaling::AutoScalingGroup"),
        ev(4, "jupyter-dev", "UPDATE_IN_PROGRESS", "User Initiated", stack_type),
        ev(3, "jupyter-dev", "UPDATE_ROLLBACK_COMPLETE", "", stack_type),
        ev(2, "Cluster", "UPDATE_FAILED", "an older failure", "AWS::EKS::Cluster"),
        ev(1, "jupyter-dev", "UPDATE_IN_PROGRESS", "User Initiated", stack_type),
    ]
    last = plan.last_operation(newest_first)
    assert [e.event_id for e in last] == ["e4", "e5", "e6"]
    assert [e.logical_id for e in plan.failures(last)] == ["NodeGroup"]


def test_only_events_after_the_baseline_are_new():
    newest_first = [ev(5, "C", "CREATE_COMPLETE"), ev(4, "B", "CREATE_COMPLETE"), ev(3, "A", "CREATE_COMPLETE"),
                    ev(2, "Z", "UPDATE_COMPLETE")]
    fresh, stopped = plan.select_new(newest_first, {"e3"}, since=T0 + timedelta(seconds=3))
    assert [e.event_id for e in fresh] == ["e4", "e5"] and stopped
    fresh, stopped = plan.select_new(newest_first[:2], set(), since=None)
    assert [e.event_id for e in fresh] == ["e4", "e5"] and not stopped


def test_parameter_changes():
    old = {"A": "1", "B": "x", "Secret": "****", "Gone": "g"}
    new = {"A": "2", "B": "x", "Secret": "new", "Added": "n"}  # pragma: allowlist secret
    assert [(c.key, c.old, c.new) for c in plan.parameter_changes(old, new)] == [
        ("A", "1", "2"), ("Added", None, "n"), ("Gone", "g", None)]


def test_template_location_and_size_limit():
    assert plan.template_url("b", "k/t.yaml", "us-east-1") == "https://b.s3.us-east-1.amazonaws.com/k/t.yaml"
    assert plan.template_url("my.bucket", "k", "eu-west-1") == "https://s3.eu-west-1.amazonaws.com/my.bucket/k"
    assert plan.template_url("b", "k", "cn-north-1") == "https://b.s3.cn-north-1.amazonaws.com.cn/k"
    assert not plan.needs_upload(51_200) and plan.needs_upload(51_201)
    assert plan.template_key("ab" * 32) == f"hubgen/cloudformation/{'ab' * 32}/cluster.yaml"
    assert plan.valid_bucket_name("hubgen-templates") and not plan.valid_bucket_name("Bad_Name")
    assert plan.change_set_name("dev", datetime(2026, 3, 4, 5, 6, 7)) == "hubgen-dev-20260304-050607"


def test_capabilities_follow_the_transform():
    assert plan.capabilities(False) == ["CAPABILITY_NAMED_IAM"]
    assert plan.capabilities(True) == ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    with_transform = parse_template("Transform: AWS::LanguageExtensions\nResources:\n  A: {Type: X}\n", "t.yaml")
    assert with_transform.has_transform


def test_the_real_template_is_read_with_its_parameters_and_resource_lines():
    text = (REPO_ROOT / TEMPLATE).read_text(encoding="utf-8")
    t = parse_template(text, TEMPLATE)
    assert set(t.parameters) == set(real_parameters())
    assert not t.has_transform
    lines = text.splitlines()
    for logical_id, line in t.resource_lines.items():
        assert lines[line - 1] == f"  {logical_id}:"
    with pytest.raises(ValueError):
        parse_template("Resources: [unclosed", TEMPLATE)
    with pytest.raises(ValueError):
        parse_template("Parameters: {}\n", TEMPLATE)


def test_parameters_are_checked_against_the_template():
    t = parse_template("Parameters:\n  Need: {Type: String}\n  Opt: {Type: String, Default: ''}\n"
                       "Resources:\n  A: {Type: X}\n", "t.yaml")
    text = '[\n  {\n    "ParameterKey": "Extra",\n    "ParameterValue": "1"\n  }\n]\n'
    problems = check_parameters([{"ParameterKey": "Extra", "ParameterValue": "1"}], t, "p.json", text, "dev")
    assert [(p.code, str(p.location)) for p in problems] == [("HG505", "p.json:3:1"), ("HG505", "p.json:1:1")]
    assert "Extra is not declared" in problems[0].message and "requires parameter Need" in problems[1].message
