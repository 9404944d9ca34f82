"""`hubgen lint`: every artifact proven against the engine that will consume it.

Pipeline: validate the selected environments (an environment with schema or
semantic errors is reported and not linted), render each remaining one in
memory (nothing is written), then run the engines over all of them at once:

* ``cfn-lint``    -- :mod:`generator.engines.cfnlint` (HG501)
* ``kubeconform`` -- :mod:`generator.engines.kubeconform`, adapted here (HG502): each environment against
  the schemas of its own ``cluster.kubernetesVersion``
* ``values``      -- :mod:`generator.engines.chart_values` (HG503, HG504, HG507, HG508)
* ``params``      -- :mod:`generator.engines.template_params` (HG505)
* ``chart``       -- :mod:`generator.engines.chart_render` (HG502, HG504, HG507, HG509-HG515): each HelmRelease
  rendered by ``helm template``, its objects through kubeconform and the cross-object invariants, each Flux
  Kustomization built by ``kustomize build``

An engine that cannot run reports HG506 (an error: a check that did not
happen is not a pass). Results of cfn-lint, kubeconform and the values schema
(and the chart engine) are cached by content (:mod:`generator.engines.cache`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from generator import codes, extra
from generator.artifacts import Kind, RenderedFile
from generator.engines.base import (Engine, EngineResult, EnvArtifacts, LintInputs, Stopwatch, Template, cached_units,
                                    unit_key)
from generator.engines.cache import ResultCache, canonical_json, problem_to_json, problems_from_json
from generator.engines.cfnlint import CfnLintEngine
from generator.engines.chart_render import ChartRenderEngine
from generator.engines.chart_values import ChartValuesEngine
from generator.engines.template_params import TemplateParametersEngine
from generator.generate import render_in
from generator.output import progress
from generator.paths import TEMPLATES_DIR, RepoPaths
from generator.problems import Location, Problem
from generator.validate.environments import validate
from generator.versions import GO_TOOLS

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


# --- kubeconform, adapted to the engine interface ------------------------------------

_BINARIES: dict[tuple[str, int, int], tuple[str, str]] = {}
_GO_MODULE_RE = re.compile(rb"\nmod\tgithub\.com/yannh/kubeconform\t(v[0-9][^\t\n]*)")


def _binary_info(path: Path) -> tuple[str, str]:
    """(sha256, module version from the Go build info or "unknown") of a binary, memoised by stat."""
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _BINARIES:
        data = path.read_bytes()
        m = _GO_MODULE_RE.search(data)
        _BINARIES[memo] = (hashlib.sha256(data).hexdigest(), m.group(1).decode() if m else "unknown")
    return _BINARIES[memo]


class KubeconformEngine:
    """kubeconform over the generated manifests of every environment not found in the cache: one run per
    Kubernetes version, each environment against the schemas of its own ``cluster.kubernetesVersion``."""

    name = "kubeconform"

    def version(self) -> str:
        return GO_TOOLS["kubeconform"][1]

    def check(self, inputs: LintInputs) -> EngineResult:
        from generator.engines import kubeconform as kc
        from generator.engines.k8s_schemas import SchemaBuildError, default_crd_files, schema_key, schema_version

        watch = Stopwatch()
        result = EngineResult(self.name, self.version())
        manifests = {env.name: [f for f in env.files if f.kind is Kind.K8S_MANIFEST] for env in inputs.environments}
        manifests = {k: v for k, v in manifests.items() if v}
        if not manifests:
            return result
        first = next(iter(manifests.values()))[0].path
        version_of = {env.name: schema_version(env.context.model.cluster.kubernetes_version)
                      for env in inputs.environments if env.name in manifests}

        def unavailable(message: str) -> EngineResult:
            result.problems.append(codes.HG506.problem(message, Location(first), source=kc.SOURCE))
            result.seconds = watch.seconds
            return result

        binary = kc.find_kubeconform(inputs.repo.root)
        if binary is None:
            return unavailable(f"kubeconform not found; Kubernetes manifests were not validated. {kc.INSTALL_HINT}")
        try:
            digest, version = _binary_info(binary)
            crd_files = default_crd_files(offline=inputs.offline)
            schemas = {v: schema_key(crd_files, v) for v in sorted(set(version_of.values()))}
        except SchemaBuildError as e:
            return unavailable(f"kubeconform schemas cannot be built: {e}")
        except OSError as e:
            return unavailable(f"kubeconform ({binary}) cannot be read: {e}")
        result.version = version

        units = {
            name: (unit_key(self.name, digest, schemas[version_of[name]], version_of[name],
                            canonical_json([[f.path, hashlib.sha256(f.content).hexdigest()] for f in files])), files)
            for name, files in manifests.items()
        }
        failures: list[Problem] = []

        def compute(misses: list) -> dict:
            out: dict = {}
            for kubernetes_version in sorted({version_of[name] for name, _ in misses}):
                batch = [(name, fs) for name, fs in misses if version_of[name] == kubernetes_version]
                out.update(_kubeconform_batch(inputs, batch, kubernetes_version, crd_files, failures))
            return out

        found, hits = cached_units(inputs.cache, units, compute, decode=problems_from_json)
        result.units, result.cached = len(units), hits
        for name in units:
            result.problems.extend(found.get(name, []))
        result.problems.extend(failures)
        result.seconds = watch.seconds
        return result


def _kubeconform_batch(inputs: LintInputs, batch: list, kubernetes_version: str, crd_files: list[Path],
                       failures: list[Problem]) -> dict:
    """One kubeconform run over the environments of ``batch`` ([(name, files)], all of one Kubernetes
    version): name -> problems as JSON; nothing for a run that did not happen (its HG506 go to ``failures``
    and nothing is cached)."""
    from generator.engines import kubeconform as kc

    files: list[RenderedFile] = [f for _, fs in batch for f in fs]
    problems = kc.check_manifests(inputs.repo, files, kubernetes_version=kubernetes_version, crd_files=crd_files)
    if any(p.code == codes.HG506.id for p in problems):
        failures.extend(problems)
        return {}
    out: dict[str, list] = {name: [] for name, _ in batch}
    owner = {f.path: f.environment for f in files}
    for p in problems:
        env = p.environment or owner.get(p.location.file, "")
        out.setdefault(env, []).append(problem_to_json(p))
    return {name: out.get(name, []) for name, _ in batch}


# --- running --------------------------------------------------------------------------

ENGINES: dict[str, type] = {
    "cfn-lint": CfnLintEngine,
    "kubeconform": KubeconformEngine,
    "values": ChartValuesEngine,
    "params": TemplateParametersEngine,
    "chart": ChartRenderEngine,
}
ENGINE_NAMES = tuple(ENGINES)


@dataclass
class LintRun:
    environments: list[str]
    problems: list[Problem] = field(default_factory=list)
    results: list[EngineResult] = field(default_factory=list)
    #: Environments not linted because validation found errors.
    skipped: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {r.engine: r.stats() for r in self.results}


def collect_templates(repo: RepoPaths) -> dict[str, Template]:
    """Every stack template in manifests/cloudformation/ (regular files), by repository-relative path."""
    base = repo.abs(TEMPLATES_DIR)
    out: dict[str, Template] = {}
    if not base.is_dir():
        return out
    for p in sorted(base.iterdir()):
        if p.suffix in TEMPLATE_SUFFIXES and p.is_file() and not p.is_symlink():
            try:
                out[f"{TEMPLATES_DIR}/{p.name}"] = Template(f"{TEMPLATES_DIR}/{p.name}", p.read_bytes())
            except OSError:
                continue
    return out


def artifacts(repo: RepoPaths, context, files: Sequence[RenderedFile]) -> EnvArtifacts:
    """What the engines check of one environment: its rendered files and the team's manifests in extra/
    (kubeconform checks those too)."""
    return EnvArtifacts(context, (*files, *extra.artifacts(repo, context.folder)))


def run_engine(name: str, inputs: LintInputs) -> EngineResult:
    """One engine's result; an engine that fails is an HG506 problem, never a traceback."""
    engine: Engine = ENGINES[name]()
    try:
        return engine.check(inputs)
    except Exception as e:  # noqa: BLE001 - an engine bug must be a reported problem, not a traceback
        result = EngineResult(name, "")
        result.problems.append(codes.HG506.problem(
            f"engine {name} failed unexpectedly ({type(e).__name__}: {e}); its checks did not happen",
            Location(TEMPLATES_DIR if name in ("cfn-lint", "params") else "environments"),
            hint="This is a hubgen bug; please report it with the output of `hubgen lint --format json`."))
        return result


