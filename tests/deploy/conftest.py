"""Fixtures for `hubgen deploy` tests: a local moto server (AWS API emulator) and a repository whose stack
template moto can deploy.

* ``moto_url`` (session) -- moto's server mode on 127.0.0.1 (a free port), in a thread of the test process.
  Its account is the example specs' account (MOTO_ACCOUNT_ID), so hubgen's account check passes.
* ``aws`` -- resets the server, clears AWS settings of the caller's environment, and offers boto3 clients
  for arranging and inspecting state, plus the environment variables hubgen runs with (fake credentials,
  HUBGEN_AWS_ENDPOINT_URL, and a default region *different* from the specs' to show hubgen uses the spec's).
* ``deploy_repo`` -- a repository copy whose ``manifests/cloudformation/cluster.yaml`` is a small template
  moto supports, with the real template's Parameters block copied programmatically (same contract), committed:
  `hubgen deploy` deploys committed files only (HG607). ``commit(repo, message)`` commits a test's edits.

moto 5.2.5 cannot run the real cluster template: it has no CloudFormation support for AWS::EKS::Cluster,
AWS::EKS::AccessEntry or AWS::IAM::OIDCProvider (so `Fn::GetAtt Cluster.*` fails), and it answers HTTP 500
to a SecurityGroupIngress list with an `Fn::If` -> `AWS::NoValue` entry.

The core node group's AMI parameter has CloudFormation's type AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>:
CloudFormation resolves the public parameter AWS publishes per Kubernetes version
(/aws/service/eks/optimized-ami/...). moto resolves such parameters through its own SSM, which has none of
them and refuses to create names under /aws/; the server here answers them the way moto answers its other
public parameters (loaded on first read), with a fixed AMI id per parameter (:func:`_serve_eks_ami_parameters`).
And where CloudFormation describes such a parameter with the value it was given (the SSM path) and the AMI as
its ResolvedValue, moto puts the AMI in ParameterValue; the server here describes it like CloudFormation
(:func:`_describe_ssm_parameters_as_given`), which is what `hubgen deploy` compares its parameters with.
"""

from __future__ import annotations

import ast
import datetime
import functools
import hashlib
import json
import logging
import os
import traceback
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import boto3
import pytest
import yaml

from tests.conftest import Result, git  # noqa: F401 (git: re-exported for the deploy tests)

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "553778890976"  # aws.accountId of the example specs
REGION = "us-east-1"  # aws.region of the example specs
TEMPLATE = "manifests/cloudformation/cluster.yaml"


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Reads CloudFormation YAML; short-form intrinsic functions become None (only Parameters are used)."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@functools.lru_cache(maxsize=1)
def real_parameters() -> dict[str, Any]:
    """The Parameters section of the real cluster template in this checkout."""
    doc = yaml.load((REPO_ROOT / TEMPLATE).read_text(encoding="utf-8"), Loader=_CfnLoader)
    return doc["Parameters"]


# A stand-in for the cluster stack built from resource types moto implements. NodeInstanceRole keeps the
# real template's fixed name (<stack>-node), which is what makes a name clash fail for real.
_RESOURCES = """
Resources:
  NodeInstanceRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub ${AWS::StackName}-node
      Path: /
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
  NodeSettings:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /hubgen/${AWS::StackName}/nodes
      Type: String
      Value: !Sub >-
        ${CoreNodeInstanceType} ${CoreNodeMinSize}/${CoreNodeMaxSize} ${CoreNodeImageParameter}

Outputs:
  NodeInstanceRoleArn:
    Value: !GetAtt NodeInstanceRole.Arn
"""


