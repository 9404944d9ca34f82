"""`hubgen deploy` end to end: the real CLI against a local moto server (AWS API emulator) started by the tests.

The create scenario runs the installed console script in a subprocess (environment variables, exit code);
the others run the same typer app in-process (CliRunner) to keep the suite fast. Nothing of hubgen is mocked.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from .conftest import ACCOUNT, TEMPLATE, commit, committed_parameters, committed_tags, fake_ami_id, small_template

STACK = "jupyter-dev"  # cluster.stackName of environments/dev


def deploy(runner, repo, aws, *args, env=None):
    """`hubgen --repo REPO ARGS...` with the emulator's environment; ``runner`` is run_hubgen (a subprocess of
    the console script) or invoke_hubgen (in-process, faster)."""
    return runner(["--repo", repo, *args], env={**aws.env, **(env or {})})


def ssm_value(aws, stack=STACK) -> str:
    return aws.client("ssm").get_parameter(Name=f"/hubgen/{stack}/nodes")["Parameter"]["Value"]


def test_create_reaches_create_complete_with_the_committed_parameters_and_tags(run_hubgen, deploy_repo, aws):
    r = deploy(run_hubgen, deploy_repo, aws, "deploy", "dev", "--poll-interval", "0.2")
    assert r.rc == 0, r
    assert f"creating stack {STACK} in {ACCOUNT}/us-east-1" in r.stdout
    # The change set table, then the stack's events, then the final state.
    assert re.search(r"Add\s+│\s+NodeInstanceRole\s+│\s+AWS::IAM::Role", r.stdout), r
    assert "CREATE_IN_PROGRESS" in r.stdout and f"stack {STACK} CREATE_COMPLETE" in r.stdout
    stack = aws.stack(STACK)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # Region from the spec (us-east-1), not from AWS_DEFAULT_REGION (eu-west-1).
    assert aws.client("cloudformation", region="eu-west-1").describe_stacks()["Stacks"] == []
    assert aws.parameters(STACK) == committed_parameters(deploy_repo)
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == committed_tags(deploy_repo)
    role = aws.client("iam").get_role(RoleName=f"{STACK}-node")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{STACK}-node"
    # The core nodes' AMI: the public SSM parameter of the version, given by name and resolved by CloudFormation.
    ami = next(p for p in stack["Parameters"] if p["ParameterKey"] == "CoreNodeImageParameter")
    assert ami["ParameterValue"] == ("/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/"
                                     "recommended/image_id")
    assert ami["ResolvedValue"] == fake_ami_id(ami["ParameterValue"])
    assert ssm_value(aws) == f"m5.xlarge 1/4 {ami['ResolvedValue']}"
    assert aws.change_sets(STACK)[-1]["ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_second_deploy_without_changes_succeeds_and_leaves_no_change_set(invoke_hubgen, deploy_repo, aws):
    assert deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev").rc == 0
    events_before = len(aws.cfn.describe_stack_events(StackName=STACK)["StackEvents"])
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 0, r
    assert "no changes" in r.stdout
    assert aws.stack(STACK)["StackStatus"] == "CREATE_COMPLETE"
    assert len(aws.cfn.describe_stack_events(StackName=STACK)["StackEvents"]) == events_before
    # The empty (FAILED) change set was deleted; only the executed one remains.
    assert [c["ExecutionStatus"] for c in aws.change_sets(STACK)] == ["EXECUTE_COMPLETE"]

    j = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev")
    assert j.rc == 0, j
    assert json.loads(j.stdout)["deploy"]["result"] == "no-changes"


def test_spec_change_is_refused_until_rendered_then_updates_the_stack(invoke_hubgen, deploy_repo, aws):
    assert deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev").rc == 0
    spec = deploy_repo / "environments/dev/environment.yaml"
    text = spec.read_text()
    assert text.count("    maxSize: 4\n") == 1
    spec.write_text(text.replace("    maxSize: 4\n", "    maxSize: 6\n"))
    commit(deploy_repo, "spec only, not rendered")

    stale = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert stale.rc == 1, stale
    assert "HG401" in stale.stdout and "hubgen render dev" in stale.stdout
    assert aws.parameters(STACK)["CoreNodeMaxSize"] == "4"

    assert invoke_hubgen(["--repo", deploy_repo, "render", "dev"]).rc == 0
    commit(deploy_repo, "render dev")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--poll-interval", "0.2")
    assert r.rc == 0, r
    assert f"updating stack {STACK}" in r.stdout
    assert "CoreNodeMaxSize: '4' -> '6'" in r.stdout
    assert "UPDATE_COMPLETE" in r.stdout
    stack = aws.stack(STACK)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert aws.parameters(STACK)["CoreNodeMaxSize"] == "6"
    # Not asserted, because moto differs from CloudFormation here: moto does not update resources whose
    # properties change only through a parameter value (the SSM parameter keeps "1/4 ..."), and it reports
    # List<> parameters as a Python list, so the printed diff also shows Subnets.


def test_dry_run_prints_the_change_set_and_changes_nothing(invoke_hubgen, deploy_repo, aws):
    r = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev", "--dry-run")
    assert r.rc == 0, r
    doc = json.loads(r.stdout)
    d = doc["deploy"]
    assert (d["result"], d["action"], d["stack"], d["region"]) == ("dry-run", "CREATE", STACK, "us-east-1")
    assert {"action": "Add", "logicalResourceId": "NodeSettings", "resourceType": "AWS::SSM::Parameter",
            "replacement": ""} in d["changeSet"]["changes"]
    # Like CloudFormation, the unexecuted CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS.
    assert aws.stack(STACK)["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert aws.change_sets(STACK) == []
    assert aws.client("iam").list_roles()["Roles"] == []


def test_dry_run_on_an_existing_stack_shows_the_parameter_change_without_applying_it(invoke_hubgen, deploy_repo, aws):
    assert deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev").rc == 0
    spec = deploy_repo / "environments/dev/environment.yaml"
    spec.write_text(spec.read_text().replace("    maxSize: 4\n", "    maxSize: 5\n"))
    assert invoke_hubgen(["--repo", deploy_repo, "render", "dev"]).rc == 0
    commit(deploy_repo)
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--dry-run")
    assert r.rc == 0, r
    assert "CoreNodeMaxSize: '4' -> '5'" in r.stdout and "dry run" in r.stdout
    assert aws.parameters(STACK)["CoreNodeMaxSize"] == "4"
    assert aws.stack(STACK)["StackStatus"] == "CREATE_COMPLETE"
    assert [c["ExecutionStatus"] for c in aws.change_sets(STACK)] == ["EXECUTE_COMPLETE"]


def test_failed_creation_prints_the_reason_and_exits_1(invoke_hubgen, deploy_repo, aws):
    # The seed's classic: a resource with the stack's fixed name already exists in the account.
    aws.client("iam").create_role(RoleName=f"{STACK}-node", AssumeRolePolicyDocument="{}")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert "HG601" in r.stdout
    assert f"Role with name {STACK}-node already exists" in r.stdout
    assert "Traceback" not in r.output

    j = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev")
    assert j.rc == 1, j
    doc = json.loads(j.stdout)
    assert doc["deploy"]["result"] == "failed"
    assert any(f"{STACK}-node already exists" in p["message"] and p["code"] == "HG601" for p in doc["problems"])


def _seed_failed_creation(stack_name: str, reason: str) -> None:
    """Put the stack into the state a failed creation leaves on AWS (ROLLBACK_COMPLETE plus the events).

    moto's change sets never roll back (they raise instead), so the test arranges the emulator's state
    directly: a stack in ROLLBACK_COMPLETE with CloudFormation's usual events.
    """
    from moto.cloudformation.models import Event, cloudformation_backends

    backend = cloudformation_backends[ACCOUNT]["us-east-1"]
    stack = next(s for s in backend.stacks.values() if s.name == stack_name)

    def event(logical_id, rtype, status, why):
        stack.events.append(Event(stack.stack_id, stack.name, logical_id, "", rtype, status, why, None))

    event("NodeInstanceRole", "AWS::IAM::Role", "CREATE_FAILED", reason)
    event("NodeSettings", "AWS::SSM::Parameter", "CREATE_FAILED", "Resource creation cancelled")
    event(stack.name, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
          "The following resource(s) failed to create: [NodeInstanceRole, NodeSettings]. Rollback requested by user.")
    event(stack.name, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", None)
    stack.status = "ROLLBACK_COMPLETE"


def test_stack_in_rollback_complete_is_refused_with_reasons_and_never_deleted(invoke_hubgen, deploy_repo, aws):
    assert deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev", "--dry-run").rc == 0  # creates the stack record
    reason = f"{STACK}-node already exists in stack arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/other/1"
    _seed_failed_creation(STACK, reason)
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert "HG602" in r.stdout and "ROLLBACK_COMPLETE" in r.stdout
    assert f"aws cloudformation delete-stack --stack-name {STACK} --region us-east-1" in r.stdout
    assert "hubgen never deletes stacks" in r.stdout
    # The root cause, located at the resource in the template; the merely cancelled resource is named in it.
    line = next(i for i, l in enumerate((deploy_repo / TEMPLATE).read_text().splitlines(), 1)
                if l == "  NodeInstanceRole:")
    assert (f"{TEMPLATE}:{line}:3: error HG601 NodeInstanceRole (AWS::IAM::Role) CREATE_FAILED: {reason} "
            "(CloudFormation cancelled 1 other resource operation(s): NodeSettings)") in r.stdout
    assert r.stdout.count("error HG601") == 1
    assert aws.stack(STACK)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert aws.change_sets(STACK) == []

    gh = deploy(invoke_hubgen, deploy_repo, aws, "--format", "github", "deploy", "dev")
    assert gh.rc == 1
    assert f"::error file={TEMPLATE},line={line},col=3,title=HG601::NodeInstanceRole" in gh.stdout


def test_stack_not_created_by_hubgen_needs_adopt_and_other_environments_stacks_are_never_touched(
        invoke_hubgen, deploy_repo, aws):
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in committed_parameters(deploy_repo).items()]
    aws.cfn.create_stack(StackName=STACK, TemplateBody=small_template(), Parameters=params,
                         Capabilities=["CAPABILITY_NAMED_IAM"])
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert "HG603" in r.stdout and "--adopt" in r.stdout
    spec = deploy_repo / "environments/dev/environment.yaml"
    spec.write_text(spec.read_text().replace("    maxSize: 4\n", "    maxSize: 8\n"))
    assert invoke_hubgen(["--repo", deploy_repo, "render", "dev"]).rc == 0
    commit(deploy_repo)
    r = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev", "--adopt")
    assert r.rc == 0, r
    doc = json.loads(r.stdout)["deploy"]
    assert (doc["result"], doc["action"]) == ("updated", "UPDATE")
    assert doc["parameterChanges"][0] == {"key": "CoreNodeMaxSize", "old": "4", "new": "8"}
    assert doc["outputs"] == {"NodeInstanceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{STACK}-node"}
    assert aws.parameters(STACK)["CoreNodeMaxSize"] == "8"

    prod = aws.client("cloudformation", region="us-west-2")  # environments/prod deploys to us-west-2
    prod.create_stack(StackName="jupyter-prod", TemplateBody=small_template(), Parameters=params,
                      Tags=[{"Key": "hubgen:environment", "Value": "staging"}])
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "prod", "--adopt")
    assert r.rc == 1, r
    assert "HG603" in r.stdout and "belongs to environment 'staging'" in r.stdout


def test_credentials_of_another_account_are_refused(invoke_hubgen, deploy_repo, aws, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")  # the emulator now answers as another account
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert re.search(r"environments/dev/environment\.yaml:\d+:\d+: error HG604 .*account 111122223333", r.stdout)
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []


def test_template_over_the_inline_limit_goes_through_s3(invoke_hubgen, deploy_repo, aws):
    big = small_template(padding=60_000)
    (deploy_repo / TEMPLATE).write_text(big)
    commit(deploy_repo, "a big template")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 2, r
    assert "51,200" in r.stderr and "--template-bucket" in r.stderr

    aws.client("s3").create_bucket(Bucket="hubgen-templates")
    r = deploy(invoke_hubgen, deploy_repo, aws, "--format", "json", "deploy", "dev",
               env={"HUBGEN_TEMPLATE_BUCKET": "hubgen-templates"})
    assert r.rc == 0, r
    key = f"hubgen/cloudformation/{hashlib.sha256(big.encode()).hexdigest()}/cluster.yaml"
    doc = json.loads(r.stdout)["deploy"]
    assert doc["result"] == "created"
    assert doc["templateUrl"] == f"https://hubgen-templates.s3.us-east-1.amazonaws.com/{key}"
    assert aws.client("s3").get_object(Bucket="hubgen-templates", Key=key)["Body"].read() == big.encode()
    assert aws.stack(STACK)["StackStatus"] == "CREATE_COMPLETE"


def test_unreachable_endpoint_is_a_clear_error(invoke_hubgen, deploy_repo, aws):
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev",
               env={"HUBGEN_AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    assert r.rc == 1, r
    assert "HG605" in r.stdout and "sts:GetCallerIdentity" in r.stdout
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args, message", [
    (["deploy", "nope"], "no environment 'nope'"),
    (["deploy", "dev", "--endpoint-url", "localhost:5000"], "--endpoint-url"),
    (["deploy", "dev", "--template-bucket", "Not_A_Bucket"], "--template-bucket"),
    (["deploy"], "Missing argument"),
])
def test_usage_errors_exit_2(invoke_hubgen, deploy_repo, aws, args, message):
    r = deploy(invoke_hubgen, deploy_repo, aws, *args)
    assert r.rc == 2, r
    assert message in r.stderr
    assert aws.cfn.describe_stacks()["Stacks"] == []


def test_invalid_spec_is_reported_with_its_location_and_nothing_is_deployed(invoke_hubgen, deploy_repo, aws):
    spec = deploy_repo / "environments/dev/environment.yaml"
    spec.write_text(spec.read_text().replace("    minSize: 1\n", "    minSize: 5\n"))  # above maxSize (4)
    commit(deploy_repo, "an invalid spec")
    r = deploy(invoke_hubgen, deploy_repo, aws, "deploy", "dev")
    assert r.rc == 1, r
    assert re.search(r"environments/dev/environment\.yaml:\d+:\d+: error HG201", r.stdout), r
    assert aws.cfn.describe_stacks()["Stacks"] == []
