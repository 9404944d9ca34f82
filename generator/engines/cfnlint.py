"""cfn-lint (pinned, Python API) on every stack template, and on the cluster template with each
environment's parameters (HG501).

Two kinds of unit, each cached by content (see :mod:`generator.engines.cache`):

* **template** -- one template in one region, linted without parameters.
  Findings are the template's own and are reported once, at
  ``manifests/cloudformation/<t>.yaml:line:col``. Every region an environment
  deploys to is linted (resource availability differs by region).
* **environment** -- the cluster template evaluated with one environment's
  parameters (:func:`generator.render.cloudformation.parameters`; List-typed
  parameters are handed over as lists, since cfn-lint reads a comma-joined
  string as one scalar). cfn-lint 1.58 accepts many parameter sets in one
  run and names the set (``... when 'Ref' is resolved to 'x' from ['<env>']``),
  so all environments of a region are evaluated in batches of
  :data:`BATCH_SIZE`: the template is parsed and its rules run once per batch,
  not once per environment. Findings identical to the template's own are
  dropped; a finding that names no parameter set and is not the template's
  own is attributed by re-running the batch in halves until each finding
  belongs to one environment. An environment's findings are reported at the
  spec field that feeds the parameter involved (``parameter_sources``), with
  the template position in the message.

cfn-lint severities: E -> error, W -> warning; informational rules are not run.
Rule E2900 (deployment parameters against the template) is not run with
parameters: hubgen's own parameter engine (HG505) checks the same and more
(AllowedPattern, Min/Max), at the spec field. Parameters of type
``AWS::SSM::Parameter::Value<...>`` are not handed over (:func:`ssm_value_parameters`).

Every use of cfn-lint itself (importing it costs ~0.5 s, loading its rules
~0.35 s) is in the job functions :func:`lint_template` and
:func:`evaluate_environments`, which take and return plain data: a run whose
units are all cached never imports cfn-lint, and the jobs can run in a
*prepared* process (:func:`prepare`) that loaded cfn-lint while this one was
validating and rendering -- the pre-commit hook's one-environment stack change.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from generator import codes
from generator.engines.cache import canonical_json, file_digest
from generator.paths import CLUSTER_TEMPLATE
from generator.problems import Location, Problem, Severity

if TYPE_CHECKING:  # the engine's inputs; imported where used, so that prepare() is quick to reach
    from generator.engines.base import EngineResult, EnvArtifacts, LintInputs, Template

NAME = "cfn-lint"
SOURCE = "cfn-lint"
#: Environments evaluated per cfn-lint run. Measured with cfn-lint 1.58 on cluster.yaml: one run costs
#: ~1.2 s plus ~0.03 s per parameter set up to ~100 sets, growing faster beyond that.
BATCH_SIZE = 64
DEFAULT_REGION = "us-east-1"
#: Rules not run when a template is evaluated with parameters (see the module docstring).
IGNORED_WITH_PARAMETERS = ("E2900",)
#: Environment variable bounding the number of cfn-lint processes (default: one per CPU).
JOBS_ENV = "HUBGEN_JOBS"
RULES_URL = "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md"

_FROM_RE = re.compile(r" from (\[[^\[\]]*\])$", re.S)
_REF_RE = re.compile(r"\{'Ref': '([A-Za-z0-9]+)'\}")
_SUB_RE = re.compile(r"\$\{([A-Za-z0-9]+)\}")

_RULES: Any = None


def cfn_lint_version() -> str:
    """The installed cfn-lint's version, without importing cfn-lint (a warm, fully cached run never does)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cfn-lint")
    except PackageNotFoundError:
        return "not installed"


def _rules() -> Any:
    """cfn-lint's rule collection, loaded once per process (loading costs ~0.6 s)."""
    global _RULES
    if _RULES is None:
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        _RULES = Runner(ConfigMixIn([])).rules
    return _RULES


def config_key() -> str:
    """Digest of the cfn-lint configuration files cfn-lint itself would read (cwd and home .cfnlintrc)."""
    names = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
    paths = [base / n for base in (Path.home(), Path.cwd()) for n in names]
    return file_digest(paths)


def effective_region(region: str) -> str:
    """``region`` if cfn-lint knows it, else :data:`DEFAULT_REGION`."""
    from cfnlint.helpers import REGIONS

    return region if region in REGIONS else DEFAULT_REGION


# --- a prepared cfn-lint process ------------------------------------------------------

