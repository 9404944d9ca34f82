"""`hubgen hook ...`: the entry points of the pre-commit hooks (see .pre-commit-hooks.yaml).

pre-commit passes the names of the files a commit touches. Each hook maps them to environments
(:func:`generator.plan.touch.select`: ``environments/<env>/...`` is that environment; a change to
a stack template, ``schema/``, ``generator/`` or ``pyproject.toml`` means every environment) and
runs the same code as the matching `hubgen` command on those environments only, in this process.
A commit that touches no environment costs one quick no-op.

`hubgen hook all` is the one hook of the default configuration: every check of a commit in one
process (one start-up, one validation, one render), see :func:`hook_all`. The single-check hooks
(`validate`, `render-check`, `lint --engine ...`, `secrets`) stay for configurations that want them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, Format, State, app, state, usage_error

if TYPE_CHECKING:
    from generator.paths import RepoPaths
    from generator.problems import Problem

hook_app = typer.Typer(
    name="hook",
    help="Entry points of the pre-commit hooks: each takes file names and checks the environments they touch.",
    short_help="The pre-commit hooks' entry points: `hook all FILES...` runs every check of a commit on the "
               "environments it touches, in one process.",
    no_args_is_help=True,
)
app.add_typer(hook_app, name="hook")

FILES_HELP = "Files of the commit (pre-commit passes them); mapped to the environments they touch."
SECRET_SUFFIXES = (".secret.yaml", ".secret.yml")


def touched_environments(repo: RepoPaths, files: list[str]) -> list[str]:
    """Existing environments the files touch (every environment when a shared file changed)."""
    from generator.plan.touch import select

    existing = repo.env_names()
    sel = select(_repo_relative(repo, f) for f in files)
    if sel.everything:
        return existing
    return [e for e in sel.environments if e in existing]


def _repo_relative(repo: RepoPaths, name: str) -> str:
    """A file name as pre-commit passes it -> repository-relative. Relative names are taken from the
    current directory when that is inside the repository (pre-commit runs hooks at its root), else
    from the repository root (`hubgen --repo DIR hook ...` run from elsewhere)."""
    from generator.plan.touch import normalise

    path = Path(name)
    if not path.is_absolute():
        cwd = Path.cwd().resolve()
        root = repo.root.resolve()
        path = (cwd if cwd == root or root in cwd.parents else root) / path
    return normalise(repo.rel(path))


def _orphans(repo: RepoPaths) -> list[str]:
    """Environment folders holding generated files but no spec any more (cheap: a directory listing)."""
    return sorted(set(repo.env_dirs_with_generated_files()) - set(repo.env_names()))


def _invoke(st: State, args: list[str]) -> int:
    """Run another hubgen command in this process (same global options); its exit code."""
    from typer.main import get_command

    root = ["--repo", str(st.repo.root), "--format", st.format.value] + (["--quiet"] if st.quiet else [])
    try:
        get_command(app).main(args=root + args, prog_name="hubgen", standalone_mode=True)
    except SystemExit as e:  # standalone mode reports usage errors itself and always exits
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_PROBLEMS)
    return EXIT_OK


def _has_command(*names: str) -> bool:
    from typer.main import get_command

    cmd = get_command(app)
    for name in names:
        cmd = getattr(cmd, "commands", {}).get(name)
        if cmd is None:
            return False
    return True


def _with_env(problems: list[Problem], env: str) -> list[Problem]:
    """Drift problems with the environment's name in their hint (`hubgen render <env>`)."""
    return [replace(p, hint=p.hint.replace("<env>", env)) for p in problems]


def _fix_command(stale: list[str], orphans: list[str]) -> str:
    """The one command that fixes drift: orphans (generated files without a spec) are removed by a full render;
    otherwise it names the stale environments."""
    if not stale:
        return ""
    if any(o in stale for o in orphans):
        return "hubgen render"
    return "hubgen render " + " ".join(sorted(stale))


def _print_fix(st: State, fix: str) -> None:
    if fix and st.format is Format.text:
        from generator.output import console

        c = console()
        c.print("")
        c.print("Generated files are out of date. Fix them with:", markup=False, highlight=False)
        c.print("")
        c.print(f"    {fix}", markup=False, highlight=False)
        c.print("")
        c.print("then `git add` the result and commit again.", markup=False, highlight=False)
    elif fix and st.format is Format.github:
        typer.echo(f"::error title=generated files out of date::run `{fix}` and commit the result")


