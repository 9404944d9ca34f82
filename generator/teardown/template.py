"""What the cluster template, evaluated with one environment's parameters, creates and what it keeps on delete.

The teardown plan never hard-codes the template's contents: which resources survive ``delete-stack``
(``DeletionPolicy: Retain``/``RetainExceptOnCreate``/``Snapshot``), which were kept by earlier replacements
(``UpdateReplacePolicy``), whether the control plane's log group is the stack's, whether the stack holds an
``AWS::Budgets::Budget`` -- all of it is read here from ``manifests/cloudformation/cluster.yaml`` with the
conditions evaluated on the parameters hubgen renders for the environment
(:func:`generator.render.cloudformation.flat_parameters`). A condition hubgen cannot evaluate (a parameter the
renderer does not write yet) leaves ``created`` at None: the plan then says "if created".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from generator.engines.chart_render import _parse_template, _truth
from generator.model import Environment

#: DeletionPolicy values under which CloudFormation leaves the resource (or a snapshot of it) behind.
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")
#: Where each resource type carries the physical name the plan shows (a property path).
NAME_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::InstanceProfile": ("InstanceProfileName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::EKS::Cluster": ("Name",),
    "AWS::EC2::LaunchTemplate": ("LaunchTemplateName",),
    "AWS::Budgets::Budget": ("Budget", "BudgetName"),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::KMS::Alias": ("AliasName",),
    "AWS::SNS::Topic": ("TopicName",),
}
_SUB_RE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Resource:
    """One resource of the template, as the environment's stack has it."""

    logical_id: str
    type: str
    #: True: the stack creates it for this environment; False: its condition is false; None: cannot tell.
    created: bool | None
    deletion_policy: str  # "Delete" when the template says nothing
    update_replace_policy: str
    #: The physical name, when the template names it (``!Sub ${AWS::StackName}-node`` resolved); else None.
    name: str | None
    properties: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def kept_on_delete(self) -> bool:
        return self.deletion_policy in KEEPING_POLICIES

    @property
    def kept_on_replace(self) -> bool:
        return self.update_replace_policy in KEEPING_POLICIES

    def label(self) -> str:
        return f"{self.type} {self.logical_id}" + (f" ({self.name})" if self.name else "")


@dataclass
class TemplateFacts:
    path: str
    #: False when the template is missing or does not parse: the plan then says what it could not check.
    readable: bool
    resources: list[Resource] = field(default_factory=list)

    def present(self) -> list[Resource]:
        """The resources the environment's stack has (or may have: condition unknown)."""
        return [r for r in self.resources if r.created is not False]

    def of_type(self, rtype: str) -> list[Resource]:
        return [r for r in self.present() if r.type == rtype]

    def counts(self) -> list[tuple[str, int]]:
        """(type, how many) of the resources the stack certainly creates, in the template's order of types."""
        counter = Counter(r.type for r in self.resources if r.created)
        return list(counter.items())


def resolve(expr: Any, params: dict[str, str], pseudo: dict[str, str]) -> str | None:
    """A string value of ``expr``: a literal, ``Ref`` to a parameter or pseudo parameter, or ``Fn::Sub`` over
    those (its string form). None for anything else (``GetAtt``, ``If``...): the plan then names no value."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        return str(expr)
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Ref" and isinstance(arg, str):
            return pseudo.get(arg, params.get(arg))
        if fn == "Fn::Sub" and isinstance(arg, str):
            values = {**params, **pseudo}
            missing = [m for m in _SUB_RE.findall(arg) if m not in values]
            return None if missing else _SUB_RE.sub(lambda m: values[m.group(1)], arg)
    return None


def pseudo_parameters(env: Environment) -> dict[str, str]:
    return {"AWS::StackName": env.cluster.stack_name, "AWS::Region": env.region, "AWS::AccountId": env.account_id,
            "AWS::Partition": env.partition, "AWS::URLSuffix": "amazonaws.com.cn" if env.partition == "aws-cn"
            else "amazonaws.com"}


def _name(rtype: str, props: dict, params: dict[str, str], pseudo: dict[str, str]) -> str | None:
    path = NAME_PROPERTIES.get(rtype)
    value: Any = props
    for key in path or ():
        value = value.get(key) if isinstance(value, dict) else None
    return resolve(value, params, pseudo) if path else None


def read_template(content: bytes | None, env: Environment, path: str) -> TemplateFacts:
    """The template's resources for ``env`` (``content`` None: the template is missing)."""
    from generator.render.cloudformation import flat_parameters

    if content is None:
        return TemplateFacts(path, readable=False)
    data, _node = _parse_template(content)
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        return TemplateFacts(path, readable=False)
    params = {k: str(v) for k, v in flat_parameters(env).items()}
    for name, decl in (data.get("Parameters") or {}).items():
        if isinstance(decl, dict) and "Default" in decl and name not in params:
            params[name] = str(decl["Default"])
    pseudo = pseudo_parameters(env)
    conditions = data.get("Conditions") or {}
    facts = TemplateFacts(path, readable=True)
    for logical_id, res in data["Resources"].items():
        if not isinstance(res, dict):
            continue
        created: bool | None = True
        if "Condition" in res:
            created = _truth({"Condition": res["Condition"]}, {**params, **pseudo}, conditions)
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        rtype = str(res.get("Type"))
        facts.resources.append(Resource(
            logical_id=str(logical_id), type=rtype, created=created,
            deletion_policy=str(res.get("DeletionPolicy") or "Delete"),
            update_replace_policy=str(res.get("UpdateReplacePolicy") or "Delete"),
            name=_name(rtype, props, params, pseudo), properties=props))
    return facts


def cluster_logging(facts: TemplateFacts) -> bool:
    """Whether the stack's EKS cluster sends control plane logs to CloudWatch (any enabled log type)."""
    for r in facts.of_type("AWS::EKS::Cluster"):
        enabled = ((r.properties.get("Logging") or {}).get("ClusterLogging") or {}).get("EnabledTypes")
        if enabled:
            return True
    return False