_PREPARED: Any = None


def prepare() -> bool:
    """Start loading cfn-lint (import and rules, ~0.9 s) in a forked process now, for cfn-lint jobs this process
    will probably ask for later; True when started.

    `hubgen hook all` calls this first thing when a commit changes stack inputs, so the loading overlaps with
    validation and rendering on another CPU; the jobs (:func:`lint_template`, :func:`evaluate_environments`) are
    then sent to that process (:func:`run_job`), which runs them exactly as this process would (forking its own
    warm workers for large batches). Unused, it is stopped when this process exits. Nothing is started with a
    single CPU, ``HUBGEN_JOBS=1``, without fork, or once cfn-lint is loaded here already."""
    global _PREPARED
    if _PREPARED is not None or _RULES is not None or jobs_limit() < 2 or sys.platform != "linux":
        return False
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    try:
        process = ctx.Process(target=_serve, args=(theirs, ours), name="hubgen-cfn-lint")  # may fork workers
        process.start()
    except OSError:
        return False
    theirs.close()
    _PREPARED = (process, ours)
    import atexit

    atexit.register(_stop_prepared)
    return True


def _serve(conn: Any, parents_end: Any) -> None:  # pragma: no cover - runs in the forked process
    import gc

    parents_end.close()
    # Loading cfn-lint creates a few hundred thousand objects that live as long as this process: the cyclic
    # garbage collector, scanning them again and again while they are created, costs ~0.3 s of the ~1 s
    # (measured). So it is off while loading, and what was loaded is then frozen out of its sight.
    gc.disable()
    try:
        _rules()
    except Exception:  # noqa: BLE001 - the jobs then fail here and are run by the parent, which reports it
        pass
    finally:
        gc.freeze()
        gc.enable()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as e:  # noqa: BLE001
            conn.send((False, repr(e)))


def release() -> None:
    """Stop the prepared process (:func:`prepare`), if any: at once, whether or not it finished loading (it holds
    nothing but a pipe to this process)."""
    global _PREPARED
    if _PREPARED is None:
        return
    process, conn = _PREPARED
    _PREPARED = None
    conn.close()
    if process.is_alive():
        process.terminate()
    process.join(timeout=5)


_stop_prepared = release


