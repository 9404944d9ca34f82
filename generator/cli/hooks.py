"""`hubgen hook ...`: the entry points of the pre-commit hooks (see .pre-commit-hooks.yaml).

pre-commit passes the names of the files a commit touches. Each hook maps them to environments
(:func:`generator.plan.touch.select`: ``environments/<env>/...`` is that environment; a change to
a stack template, ``schema/``, ``generator/`` or ``pyproject.toml`` means every environment) and
runs the same code as the matching `hubgen` command on those environments only, in this process.
A commit that touches no environment costs one quick no-op.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer
from typer.main import get_command

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, Format, State, app, state, usage_error
from generator.generate import plan as render_plan
from generator.output import console, report
from generator.paths import RepoPaths
from generator.plan.touch import normalise, select
from generator.problems import Problem, has_errors
from generator.validate.environments import UsageError, validate
from generator.writer import WriteError, drift_problems, plan_environment, repo_lock

hook_app = typer.Typer(
    name="hook",
    help="Entry points of the pre-commit hooks: each takes file names and checks the environments they touch.",
    no_args_is_help=True,
)
app.add_typer(hook_app, name="hook")

FILES_HELP = "Files of the commit (pre-commit passes them); mapped to the environments they touch."
SECRET_SUFFIXES = (".secret.yaml", ".secret.yml")


def touched_environments(repo: RepoPaths, files: list[str]) -> list[str]:
    """Existing environments the files touch (every environment when a shared file changed)."""
    existing = repo.env_names()
    sel = select(_repo_relative(repo, f) for f in files)
    if sel.everything:
        return existing
    return [e for e in sel.environments if e in existing]


def _repo_relative(repo: RepoPaths, name: str) -> str:
    """A file name as pre-commit passes it -> repository-relative. Relative names are taken from the
    current directory when that is inside the repository (pre-commit runs hooks at its root), else
    from the repository root (`hubgen --repo DIR hook ...` run from elsewhere)."""
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
    root = ["--repo", str(st.repo.root), "--format", st.format.value] + (["--quiet"] if st.quiet else [])
    try:
        get_command(app).main(args=root + args, prog_name="hubgen", standalone_mode=True)
    except SystemExit as e:  # standalone mode reports usage errors itself and always exits
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_PROBLEMS)
    return EXIT_OK


def _has_command(*names: str) -> bool:
    cmd = get_command(app)
    for name in names:
        cmd = getattr(cmd, "commands", {}).get(name)
        if cmd is None:
            return False
    return True


@hook_app.command("validate")
def hook_validate(ctx: typer.Context, files: Optional[List[str]] = typer.Argument(None, help=FILES_HELP)) -> None:
    """`hubgen validate` on the environments the files touch."""
    st = state(ctx)
    envs = touched_environments(st.repo, files or [])
    if not envs:
        raise typer.Exit(EXIT_OK)
    try:
        result = validate(st.repo, envs)
    except UsageError as e:
        usage_error(str(e))
    report(result.problems, st.format.value, command="validate", environments=envs, quiet=st.quiet)
    raise typer.Exit(EXIT_PROBLEMS if has_errors(result.problems) else EXIT_OK)


@hook_app.command("render-check")
def hook_render_check(ctx: typer.Context,
                      files: Optional[List[str]] = typer.Argument(None, help=FILES_HELP)) -> None:
    """Fail when generated files of the touched environments are out of date; print the one fixing command."""
    st = state(ctx)
    repo = st.repo
    envs = touched_environments(repo, files or [])
    orphans = _orphans(repo)
    if not envs and not orphans:
        raise typer.Exit(EXIT_OK)
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
        env = change.environment
        problems.extend(replace(p, hint=p.hint.replace("<env>", env)) for p in drift_problems(change))
        stale.append(env)
    # Orphans (generated files without a spec) are removed by a full render; otherwise name the environments.
    fix = ("hubgen render" if any(o in stale for o in orphans) else "hubgen render " + " ".join(sorted(stale))
           ) if stale else ""
    report(problems, st.format.value, command="render --check", environments=envs, quiet=True,
           extra={"fix": fix or None})
    if not problems:
        raise typer.Exit(EXIT_OK)
    if fix and st.format is Format.text:
        c = console()
        c.print("")
        c.print("Generated files are out of date. Fix them with:", markup=False, highlight=False)
        c.print("")
        c.print(f"    {fix}", markup=False, highlight=False)
        c.print("")
        c.print("then `git add` the result and commit again.", markup=False, highlight=False)
    elif fix and st.format is Format.github:
        typer.echo(f"::error title=generated files out of date::run `{fix}` and commit the result")
    raise typer.Exit(EXIT_PROBLEMS)


@hook_app.command("lint")
def hook_lint(
    ctx: typer.Context,
    engine: List[str] = typer.Option([], "--engine", help="Engine(s) to run (as `hubgen lint --engine`)."),
    files: Optional[List[str]] = typer.Argument(None, help=FILES_HELP),
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
def hook_secrets(ctx: typer.Context, files: Optional[List[str]] = typer.Argument(None, help=FILES_HELP)) -> None:
    """Every `*.secret.yaml` among the files must be sops-encrypted (`hubgen secrets check`)."""
    st = state(ctx)
    secret_files = _secret_files(st.repo, files or [])
    if not secret_files:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(_invoke(st, ["secrets", "check", *secret_files]))