def run(repo: RepoPaths, names: Sequence[str] | None = None, *, engines: Sequence[str] | None = None,
        use_cache: bool = True, offline: bool = False) -> LintRun:
    """Validate, render in memory and lint ``names`` (default: every environment).

    Raises :class:`generator.validate.environments.UsageError` for unknown
    environments or engines.
    """
    from generator.validate.environments import UsageError

    selected = list(engines) if engines else list(ENGINE_NAMES)
    unknown = [e for e in selected if e not in ENGINES]
    if unknown:
        raise UsageError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINE_NAMES)}")
    # Like `render`: the spec must be valid to be rendered; secret files beside it are `validate`'s business.
    validation = validate(repo, list(names) if names else None, files=False)
    run_ = LintRun(list(validation.environments), problems=list(validation.problems))
    envs: list[EnvArtifacts] = []
    task = progress.task("render", len(validation.environments))
    for name, r in validation.environments.items():
        task.advance()
        if not r.ok:
            run_.skipped.append(name)
            continue
        envs.append(artifacts(repo, r.context, render_in(repo, name, r.context.model)))
    task.done()
    inputs = LintInputs(repo, collect_templates(repo), envs, ResultCache(repo.cache, enabled=use_cache),
                        offline=offline)
    task = progress.task("lint", len(dict.fromkeys(selected)), environments=len(envs))
    for name in dict.fromkeys(selected):
        result = run_engine(name, inputs)
        run_.results.append(result)
        run_.problems.extend(result.problems)
        task.advance()
    task.done()
    return run_