# ----------------------------------------------------------------- all
class Check(str, Enum):
    """The checks of `hubgen hook all`, in the order they run and are reported."""

    validate = "validate"
    secrets = "secrets"  # pragma: allowlist secret
    render_check = "render-check"
    cfn_lint = "cfn-lint"
    kubeconform = "kubeconform"


#: Codes of the checks of the files beside a spec (secrets/, extra/): `hubgen validate` runs them, but `render`
#: and `lint` read the spec only, so these do not stop an environment from being rendered and linted (as with
#: the separate hooks). HG304-HG307 are reported under "secrets".
FILE_CODES = frozenset({"HG304", "HG305", "HG306", "HG307", "HG308", "HG409"})
SECRET_FILE_CODES = frozenset({"HG304", "HG305", "HG306", "HG307"})
#: Environment variable with checks to leave out (comma-separated), as --skip.
SKIP_ENV = "HUBGEN_SKIP"


@dataclass
class CheckResult:
    check: Check
    problems: list[Problem] = field(default_factory=list)
    #: "passed", "failed", "skipped" (--skip) or "not run" (every touched spec has errors).
    status: str = "passed"
    notes: list[str] = field(default_factory=list)
    #: render-check: the one command that fixes drift.
    fix: str = ""

    def finish(self) -> None:
        from generator.problems import has_errors

        if self.status == "passed" and (has_errors(self.problems) or self.fix):
            self.status = "failed"

    def to_dict(self) -> dict:
        from generator.output import counts

        return {"status": self.status, "notes": self.notes, **counts(self.problems)}


def _parse_skip(values: list[str]) -> set[Check]:
    import os

    names = [n.strip() for v in [*values, os.environ.get(SKIP_ENV, "")] for n in v.split(",") if n.strip()]
    known = {c.value: c for c in Check if c is not Check.validate}
    unknown = [n for n in names if n not in known]
    if unknown:
        usage_error(f"--skip / {SKIP_ENV}: unknown check(s) {', '.join(unknown)}; choose from {', '.join(known)} "
                    "(validate always runs: the other checks need it)")
    return {known[n] for n in names}


@hook_app.command("all")
def hook_all(
    ctx: typer.Context,
    files: Optional[List[str]] = typer.Argument(None, metavar="FILES", help=FILES_HELP),
    skip: List[str] = typer.Option(
        [], "--skip", metavar="CHECK",
        help=f"Leave out a check: secrets, render-check, cfn-lint or kubeconform (repeatable or comma-separated; "
             f"also ${SKIP_ENV}, e.g. `{SKIP_ENV}=cfn-lint git commit`)."),
) -> None:
    """Every check of a commit in one process: validate, secrets, render-check, cfn-lint, kubeconform.

    The environments the files touch are validated once (schema, semantic checks, the files beside each spec)
    and rendered once, in memory; the rendered files are compared with the generated files on disk (printing the
    one `hubgen render` command that fixes drift) and linted with cfn-lint and kubeconform (results cached by
    content). Staged `*.secret.yaml` files outside the touched environments are checked as by `hubgen secrets
    check`. Ends with one line per check: passed, failed, skipped or not run. Exit 0 clean, 1 problems, 2 usage
    error."""
    st = state(ctx)
    repo = st.repo
    skipped = _parse_skip(skip)
    names = files or []
    if Check.cfn_lint not in skipped and _changes_stack_inputs(names):
        # cfn-lint will most likely evaluate new parameters or a new template: start loading it on another CPU
        # now, first thing (it takes longer than everything else here; unused, it is stopped).
        from generator.engines.cfnlint import prepare

        prepare()
    envs = touched_environments(repo, names)
    secret_files = _secret_files(repo, names)
    orphans = _orphans(repo) if Check.render_check not in skipped else []
    if not envs and not secret_files and not orphans:
        raise typer.Exit(EXIT_OK)
    _report_all(st, envs, _run_checks(st, envs, secret_files, orphans, skipped))


