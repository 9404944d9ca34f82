"""Stack parameters against the template's ``Parameters`` block, in-process (HG505).

CloudFormation rejects a stack operation whose parameters the template does
not accept; this engine finds that before anything is deployed, and points at
the spec field that feeds the offending parameter. The template's Parameters
block is decoded once per template (cfn-lint's decoder, which understands the
short-form intrinsic tags and keeps positions); each environment's parameters
(:func:`generator.render.cloudformation.parameters`, list-typed parameters as
lists) are then checked for:

* unknown parameters (hubgen writes a parameter the template does not declare),
* required parameters (no ``Default``) that hubgen does not write,
* ``Type``: ``String``, ``Number``, ``List<Number>``, ``CommaDelimitedList``,
  the AWS-specific types (``AWS::EC2::VPC::Id`` ...) by the id's format, and
  their ``List<...>`` forms,
* ``AllowedValues``, ``AllowedPattern`` (the whole value must match, as in
  CloudFormation; per item for lists), ``MinLength``/``MaxLength``,
  ``MinValue``/``MaxValue``.

AWS-specific types are checked by format only: whether the VPC or AMI exists
in the account is something only CloudFormation can tell.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from generator import __version__, codes
from generator.engines.base import (EngineResult, EnvArtifacts, LintInputs, Stopwatch, Template, parameter_location,
                                    unit_key)
from generator.engines.cache import ResultCache, problem_to_json, problems_from_json
from generator.paths import CLUSTER_TEMPLATE
from generator.problems import Location, Problem
from generator.render.cloudformation import parameters as stack_parameters

NAME = "params"
SOURCE = "hubgen"

_ID = r"([0-9A-Fa-f]{8}|[0-9A-Fa-f]{17})"
#: Formats of the AWS-specific parameter types (the part CloudFormation checks without an account lookup).
AWS_TYPE_PATTERNS: dict[str, str] = {
    "AWS::EC2::AvailabilityZone::Name": r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9][a-z]",
    "AWS::EC2::Image::Id": rf"ami-{_ID}",
    "AWS::EC2::Instance::Id": rf"i-{_ID}",
    "AWS::EC2::KeyPair::KeyName": r".{1,255}",
    "AWS::EC2::SecurityGroup::GroupName": r".{1,255}",
    "AWS::EC2::SecurityGroup::Id": rf"sg-{_ID}",
    "AWS::EC2::Subnet::Id": rf"subnet-{_ID}",
    "AWS::EC2::Volume::Id": rf"vol-{_ID}",
    "AWS::EC2::VPC::Id": rf"vpc-{_ID}",
    "AWS::Route53::HostedZone::Id": r"[A-Z0-9]{1,32}",
    "AWS::SSM::Parameter::Name": r"[a-zA-Z0-9_.\-/]{1,2048}",
}
_SSM_VALUE_RE = re.compile(r"^AWS::SSM::Parameter::Value<(.+)>$")
_LIST_RE = re.compile(r"^List<(.+)>$")
_NUMBER_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class ParamDecl:
    name: str
    type: str
    line: int
    column: int
    has_default: bool
    allowed_values: tuple[str, ...] | None = None
    allowed_pattern: str | None = None
    constraint: str = ""
    min_length: float | None = None
    max_length: float | None = None
    min_value: float | None = None
    max_value: float | None = None

    @property
    def is_list(self) -> bool:
        return self.type == "CommaDelimitedList" or bool(_LIST_RE.match(self.type))

    @property
    def item_type(self) -> str:
        """Type of one value: the T of List<T>, String for CommaDelimitedList, else the type itself."""
        if self.type == "CommaDelimitedList":
            return "String"
        m = _LIST_RE.match(self.type)
        return m.group(1) if m else self.type


@dataclass
class ParsedParameters:
    declarations: dict[str, ParamDecl]
    #: Problems with the Parameters block itself (reported once per template).
    problems: list[Problem]
    #: Set when the template could not be decoded at all.
    unreadable: str | None = None


def _mark(node: Any) -> tuple[int, int]:
    mark = getattr(node, "start_mark", None)
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        return float(value)
    return None


_PARSED: dict[tuple[str, str], ParsedParameters] = {}
#: Layout of a stored ParsedParameters (part of its cache key).
_PARSED_FORMAT = "1"


def parse_parameters(template: Template, cache: ResultCache | None = None) -> ParsedParameters:
    """The template's parameter declarations, memoised by content (and cached, so that a warm run
    never has to import cfn-lint's decoder)."""
    memo = (template.path, hashlib.sha256(template.content).hexdigest())
    if memo in _PARSED:
        return _PARSED[memo]
    key = unit_key(NAME, f"hubgen {__version__}", _PARSED_FORMAT, template.path, template.content)
    parsed = _parsed_from_json(cache.get(key)) if cache is not None else None
    if parsed is None:
        parsed = _parse(template)
        if cache is not None:
            cache.put(key, _parsed_to_json(parsed))
    _PARSED[memo] = parsed
    return parsed