def run_job(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in the prepared process when there is one, else here (also when that process failed:
    the job is then run here, so its errors are raised here)."""
    if _PREPARED is not None:
        process, conn = _PREPARED
        try:
            conn.send((fn, args))
            ok, value = conn.recv()
            if ok:
                return value
        except (EOFError, OSError, BrokenPipeError):
            pass
        _stop_prepared()
    return fn(*args)


def lint_template(text: str, region: str) -> dict:
    """Job: one template in one region, without parameters -> ``{"region": region linted, "findings": [...]}``."""
    linted = effective_region(region)
    return {"region": linted, "findings": lint_text(text, linted)}


# --- running cfn-lint ---------------------------------------------------------------

def _json_path(path: Any) -> list:
    """Plain ints and strs (cfn-lint's decoded nodes are str subclasses that do not pickle)."""
    return [int(p) if isinstance(p, int) and not isinstance(p, bool) else str(p) for p in (path or [])]


def _finding(match: Any) -> dict | None:
    rule = match.rule
    rule_id = str(getattr(rule, "id", "") or "E0000")
    if rule_id.startswith("I"):
        return None
    return {
        "rule": rule_id,
        "line": int(match.linenumber or 0),
        "column": int(match.columnnumber or 0),
        "path": _json_path(getattr(match, "path", None)),
        "message": str(match.message),
        "description": str(getattr(rule, "shortdesc", "") or ""),
        "url": str(getattr(rule, "source_url", "") or ""),
        "filename": str(match.filename) if getattr(match, "filename", None) else "",
    }


def lint_text(text: str, region: str, parameter_sets: Sequence[tuple[str, dict]] = ()) -> list[dict]:
    """cfn-lint findings (as plain dicts) of one template text in one region, with optional parameter sets."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.context.parameters import ParameterSet
    from cfnlint.decode import decode_str
    from cfnlint.runner import run_template_by_data

    template, errors = decode_str(text)
    if errors:
        return [f for f in (_finding(m) for m in errors) if f]
    if template is None:
        return []
    kwargs: dict[str, Any] = {"regions": [region]}
    if parameter_sets:
        kwargs["parameters"] = [ParameterSet(source=name, parameters=params) for name, params in parameter_sets]
        kwargs["ignore_checks"] = list(IGNORED_WITH_PARAMETERS)
    config = ConfigMixIn([], **kwargs)
    out = []
    for match in run_template_by_data(template, config, _rules()):
        f = _finding(match)
        if f is not None:
            out.append(f)
    return out


def jobs_limit() -> int:
    """Processes for independent cfn-lint runs: ``$HUBGEN_JOBS``, else the number of CPUs."""
    env = os.environ.get(JOBS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def parallel_map(fn: Callable[..., Any], jobs: Sequence[tuple]) -> list[Any]:
    """``[fn(*job) for job in jobs]``, spread over forked worker processes when that helps.

    Workers are forked after cfn-lint and its rules are loaded, so they start
    warm. Where fork is unavailable (or a worker dies), the jobs run here.
    """
    workers = min(len(jobs), jobs_limit())
    if workers < 2 or sys.platform != "linux":
        return [fn(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if "fork" not in multiprocessing.get_all_start_methods():
        return [fn(*job) for job in jobs]
    _rules()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, *zip(*jobs)))
    except (BrokenProcessPool, OSError):
        return [fn(*job) for job in jobs]


def _baseline_key(f: dict) -> tuple:
    return (f["rule"], tuple(f["path"]), f["message"])


def _split_sources(message: str) -> tuple[str, list[str] | None]:
    """(message without the "from [sets]" suffix, the parameter-set names), or (message, None)."""
    m = _FROM_RE.search(message)
    if m:
        try:
            names = ast.literal_eval(m.group(1))
        except (ValueError, SyntaxError):
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return message[: m.start()], names
    return message, None


def lint_environments(text: str, region: str, envs: Sequence[tuple[str, dict]],
                      baseline: set[tuple]) -> dict[str, list[dict]]:
    """Findings per environment name for ``envs`` ([(name, parameters)]) in one run (bisected if needed)."""
    if not envs:
        return {}
    out: dict[str, list[dict]] = {name: [] for name, _ in envs}
    unattributed = []
    for f in lint_text(text, region, envs):
        message, names = _split_sources(f["message"])
        if names is None and f.get("filename") in out:
            names = [f["filename"]]
        f = dict(f, message=message, filename="")
        if names is not None:
            for n in names:
                if n in out and f not in out[n]:
                    out[n].append(f)
        elif _baseline_key(f) not in baseline:
            unattributed.append(f)
    if unattributed:
        if len(envs) == 1:
            out[envs[0][0]].extend(f for f in unattributed if f not in out[envs[0][0]])
        else:
            half = len(envs) // 2
            out = {}
            out.update(lint_environments(text, region, envs[:half], baseline))
            out.update(lint_environments(text, region, envs[half:], baseline))
    return out


#: Intrinsic functions whose resolution in cfn-lint 1.58 drops the "resolved from parameters" mark:
#: for values under them cfn-lint reports an error only if *no* parameter set's value is valid, so
#: environments may share a batch only when these parameters have equal values.
WEAK_RESOLVERS = frozenset({"Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::GetAZs",
                            "Fn::ToJsonString", "Fn::Cidr", "Fn::Base64"})
_SUB_NAME_RE = re.compile(r"\$\{([^!}][^}]*)\}")


def weakly_resolved_parameters(template: Any, declared: set[str]) -> set[str]:
    """Parameters referenced (Ref or ``${Name}``) anywhere under one of :data:`WEAK_RESOLVERS`."""
    found: set[str] = set()

    def walk(node: Any, weak: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if weak and k == "Ref" and isinstance(v, str) and v in declared:
                    found.add(str(v))
                if k == "Fn::Sub":
                    subs = v[0] if isinstance(v, list) and v else v
                    if isinstance(subs, str):
                        found.update(n.strip() for n in _SUB_NAME_RE.findall(subs) if n.strip() in declared)
                walk(v, weak or k in WEAK_RESOLVERS)
        elif isinstance(node, list):
            for v in node:
                walk(v, weak)

    walk(template, False)
    return found


def ssm_value_parameters(block: Any) -> set[str]:
    """Parameters of type ``AWS::SSM::Parameter::Value<...>``: the value hubgen writes is an SSM parameter *name*,
    which CloudFormation replaces by the parameter's value before the template sees it. cfn-lint 1.58 would check
    the name against the format of the value (an AMI id, say), so these are left out of the parameter sets and
    stay unresolved; hubgen's params engine (HG505) checks the name."""
    if not isinstance(block, dict):
        return set()
    return {str(name) for name, body in block.items()
            if isinstance(body, dict) and str(body.get("Type", "")).startswith("AWS::SSM::Parameter::Value<")}


def _parameter_of(finding: dict, template: Any, declared: set[str]) -> str | None:
    """The template parameter a finding is about, when one can be told."""
    path = finding.get("path") or []
    if len(path) >= 2 and path[0] == "Parameters" and path[1] in declared:
        return str(path[1])
    if path and path[-1] == "Ref":
        node = template
        for p in path:
            try:
                node = node[p]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if isinstance(node, str) and node in declared:
            return str(node)  # a plain str: cfn-lint's decoded nodes do not pickle (prepared process, workers)
    # {'Ref': 'X'} or ${X} (Fn::Sub) in the message: the parameter, when exactly one is named.
    message = finding.get("message", "")
    named = {n for n in _REF_RE.findall(message) + _SUB_RE.findall(message) if n in declared}
    return str(named.pop()) if len(named) == 1 else None


def evaluate_environments(text: str, envs: Sequence[tuple[str, str, dict]], known: dict[str, dict]) -> dict[str, dict]:
    """Job: the cluster template ``text`` evaluated with each environment's parameters.

    ``envs``: (name, region of the spec, stack parameters); ``known``: the template-only results already at hand,
    by the spec's region (``{"region": linted, "findings": [...]}``). Returns, by environment name,
    ``{"region": region linted, "findings": [...]}`` with each finding's ``parameter`` (None when it names none);
    nothing when the template does not parse (the template-level run reports why)."""
    from cfnlint.decode import decode_str

    decoded, errors = decode_str(text)
    if errors or not isinstance(decoded, dict):
        return {}
    block = decoded.get("Parameters")
    declared = set(block) if isinstance(block, dict) else set()
    resolved_by_cloudformation = ssm_value_parameters(block)
    # Batches: same region, and equal values for the parameters only cfn-lint's weaker resolvers see.
    shared = sorted(weakly_resolved_parameters(decoded, declared))
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for name, region, params in envs:
        params = {k: v for k, v in params.items() if k not in resolved_by_cloudformation}
        weak = canonical_json([params.get(p) for p in shared])
        groups.setdefault((effective_region(region), weak), []).append((name, params))
    out: dict[str, dict] = {}
    jobs = []
    baselines: dict[str, set] = {}
    for (region, _weak), members in sorted(groups.items()):
        if region not in baselines:
            cached = known.get(region)
            if cached is None or cached["region"] != region:
                cached = {"findings": lint_text(text, region)}
            baselines[region] = {_baseline_key(f) for f in cached["findings"]}
        for i in range(0, len(members), BATCH_SIZE):
            jobs.append((text, region, members[i:i + BATCH_SIZE], baselines[region]))
    for (_text, region, batch, _baseline), found in zip(jobs, parallel_map(lint_environments, jobs)):
        for name, _ in batch:
            findings = found.get(name, [])
            for f in findings:
                f["parameter"] = _parameter_of(f, decoded, declared)
            out[name] = {"region": region, "findings": findings}
    return out


# --- the engine ------------------------------------------------------------------

def _severity(rule: str) -> Severity:
    return Severity.WARNING if rule.startswith("W") else Severity.ERROR


def _hint(f: dict) -> str:
    desc = f.get("description") or "see the rule's documentation"
    url = f.get("url") or f"{RULES_URL}#{f['rule']}"
    return f"cfn-lint rule {f['rule']}: {desc} ({url})"


def _decode_payload(payload: Any) -> dict | None:
    """A stored unit result: ``{"region": region linted, "findings": [...]}``; None when malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("region"), str):
        return None
    findings = payload.get("findings")
    keys = {"rule", "line", "column", "path", "message"}
    if not isinstance(findings, list) or not all(isinstance(f, dict) and keys <= f.keys() for f in findings):
        return None
    return payload


class CfnLintEngine:
    name = NAME

    def version(self) -> str:
        return cfn_lint_version()

    def check(self, inputs: LintInputs) -> EngineResult:
        from generator.engines.base import EngineResult, Stopwatch

        watch = Stopwatch()
        result = EngineResult(self.name, self.version())
        try:
            self._check(inputs, result)
        finally:
            result.seconds = watch.seconds
        return result

    def _check(self, inputs: LintInputs, result: EngineResult) -> None:
        from generator.engines.base import cached_units, unit_key
        from generator.render.cloudformation import parameters as stack_parameters

        version, cfg = result.version, config_key()
        regions = {env.name: env.context.model.region for env in inputs.environments}
        all_regions = sorted(set(regions.values())) or [DEFAULT_REGION]

        # 1. every template in every region, without parameters
        units: dict[tuple[str, str], tuple[str, Template]] = {}
        for t in inputs.templates.values():
            for region in all_regions:
                units[(t.path, region)] = (unit_key(NAME, version, "template", t.path, t.content, region, cfg), t)

        def lint_templates(misses: list) -> dict:
            jobs = [(uid, t.content.decode("utf-8", errors="replace")) for uid, t in misses]
            found = run_job(parallel_map, lint_template, [(text, region) for (_path, region), text in jobs])
            return {uid: payload for (uid, _), payload in zip(jobs, found)}

        template_results, hits = cached_units(inputs.cache, units, lint_templates, decode=_decode_payload)
        result.units += len(units)
        result.cached += hits
        for (path, _region), payload in sorted(template_results.items()):
            for f in payload["findings"]:
                result.problems.append(codes.HG501.problem(
                    f"{f['rule']} {f['message']}", Location(path, f["line"], f["column"]),
                    severity=_severity(f["rule"]), hint=_hint(f), path="/" + "/".join(map(str, f["path"])),
                    source=SOURCE))

        # 2. the cluster template with each environment's parameters
        if not inputs.environments:
            return
        template = inputs.templates.get(CLUSTER_TEMPLATE)
        if template is None:
            result.problems.append(codes.HG501.problem(
                f"{CLUSTER_TEMPLATE} does not exist; {len(inputs.environments)} environment(s) deploy it",
                Location(CLUSTER_TEMPLATE), source=SOURCE, hint="Restore the stack template."))
            return
        params = {env.name: stack_parameters(env.context.model) for env in inputs.environments}
        env_units = {
            env.name: (unit_key(NAME, version, "environment", template.content, regions[env.name],
                                canonical_json(params[env.name]), cfg), env)
            for env in inputs.environments
        }

        def lint_envs(misses: list) -> dict:
            known = {region: payload for (path, region), payload in template_results.items()
                     if path == CLUSTER_TEMPLATE}
            return run_job(evaluate_environments, template.content.decode("utf-8", errors="replace"),
                           [(name, regions[name], params[name]) for name, _env in misses], known)

        env_results, hits = cached_units(inputs.cache, env_units, lint_envs, decode=_decode_payload)
        result.units += len(env_units)
        result.cached += hits
        for env in inputs.environments:
            payload = env_results.get(env.name)
            if payload is None:
                continue
            if payload["region"] != regions[env.name]:
                result.problems.append(codes.HG501.problem(
                    f"cfn-lint {version} does not know region {regions[env.name]!r}; the template was checked for "
                    f"{payload['region']} instead", env.context.loc(("aws", "region")), environment=env.name,
                    severity=Severity.WARNING, path="/aws/region", source=SOURCE,
                    hint="Upgrade cfn-lint (pinned in pyproject.toml) once it knows the region."))
            for f in payload["findings"]:
                result.problems.append(self._env_problem(env, template, f, params[env.name]))

    @staticmethod
    def _env_problem(env: EnvArtifacts, template: Template, f: dict, params: dict) -> Problem:
        from generator.engines.base import describe_spec_path, parameter_spec_path
        from generator.validate.schema import pointer

        where = f"{template.path}:{f['line']}:{f['column'] or 1}"
        name = f.get("parameter")
        if name:
            value = params.get(name)
            spec_path = parameter_spec_path(env, name, value)
            if spec_path is not None:
                return codes.HG501.problem(
                    f"{f['rule']} {f['message']} (stack parameter {name} from {describe_spec_path(spec_path)}; "
                    f"at {where})", env.context.loc(spec_path), environment=env.name, path=pointer(spec_path),
                    severity=_severity(f["rule"]), hint=_hint(f), source=SOURCE)
        return codes.HG501.problem(
            f"{f['rule']} {f['message']} (with the parameters of environment {env.name})",
            Location(template.path, f["line"], f["column"]), environment=env.name,
            severity=_severity(f["rule"]), hint=_hint(f), source=SOURCE)