def _changes_stack_inputs(files: list[str]) -> bool:
    """Whether the files (as pre-commit passes them: relative to the repository root) include what cfn-lint
    reads: an environment's rendered stack inputs (``environments/<env>/cloudformation/``), a stack template, or a
    file every environment depends on. Only decides whether to load cfn-lint ahead of need (a guess may cost
    time, never a result), so it looks at the names alone, before anything is imported."""
    for name in files:
        rel = name.replace("\\", "/").removeprefix("./")
        parts = rel.split("/")
        if rel.startswith(("manifests/", "schema/", "generator/")) or rel == "pyproject.toml":
            return True
        if len(parts) >= 3 and parts[0] == "environments" and parts[2] == "cloudformation":
            return True
    return False


def _run_checks(st: State, envs: list[str], secret_files: list[str], orphans: list[str],
                skipped: set[Check]) -> dict[Check, CheckResult]:
    from generator.problems import has_errors
    from generator.validate.environments import UsageError, validate
    from generator.writer import WriteError, repo_lock

    repo = st.repo
    results = {c: CheckResult(c) for c in Check}
    for c in skipped:
        results[c].status = "skipped"
    try:
        with repo_lock(repo, shared=True):
            # 1. validate (the secret files beside the specs are reported under "secrets")
            validation = validate(repo, envs, files=True) if envs else None
            env_results = dict(validation.environments) if validation is not None else {}
            for p in validation.problems if validation is not None else []:
                results[Check.secrets if p.code in SECRET_FILE_CODES else Check.validate].problems.append(p)
            # Environments with a sound spec are rendered and linted, as `render` and `lint` decide it: problems of
            # the files beside the spec do not count.
            sound = {n: r.context for n, r in env_results.items()
                     if r.context is not None and not has_errors([p for p in r.problems if p.code not in FILE_CODES])}
            # 2. secrets: the staged secret files the validation did not look at
            if Check.secrets not in skipped:
                _check_secret_files(repo, secret_files, env_results, results[Check.secrets])
            # 3. render-check and 4. cfn-lint, kubeconform: on one render, in memory
            rendered = _render_check(repo, sound, orphans, results[Check.render_check],
                                     compare=Check.render_check not in skipped)
            lint_checks = [c for c in (Check.cfn_lint, Check.kubeconform) if c not in skipped]
            if lint_checks and rendered:
                _lint(repo, sound, rendered, lint_checks, results)
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    unsound = [n for n in env_results if n not in sound]
    if not envs:  # only secret files outside the environments (or orphaned generated files) were staged
        for c in (Check.validate, Check.render_check, Check.cfn_lint, Check.kubeconform):
            if results[c].status != "skipped" and not (c is Check.render_check and orphans):
                results[c].notes.append("no environment touched")
    for c in (Check.render_check, Check.cfn_lint, Check.kubeconform):
        r = results[c]
        if r.status == "skipped" or not unsound:
            continue
        r.notes.append(f"not checked: {', '.join(unsound)} (the spec has errors: see validate)")
        if not sound and not (c is Check.render_check and orphans):
            r.status = "not run"
    for r in results.values():
        r.finish()
    return results


def _check_secret_files(repo: RepoPaths, secret_files: list[str], env_results: dict, result: CheckResult) -> None:
    """`hubgen secrets check FILES` on the staged secret files the validation did not look at: those outside the
    touched environments' secrets/ folders, and those of an environment whose spec does not validate."""
    from generator.cli.secrets import check_problems

    standalone = []
    for rel in secret_files:
        parts = rel.split("/")
        r = env_results.get(parts[1]) if len(parts) >= 3 else None
        if r is not None and r.context is not None and rel.startswith(repo.env(parts[1]).secrets_dir + "/"):
            continue  # validated with its environment (HG304-HG307)
        standalone.append(rel)
    if standalone:
        seen = set(result.problems)
        result.problems.extend(p for p in check_problems(repo, [], standalone) if p not in seen)