def small_template(padding: int = 0) -> str:
    """The stand-in template; ``padding`` adds that many bytes of comment lines (for the size limit)."""
    head = {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": "Test stand-in for the hubgen cluster stack (real Parameters, moto-supported resources).",
            "Parameters": real_parameters()}
    text = yaml.safe_dump(head, sort_keys=False, width=10_000) + _RESOURCES
    if padding:
        line = "# " + "x" * 97 + "\n"
        text += line * (padding // len(line) + 1)
    return text


#: The public SSM parameters of EKS-optimized AMIs (the core node group's CoreNodeImageParameter).
EKS_AMI_PARAMETERS = "/aws/service/eks/optimized-ami/"


def fake_ami_id(parameter: str) -> str:
    """The AMI id the test server gives an EKS AMI parameter: fixed per parameter name."""
    return "ami-" + hashlib.sha256(parameter.encode()).hexdigest()[:17]


def _serve_eks_ami_parameters(mp: pytest.MonkeyPatch) -> None:
    """Make moto's SSM answer every /aws/service/eks/optimized-ami/... parameter, as AWS does in every region,
    by the hook moto itself loads its public parameters with (ParameterDict._check_loading_status). The server
    runs in this process, so the patch reaches it."""
    from moto.ssm.models import Parameter, ParameterDict

    original = ParameterDict._check_loading_status

    def check_loading_status(self, key: str) -> None:
        original(self, key)
        key = str(key or "")
        if key.startswith(EKS_AMI_PARAMETERS) and not dict.__contains__(self, key):
            now = datetime.datetime.now(datetime.timezone.utc)
            dict.__setitem__(self, key, [Parameter(
                account_id=self.account_id, name=key, value=fake_ami_id(key), parameter_type="String",
                description=None, allowed_pattern=None, keyid=None, last_modified_date=now, version=1,
                data_type="aws:ec2:image")])

    mp.setattr(ParameterDict, "_check_loading_status", check_loading_status)


def _describe_ssm_parameters_as_given(mp: pytest.MonkeyPatch) -> None:
    """Describe a stack's AWS::SSM::Parameter::Value<...> parameters as CloudFormation does: ParameterValue is
    the parameter name given (or the default), ResolvedValue what SSM held for it."""
    from moto.cloudformation.models import Stack

    original = Stack.parameter_list

    def parameter_list(self) -> list[dict[str, Any]]:
        resources = self.resource_map
        declared = resources._template.get("Parameters") or {}
        out = []
        for item in original.fget(self):
            key = item["ParameterKey"]
            slot = declared.get(key) or {}
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
                given = resources.input_parameters.get(key, slot.get("Default"))
                item = {**item, "ParameterValue": given, "ResolvedValue": item["ParameterValue"]}
            out.append(item)
        return out

    mp.setattr(Stack, "parameter_list", property(parameter_list))


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log lines in test output
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", ACCOUNT)  # read by the server thread on each request
        _serve_eks_ami_parameters(mp)
        _describe_ssm_parameters_as_given(mp)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


#: One boto3 session for the tests' own calls: botocore then loads each service model once.
_SESSION = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass(eq=False)
class Aws:
    url: str
    env: dict[str, str]

    @functools.lru_cache(maxsize=None)  # noqa: B019 - a handful of clients per test, freed with it
    def client(self, service: str, region: str = REGION):
        return _SESSION.client(service, endpoint_url=self.url, region_name=region)

    @property
    def cfn(self):
        return self.client("cloudformation")

    def stack(self, name: str) -> dict | None:
        stacks = [s for s in self.cfn.describe_stacks()["Stacks"] if s["StackName"] == name]
        return stacks[-1] if stacks else None

    def parameters(self, name: str) -> dict[str, str]:
        """The stack's parameters as CloudFormation reports them (comma-joined lists)."""
        out = {}
        for p in self.stack(name)["Parameters"]:
            value = p["ParameterValue"]
            if value.startswith("['"):  # moto reports List<...> parameters as a Python list's repr
                value = ",".join(ast.literal_eval(value))
            out[p["ParameterKey"]] = value
        return out

    def change_sets(self, name: str) -> list[dict]:
        # moto lists every stack's change sets; keep this stack's.
        return [c for c in self.cfn.list_change_sets(StackName=name)["Summaries"] if c["StackName"] == name]


@pytest.fixture
def aws(moto_url, monkeypatch) -> Aws:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    for key in list(os.environ):
        if key.startswith(("AWS_", "HUBGEN_")):
            monkeypatch.delenv(key)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_DEFAULT_REGION": "eu-west-1",  # not the spec's region: hubgen must use the spec's
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "HUBGEN_AWS_ENDPOINT_URL": moto_url,
    }
    return Aws(moto_url, env)


@pytest.fixture(name="invoke_hubgen")
def invoke_hubgen_with_env() -> Callable[..., Result]:
    """The CLI in-process (typer's CliRunner on generator.cli.app:app) with environment variables, like
    ``run_hubgen`` but without a new interpreter per run (most deploy tests run several commands)."""
    from typer.testing import CliRunner

    from generator.cli.app import app

    def invoke(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
        args = tuple(str(a) for a in args)
        full_env = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", **(env or {})}
        result = CliRunner().invoke(app, list(args), env=full_env, catch_exceptions=True, color=False)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
        return Result(args, result.exit_code, result.stdout, stderr)

    return invoke


def commit(repo: Path, message: str = "change") -> None:
    """Stage everything and commit (no hooks)."""
    git(repo, "add", "-A")
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "--allow-empty", "-m", message)


@pytest.fixture
def deploy_repo(repo: Path) -> Path:
    (repo / TEMPLATE).write_text(small_template(), encoding="utf-8")
    commit(repo, "examples with the moto stand-in template")
    return repo


def committed_parameters(repo: Path, env: str = "dev") -> dict[str, str]:
    data = json.loads((repo / f"environments/{env}/cloudformation/cluster.parameters.json").read_text())
    return {p["ParameterKey"]: p["ParameterValue"] for p in data}


def committed_tags(repo: Path, env: str = "dev") -> dict[str, str]:
    data = json.loads((repo / f"environments/{env}/cloudformation/cluster.template-configuration.json").read_text())
    return data["Tags"]
