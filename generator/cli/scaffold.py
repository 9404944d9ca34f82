"""`hubgen new` (a new environment) and `hubgen init` (a new repository; `--update`/`--check` its managed files)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from generator import __version__
from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, State, app, complete_environments, state, usage_error
from generator.paths import RepoPaths

if TYPE_CHECKING:  # the scaffolding (cookiecutter) is imported by `new` and `init` only
    from generator.problems import Problem
    from generator.scaffold import environment as E
    from generator.scaffold import fields as F


def _reask_by_code() -> dict[str, tuple[str, ...]]:
    """Problems that are fixed in another field than the one they point at."""
    from generator.scaffold import fields as F

    return {
        "HG206": (F.H + "auth.allowedUsers",),
        "HG209": ("cluster.loadBalancer.allowedCidrs", "cluster.loadBalancer.public"),
        "HG241": (F.H + "auth.admins", F.H + "auth.allowSharedPasswordAdmins"),
    }

SET_HELP = ("Set a spec field, e.g. --set aws.accountId=123456789012 --set cluster.subnets=subnet-0a1b2c3d:us-east-1a,"
            "subnet-4e5f6a7b:us-east-1b --set hubs.0.auth.admins=alice. Repeatable; any field of the schema.")


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)


class Prompter:
    """Asks for one field on the terminal (or piped stdin), re-asking until the answer fits its schema."""

    def __init__(self) -> None:
        self.started = False

    def __call__(self, f: F.Field, spec: dict, env: str) -> Any:
        from generator.scaffold import fields as F

        if not self.started:
            _echo_err("Press Enter to keep the value in [brackets]; '-' leaves an optional field out.")
            self.started = True
        path = f.path
        current = F.get(spec, path)
        default = current if current is not F.MISSING else f.default_for(spec, env)
        shown = F.format_value(path, default)
        label = f.prompt + (f" ({'/'.join(f.choices)})" if f.choices else "")
        while True:
            raw = typer.prompt(label, default=shown if shown else ("" if not f.required else None),
                               show_default=bool(shown), err=True)
            text = raw.strip()
            if not f.required and text in ("", F.NONE_ANSWER):
                return F.MISSING
            if not text:
                _echo_err("  a value is required")
                continue
            value = F.parse_value(path, text)
            message = F.check_value(path, value)
            if message:
                _echo_err(f"  invalid {f.key}: {message}")
                continue
            return value


def _reask_keys(problems: list[Problem]) -> set[str] | None:
    """The askable fields that fix the errors, or None when some error is in no askable field."""
    from generator.scaffold import fields as F

    reask_by_code = _reask_by_code()
    keys: set[str] = set()
    for p in problems:
        if p.severity.value != "error":
            continue
        if p.code in reask_by_code:
            keys.update(reask_by_code[p.code])
            continue
        f = F.field_for(p.path)
        if f is None:
            return None
        keys.add(f.key)
    return keys


def _settle(st: State, repo: RepoPaths, draft: E.Draft, ask: Prompter | None) -> tuple[str, list[Problem]]:
    """Complete the draft and validate it until it passes (re-asking) or is refused (exit 1/2)."""
    from generator.output import report
    from generator.problems import has_errors
    from generator.scaffold import environment as E

    missing = E.complete(draft, ask)
    if missing:
        listed = ", ".join(f"{f.key} ({f.prompt})" for f in missing)
        usage_error(f"no value for: {listed}. Pass --set KEY=VALUE for each, or leave out --no-input to be asked")
    while True:
        text, validation = E.prepare(repo, draft)
        problems = validation.problems
        if not has_errors(problems):
            return text, problems
        keys = _reask_keys(problems) if ask is not None else None
        if keys is None:
            raise E.Refused(problems)
        report(problems, "text", command="new", environments=[draft.name], out=sys.stderr)
        _echo_err("Please answer again:")
        E.complete(draft, ask, only=keys)
        E.complete(draft, ask, only=set())


def _refused(st: State, env: str, e: E.Refused, command: str) -> None:
    from generator.output import report

    if e.message:
        _echo_err(f"hubgen: error: {e.message}")
    if e.problems:
        report(e.problems, st.format.value, command=command, environments=[env], quiet=st.quiet)
    _echo_err("nothing was written")
    raise typer.Exit(EXIT_PROBLEMS)


@app.command("new", short_help="Create environments/ENV/environment.yaml, validated before it is written, and "
                                 "render it (--from copies another environment).")
def new_command(
    ctx: typer.Context,
    env: str = typer.Argument(..., metavar="ENV", help="Name of the new environment (folder under environments/)."),
    source: Optional[str] = typer.Option(None, "--from", metavar="OTHER_ENV",
                                         help="Start from an existing environment; names, stack and hosts are "
                                              "made unique.", autocompletion=complete_environments),
    sets: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing: defaults, --from and --set only."),
    no_render: bool = typer.Option(False, "--no-render", help="Write only the spec; render it later."),
    no_secrets: bool = typer.Option(False, "--no-secrets", help="Don't create the hubs' shared-password Secrets "
                                                                "(sops-encrypted, random); do it later with "
                                                                "`hubgen secrets create`."),
) -> None:
    """Create environments/ENV/environment.yaml (validated before it is written) and render it."""
    import click  # cookiecutter's prompts raise click's Abort

    from generator.output import console, escape, report
    from generator.scaffold import environment as E
    from generator.scaffold.cookie import TemplateError
    from generator.validate.environments import UsageError
    from generator.writer import WriteError

    st = state(ctx)
    repo = st.repo
    sops = E.SopsUpdate()
    try:
        draft = E.start(repo, env, source)
        E.apply_sets(draft, sets)
        text, _ = _settle(st, repo, draft, None if no_input else Prompter())
        # The new environment's creation rule goes into .sops.yaml first, so its secrets can be encrypted now.
        sops = E.update_sops_config(repo, draft)
        try:
            written = E.write(repo, draft, text, render=not no_render, secrets=not no_secrets)
        except BaseException:
            E.restore_sops_config(repo, sops)
            raise
        if sops.note:
            draft.notes.insert(0, sops.note)
    except UsageError as e:
        usage_error(str(e))
    except E.Refused as e:
        _refused(st, env, e, "new")
    except (typer.Abort, click.exceptions.Abort):
        _echo_err("\nhubgen: aborted; nothing was written")
        raise typer.Exit(EXIT_PROBLEMS)
    except (WriteError, TemplateError) as e:
        _echo_err(f"hubgen: error: {e}; nothing was written")
        raise typer.Exit(EXIT_PROBLEMS)
    notes = draft.notes
    changed = written.created + ([".sops.yaml"] if sops.written is not None else [])
    if st.format is not Format.text:
        report(written.problems, st.format.value, command="new", environments=[env],
               extra={"created": changed, "notes": notes})
        raise typer.Exit(EXIT_OK)
    if written.problems:
        report(written.problems, "text", command="new", environments=[env])
    if not st.quiet:
        c = console()
        spec = escape(repo.env(env).spec)
        made = f" and {len(written.secrets)} encrypted secret file(s)" if written.secrets else ""
        if no_render:
            c.print(f"created {spec}{made}; render it with: hubgen render {escape(env)}")
        else:
            c.print(f"created {spec}, {len(written.generated)} generated files{made}")
        for n in notes:
            c.print(f"  - {escape(n)}")
        also = " and .sops.yaml" if sops.written is not None else ""
        c.print(f"next: review {spec}, then commit environments/{escape(env)}/{also}")
    raise typer.Exit(EXIT_OK)


# --- init ---------------------------------------------------------------------------------


@app.command("init")
def init_command(
    ctx: typer.Context,
    directory: Optional[Path] = typer.Argument(None, metavar="DIR",
                                               help="New repository folder (must be new or empty). With --update/"
                                                    "--check: the repository (default: --repo or the current one)."),
    update: bool = typer.Option(False, "--update", help="Bring an existing repository's managed files to this "
                                                        "hubgen version and show the diff; environments/ untouched."),
    check: bool = typer.Option(False, "--check", help="Like --update but write nothing; exit 1 if any managed file "
                                                      "is out of date."),
    env: str = typer.Option("dev", "--env", metavar="NAME", help="Name of the starter environment."),
    project: Optional[str] = typer.Option(None, "--project", help="Team or project name for the README."),
    sops_kms: str = typer.Option("", "--sops-kms", metavar="ARN", help="KMS key ARN(s) for .sops.yaml."),
    sops_age: str = typer.Option("", "--sops-age", metavar="KEY", help="age recipient(s) for .sops.yaml."),
    sets: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Starter environment fields (see "
                                                                          "`hubgen new --help`)."),
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing: defaults and --set only."),
    hubgen_source: Optional[str] = typer.Option(
        None, "--hubgen-source", metavar="SPEC",
        help="Where the repository's CI installs hubgen from, recorded in .hubgen.yaml: a pip requirement for "
             "hubgen's git repository pinned to a commit or tag, e.g. 'hubgen @ git+https://github.com/<org>/"
             "hubgen@<40-hex commit>' (never a package-index name). Default: the git URL and commit this hubgen "
             "was installed from (with --update: that, else the recorded one)."),
) -> None:
    """Create a GitOps repository with one starter environment; --update/--check keep its managed files current."""
    st = state(ctx)
    if update or check:
        given = [o for o, v in (("--env", env != "dev"), ("--project", project), ("--sops-kms", sops_kms),
                                ("--sops-age", sops_age), ("--set", sets), ("--no-input", no_input)) if v]
        if given:
            usage_error(f"{', '.join(given)} only apply when creating a repository, not with --update/--check")
        if check and hubgen_source is not None:
            usage_error("--hubgen-source applies when creating a repository or with --update, not with --check")
        _update(st, directory, write=update and not check, source=hubgen_source)
    if directory is None:
        usage_error("missing DIR: the folder to create the repository in")
    _create(st, directory, env, project, sops_kms, sops_age, sets, no_input, hubgen_source)


def _source_for_init(given: Optional[str]) -> str:
    """--hubgen-source, checked, or its default (the pinned git URL this hubgen was installed from); exit 2 if none."""
    from generator.scaffold.install import FORM, SourceError, default_source, parse_source

    if given is not None:
        try:
            return parse_source(given)
        except SourceError as e:
            usage_error(f"--hubgen-source {given!r}: {e}. Expected a pip requirement for hubgen's git repository "
                        f"pinned to a commit or tag: '{FORM}'")
    try:
        return default_source()
    except SourceError as e:
        usage_error(f"no --hubgen-source: {e}")


def _create(st: State, directory: Path, env: str, project: Optional[str], sops_kms: str, sops_age: str,
            sets: list[str], no_input: bool, hubgen_source: Optional[str]) -> None:
    import click  # cookiecutter's prompts raise click's Abort

    from generator.output import console, escape, report
    from generator.scaffold import environment as E
    from generator.scaffold import repository as R
    from generator.scaffold.cookie import TemplateError
    from generator.validate.environments import UsageError

    target = directory.absolute()
    ask = None if no_input else Prompter()
    try:
        R.check_target(target)
        E.check_new_name(RepoPaths(target), env)
        # Checked before anything is asked: a repository whose CI cannot install hubgen is not created.
        source = _source_for_init(hubgen_source)
        answers = R.RepoAnswers(project if project is not None else R.default_project(target), sops_kms.strip(),
                                sops_age.strip(), source)
        if ask is not None:
            answers = _ask_repo(answers, project is not None, bool(sops_kms), bool(sops_age))
        if not answers.sops_kms and not answers.sops_age:
            usage_error("no key for secrets: pass --sops-kms ARN (AWS KMS, for real environments) and/or "
                        "--sops-age age1... (age); the starter hub's password is created sops-encrypted for it")
        bad = R.check_answers(answers)
        if bad:
            for b in bad:
                _echo_err(f"hubgen: error: {b}")
            _echo_err("nothing was written")
            raise typer.Exit(EXIT_PROBLEMS)
        repo = RepoPaths(target)
        draft = E.start(repo, env, provider=R.provider(answers))
        E.apply_sets(draft, sets)
        text, problems = _settle(st, repo, draft, ask)
        written = R.create(target, answers, draft, text)
    except UsageError as e:
        usage_error(str(e))
    except E.Refused as e:
        _refused(st, env, e, "init")
    except (typer.Abort, click.exceptions.Abort):
        _echo_err("\nhubgen: aborted; nothing was written")
        raise typer.Exit(EXIT_PROBLEMS)
    except (OSError, TemplateError) as e:
        _echo_err(f"hubgen: error: cannot create {target}: {e}; nothing was written")
        raise typer.Exit(EXIT_PROBLEMS)
    notes = draft.notes
    if st.format is not Format.text:
        report(problems, st.format.value, command="init", environments=[env],
               extra={"created": written, "directory": str(target), "notes": notes, "hubgenSource": answers.source})
        raise typer.Exit(EXIT_OK)
    if problems:
        report(problems, "text", command="init", environments=[env])
    if not st.quiet:
        c = console()
        c.print(f"created {escape(str(target))} ({len(written)} files) with environment '{escape(env)}', "
                f"hubgen {__version__}")
        c.print(f"  - its CI installs hubgen from {escape(answers.source)} (hubgen-source in .hubgen.yaml)")
        for n in notes:
            c.print(f"  - {escape(n)}")
        hooks = " && pre-commit install" if ".pre-commit-config.yaml" in written else ""
        c.print(f"next: cd {escape(str(directory))} && git init{hooks} && hubgen validate && git add . && git commit")
    raise typer.Exit(EXIT_OK)


def _ask_repo(a: Any, has_project: bool, has_kms: bool, has_age: bool) -> Any:
    from generator.scaffold import fields as F
    from generator.scaffold import repository as R

    def ask(label: str, default: str, check) -> str:
        while True:
            value = typer.prompt(label, default=default, show_default=bool(default), err=True).strip()
            value = "" if value == F.NONE_ANSWER else value
            problem = check(value)
            if not problem:
                return value
            _echo_err(f"  invalid: {problem}")

    if not has_project:
        a.project = ask("Team or project name (README title)", a.project,
                        lambda v: None if R.PROJECT_RE.match(v) else "1-100 printable characters")
    if not has_kms and not has_age:
        while not a.sops_kms and not a.sops_age:
            _echo_err("Secrets are sops-encrypted: give an AWS KMS key, an age recipient, or both.")
            a.sops_kms = ask("KMS key ARN for secrets ('-' for none)", "",
                             lambda v: None if not v or R.KMS_KEY_RE.match(v)
                             else "expected arn:aws:kms:REGION:ACCOUNT:key/ID")
            a.sops_age = ask("age recipient for secrets ('-' for none)", "",
                             lambda v: None if not v or R.AGE_RECIPIENT_RE.match(v)
                             else "expected age1... (62 characters)")
    return a


def _update(st: State, directory: Optional[Path], *, write: bool, source: Optional[str] = None) -> None:
    from generator.output import console, escape, report
    from generator.scaffold import managed
    from generator.scaffold.install import SourceError, source_for_update
    from generator.writer import WriteError, repo_lock

    if directory is not None:
        root = directory.absolute()
        if not root.is_dir():
            usage_error(f"{directory}: not a directory")
        if not (root / "environments").is_dir():
            usage_error(f"{directory}: no environments/ folder there; not a hubgen repository")
        repo = RepoPaths(root.resolve())
    else:
        repo = st.repo
    command = "init --update" if write else "init --check"
    notes: list[str] = []
    try:
        with repo_lock(repo):
            record = managed.read_record(repo.root)
            new_source = record.source
            if write:
                try:  # where CI installs hubgen from: decided before anything is written
                    new_source, notes = source_for_update(record.source, record.version, source)
                except SourceError as e:
                    usage_error(f"{e}; nothing was written")
            todo = managed.changes(repo.root)
            if write:
                managed.apply(repo.root, todo, new_source)
    except (OSError, WriteError) as e:
        _echo_err(f"hubgen: error: {e}")
        raise typer.Exit(EXIT_PROBLEMS)
    problems = [] if write else managed.problems(todo, repo.root)
    source_changed = write and new_source != record.source
    if st.format is not Format.text:
        report(problems, st.format.value, command=command, environments=[],
               extra={"changes": [{"path": c.path, "action": c.action} for c in todo], "hubgen": __version__,
                      "hubgenSource": new_source, "notes": notes})
        raise typer.Exit(EXIT_PROBLEMS if problems else EXIT_OK)
    diff = "".join(managed.unified_diff(c) for c in todo)
    if diff:
        sys.stdout.write(diff)
    if problems:
        report(problems, "text", command=command, environments=[], quiet=st.quiet)
        raise typer.Exit(EXIT_PROBLEMS)
    if not st.quiet:
        c = console()
        if write and todo:
            counts = {a: sum(x.action == a for x in todo) for a in ("create", "update", "remove")}
            c.print(f"{command}: managed files brought to hubgen {__version__}: {counts['create']} created, "
                    f"{counts['update']} updated, {counts['remove']} removed; environments/ untouched")
        else:
            c.print(f"{command}: managed files are up to date with hubgen {__version__}")
        if source_changed:
            was = f" (was {escape(record.source)})" if record.source else ""
            c.print(f"{command}: CI now installs hubgen from {escape(new_source or '')}{was}; recorded in "
                    f"{managed.RECORD}")
        for n in notes:
            c.print(f"  - {escape(n)}")
        if write and (todo or source_changed):
            c.print("next: review the diff, run `hubgen render --check` (re-render if it reports drift), commit")
    raise typer.Exit(EXIT_OK)