def _render_check(repo: RepoPaths, contexts: dict, orphans: list[str], result: CheckResult, *,
                  compare: bool) -> dict[str, list]:
    """Render each environment of ``contexts`` in memory (lint checks the same files), on forked workers for many
    environments as `render --check` does; with ``compare``, scan them for plaintext secrets (HG303), compare them
    with the disk (HG401-HG404) and note the fixing command. Returns the rendered files by environment."""
    from generator.generate import render_all
    from generator.writer import drift_problems, plan_environment

    done = render_all(repo, {name: context.model for name, context in contexts.items()}, compare=compare)
    rendered = {name: files for name, (files, _, _) in zip(contexts, done)}
    if not compare:
        return rendered
    changes = [change for _, _, change in done]
    for _, problems, _ in done:
        result.problems.extend(problems)
    changes += [plan_environment(repo, o, []) for o in orphans]
    stale = []
    for change in changes:
        if not change.empty:
            result.problems.extend(_with_env(drift_problems(change), change.environment))
            stale.append(change.environment)
    result.fix = _fix_command(stale, orphans)
    if stale:
        result.notes.append(f"out of date: {', '.join(sorted(stale))}")
    return rendered


def _lint(repo: RepoPaths, contexts: dict, rendered: dict[str, list], checks: list[Check],
          results: dict[Check, CheckResult]) -> None:
    """cfn-lint and kubeconform on the rendered environments (and the team's extra/ manifests), as `hubgen lint
    --engine ...` runs them, results cached by content. kubeconform (a process of its own) runs in a thread while
    cfn-lint runs here or in its prepared process (:func:`generator.engines.cfnlint.prepare`)."""
    from concurrent.futures import ThreadPoolExecutor

    from generator.engines.base import LintInputs
    from generator.engines.cache import ResultCache
    from generator.lint import artifacts, collect_templates, run_engine

    envs = [artifacts(repo, contexts[n], files) for n, files in rendered.items()]
    inputs = LintInputs(repo, collect_templates(repo), envs, ResultCache(repo.cache, enabled=True))
    from generator.engines import cfnlint

    with ThreadPoolExecutor(max_workers=1) as pool:
        background = {c: pool.submit(run_engine, c.value, inputs) for c in checks if c is Check.kubeconform}
        for check in checks:
            outcome = background[check].result() if check in background else run_engine(check.value, inputs)
            results[check].problems.extend(outcome.problems)
            if check is Check.cfn_lint:
                cfnlint.release()  # done with cfn-lint: a prepared process that was not needed stops now


def _report_all(st: State, envs: list[str], results: dict[Check, CheckResult]) -> None:
    from generator.output import report
    from generator.problems import has_errors

    fix = results[Check.render_check].fix
    problems = [p for r in results.values() for p in r.problems]
    failed = [c for c, r in results.items() if r.status == "failed"]
    if st.format is not Format.text:
        report(problems, st.format.value, command="hook all", environments=envs, quiet=True,
               extra={"checks": {c.value: r.to_dict() for c, r in results.items()}, "fix": fix or None})
        _print_fix(st, fix)
        raise typer.Exit(EXIT_PROBLEMS if failed or has_errors(problems) else EXIT_OK)
    for c, r in results.items():
        if r.problems:
            report(r.problems, "text", command=c.value, environments=envs, quiet=True)
    if failed or not st.quiet:
        _print_summary(envs, results)
    _print_fix(st, fix)
    raise typer.Exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _print_summary(envs: list[str], results: dict[Check, CheckResult]) -> None:
    """One line per check: passed / failed / skipped / not run, and why."""
    from generator.output import console, counts, escape

    c = console()
    shown = ", ".join(envs[:5]) + (f", ... ({len(envs)} in all)" if len(envs) > 5 else "")
    c.print(f"hubgen hook all: {len(envs)} environment{'s' if len(envs) != 1 else ''}"
            + (f" ({shown})" if envs else ""), markup=False, highlight=False)
    width = max(len(x.value) for x in results)
    for check, r in results.items():
        n = counts(r.problems)
        detail = [f"{n['errors']} error(s)"] if n["errors"] else []
        detail += [f"{n['warnings']} warning(s)"] if n["warnings"] else []
        detail += r.notes
        style = {"failed": "bold red", "passed": "green"}.get(r.status, "yellow")
        why = " " * (8 - len(r.status)) + escape("; ".join(detail)) if detail else ""
        c.print(f"  {check.value:<{width}}  [{style}]{r.status}[/]{why}")


