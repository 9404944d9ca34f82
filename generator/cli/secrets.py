"""`hubgen secrets`: create sops-encrypted secret files, list what environments need, check them.

Secret values never pass through hubgen's output: `create` reads or generates them,
pipes them to sops and writes only ciphertext; `list` and `check` read the files'
YAML structure and never decrypt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from generator import __version__
from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, usage_error
from generator.paths import ENVIRONMENTS_DIR, RepoPaths

if TYPE_CHECKING:  # imported by the commands that use them
    from generator.problems import Problem
    from generator.secrets.inventory import Inventory, Requirement
    from generator.validate.environments import EnvResult

secrets_app = typer.Typer(
    name="secrets",
    help="Create, list and check the sops-encrypted Secrets under environments/<env>/secrets/.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")

STATE_TEXT = {
    "ok": "[green]ok[/]",
    "missing": "[red]missing[/] (HG305)",
    "no-key": "[red]key missing[/] (HG305)",
    "unencrypted": "[red]not encrypted[/] (HG304)",
}


def _env_names(repo: RepoPaths, names: list[str] | None) -> list[str]:
    from generator.validate.environments import UsageError, check_env_names

    try:
        return check_env_names(repo, names)
    except UsageError as e:
        usage_error(str(e))


def _spec_result(repo: RepoPaths, name: str) -> EnvResult:
    from generator.validate.environments import validate_one

    return validate_one(repo, name)


# --- create ------------------------------------------------------------------------------------------------------


def _read_supplied(reqs: list[Requirement], from_stdin: bool) -> dict[tuple[str, str], str]:
    """Values a person must supply (OAuth client secrets, notifier tokens and webhook URLs): one line each from
    stdin, or a hidden prompt."""
    out: dict[tuple[str, str], str] = {}
    if not reqs:
        return out
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < len(reqs):
            usage_error(f"expected {len(reqs)} line(s) on standard input ({', '.join(r.purpose for r in reqs)}), "
                        f"got {len(lines)}")
        values = lines[:len(reqs)]
    elif sys.stdin.isatty():
        values = [typer.prompt(f"{r.purpose} for Secret {r.ref} key '{r.key}' (input hidden)", hide_input=True,
                               confirmation_prompt=True, err=True) for r in reqs]
    else:
        usage_error(f"the {reqs[0].purpose} is never generated: type it at the (hidden) prompt in a terminal, "
                    "or pipe it in with --from-stdin")
    for r, v in zip(reqs, values):
        v = v.strip()
        if not v:
            usage_error(f"the {r.purpose} for Secret {r.ref} key '{r.key}' is empty")
        out[(r.name, r.key)] = v
    return out


@secrets_app.command("create")
def create_command(
    ctx: typer.Context,
    environment: str = typer.Argument(..., help="Environment name (folder under environments/).",
                                      autocompletion=complete_environments),
    hub: Optional[str] = typer.Argument(None, help="Hub whose Secret(s) to write (hubs[].name in the spec)."),
    notifications: bool = typer.Option(False, "--notifications",
                                       help="Write the notifiers' Secrets (spec `notifications`: GitHub token, "
                                            "Slack/webhook URLs) to secrets/notifications.secret.yaml instead of "
                                            "a hub's."),
    force: bool = typer.Option(False, "--force", help="Replace an existing secret file (rotates its values)."),
    from_stdin: bool = typer.Option(False, "--from-stdin",
                                    help="Read values that cannot be generated (OAuth client secrets, notifier "
                                         "tokens and URLs) from standard input, one per line (in the spec's "
                                         "order), instead of a hidden prompt."),
) -> None:
    """Write environments/<env>/secrets/<hub>.secret.yaml (or, with --notifications, notifications.secret.yaml),
    sops-encrypted with the .sops.yaml rules.

    Dummy-login passwords get a fresh random value (32 random bytes); OAuth client secrets, GitHub tokens and
    webhook URLs are read from a hidden prompt or --from-stdin, never generated. No value is ever printed or
    written unencrypted.
    """
    from generator.output import console, escape, report
    from generator.safefs import Refused
    from generator.secrets.inventory import requirements
    from generator.secrets.sops import SopsError, encrypt, random_value, secret_manifest, write_secret_file
    from generator.secrets.tools import ToolMissing

    st = state(ctx)
    repo = st.repo
    [name] = _env_names(repo, [environment])
    result = _spec_result(repo, name)
    if not result.ok:
        report(result.problems, st.format.value, command="secrets create", environments=[name], quiet=st.quiet)
        typer.echo(f"hubgen: error: fix {repo.env(name).spec} first; nothing was written", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    reqs = _create_requirements(name, requirements(result.context.model), [h.name for h in result.context.model.hubs],
                                hub, notifications)
    target_rel = reqs[0].file
    target = repo.abs(target_rel)
    replacing = target.exists() or target.is_symlink()
    if replacing and not force:
        usage_error(f"{target_rel} already exists; pass --force to replace it (this rotates its values)")
    values = {(r.name, r.key): random_value() for r in reqs if r.generated}
    values.update(_read_supplied([r for r in reqs if not r.generated], from_stdin))
    plaintext = secret_manifest(reqs, values)
    try:
        encrypted = encrypt(repo.root, target_rel, plaintext, list(values.values()))
        write_secret_file(repo.root, target_rel, encrypted.text)
    except (SopsError, ToolMissing, Refused) as e:
        typer.echo(f"hubgen: error: {e}\nnothing was written", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    except OSError as e:
        typer.echo(f"hubgen: error: cannot write {target_rel}: {e.strerror or e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    finally:
        plaintext = ""
        values.clear()
    created = [{"namespace": r.namespace, "name": r.name, "key": r.key, "purpose": r.purpose,
                "value": "generated" if r.generated else "supplied"} for r in reqs]
    if st.format is Format.json:
        typer.echo(json.dumps({
            "version": 1, "tool": {"name": "hubgen", "version": __version__}, "command": "secrets create",
            "file": target_rel, "replaced": replacing, "secrets": created,
            "recipients": {"age": list(encrypted.age_recipients), "kms": list(encrypted.kms_arns)},
        }, indent=2, sort_keys=True))
        raise typer.Exit(EXIT_OK)
    if not st.quiet:
        c = console()
        c.print(f"wrote [bold]{escape(target_rel)}[/] (sops-encrypted; values are never shown)")
        for item in created:
            c.print(f"  Secret {escape(item['namespace'])}/{escape(item['name'])} key '{escape(item['key'])}': "
                    f"{item['purpose']}, "
                    f"{item['value']}")
        for kind, keys in (("age", encrypted.age_recipients), ("kms", encrypted.kms_arns)):
            for k in keys:
                c.print(f"  encrypted for {kind}: {escape(k)}")
        c.print(f"next: review and commit {escape(target_rel)}; `hubgen validate {name}` checks it")
    raise typer.Exit(EXIT_OK)


def _create_requirements(env: str, reqs: list[Requirement], hubs: list[str], hub: str | None,
                         notifications: bool) -> list[Requirement]:
    """What `create` writes: one hub's Secrets, or (--notifications) the notifiers'; usage errors otherwise."""
    if notifications == (hub is not None):
        usage_error("name a HUB, or pass --notifications for the notifiers' Secrets (not both)")
    if notifications:
        chosen = [r for r in reqs if r.notifier]
        if not chosen:
            usage_error(f"environment '{env}' has no notifiers (spec `notifications`): nothing to create")
        return chosen
    if hub not in hubs:
        usage_error(f"environment '{env}' has no hub '{hub}' (hubs: {', '.join(hubs)})")
    chosen = [r for r in reqs if not r.notifier and r.hub == hub]
    if not chosen:
        usage_error(f"hub '{hub}' of environment '{env}' references no Secret (nothing to create)")
    return chosen


# --- list --------------------------------------------------------------------------------------------------------


def _inventories(repo: RepoPaths, names: list[str]) -> tuple[dict[str, Inventory], list[Problem]]:
    from generator.secrets.inventory import inventory, requirement_problems

    invs: dict[str, Inventory] = {}
    problems: list[Problem] = []
    for n in names:
        result = _spec_result(repo, n)
        if result.context is None:
            problems.extend(result.problems)
            continue
        invs[n] = inventory(repo.root, result.context.model)
        problems.extend(invs[n].file_problems)
        problems.extend(requirement_problems(invs[n], result.context.loaded.locate, repo.env(n).spec,
                                            result.context.loaded.locate_key))
    return invs, problems


@secrets_app.command("list")
def list_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV", help="Environments to list (default: all).",
                                                      autocompletion=complete_environments),
) -> None:
    """Show the Secrets each environment's hubs need, and whether each exists and is encrypted."""
    from rich.table import Table

    from generator.output import console, escape, report

    st = state(ctx)
    repo = st.repo
    names = _env_names(repo, environments)
    invs, problems = _inventories(repo, names)
    file_state: dict[str, bool] = {}
    for p in problems:
        if p.code in ("HG304", "HG306", "HG307"):
            file_state[p.location.file] = False
    rows = []
    for n, inv in invs.items():
        referenced = set()
        for s in inv.statuses:
            r = s.requirement
            state_ = s.state
            if state_ == "ok" and s.file and file_state.get(s.file) is False:
                state_ = "file-problem"
            if s.file:
                referenced.add(s.file)
            rows.append({"environment": n, "hub": r.hub or f"({r.notifier} notifier)", "notifier": r.notifier,
                         "secret": r.ref, "key": r.key, "purpose": r.purpose,
                         "file": s.file or r.file, "state": state_, "detail": s.detail})
        for f in inv.files:
            if f.path not in referenced:
                rows.append({"environment": n, "hub": "", "notifier": "", "secret": ", ".join(d.describe() for d in f.docs) or "-",
                             "key": "", "purpose": "not referenced by any hub or notifier", "file": f.path,
                             "state": "unreferenced" if file_state.get(f.path) is not False else "file-problem",
                             "detail": ""})
    if st.format is Format.json:
        typer.echo(json.dumps({
            "version": 1, "tool": {"name": "hubgen", "version": __version__}, "command": "secrets list",
            "environments": names, "secrets": rows,
            "problems": [p.to_dict() for p in problems if p.severity.value == "error"],
        }, indent=2, sort_keys=True))
        raise typer.Exit(EXIT_OK)
    c = console()
    if not c.is_terminal:
        c.width = max(c.width, 200)  # piped or captured: keep every row on one line
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("environment", "hub", "secret", "key", "file", "state"):
        table.add_column(col, overflow="fold")
    for r in rows:
        shown = STATE_TEXT.get(r["state"], {"file-problem": "[red]file problem[/] (see below)",
                                            "unreferenced": "[yellow]unreferenced[/]"}.get(r["state"], r["state"]))
        table.add_row(*(escape(str(r[k])) for k in ("environment", "hub", "secret", "key", "file")), shown)
    if rows:
        c.print(table)
    else:
        c.print("no environment references a Secret")
    # Missing Secrets are the table's "missing" rows; what else is wrong is in the files (or the spec).
    shown_problems = [p for p in problems if p.code != "HG305"]
    if shown_problems:
        c.print()
        report(shown_problems, "text", command="secrets list", environments=names, quiet=True)
    raise typer.Exit(EXIT_OK)