def _parsed_to_json(parsed: ParsedParameters) -> dict:
    return {"declarations": [asdict(d) for d in parsed.declarations.values()],
            "problems": [problem_to_json(p) for p in parsed.problems], "unreadable": parsed.unreadable}


def _parsed_from_json(payload: Any) -> ParsedParameters | None:
    if not isinstance(payload, dict):
        return None
    problems = problems_from_json(payload.get("problems"))
    decls = payload.get("declarations")
    unreadable = payload.get("unreadable")
    if problems is None or not isinstance(decls, list) or not (unreadable is None or isinstance(unreadable, str)):
        return None
    out: dict[str, ParamDecl] = {}
    try:
        for d in decls:
            if d.get("allowed_values") is not None:
                d = dict(d, allowed_values=tuple(d["allowed_values"]))
            decl = ParamDecl(**d)
            out[decl.name] = decl
    except (TypeError, AttributeError):
        return None
    return ParsedParameters(out, problems, unreadable)


def _parse(template: Template) -> ParsedParameters:
    from cfnlint.decode import decode_str

    def problem(message: str, line: int = 0, col: int = 0) -> Problem:
        return codes.HG505.problem(message, Location(template.path, line, col), source=SOURCE,
                                   hint="Fix the template's Parameters block.")

    try:
        text = template.content.decode("utf-8")
    except UnicodeDecodeError:
        return ParsedParameters({}, [problem("template is not UTF-8 text; parameters cannot be checked")], "not UTF-8")
    try:
        data, errors = decode_str(text)
    except Exception as e:  # noqa: BLE001 - the decoder must never turn bad input into a traceback
        errors, data = [], None
        reason = f"{type(e).__name__}: {e}"
    else:
        reason = "; ".join(m.message for m in errors[:3]) if errors else ""
    if errors or not isinstance(data, dict):
        line, col = (errors[0].linenumber, errors[0].columnnumber) if errors else (0, 0)
        reason = reason or "the template is not a mapping"
        return ParsedParameters({}, [problem(f"template does not parse, parameters cannot be checked: {reason}",
                                             line, col)], reason)
    block = data.get("Parameters", {})
    if not isinstance(block, dict):
        line, col = _mark(block)
        return ParsedParameters({}, [problem("Parameters is not a mapping", line, col)], None)
    decls: dict[str, ParamDecl] = {}
    problems: list[Problem] = []
    for name, body in block.items():
        line, col = _mark(name)
        if not isinstance(body, dict):
            problems.append(problem(f"parameter {name} is not a mapping", line, col))
            continue
        ptype = body.get("Type")
        if not isinstance(ptype, str):
            problems.append(problem(f"parameter {name} has no Type", line, col))
            continue
        pattern = body.get("AllowedPattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as e:
                problems.append(problem(f"parameter {name}: AllowedPattern {pattern!r} is not a valid regular "
                                        f"expression ({e})", *_mark(pattern)))
                pattern = None
        allowed = body.get("AllowedValues")
        decls[str(name)] = ParamDecl(
            name=str(name),
            type=str(ptype),
            line=line,
            column=col,
            has_default="Default" in body,
            allowed_values=tuple(str(v) for v in allowed) if isinstance(allowed, list) else None,
            allowed_pattern=str(pattern) if pattern is not None else None,
            constraint=str(body.get("ConstraintDescription") or ""),
            min_length=_number(body.get("MinLength")),
            max_length=_number(body.get("MaxLength")),
            min_value=_number(body.get("MinValue")),
            max_value=_number(body.get("MaxValue")),
        )
        if not _known_type(decls[str(name)]):
            problems.append(problem(f"parameter {name} has Type {ptype!r}, which CloudFormation does not support",
                                    line, col))
    return ParsedParameters(decls, problems)


def _known_type(decl: ParamDecl) -> bool:
    t = decl.item_type
    if _SSM_VALUE_RE.match(decl.type):
        return True
    if decl.type in ("String", "Number", "CommaDelimitedList"):
        return True
    return t == "Number" or t in AWS_TYPE_PATTERNS


def _fmt_num(v: float) -> str:
    return str(int(v)) if v == int(v) else str(v)


def _item_problems(decl: ParamDecl, value: str) -> list[str]:
    """Why one value (a scalar, or one item of a list) is not accepted; [] if it is."""
    out: list[str] = []
    t = decl.item_type
    if _SSM_VALUE_RE.match(decl.type):
        t = "AWS::SSM::Parameter::Name"
    if t == "Number":
        n = _number(value)
        if n is None:
            return ["is not a number"]
        if decl.min_value is not None and n < decl.min_value:
            out.append(f"is below MinValue {_fmt_num(decl.min_value)}")
        if decl.max_value is not None and n > decl.max_value:
            out.append(f"is above MaxValue {_fmt_num(decl.max_value)}")
    elif t in AWS_TYPE_PATTERNS:
        if not re.fullmatch(AWS_TYPE_PATTERNS[t], value, re.S):
            out.append(f"is not a valid {t}")
    if decl.allowed_values is not None:
        allowed = decl.allowed_values
        ok = value in allowed
        if not ok and t == "Number":
            n = _number(value)
            ok = n is not None and any(_number(a) == n for a in allowed)
        if not ok:
            out.append(f"is not one of the AllowedValues {list(allowed)}")
    if decl.allowed_pattern is not None and not re.fullmatch(decl.allowed_pattern, value):
        what = f" ({decl.constraint})" if decl.constraint else ""
        out.append(f"does not match the AllowedPattern {decl.allowed_pattern!r}{what}")
    if t != "Number":
        if decl.min_length is not None and len(value) < decl.min_length:
            out.append(f"is shorter than MinLength {_fmt_num(decl.min_length)}")
        if decl.max_length is not None and len(value) > decl.max_length:
            out.append(f"is longer than MaxLength {_fmt_num(decl.max_length)}")
    return out


def check_environment(template: Template, parsed: ParsedParameters, env: EnvArtifacts,
                      params: dict[str, Any]) -> list[Problem]:
    """HG505 problems of one environment's parameters against the template's declarations."""
    decls = parsed.declarations
    out: list[Problem] = []

    def at_spec(name: str, message: str, value: Any = None) -> Problem:
        loc, ptr, _ = parameter_location(env, name, value)
        return codes.HG505.problem(message, loc, environment=env.name, path=ptr, source=SOURCE)

    def source_of(name: str, value: Any = None) -> str:
        _, _, readable = parameter_location(env, name, value)
        return f" (from {readable})" if readable else ""

    for name, value in params.items():
        decl = decls.get(name)
        if decl is None:
            out.append(at_spec(name, f"stack parameter {name}{source_of(name)} is not declared in {template.path}; "
                                     "CloudFormation rejects parameters the template does not declare"))
            continue
        where = f"{template.path}:{decl.line}"
        if isinstance(value, list) and not decl.is_list:
            out.append(at_spec(name, f"stack parameter {name}{source_of(name)} is a list, but {where} declares "
                                     f"Type {decl.type}; CloudFormation would receive {','.join(value)!r}"))
            continue
        if decl.is_list:
            items = value if isinstance(value, list) else str(value).split(",")
            if not items and decl.item_type in AWS_TYPE_PATTERNS:
                out.append(at_spec(name, f"stack parameter {name}{source_of(name)} is empty; Type {decl.type} "
                                         f"({where}) needs at least one value"))
            for item in items:
                item = str(item)
                if "," in item and isinstance(value, list):
                    out.append(at_spec(name, f"stack parameter {name}: value {item!r}{source_of(name, item)} contains "
                                             "a comma, so CloudFormation would split it into several values", item))
                    continue
                for why in _item_problems(decl, item):
                    out.append(at_spec(name, f"stack parameter {name}: value {item!r}{source_of(name, item)} {why} "
                                             f"(Type {decl.type}, {where})", item))
        else:
            for why in _item_problems(decl, str(value)):
                out.append(at_spec(name, f"stack parameter {name} = {str(value)!r}{source_of(name)} {why} "
                                         f"(Type {decl.type}, {where})"))
    for name, decl in decls.items():
        if name not in params and not decl.has_default:
            out.append(codes.HG505.problem(
                f"template parameter {name} has no Default and hubgen does not write it; every stack update "
                "would fail", Location(template.path, decl.line, decl.column), environment=env.name, source=SOURCE,
                hint="Give the parameter a Default, or make hubgen write it (generator/render/cloudformation.py)."))
    return out


class TemplateParametersEngine:
    """Each environment's stack parameters against the Parameters block of the template it deploys."""

    name = NAME

    def version(self) -> str:
        return f"hubgen {__version__}"

    def check(self, inputs: LintInputs) -> EngineResult:
        watch = Stopwatch()
        result = EngineResult(self.name, self.version())
        if not inputs.environments:
            result.seconds = watch.seconds
            return result
        template = inputs.templates.get(CLUSTER_TEMPLATE)
        if template is None:
            result.problems.append(codes.HG505.problem(
                f"{CLUSTER_TEMPLATE} does not exist, so no environment's parameters can be checked",
                Location(CLUSTER_TEMPLATE), source=SOURCE,
                hint="Restore the stack template (every environment deploys it)."))
            result.seconds = watch.seconds
            return result
        parsed = parse_parameters(template, inputs.cache)
        result.problems.extend(parsed.problems)
        if parsed.unreadable is None:
            for env in inputs.environments:
                result.units += 1
                result.problems.extend(check_environment(template, parsed, env,
                                                         stack_parameters(env.context.model)))
        result.seconds = watch.seconds
        return result
