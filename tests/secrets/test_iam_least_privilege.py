"""Least privilege, proven: every IAM policy in manifests/cloudformation/*.yaml is walked and checked.

Policies found: inline ``Policies`` of roles/users/groups, ``AWS::IAM::Policy``,
``AWS::IAM::ManagedPolicy``, S3/SQS/SNS resource policies, KMS key policies and role trust
policies. Templates are parsed with cfn-lint's decoder (``!Ref``/``!Sub``/``!If`` understood;
``Fn::If`` branches are both checked). Rules for every ``Allow`` statement:

1. no wildcard actions: ``*``, ``service:*`` or any ``*``/``?`` inside an action name
   (``Deny`` statements may use them: they only take permissions away);
2. no ``NotAction`` / ``NotResource`` (an allow-list inverted into a deny-list);
3. every action exists (a misspelt action grants nothing and hides a missing permission);
4. ``Resource: "*"`` (or an ARN whose resource part is ``*``, e.g. ``arn:aws:s3:::*``) only for
   actions that do not support resource-level permissions;
5. conversely, an action that supports *only* ``"*"`` must get ``"*"``: scoped to an ARN it
   matches nothing and the statement silently grants nothing;
6. no ``Principal: "*"`` in an ``Allow`` (public resource policy or trust policy).

"Supports resource-level permissions" comes from the AWS Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html:
an action whose "Resource types" column is empty needs ``"Resource": "*"``; see also
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), as bundled
with the pinned cfn-lint (``cfnlint/data/AdditionalSpecs/Policies.json``, generated from that reference):
an action listed there without ``Resources`` is the documented allow-list of actions that only take
``"*"`` (``ec2:Describe*``, ``autoscaling:Describe*``, ``elasticloadbalancing:Describe*``,
``eks:ListClusters``, ``logs:DescribeLogGroups``, ``sts:GetCallerIdentity``, ...). No hand-kept list can
drift from AWS that way; the only additions are KMS key policies, where ``"*"`` means "this key".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import decode

from hubgen_secrets_support import REPO_ROOT

TEMPLATES = sorted((REPO_ROOT / "manifests" / "cloudformation").glob("*.yaml"))
SAR = json.loads(resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text())

#: Resource type -> where its policy documents are: (property path, kind).
POLICY_LOCATIONS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "AWS::IAM::Role": [(("Policies", "*", "PolicyDocument"), "identity"), (("AssumeRolePolicyDocument",), "trust")],
    "AWS::IAM::User": [(("Policies", "*", "PolicyDocument"), "identity")],
    "AWS::IAM::Group": [(("Policies", "*", "PolicyDocument"), "identity")],
    "AWS::IAM::Policy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::ManagedPolicy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::RolePolicy": [(("PolicyDocument",), "identity")],
    "AWS::S3::BucketPolicy": [(("PolicyDocument",), "resource")],
    "AWS::SQS::QueuePolicy": [(("PolicyDocument",), "resource")],
    "AWS::SNS::TopicPolicy": [(("PolicyDocument",), "resource")],
    "AWS::KMS::Key": [(("KeyPolicy",), "key")],
}


@dataclass(frozen=True)
class Statement:
    file: str
    resource: str  # logical id
    kind: str  # identity / trust / resource / key
    line: int
    body: dict


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    resource: str
    sid: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.resource} statement {self.sid or '(no Sid)'}: {self.rule}"


def _line(node: Any, default: int = 0) -> int:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else default


def _branches(node: Any) -> Iterator[Any]:
    """Values a node can take: both branches of Fn::If, nothing for AWS::NoValue."""
    if isinstance(node, dict) and len(node) == 1:
        (k, v), = node.items()
        if k == "Fn::If" and isinstance(v, list) and len(v) == 3:
            yield from _branches(v[1])
            yield from _branches(v[2])
            return
        if k == "Ref" and v == "AWS::NoValue":
            return
    yield node


def _get(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield from _branches(node)
        return
    for n in _branches(node):
        head, rest = path[0], path[1:]
        if head == "*" and isinstance(n, list):
            for item in n:
                yield from _get(item, rest)
        elif isinstance(n, dict) and head in n:
            yield from _get(n[head], rest)


def statements(template: Path) -> list[Statement]:
    data, matches = decode(str(template))
    assert data is not None, f"{template}: {matches}"
    rel = template.relative_to(REPO_ROOT).as_posix() if template.is_relative_to(REPO_ROOT) else template.name
    out = []
    for logical_id, res in (data.get("Resources") or {}).items():
        for path, kind in POLICY_LOCATIONS.get(res.get("Type"), []):
            for doc in _get(res.get("Properties", {}), path):
                if not isinstance(doc, dict):
                    continue
                for stmts in _branches(doc.get("Statement", [])):
                    for st in _branches(stmts) if isinstance(stmts, dict) else (
                            s for item in stmts for s in _branches(item)):
                        if isinstance(st, dict):
                            out.append(Statement(rel, logical_id, kind, _line(st, _line(doc)), st))
    return out


def _strings(node: Any) -> Iterator[tuple[str, int]]:
    """(string, line) of an Action/Resource value; intrinsics become their template text."""
    for n in _branches(node):
        if isinstance(n, list):
            for item in n:
                yield from _strings(item)
        elif isinstance(n, str):
            yield str(n), _line(n)
        elif isinstance(n, dict) and len(n) == 1:
            (k, v), = n.items()
            if k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                yield re.sub(r"\$\{[^}]+\}", "X", str(text)), _line(text)
            elif k == "Fn::Join" and isinstance(v, list) and len(v) == 2 and isinstance(v[1], list):
                yield str(v[0]).join(p if isinstance(p, str) else "X" for p in v[1]), _line(v[0])
            else:  # Ref / Fn::GetAtt / Fn::ImportValue: one specific resource
                yield "arn:X:X:X:X:specific", _line(n)


def _all_resources(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[5] == "*"


def _sar_action(action: str) -> dict | None:
    service, _, name = action.partition(":")
    return (SAR.get(service.lower()) or {}).get("Actions", {}).get(name.lower())


def check_statement(st: Statement) -> list[Violation]:
    body = st.body
    sid = str(body.get("Sid", ""))

    def v(rule: str, line: int = 0) -> Violation:
        return Violation(st.file, line or st.line, st.resource, sid, rule)

    if body.get("Effect") != "Allow":
        return []
    out: list[Violation] = []
    for key in ("NotAction", "NotResource"):
        if key in body:
            out.append(v(f"{key} in an Allow statement grants everything not listed"))
    principal = body.get("Principal")
    for p, line in _strings(principal if not isinstance(principal, dict) else list(principal.values())):
        if p == "*":
            out.append(v("Allow to Principal '*' (anyone)", line))
    actions = list(_strings(body.get("Action", [])))
    if st.kind == "trust":
        return out
    resources_ = list(_strings(body.get("Resource", [])))
    for action, line in actions:
        if "*" in action or "?" in action:
            out.append(v(f"wildcard action '{action}'", line))
            continue
        sar = _sar_action(action)
        if sar is None:
            out.append(v(f"unknown action '{action}' (not in the Service Authorization Reference)", line))
            continue
        supports_resources = bool(sar.get("Resources"))
        if st.kind == "key":
            continue  # in a key policy "*" means the key itself
        if supports_resources:
            for res, rline in resources_:
                if _all_resources(res):
                    out.append(v(f"'{action}' supports resource-level permissions but the statement allows it "
                                 f"on Resource '{res}'", rline or line))
        elif not all(res == "*" for res, _ in resources_):
            out.append(v(f"'{action}' supports only Resource \"*\"; scoped to "
                         f"{', '.join(r for r, _ in resources_)} it matches nothing and grants nothing", line))
    return out


def violations(templates: list[Path]) -> tuple[list[Violation], int]:
    found: list[Violation] = []
    n = 0
    for t in templates:
        for st in statements(t):
            n += 1
            found.extend(check_statement(st))
    return found, n


def test_templates_are_there() -> None:
    names = {t.name for t in TEMPLATES}
    assert {"cluster.yaml", "pipeline.yaml"} <= names, names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_iam_policy_is_least_privilege(template: Path) -> None:
    found, n = violations([template])
    assert n > 0, f"{template.name}: no IAM policy found (the walker is broken or the template has none)"
    assert not found, "least-privilege violations:\n" + "\n".join(map(str, found))


def test_all_templates_hold_many_statements() -> None:
    """Guard against a walker that silently finds nothing: the stacks define dozens of statements."""
    _, n = violations(TEMPLATES)
    assert n >= 20, n


SEEDED = """\
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  C: !Equals [!Ref "AWS::Region", us-east-1]
Resources:
  Seed:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "*"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: seed
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: IamStar
                Effect: Allow
                Action: iam:*
                Resource: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x
              - Sid: Everything
                Effect: Allow
                Action: "*"
                Resource: "*"
              - Sid: PassAnyRole
                Effect: Allow
                Action: iam:PassRole
                Resource: "*"
              - Sid: PrefixWildcard
                Effect: Allow
                Action: s3:Get*
                Resource: arn:aws:s3:::bucket/*
              - Sid: AllBuckets
                Effect: Allow
                Action: s3:GetObject
                Resource: arn:aws:s3:::*
              - Sid: Inverted
                Effect: Allow
                NotAction: iam:DeleteRole
                Resource: arn:aws:iam::123456789012:role/x
              - Sid: Typo
                Effect: Allow
                Action: ec2:DescribeInstanses
                Resource: "*"
              - Sid: ScopedListOnly
                Effect: Allow
                Action: logs:DescribeLogGroups
                Resource: !Sub arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*
              - Sid: Conditional
                Effect: Allow
                Action: !If [C, "ec2:*", ec2:DescribeVpcs]
                Resource: "*"
              - Sid: FineDescribe
                Effect: Allow
                Action: [ec2:DescribeVpcs, sts:GetCallerIdentity]
                Resource: "*"
              - Sid: DenyIsFine
                Effect: Deny
                Action: "s3:*"
                Resource: "*"
  Bucket:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: b
      PolicyDocument:
        Statement:
          - Sid: Public
            Effect: Allow
            Principal: "*"
            Action: s3:GetObject
            Resource: arn:aws:s3:::b/*
"""


def test_checker_catches_the_seeds_iam(tmp_path: Path) -> None:
    """The checker fails on what the seed did (`iam:*`, `*`) and on each rule's violation."""
    path = tmp_path / "seed.yaml"
    path.write_text(SEEDED)
    found = [check_statement(st) for st in statements(path)]
    by_sid = {}
    for vs in found:
        for v in vs:
            by_sid.setdefault(v.sid, []).append(v.rule)
    assert set(by_sid) == {"", "IamStar", "Everything", "PassAnyRole", "PrefixWildcard", "AllBuckets", "Inverted",
                           "Typo", "ScopedListOnly", "Conditional", "Public"}, by_sid
    assert any("Principal '*'" in r for r in by_sid[""])
    assert any("wildcard action 'iam:*'" in r for r in by_sid["IamStar"])
    assert any("wildcard action '*'" in r for r in by_sid["Everything"])
    assert any("iam:PassRole' supports resource-level permissions" in r for r in by_sid["PassAnyRole"])
    assert any("arn:aws:s3:::*" in r for r in by_sid["AllBuckets"])
    assert any("NotAction" in r for r in by_sid["Inverted"])
    assert any("unknown action" in r for r in by_sid["Typo"])
    assert any("grants nothing" in r for r in by_sid["ScopedListOnly"])
    assert any("ec2:*" in r for r in by_sid["Conditional"])
    lines = {v.sid: v.line for vs in found for v in vs}
    assert lines["IamStar"] == SEEDED.splitlines().index("                Action: iam:*") + 1
