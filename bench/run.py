#!/usr/bin/env python3
"""hubgen benchmark: synthetic repositories of 1, 10, 100 and 500 environments.

    .venv/bin/python bench/run.py                # full run (a few minutes), prints the table
    .venv/bin/python bench/run.py --quick        # fewer runs and sizes, for a smoke test
    .venv/bin/python bench/run.py --markdown     # ... and writes the results into docs/performance.md
    .venv/bin/python bench/run.py --only help,validate-env,hook-stack   # a subset (see --list)

What it does (see bench/README.md):

1. Builds a 500-environment repository from the committed examples: 100 environments with
   ``hubgen new ENV --from dev|prod`` (alternating; run in one Python process through the real
   CLI), 450 more as copies of those under new names; then renders it. The 1-, 10- and
   100-environment repositories are copies of its first environments.
2. Measures real ``hubgen`` processes, as medians of repeated runs: ``validate``, ``render`` (every
   generated file made stale before each run, so all are rewritten), ``render --check``, ``lint``
   cold (empty cache) and warm (the cache the cold run left); ``hubgen --help``, ``--version`` and
   ``validate ENV`` (one environment of the largest repository); and, in the largest repository, the
   pre-commit hook (``hubgen hook all``) for a one-environment change (``pre-commit run --files`` on
   the changed spec and generated files, a new change each run; a hub change and a stack change
   with the hubgen caches warm, a stack change with them cold), with a breakdown.
3. Measures the naive baseline -- the cfn-lint CLI and the kubeconform CLI run once per
   environment as separate processes -- on a sample of environments and extrapolates it.

Everything runs offline (HUBGEN_OFFLINE=1; the chart's values schema comes from
../shared/reference/z2jh-4.4.0 or $HUBGEN_BENCH_CHART_DIR).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else Path(sys.executable)
HUBGEN = [str(VENV_BIN / "hubgen")] if (VENV_BIN / "hubgen").exists() else [str(PYTHON), "-m", "generator"]
CHART_DIR = Path(os.environ.get("HUBGEN_BENCH_CHART_DIR") or ROOT.parent / "shared" / "reference" / "z2jh-4.4.0")
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


# --- processes ---------------------------------------------------------------------------


class BenchError(Exception):
    pass


def base_env(cache: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBGEN_", "PRE_COMMIT", "VIRTUAL_ENV")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(VENV_BIN), env.get("PATH", "")])
    env.update({"HUBGEN_OFFLINE": "1", "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200",
                "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"})
    if cache is not None:
        env["HUBGEN_CACHE_DIR"] = str(cache)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Run a process; (wall seconds, output). Raises BenchError on an unexpected exit code."""
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in ok:
        raise BenchError(f"{' '.join(args)} (in {cwd}) exited {proc.returncode}:\n{proc.stdout[-3000:]}"
                         f"{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs so far (/proc/stat), or None."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_since(start: tuple[int, int] | None) -> str:
    """The share of CPU time the hypervisor gave to other machines since ``start`` (a busy host slows every
    measurement; the load average does not show it)."""
    end = cpu_times()
    if start is None or end is None or end[1] <= start[1]:
        return "n/a"
    return f"{100 * (end[0] - start[0]) / (end[1] - start[1]):.1f}%"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --- building the repositories -----------------------------------------------------------

#: Environments made with `hubgen new --from`; the rest are copies of them under new names.
NEW_ENVIRONMENTS = 50

_NEW_LOOP = r"""
import json, re, shutil, sys
from pathlib import Path
from generator.cli.app import app

root, count = Path(sys.argv[1]), int(sys.argv[2])
envs = root / "environments"
def hubs(spec):
    text = (envs / spec / "environment.yaml").read_text()
    return re.findall(r"^  - name: (\S+)\n(?:    #.*\n)*    namespace: (\S+)", text, re.M)
for i in range(count):
    name, source = f"b{i:03d}", ("dev", "prod")[i % 2]
    if i % 10 == 0:  # keep the environment index current, as the daily `hubgen validate` runs do
        try:
            app(["--repo", str(root), "--quiet", "validate"], prog_name="hubgen", standalone_mode=False)
        except SystemExit:
            pass
    try:
        app(["--repo", str(root), "--quiet", "new", name, "--from", source, "--no-input", "--no-secrets",
             "--no-render"], prog_name="hubgen", standalone_mode=False)
    except SystemExit as e:
        if e.code:
            sys.exit(f"hubgen new {name} --from {source} failed ({e.code})")
    # The hubs' sops-encrypted secret files, as `hubgen secrets create` would write them (the
    # source's, with the renamed hub's namespace: offline there is no key to encrypt new ones).
    for (old, old_ns), (new, new_ns) in zip(hubs(source), hubs(name)):
        src = envs / source / "secrets" / f"{old}.secret.yaml"
        if src.is_file():
            (envs / name / "secrets").mkdir(exist_ok=True)
            text = re.sub(rf"^(\s+namespace:) {re.escape(old_ns)}$", rf"\g<1> {new_ns}", src.read_text(), flags=re.M)
            (envs / name / "secrets" / f"{new}.secret.yaml").write_text(text)
"""


def _copy_environment(envs: Path, source: str, name: str) -> None:
    """``source`` (made by `hubgen new`) as ``name``: its name token replaced everywhere (folder name,
    stack name, tags, hub name and namespace, host names, comments, secret files' namespaces)."""
    token = re.compile(rf"(?<![A-Za-z0-9]){re.escape(source)}(?![A-Za-z0-9])")
    for src in sorted((envs / source).rglob("*")):
        if src.is_file() and (src.name == "environment.yaml" or src.parent.name == "secrets"):
            dst = envs / name / src.relative_to(envs / source)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(token.sub(name, src.read_text()))


def build_repository(dest: Path, count: int, log) -> float:
    """The ``count``-environment repository (rendered); seconds taken. The first NEW_ENVIRONMENTS
    are made with `hubgen new --from dev|prod`, the rest are copies of those under new names
    (`hubgen new` re-validates the whole repository each time, so 500 of them would take minutes)."""
    start = time.perf_counter()
    dest.mkdir(parents=True)
    for part in ("schema", "manifests"):
        shutil.copytree(ROOT / part, dest / part)
    for f in (".sops.yaml",):
        if (ROOT / f).is_file():
            shutil.copy2(ROOT / f, dest / f)
    for example in ("dev", "prod"):
        shutil.copytree(ROOT / "environments" / example, dest / "environments" / example)
    made = min(count, NEW_ENVIRONMENTS)
    log(f"  creating {made} environments with `hubgen new ENV --from dev|prod`, copying them to {count} ...")
    proc = subprocess.run([str(PYTHON), "-c", _NEW_LOOP, str(dest), str(made)], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"building the repository failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    for i in range(made, count):
        _copy_environment(dest / "environments", f"b{i % made:03d}", f"b{i:03d}")
    for example in ("dev", "prod"):  # exactly `count` environments
        shutil.rmtree(dest / "environments" / example)
    run([*HUBGEN, "render"], dest, base_env())
    return time.perf_counter() - start


def subset(full: Path, dest: Path, count: int) -> None:
    dest.mkdir(parents=True)
    for part in ("schema", "manifests"):
        shutil.copytree(full / part, dest / part)
    if (full / ".sops.yaml").is_file():
        shutil.copy2(full / ".sops.yaml", dest / ".sops.yaml")
    for name in sorted(p.name for p in (full / "environments").iterdir())[:count]:
        shutil.copytree(full / "environments" / name, dest / "environments" / name)


def chart_cache(work: Path) -> Path:
    cache = work / "charts"
    target = cache / "jupyterhub-4.4.0"
    if not target.exists() and (CHART_DIR / "values.schema.json").is_file():
        target.mkdir(parents=True)
        for f in ("values.yaml", "values.schema.json"):
            shutil.copy2(CHART_DIR / f, target / f)
    return cache


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Row:
    size: int
    what: str
    runs: list[float] = field(default_factory=list)
    note: str = ""
    #: "size" (the main table), "hook" (pre-commit), "breakdown" (one hook alone: first run, again)
    group: str = "size"

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def generated_dirs(repo: Path) -> list[Path]:
    return [d for env in (repo / "environments").iterdir()
            for d in (env / g for g in ("cloudformation", "cluster", "platform", "hubs")) if d.is_dir()]


#: Measurements per repository size, in the largest repository, and of the naive baseline (names for --only).
SIZE_MEASURES = ("validate", "render", "render-check", "lint-cold", "lint-warm")
REPO_MEASURES = ("help", "version", "validate-env", "hook-hub", "hook-stack", "hook-cold", "breakdown")
ALL_MEASURES = (*SIZE_MEASURES, *REPO_MEASURES, "naive")


def measure_size(repo: Path, size: int, repeats: int, work: Path, charts: Path, log,
                 only: set[str] = frozenset(ALL_MEASURES)) -> list[Row]:
    rows = []
    env = base_env(work / f"cache-{size}-warm")
    env["HUBGEN_CHART_CACHE"] = str(charts)

    def timed(what: str, args: list[str], before=None, env_for=None, ok=(0,), runs: int = repeats) -> Row:
        row = Row(size, what)
        for i in range(runs):
            if before:
                before(i)
            seconds, _ = run(args, repo, env_for(i) if env_for else env, ok)
            row.runs.append(seconds)
        log(f"  {size:>4} envs  {what:<16} median {row.median:7.2f} s  runs {', '.join(f'{r:.2f}' for r in row.runs)}")
        rows.append(row)
        return row

    if "validate" in only:
        timed("validate", [*HUBGEN, "validate"])

    def outdate(_: int) -> None:
        """Make every generated file stale (as after a hubgen upgrade that changes every output)."""
        for d in generated_dirs(repo):
            for f in d.rglob("*"):
                if f.is_file():
                    with open(f, "a") as fh:
                        fh.write("\n")

    if "render" in only:
        timed("render", [*HUBGEN, "render"], before=outdate)
        if "render-check" not in only:
            run([*HUBGEN, "render"], repo, env)  # leave the tree up to date
    if "render-check" in only:
        timed("render --check", [*HUBGEN, "render", "--check"])
    if not only & {"lint-cold", "lint-warm"}:
        return rows

    def cold_env(i: int) -> dict[str, str]:
        e = dict(env)
        e["HUBGEN_CACHE_DIR"] = str(work / f"cache-{size}-cold-{i}")
        return e

    cold_runs = min(repeats, 3 if size > 100 else 2)  # the slowest measurement (fixed costs dominate when small)
    warm = work / f"cache-{size}-warm"
    if "lint-cold" in only or not warm.is_dir():  # the warm measurement starts from a cold run's cache
        timed("lint (cold)", [*HUBGEN, "lint"], env_for=cold_env, runs=cold_runs if "lint-cold" in only else 1)
        if "lint-cold" not in only:
            rows.pop()
        shutil.rmtree(warm, ignore_errors=True)
        shutil.copytree(work / f"cache-{size}-cold-{(cold_runs if 'lint-cold' in only else 1) - 1}", warm)
    if "lint-warm" in only:
        timed("lint (warm)", [*HUBGEN, "lint"])
    for i in range(cold_runs):
        shutil.rmtree(work / f"cache-{size}-cold-{i}", ignore_errors=True)
    return rows


# --- the pre-commit hook for a one-environment change ------------------------------------------


def hook_config(repo: Path) -> None:
    """This repository's pre-commit configuration, hubgen's hooks only (`language: system`: no
    hook environment to install, so the benchmark needs no network; the hygiene hooks are not
    hubgen's to measure)."""
    text = (ROOT / ".pre-commit-config.yaml").read_text()
    keep, out, block = True, [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("      - id: "):
            if block and keep:
                out.extend(block)
            block, keep = [line], "hubgen" in line
        elif block:
            block.append(line)
        else:
            out.append(line)
    if block and keep:
        out.extend(block)
    (repo / ".pre-commit-config.yaml").write_text("".join(out))


def hook_environment(repo: Path) -> str:
    """The environment the one-environment change touches: the middle one."""
    names = sorted(p.name for p in (repo / "environments").iterdir())
    return names[len(names) // 2]


def change_one_environment(repo: Path, i: int, env: dict[str, str], stack: bool) -> list[str]:
    """A person's one-environment change: a spec edit, `hubgen render ENV`, `git add`; the files.

    Every change is new (``i``), so the changed environment is never in a cache. A hub change
    (the culling timeout) changes the HelmRelease; a stack change (the first node group's disk size) changes
    the stack parameters as well, so cfn-lint has to evaluate the template with them again.
    """
    name = hook_environment(repo)
    spec = repo / "environments" / name / "environment.yaml"
    text = spec.read_text()
    text, n = re.subn(r"^(\s+timeout:) \d+$", rf"\g<1> {3600 + 60 * (i % 40000 + 1)}", text, count=1, flags=re.M)
    if stack:
        text, m = re.subn(r"^(\s+diskSize:) \d+$", rf"\g<1> {100 + i % 16000 + 1}", text, count=1, flags=re.M)
        n = min(n, m)
    if n != 1:
        raise BenchError(f"{spec}: nothing to change")
    spec.write_text(text)
    run([*HUBGEN, "render", name], repo, env)
    run(["git", "add", "-A", f"environments/{name}"], repo, env)
    _, out = run(["git", "diff", "--cached", "--name-only"], repo, env)
    return out.split()


def git_commit(repo: Path, env: dict[str, str], message: str) -> None:
    run(["git", "commit", "-q", "--allow-empty", "--no-verify", "-m", message], repo, env)


def prepare_hook_repo(repo: Path, env: dict[str, str]) -> None:
    """The repository as a git checkout with the pre-commit configuration (once; a reused work folder has it)."""
    hook_config(repo)
    if not (repo / ".git").is_dir():
        run(["git", "init", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    git_commit(repo, env, "bench baseline")


def hook_env(work: Path, size: int, charts: Path) -> dict[str, str]:
    env = base_env(work / f"cache-{size}-warm")
    env["HUBGEN_CHART_CACHE"] = str(charts)
    env["PRE_COMMIT_HOME"] = str(work / "pre-commit-home")
    env["PRE_COMMIT_COLOR"] = "never"
    return env


def measure_repo(repo: Path, repeats: int, work: Path, charts: Path, log, only: set[str],
                 change: list[int]) -> list[Row]:
    """In the largest repository: start-up (`--help`, `--version`), `validate ENV`, and the pre-commit hook for a
    one-environment change. ``change`` counts the changes made (each run's change is new)."""
    size = len(list((repo / "environments").iterdir()))
    env = hook_env(work, size, charts)
    rows: list[Row] = []

    def timed(what: str, args: list[str], runs: int, cwd: Path = repo, group: str = "startup") -> None:
        row = Row(size, what, group=group)
        for _ in range(runs):
            seconds, _ = run(args, cwd, env)
            row.runs.append(seconds)
        log(f"  {size:>4} envs  {what:<24} median {row.median:7.2f} s  runs {', '.join(f'{r:.2f}' for r in row.runs)}")
        rows.append(row)

    # Start-up: in an empty folder (no repository needed), the most frequent measurements: cheap.
    if "help" in only:
        timed("hubgen --help", [*HUBGEN, "--help"], max(10, repeats), cwd=work)
    if "version" in only:
        timed("hubgen --version", [*HUBGEN, "--version"], max(10, repeats), cwd=work)
    name = hook_environment(repo)
    if "validate-env" in only:
        run([*HUBGEN, "validate", name], repo, env)  # the environment index is current, as after any earlier run
        timed(f"hubgen validate {name}", [*HUBGEN, "validate", name], max(5, repeats))
    hooks = [h for h in ("hook-hub", "hook-stack", "hook-cold", "breakdown") if h in only]
    if not hooks:
        return rows
    if not (work / f"cache-{size}-warm" / "lint").is_dir():
        log("  warming the cache with one `hubgen lint` (the hooks are measured with every other environment cached)")
        run([*HUBGEN, "lint"], repo, env)
    prepare_hook_repo(repo, env)
    precommit = [str(VENV_BIN / "pre-commit") if (VENV_BIN / "pre-commit").exists() else "pre-commit"]
    for key, label, stack, cold in (("hook-hub", "hook: hub change", False, False),
                                    ("hook-stack", "hook: stack change", True, False),
                                    ("hook-cold", "hook: stack, cold cache", True, True)):
        if key not in only:
            continue
        row = Row(size, label, group="hook")
        for i in range(1 if cold else max(5, repeats)):
            e = dict(env)
            if cold:
                e["HUBGEN_CACHE_DIR"] = str(work / f"hook-cold-{change[0]}")
            change[0] += 1
            files = change_one_environment(repo, change[0], env, stack)
            seconds, out = run([*precommit, "run", "--files", *files], repo, e)
            if "Passed" not in out:
                raise BenchError(f"the hubgen hook did not run:\n{out}")
            row.runs.append(seconds)
            git_commit(repo, env, f"change {change[0]}")
            if cold:
                shutil.rmtree(e["HUBGEN_CACHE_DIR"], ignore_errors=True)
        log(f"  {size:>4} envs  {label:<24} median {row.median:7.2f} s  runs {', '.join(f'{r:.2f}' for r in row.runs)}")
        rows.append(row)
    if "breakdown" in only:
        rows += measure_breakdown(repo, env, log, change)
    return rows


#: The single-check hooks (one process each), as the default configuration ran them before `hubgen hook all`.
SINGLE_HOOKS = (["validate"], ["render-check"], ["lint", "--engine", "cfn-lint"], ["lint", "--engine", "kubeconform"])


def measure_breakdown(repo: Path, env: dict[str, str], log, change: list[int]) -> list[Row]:
    """Where a stack change's hook time goes, on one new stack change: `hubgen hook all` alone (first on the new
    content: cfn-lint evaluates the template with the new parameters; then again: every engine result cached),
    without cfn-lint, and the four single-check hooks one process each (the layout before `hook all`)."""
    size = len(list((repo / "environments").iterdir()))
    rows = []
    change[0] += 1
    files = change_one_environment(repo, change[0], env, True)

    def twice(what: str, commands: list[list[str]]) -> None:
        row = Row(size, what, group="breakdown")
        for _ in range(2):
            total = 0.0
            for args in commands:
                seconds, _ = run(args, repo, env)
                total += seconds
            row.runs.append(total)
        log(f"  {size:>4} envs    {row.what:<44} runs {', '.join(f'{r:.2f}' for r in row.runs)}")
        rows.append(row)

    twice("hubgen hook all", [[*HUBGEN, "hook", "all", *files]])
    twice("hubgen hook all --skip cfn-lint", [[*HUBGEN, "hook", "all", "--skip", "cfn-lint", *files]])
    change[0] += 1
    files = change_one_environment(repo, change[0], env, True)
    twice("the four single hooks, one process each", [[*HUBGEN, "hook", *h, *files] for h in SINGLE_HOOKS])
    git_commit(repo, env, f"change {change[0]}")
    return rows


# --- the naive baseline ------------------------------------------------------------------


def measure_naive(repo: Path, sample: int, work: Path, log) -> tuple[Row, Row]:
    """cfn-lint and kubeconform CLIs once per environment, each a separate process, on ``sample``
    environments spread over the repository."""
    env = base_env(work / "naive-cache")
    names = sorted(p.name for p in (repo / "environments").iterdir())
    picked = [names[int(i * (len(names) - 1) / max(1, sample - 1))] for i in range(sample)]
    schema_out = work / "kubeconform-schemas"
    run([str(PYTHON), "-m", "generator.engines.k8s_schemas", "--repo", str(repo), "--out", str(schema_out)], ROOT, env)
    kubeconform = shutil.which("kubeconform", path=env["PATH"])
    cfn_lint = str(VENV_BIN / "cfn-lint") if (VENV_BIN / "cfn-lint").exists() else "cfn-lint"
    cfn, kc = Row(len(names), "naive cfn-lint"), Row(len(names), "naive kubeconform")
    # hubgen's own kubeconform invocation (same flags and offline schemas), minus the file names.
    prefix = json.loads(subprocess.run(
        [str(PYTHON), "-c", "import json, sys; from pathlib import Path; "
         "from generator.engines.kubeconform import kubeconform_command; "
         "from generator.versions import KUBERNETES_SCHEMA_VERSION as v; "
         "print(json.dumps(kubeconform_command(Path(sys.argv[1]), Path(sys.argv[2]), v, [])))",
         kubeconform or "kubeconform", str(schema_out)], cwd=ROOT, capture_output=True, text=True, env=env).stdout)
    for name in picked:
        d = repo / "environments" / name
        region = re.search(r"^  region: (\S+)$", (d / "environment.yaml").read_text(), re.M).group(1)
        seconds, _ = run([cfn_lint, "--regions", region, "--parameter-files",
                          str(d / "cloudformation" / "cluster.parameters.json"), "--",
                          str(repo / "manifests" / "cloudformation" / "cluster.yaml")], repo, env, ok=tuple(range(64)))
        cfn.runs.append(seconds)
        if kubeconform:
            manifests = sorted(str(p) for g in ("cluster", "platform", "hubs") for p in (d / g).rglob("*.yaml")
                               if p.name != "kustomization.yaml")
            seconds, _ = run([*prefix, *manifests], repo, env, ok=(0, 1))
            kc.runs.append(seconds)
    sample_note = f"mean of {sample} environments x {len(names)}, extrapolated"
    cfn.note = kc.note = sample_note
    log(f"  naive per environment: cfn-lint {statistics.mean(cfn.runs):.2f} s"
        + (f", kubeconform {statistics.mean(kc.runs):.2f} s" if kc.runs else ", kubeconform not installed"))
    return cfn, kc


# --- reporting ---------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    hubgen = (subprocess.run([*HUBGEN, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
              or ["hubgen ?"])[0]
    # How fast the machine is right now (shared hosts vary by 1.5-2x over an hour): the median start-up of a bare
    # interpreter and a fixed loop, to tell a slow run from a slow hubgen.
    probes = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([str(PYTHON), "-S", "-c", "sum(i * i for i in range(10**6))"], check=True)
        probes.append(time.perf_counter() - start)
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu, "ram": ram, "python": platform.python_version(), "os": platform.platform(),
        "hubgen": hubgen, "commit": (commit.strip() or "unknown") + (" (with uncommitted changes)" if dirty else ""),
        "probe": f"{statistics.median(probes):.3f} s",
    }


def _md_table(head: list[str], body: list[list[str]], markdown: bool, align: str = "l") -> list[str]:
    if markdown:
        return ["| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] + [("---:" if align == "r" else "---")] * (len(head) - 1)) + "|",
                *["| " + " | ".join(r) + " |" for r in body]]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    just = (lambda c, w, i: c.ljust(w) if i == 0 or align == "l" else c.rjust(w))
    return ["  " + "  ".join(just(c, w, i) for i, (c, w) in enumerate(zip(r, widths))) for r in [head, *body]]


def table(rows: list[Row], naive: tuple[Row, Row] | None, markdown: bool) -> str:
    sizes = sorted({r.size for r in rows if r.group == "size"})
    if not sizes:
        return ""
    whats = ["validate", "render", "render --check", "lint (cold)", "lint (warm)"]
    by = {(r.size, r.what): r for r in rows}
    whats = [w for w in whats if any((s, w) in by for s in sizes)]
    head = ["", *[f"{s} env{'s' if s != 1 else ''}" for s in sizes], f"per env at {sizes[-1]}"]
    body = []
    for what in whats:
        cells = [f"{by[(s, what)].median:.2f} s" if (s, what) in by else "" for s in sizes]
        per = f"{by[(sizes[-1], what)].median / sizes[-1] * 1000:.1f} ms" if (sizes[-1], what) in by else ""
        body.append([what, *cells, per])
    return "\n".join(_md_table(head, body, markdown, align="r"))


def _naive_total(rows: list[Row], naive: tuple[Row, Row] | None) -> tuple[float, int] | None:
    largest = max((r.size for r in rows if r.what == "lint (cold)"), default=0)
    if not (naive and naive[0].runs and largest):
        return None
    cfn, kc = naive
    per_env = statistics.mean(cfn.runs) + (statistics.mean(kc.runs) if kc.runs else 0.0)
    return per_env * largest, largest


def targets(rows: list[Row], naive: tuple[Row, Row] | None, markdown: bool) -> str:
    """The targets of docs/performance.md with what this run measured (medians) and whether each is met."""
    by_what: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: r.size):
        by_what[r.what if r.group != "size" else f"{r.what}@{r.size}"] = r
    largest = max((r.size for r in rows), default=0)
    validate_env = next((r for r in rows if r.what.startswith("hubgen validate ")), None)
    body = []

    def add(target: str, goal: str, row: Row | None, limit: float) -> None:
        if row is None:
            return
        value = row.median
        met = value < limit
        miss = "" if met else f" (by {value - limit:.2f} s)"
        body.append([target, goal, f"{value:.2f} s", "met" if met else f"**missed**{miss}"])

    add(f"one-environment hub change, {largest} environments: pre-commit with `hubgen hook all`", "< 1 s",
        by_what.get("hook: hub change"), 1.0)
    add(f"one-environment stack change, {largest} environments: pre-commit with `hubgen hook all`", "< 2 s",
        by_what.get("hook: stack change"), 2.0)
    add("`hubgen --help`", "< 0.15 s", by_what.get("hubgen --help"), 0.15)
    add(f"`hubgen validate ENV`, {largest} environments", "< 0.5 s", validate_env, 0.5)
    add(f"`validate`, {largest} environments", "< 5 s", by_what.get(f"validate@{largest}"), 5.0)
    add(f"warm `lint`, {largest} environments", "< 10 s", by_what.get(f"lint (warm)@{largest}"), 10.0)
    baseline = _naive_total(rows, naive)
    cold = by_what.get(f"lint (cold)@{baseline[1]}") if baseline else None
    if baseline and cold:
        factor = baseline[0] / cold.median
        body.append([f"cold `lint`, {baseline[1]} environments, against the naive baseline", ">= 10x faster",
                     f"{factor:.0f}x ({cold.median:.1f} s against {baseline[0]:.0f} s)",
                     "met" if factor >= 10 else "**missed**"])
    if not body:
        return ""
    return "\n".join(_md_table(["target", "goal", "measured (median)", "status"], body, markdown))


def extras(rows: list[Row], naive: tuple[Row, Row] | None, markdown: bool) -> str:
    by = {(r.size, r.what): r for r in rows}
    out = []
    startup = [r for r in rows if r.group == "startup"]
    hooks = [r for r in rows if r.group == "hook"]
    parts = [r for r in rows if r.group == "breakdown"]
    if startup:
        out.append(f"Start-up, and one environment of the {startup[0].size}-environment repository (its environment "
                   f"index current):")
        out.append("")
        out += _md_table(["command", "median", "runs"],
                         [[f"`{r.what}`" if markdown else r.what, f"{r.median:.2f} s",
                           ", ".join(f"{x:.2f}" for x in r.runs)] for r in startup], markdown, align="r")
        out.append("")
    if hooks:
        out.append(f"One-environment change in the {hooks[0].size}-environment repository: a spec edit, "
                   f"`hubgen render ENV`, `git add`, then `pre-commit run --files` on the changed spec and "
                   f"generated files: the one hubgen hook, `hubgen hook all`. Hub change: a hub's culling timeout; "
                   f"stack change: the node volume size too (new stack parameters, so cfn-lint evaluates the template "
                   f"again); cold cache: a stack change with an empty hubgen cache (the first commit of a clone):")
        out.append("")
        out += _md_table(["pre-commit run", "median", "runs"],
                         [[r.what, f"{r.median:.2f} s", ", ".join(f"{x:.2f}" for x in r.runs)] for r in hooks],
                         markdown, align="r")
        out.append("")
    if parts:
        out.append("Where a stack change's hook time goes: the command alone on a new stack change, first on the new "
                   "content (cfn-lint evaluates), then again (every engine result cached); for comparison, the four "
                   "single-check hooks of the earlier layout (validate, render-check, cfn-lint, kubeconform), one "
                   "process each, on another new stack change (their times added):")
        out.append("")
        out += _md_table(["command", "first run", "again"],
                         [[f"`{r.what}`" if markdown and r.what.startswith("hubgen") else r.what,
                           f"{r.runs[0]:.2f} s", f"{r.runs[1]:.2f} s" if len(r.runs) > 1 else ""] for r in parts],
                         markdown, align="r")
        out.append("")
    baseline = _naive_total(rows, naive)
    if baseline:
        total, largest = baseline
        cfn, kc = naive
        cold = by[(largest, "lint (cold)")].median
        warm = by.get((largest, "lint (warm)"))
        out.append(
            f"Naive baseline at {largest} environments: cfn-lint CLI "
            f"({statistics.mean(cfn.runs):.2f} s per environment)"
            + (f" + kubeconform CLI ({statistics.mean(kc.runs):.2f} s per environment)" if kc.runs else "")
            + f", one process each per environment, measured on {len(cfn.runs)} environments and extrapolated: "
            f"**{total:.0f} s** ({total / 60:.1f} min).")
        out.append(f"`hubgen lint` cold: **{cold:.1f} s** = **{total / cold:.0f}x** faster"
                   + (f"; warm: **{warm.median:.1f} s** = **{total / warm.median:.0f}x** faster (and "
                      f"{cold / warm.median:.1f}x faster than cold)." if warm else "."))
    return "\n".join(out)


def write_markdown(report: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + report.rstrip("\n") + "\n" + text[end:])


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sizes 1, 10, 100; 2 runs; naive sample of 2")
    ap.add_argument("--sizes", help="comma-separated repository sizes (default 1,10,100,500)")
    ap.add_argument("--only", metavar="NAME,...",
                    help="run only these measurements (see --list); the repositories are built as usual")
    ap.add_argument("--list", action="store_true", help="list the measurements --only takes, and exit")
    ap.add_argument("--runs-small", type=int, help="runs per measurement up to 100 environments (default 5)")
    ap.add_argument("--runs-large", type=int, help="runs per measurement above 100 environments (default 3; "
                                                   "at least 5 for the hooks and validate ENV, 10 for --help)")
    ap.add_argument("--naive-sample", type=int, help="environments the naive baseline runs on (default 3)")
    ap.add_argument("--markdown", action="store_true", help=f"write the results into {DOC.relative_to(ROOT)} "
                                                            "(full runs only)")
    ap.add_argument("--workdir", type=Path, help="where the repositories go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (for --reuse)")
    ap.add_argument("--reuse", type=Path, metavar="DIR",
                    help="use the repositories (and caches) a run with --keep left in DIR instead of building them")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(ALL_MEASURES))
        return 0
    only = set(ALL_MEASURES)
    if args.only:
        only = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = only - set(ALL_MEASURES)
        if unknown:
            ap.error(f"--only: unknown measurement(s) {', '.join(sorted(unknown))}; see --list")
        if args.markdown:
            ap.error("--markdown writes the results of a full run only (without --only)")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1, 10, 100] if args.quick else
                                                                         [1, 10, 100, 500])
    runs_small = args.runs_small or (2 if args.quick else 5)
    runs_large = args.runs_large or (1 if args.quick else 3)
    sample = args.naive_sample or (2 if args.quick else 3)

    work = args.reuse.resolve() if args.reuse else Path(tempfile.mkdtemp(prefix="hubgen-bench-", dir=args.workdir))
    keep = args.keep or args.reuse is not None
    started = time.perf_counter()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    info = machine()
    log(f"hubgen benchmark on {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, Python {info['python']}; "
        f"load {load()}; speed probe {info['probe']}; work folder {work}")
    loads = [load()]
    cpu_start = cpu_times()
    rows: list[Row] = []
    naive = None
    counter = work / "changes"  # a new change each run, also in a reused work folder
    change = [int(counter.read_text()) if counter.is_file() else 0]
    try:
        charts = chart_cache(work)
        biggest = max(sizes)
        full = work / f"repo-{biggest}"
        if full.is_dir() and args.reuse:
            log(f"  reusing the {biggest}-environment repository in {full}")
        else:
            built = build_repository(full, biggest, log)
            log(f"  built the {biggest}-environment repository in {built:.0f} s")
        for size in sizes:
            if not only & set(SIZE_MEASURES):
                break
            repo = full if size == biggest else work / f"repo-{size}"
            if size != biggest and not repo.is_dir():
                subset(full, repo, size)
            rows += measure_size(repo, size, runs_small if size <= 100 else runs_large, work, charts, log, only)
            loads.append(load())
        if only & set(REPO_MEASURES):
            rows += measure_repo(full, runs_large, work, charts, log, only, change)
            loads.append(load())
        if "naive" in only:
            naive = measure_naive(full, sample, work, log)
            loads.append(load())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    finally:
        if work.is_dir():
            counter.write_text(str(change[0]))
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    for part in (table(rows, naive, markdown=False), extras(rows, naive, markdown=False),
                 targets(rows, naive, markdown=False)):
        if part:
            print()
            print(part)
    steal = steal_since(cpu_start)
    print(f"\n(total {total / 60:.1f} min; load average during the run: {' -> '.join(loads)}; CPU steal {steal})")
    if keep:
        print(f"(work folder kept: {work}; `--reuse {work}` measures again without building)")
    if args.markdown:
        report = "\n".join([
            f"Measured {info['date']} with `.venv/bin/python bench/run.py"
            + (" --quick" if args.quick else "") + " --markdown` "
            f"(medians of {runs_small} runs per measurement up to 100 environments, {runs_large} above; "
            f"cold lint {min(runs_large, 3)} runs above 100 environments, {min(runs_small, 2)} up to 100; "
            f"`--help` and `--version` {max(10, runs_large)} runs, `validate ENV` and the hook changes "
            f"{max(5, runs_large)}, the cold-cache hook 1).",
            "",
            f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, Python {info['python']}, "
            f"{info['os']}; {info['hubgen']} at commit {info['commit']}. Load average (1, 5, 15 min) "
            f"at the start and after each part: {' -> '.join(loads)}; CPU time taken by other virtual machines "
            f"on the host (steal) during the run: {steal}. Speed probe (`python -S -c 'sum(i * i for i in "
            f"range(10**6))'`, median of 5; lower is faster): {info['probe']} at the start.",
            "",
            targets(rows, naive, markdown=True),
            "",
            table(rows, naive, markdown=True),
            "",
            extras(rows, naive, markdown=True),
            "",
            f"The whole benchmark took {total / 60:.1f} minutes.",
        ])
        write_markdown(report)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