# --- check -------------------------------------------------------------------------------------------------------


def _classify(repo: RepoPaths, targets: list[str]) -> tuple[list[str], list[str]]:
    """Split targets into environment names and standalone secret files (repository-relative)."""
    from generator.secrets.files import SECRET_SUFFIX

    existing = set(repo.env_names())
    envs: list[str] = []
    files: list[str] = []
    for t in targets:
        if t in existing and "/" not in t:
            envs.append(t)
            continue
        p = Path(t)
        rel = repo.rel(p if p.is_absolute() else Path.cwd() / p)
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts:
            usage_error(f"{t}: not inside the repository {repo.root}")
        if len(parts) >= 2 and parts[0] == ENVIRONMENTS_DIR and parts[1] in existing:
            envs.append(parts[1])
        elif rel.endswith(SECRET_SUFFIX):
            files.append(rel)
        elif not p.exists() and t not in existing:
            usage_error(f"{t}: neither an environment nor a file")
        # other files (pre-commit may pass any staged file) are not secret files: ignored
    return list(dict.fromkeys(envs)), list(dict.fromkeys(files))


@secrets_app.command("check")
def check_command(
    ctx: typer.Context,
    targets: Optional[List[str]] = typer.Argument(
        None, metavar="ENV|FILE",
        help="Environments or files (as pre-commit passes them); default: every environment."),
) -> None:
    """Check secret files without decrypting: encrypted (HG304), well-formed (HG306), decryptable by the cluster
    (HG307), and every Secret the specs reference present (HG305). Exit 0 clean, 1 problems, 2 usage error."""
    from generator.output import report
    from generator.problems import has_errors

    st = state(ctx)
    repo = st.repo
    if targets:
        envs, files = _classify(repo, targets)
    else:
        envs, files = repo.env_names(), []
    problems = check_problems(repo, envs, files)
    report(problems, st.format.value, command="secrets check", environments=envs, quiet=st.quiet)
    raise typer.Exit(EXIT_PROBLEMS if has_errors(problems) else EXIT_OK)


def check_problems(repo: RepoPaths, envs: list[str], files: list[str],
                   results: dict[str, EnvResult] | None = None) -> list[Problem]:
    """The problems of `hubgen secrets check`: each environment's secret files and referenced Secrets, then the
    standalone secret ``files``. ``results``: validations already made of (some of) the environments."""
    from generator.secrets.files import secret_file_paths
    from generator.secrets.inventory import inspect_file, inventory, requirement_problems

    problems: list[Problem] = []
    for n in envs:
        result = (results or {}).get(n) or _spec_result(repo, n)
        if result.context is None:
            # The spec itself is `hubgen validate`'s business; still check that every file is encrypted.
            for rel in secret_file_paths(repo.root, repo.env(n).secrets_dir):
                problems.extend(inspect_file(repo.root, rel, environment=n)[1])
            continue
        inv = inventory(repo.root, result.context.model)
        problems.extend(inv.file_problems)
        problems.extend(requirement_problems(inv, result.context.loaded.locate, repo.env(n).spec,
                                             result.context.loaded.locate_key))
    for rel in files:
        problems.extend(inspect_file(repo.root, rel)[1])
    return problems
