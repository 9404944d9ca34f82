"""manifests/cloudformation/github-oidc.yaml: the GitHub Actions deploy role (OIDC), cfn-lint clean and
least-privilege - checked against what `hubgen deploy` actually calls and what the cluster template needs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "manifests/cloudformation/github-oidc.yaml"
PIPELINE = REPO_ROOT / "manifests/cloudformation/pipeline.yaml"
DEPLOY_CLIENT = REPO_ROOT / "generator/deploy/client.py"


class _Tagged:
    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return _Tagged(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return _Tagged(suffix, loader.construct_sequence(node, deep=True))
    return _Tagged(suffix, loader.construct_mapping(node, deep=True))


_CfnLoader.add_multi_constructor("!", _construct)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def statements(doc) -> list[dict]:
    out = []
    for st in doc["Statement"]:
        if isinstance(st, _Tagged) and st.tag == "If":  # !If [Condition, statement, AWS::NoValue]
            out += [s for s in st.value[1:] if isinstance(s, dict)]
        else:
            out.append(st)
    return out


def actions(st: dict) -> list[str]:
    a = st["Action"]
    return [a] if isinstance(a, str) else list(a)


@pytest.fixture(scope="module")
def template() -> dict:
    return load(TEMPLATE)


def role_statements(template: dict) -> list[dict]:
    out = []
    for res in template["Resources"].values():
        if res["Type"] == "AWS::IAM::ManagedPolicy":
            out += statements(res["Properties"]["PolicyDocument"])
        if res["Type"] == "AWS::IAM::Role":
            for p in res["Properties"].get("Policies", []):
                out += statements(p["PolicyDocument"])
    return out


def test_cfn_lint_clean():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_the_repositorys_environment_jobs_can_assume_the_role(template):
    provider = template["Resources"]["GitHubOidcProvider"]["Properties"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    role = template["Resources"]["DeployRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity" and trust["Effect"] == "Allow"
    cond = trust["Condition"]
    assert set(cond) == {"StringEquals"}, "no StringLike wildcards in the trust policy"
    assert cond["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    sub = cond["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert isinstance(sub, _Tagged) and sub.tag == "If" and sub.value[0] == "HasBranch"
    with_branch, environment_only = sub.value[1], sub.value[2]
    subjects = lambda xs: [x.value for x in xs]  # noqa: E731
    assert subjects(environment_only) == ["repo:${GitHubRepository}:environment:${GitHubEnvironment}"]
    assert subjects(with_branch) == ["repo:${GitHubRepository}:environment:${GitHubEnvironment}",
                                     "repo:${GitHubRepository}:ref:refs/heads/${AllowBranch}"]
    assert template["Parameters"]["AllowBranch"]["Default"] == ""  # environment jobs only, unless asked


def test_permissions_are_explicit_and_scoped(template):
    for st in role_statements(template):
        assert st["Effect"] == "Allow"
        for action in actions(st):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", action), f"{st['Sid']}: {action} is not explicit"
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if "*" in resources:
            # Only read calls, or an action without resource-level permissions scoped by a condition
            # (eks:CreateCluster, by the Name tag the cluster template sets).
            assert all(re.match(r"[a-z0-9-]+:(Describe|List|Get)", a) for a in actions(st)) or st.get("Condition"), \
                f"{st['Sid']}: Resource '*' for a non-read action without a condition"


def test_covers_every_call_hubgen_deploy_makes(template):
    """The AWS operations `hubgen deploy` wraps (generator/deploy/client.py) are all granted (sts:GetCallerIdentity
    needs no permission; s3:PutObject only with a template bucket, which the template grants conditionally)."""
    called = set(re.findall(r'_aws_call\("([a-z0-9-]+:[A-Za-z]+)"\)', DEPLOY_CLIENT.read_text()))
    assert "cloudformation:CreateChangeSet" in called
    granted = {a for st in role_statements(template) for a in actions(st)}
    assert called - {"sts:GetCallerIdentity"} <= granted, called - granted


def test_grants_what_the_cluster_template_needs(template):
    """CloudFormation creates the cluster stack's resources with the role's own credentials, so it holds (at least)
    what the CodePipeline route's CloudFormation service role holds for the same template."""
    pipeline = load(PIPELINE)
    service_role = pipeline["Resources"]["ClusterDeployRole"]["Properties"]
    needed = {a for p in service_role["Policies"] for st in statements(p["PolicyDocument"]) for a in actions(st)}
    granted = {a for st in role_statements(template) for a in actions(st)}
    assert needed <= granted, sorted(needed - granted)
