"""What a deploy sends to CloudFormation, read from the repository exactly as CI would deploy it.

* parameters: ``environments/<env>/cloudformation/cluster.parameters.json`` (``[{"ParameterKey", "ParameterValue"}]``)
* tags: the ``Tags`` of ``environments/<env>/cloudformation/cluster.template-configuration.json``
* template: ``manifests/cloudformation/cluster.yaml``

The generated files are checked to be up to date before this runs (see the runner), so they equal what
the spec renders to; the template is parsed only as far as a deploy needs (declared parameters, a
``Transform``, where each resource is) and the parameters are checked against its declarations.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import yaml

from generator import codes
from generator.paths import CLUSTER_TEMPLATE, RepoPaths
from generator.problems import Location, Problem

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Template:
    path: str  # repository-relative
    body: bytes
    #: Declared parameter name -> whether it has a Default (may be omitted).
    parameters: dict[str, bool]
    has_transform: bool
    #: Logical resource id -> 1-based line of its key in the template.
    resource_lines: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def locate(self, logical_id: str) -> Location | None:
        line = self.resource_lines.get(logical_id)
        return Location(self.path, line, 3) if line else None


@dataclass(frozen=True)
class DeployInputs:
    parameters: list[dict[str, str]]  # ParameterKey/ParameterValue, in file order
    tags: dict[str, str]
    template: Template
    parameters_path: str
    configuration_path: str

    @property
    def parameter_values(self) -> dict[str, str]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.parameters}


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _mapping(node: yaml.Node | None) -> list[tuple[yaml.Node, yaml.Node]]:
    return node.value if isinstance(node, yaml.MappingNode) else []


def parse_template(text: str, path: str) -> Template:
    """Read the parts of a CloudFormation template (YAML or JSON) a deploy needs.

    Composes the YAML node graph only, so short-form intrinsic functions (``!Ref``, ``!Sub``) need no
    constructors. Raises ``ValueError`` when the text is not a template.
    """
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        raise ValueError(f"not valid YAML/JSON: {e}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("not a mapping at the top level")
    top = {_scalar(k): v for k, v in _mapping(root)}
    if not isinstance(top.get("Resources"), yaml.MappingNode):
        raise ValueError("no Resources section")
    parameters: dict[str, bool] = {}
    for key, value in _mapping(top.get("Parameters")):
        name = _scalar(key)
        if name is not None:
            parameters[name] = any(_scalar(k) == "Default" for k, _ in _mapping(value))
    resources = {}
    for key, _value in _mapping(top["Resources"]):
        name = _scalar(key)
        if name is not None:
            resources[name] = key.start_mark.line + 1
    return Template(path, text.encode("utf-8"), parameters, "Transform" in top, resources)


def _json_line(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return 1


def check_parameters(parameters: list[dict[str, str]], template: Template, parameters_path: str,
                     parameters_text: str, environment: str) -> list[Problem]:
    """HG505 for parameters the template does not declare and declared ones without a value or Default.

    CloudFormation rejects both when the change set is created; checking first gives the same answer
    with a file location, and works against emulators that do not check.
    """
    out = []
    given = [p["ParameterKey"] for p in parameters]
    for key in given:
        if key not in template.parameters:
            line = _json_line(parameters_text, f'"ParameterKey": {json.dumps(key)}')
            out.append(codes.HG505.problem(
                f"parameter {key} is not declared by {template.path}", Location(parameters_path, line, 1),
                environment=environment,
                hint="The renderer and the template disagree: update the template's Parameters (or hubgen), "
                     f"then run `hubgen render {environment}`."))
    for key, has_default in sorted(template.parameters.items()):
        if key not in given and not has_default:
            out.append(codes.HG505.problem(
                f"{template.path} requires parameter {key} (no Default) but {parameters_path} has no value for it",
                Location(parameters_path, 1, 1), environment=environment,
                hint=f"Give the parameter a Default in the template, or render a value for it (`hubgen render "
                     f"{environment}`)."))
    return out


def _read_text(repo: RepoPaths, relpath: str) -> str:
    """A repository file's text, read without following any symbolic link (a checkout is hostile input: a
    committed link could point anywhere). OSError/ValueError say why it cannot be read."""
    from generator.safefs import Refused, read_file

    try:
        data = read_file(repo.root, relpath)
    except Refused as e:
        raise ValueError(str(e)) from None
    if data is None:
        raise FileNotFoundError(2, "No such file or directory", relpath)
    return data.decode("utf-8")


def _load_json(repo: RepoPaths, relpath: str, environment: str) -> tuple[object, str, list[Problem]]:
    try:
        text = _read_text(repo, relpath)
        return json.loads(text), text, []
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return None, "", [codes.HG404.problem(f"cannot read {relpath}: {reason}", Location(relpath),
                                              environment=environment,
                                              hint=f"Run `hubgen render {environment}` and commit the result.")]


def _malformed(relpath: str, what: str, environment: str) -> Problem:
    return codes.HG402.problem(f"{relpath}: {what}", Location(relpath, 1, 1), environment=environment,
                               hint=f"Run `hubgen render {environment}` to rewrite it, and commit the result.")


def load(repo: RepoPaths, environment: str) -> tuple[DeployInputs | None, list[Problem]]:
    """Read parameters, tags and template for ``environment``; problems instead of inputs when unusable."""
    env = repo.env(environment)
    params, params_text, problems = _load_json(repo, env.parameters, environment)
    config, _, more = _load_json(repo, env.template_configuration, environment)
    problems += more
    if problems:
        return None, problems
    if not (isinstance(params, list) and all(
            isinstance(p, dict) and set(p) == {"ParameterKey", "ParameterValue"}
            and all(isinstance(v, str) for v in p.values()) for p in params)):
        problems.append(_malformed(env.parameters, 'expected a list of {"ParameterKey", "ParameterValue"} strings',
                                   environment))
    tags = config.get("Tags") if isinstance(config, dict) else None
    if not (isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())):
        problems.append(_malformed(env.template_configuration, 'expected {"Tags": {name: value}} with string values',
                                   environment))
    try:
        template_text = _read_text(repo, CLUSTER_TEMPLATE)
        template = parse_template(template_text, CLUSTER_TEMPLATE)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        problems.append(codes.HG601.problem(
            f"cannot use the stack template {CLUSTER_TEMPLATE}: {reason}", Location(CLUSTER_TEMPLATE),
            environment=environment, hint=f"Restore {CLUSTER_TEMPLATE} (it is shared by every environment)."))
        return None, problems
    if problems:
        return None, problems
    problems = check_parameters(params, template, env.parameters, params_text, environment)  # type: ignore[arg-type]
    if problems:
        return None, problems
    inputs = DeployInputs(params, tags, template, env.parameters, env.template_configuration)  # type: ignore[arg-type]
    return inputs, []