@hook_app.command("validate")
def hook_validate(ctx: typer.Context,
                  files: Optional[List[str]] = typer.Argument(None, metavar="FILES", help=FILES_HELP)) -> None:
    """`hubgen validate` on the environments the files touch."""
    st = state(ctx)
    envs = touched_environments(st.repo, files or [])
    if not envs:
        raise typer.Exit(EXIT_OK)
    from generator.output import report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError, validate

    try:
        result = validate(st.repo, envs)
    except UsageError as e:
        usage_error(str(e))
    report(result.problems, st.format.value, command="validate", environments=envs, quiet=st.quiet)
    raise typer.Exit(EXIT_PROBLEMS if has_errors(result.problems) else EXIT_OK)


@hook_app.command("render-check")
def hook_render_check(ctx: typer.Context,
                      files: Optional[List[str]] = typer.Argument(None, metavar="FILES", help=FILES_HELP)) -> None:
    """Fail when generated files of the touched environments are out of date; print the one fixing command."""
    st = state(ctx)
    repo = st.repo
    envs = touched_environments(repo, files or [])
    orphans = _orphans(repo)
    if not envs and not orphans:
        raise typer.Exit(EXIT_OK)
    from generator.generate import plan as render_plan
    from generator.output import report
    from generator.problems import has_errors
    from generator.validate.environments import UsageError
    from generator.writer import WriteError, drift_problems, plan_environment, repo_lock

    problems: list[Problem] = []
    stale: list[str] = []
    try:
        with repo_lock(repo, shared=True):
            result = render_plan(repo, envs) if envs else None
            changes = list(result.changes) if result is not None else []
            changes += [plan_environment(repo, o, []) for o in orphans]
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    if result is not None and not result.ok:
        # Spec errors are the validate hook's to show; anything else (a plaintext secret in rendered output)
        # is shown here.
        specs = {repo.env(e).spec for e in envs}
        errors = [p for p in result.problems if has_errors([p])]
        report([p for p in errors if p.location.file not in specs], st.format.value, command="render --check",
               environments=envs, quiet=True)
        for env in sorted({p.environment for p in errors if p.location.file in specs}):
            typer.echo(f"{repo.env(env).spec}: the spec has errors, so its generated files cannot be checked; "
                       f"fix it (`hubgen validate {env}` lists the errors), then run `hubgen render {env}`", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    for change in changes:
        if change.empty:
            continue
        problems.extend(_with_env(drift_problems(change), change.environment))
        stale.append(change.environment)
    fix = _fix_command(stale, orphans)
    report(problems, st.format.value, command="render --check", environments=envs, quiet=True,
           extra={"fix": fix or None})
    if not problems:
        raise typer.Exit(EXIT_OK)
    _print_fix(st, fix)
    raise typer.Exit(EXIT_PROBLEMS)


@hook_app.command("lint")
def hook_lint(
    ctx: typer.Context,
    engine: List[str] = typer.Option([], "--engine", help="Engine(s) to run (as `hubgen lint --engine`)."),
    files: Optional[List[str]] = typer.Argument(None, metavar="FILES", help=FILES_HELP),
) -> None:
    """`hubgen lint --engine ...` on the environments the files touch."""
    st = state(ctx)
    envs = touched_environments(st.repo, files or [])
    if not envs:
        raise typer.Exit(EXIT_OK)
    if not _has_command("lint"):
        typer.echo("hubgen: error: this hubgen has no `lint` command; upgrade hubgen", err=True)
        raise typer.Exit(EXIT_USAGE)
    args = ["lint"]
    for e in engine:
        args += ["--engine", e]
    raise typer.Exit(_invoke(st, args + envs))


# ----------------------------------------------------------------- secrets
def _secret_files(repo: RepoPaths, files: list[str]) -> list[str]:
    out = []
    for f in files:
        rel = _repo_relative(repo, f)
        if rel.endswith(SECRET_SUFFIXES) and (repo.root / rel).is_file():
            out.append(rel)
    return sorted(set(out))


@hook_app.command("secrets")
def hook_secrets(ctx: typer.Context,
                 files: Optional[List[str]] = typer.Argument(None, metavar="FILES", help=FILES_HELP)) -> None:
    """Every `*.secret.yaml` among the files must be sops-encrypted (`hubgen secrets check`)."""
    st = state(ctx)
    secret_files = _secret_files(st.repo, files or [])
    if not secret_files:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(_invoke(st, ["secrets", "check", *secret_files]))
