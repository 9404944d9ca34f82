"""The command line as an interface: global options after every command, usage errors in the chosen format, and
user text printed exactly as written.

* ``--repo``, ``--format``/``-f`` and ``--quiet``/``-q`` mean the same after the command name as before it, for
  every command (the case table must name every command the CLI has, so a new one cannot be forgotten);
* with ``--format json``, a usage error (exit 2) prints one JSON document (docs/output.schema.json, member
  ``usageError``) on stdout, whatever found it: the command line parser or hubgen itself;
* text output never turns ``:x:`` into an emoji nor ``[red]`` into a colour.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.main import get_command

from generator.cli.app import app
from tests.conftest import invoke_hubgen, make_repo, run_hubgen

from .test_output import _validator

#: Every command, with arguments that make it do something quick and deterministic in the example repository.
COMMANDS: dict[str, list[str]] = {
    "validate": [],
    "render": ["--check"],
    "lint": ["nope"],  # an unknown environment: a usage error, after --repo/--format took effect
    "plan": ["--base", "HEAD"],
    "deploy": ["nope"],
    "new": ["qa", "--from", "dev", "--no-input", "--no-render", "--no-secrets"],
    "init": ["--check"],
    "upgrade": ["--check"],
    "verify": ["nope"],  # an unknown environment: a usage error, before any cluster is reached
    "bump": ["nope"],  # an unknown environment: a usage error, before any chart index is fetched
    "destroy": ["nope", "--plan"],  # an unknown environment: a usage error, before any file is read
    "schema": [],
    "checks": [],
    "hook all": ["environments/dev/environment.yaml", "--skip", "cfn-lint,kubeconform"],  # the engines: elsewhere
    "hook validate": ["environments/dev/environment.yaml"],
    "hook render-check": ["environments/dev/environment.yaml"],
    "hook lint": ["README.md"],  # touches no environment: nothing to lint
    "hook secrets": ["environments/dev/secrets/dev.secret.yaml"],  # pragma: allowlist secret
    "secrets create": ["nope", "hub"],
    "secrets list": [],
    "secrets check": [],
}
#: Commands that write into the repository: each placement of the options runs on its own copy.
WRITERS = {"new"}
#: Commands whose output is not a report (no JSON form), or nothing at all here.
NO_REPORT = {"schema", "checks", "hook lint"}
#: Commands with a JSON document of their own shape (not docs/output.schema.json's report).
OWN_SHAPE = {"plan", "secrets list", "secrets create"}


def all_commands() -> list[str]:
    out = []

    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            if getattr(sub, "commands", None):
                walk(sub, path + [name])
            else:
                out.append(" ".join(path + [name]))

    walk(get_command(app), [])
    return sorted(out)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false",
                    *args], cwd=repo, check=True, capture_output=True)


def _copy(tmp_path: Path, name: str) -> Path:
    repo = make_repo(tmp_path / name)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "examples")
    return repo


def _normalised(text: str, repo: Path) -> str:
    return text.replace(str(repo), "<repo>")


def test_the_case_table_names_every_command():
    assert sorted(COMMANDS) == all_commands()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_global_options_after_the_command_mean_the_same(command: str, tmp_path: Path):
    words, args = command.split(), COMMANDS[command]
    placements = {
        "before": lambda repo, opts: [*opts(repo), *words, *args],
        "after the command": lambda repo, opts: [*words, *opts(repo), *args],
        "at the end": lambda repo, opts: [*words, *args, *opts(repo)],
    }
    shared = _copy(tmp_path, "shared")
    for name, opts in (("json", lambda r: ["--repo", str(r), "--format", "json"]),
                       ("short json", lambda r: ["--repo", str(r), "-f", "json"]),
                       ("quiet", lambda r: ["--repo", str(r), "-q"])):
        results = {}
        for where, build in placements.items():
            repo = _copy(tmp_path, f"{name}-{where}".replace(" ", "-")) if command in WRITERS else shared
            r = invoke_hubgen(build(repo, opts))
            assert "Traceback" not in r.output, r
            assert "No such option" not in r.output, r
            results[where] = (r.rc, _normalised(r.stdout, repo), r)
        base_rc, base_out, base = results["before"]
        for where, (rc, out, r) in results.items():
            assert (rc, out) == (base_rc, base_out), f"{name} {where}:\n{r}\n--- before:\n{base}"
        if name != "quiet" and command not in NO_REPORT:
            doc = json.loads(base_out)  # JSON, so --format reached the command from every place
            assert command in OWN_SHAPE or not list(_validator().iter_errors(doc)), doc
        if name == "quiet" and command in ("validate", "render", "secrets check"):
            assert base_out == "", base  # quiet and clean: nothing at all


def test_plan_keeps_its_own_format_option(tmp_path: Path):
    repo = _copy(tmp_path, "repo")
    md = invoke_hubgen(["--repo", repo, "plan", "--base", "HEAD", "--format", "markdown"])
    assert md.rc == 0 and md.stdout.startswith("<!-- hubgen-plan -->"), md
    # The global --format still chooses the plan's format when plan's own is not given.
    assert json.loads(invoke_hubgen(["--format", "json", "--repo", repo, "plan", "--base", "HEAD"]).stdout)["ok"]


# --- usage errors with --format json -----------------------------------------------------------------------------


@pytest.mark.parametrize("args, command, message", [
    (["validate", "nope"], "validate", "no environment 'nope'"),
    (["validate", "--bogus"], "validate", "No such option: --bogus"),
    (["lint", "--engine", "bogus"], "lint", "Invalid value for '--engine'"),
    (["deploy"], "deploy", "Missing argument 'ENV'"),
    (["bogus"], "hubgen", "No such command 'bogus'"),
    (["secrets"], "secrets", "Missing command."),
    (["secrets", "create", "dev"], "secrets create", "name a HUB, or pass --notifications"),
    (["plan", "--base", "no-such-ref"], "plan", "unknown git revision 'no-such-ref'"),
    (["render", "--format", "xml"], "render", "Invalid value for '--format'"),
])
@pytest.mark.parametrize("where", ["before", "after"])
def test_usage_errors_print_a_json_document_and_exit_2(tmp_path: Path, args, command, message, where):
    repo = _copy(tmp_path, "repo")
    opts = ["--repo", str(repo), "--format", "json"]
    argv = [*opts, *args] if where == "before" else [*args[:1], *opts, *args[1:]]
    if args == ["bogus"] and where == "after":
        argv = [*opts, *args]
    r = invoke_hubgen(argv)
    assert r.rc == 2, r
    doc = json.loads(r.stdout)  # exactly one JSON document, nothing else on stdout
    assert not list(_validator().iter_errors(doc)), doc
    assert doc["command"] == command
    assert doc["environments"] == [] and doc["problems"] == [] and doc["summary"] == {"errors": 0, "warnings": 0}
    assert message in doc["usageError"]["message"] and doc["usageError"]["exitCode"] == 2
    assert message in r.stderr  # and the person still reads it


def test_usage_errors_in_text_and_github_formats(tmp_path: Path):
    repo = _copy(tmp_path, "repo")
    text = run_hubgen(["validate", "nope", "--repo", repo])
    assert text.rc == 2 and text.stdout == "" and "no environment 'nope'" in text.stderr
    gh = run_hubgen(["validate", "--repo", repo, "--format", "github", "--bogus"])
    assert gh.rc == 2 and gh.stdout.startswith("::error title=hubgen usage error::No such option: --bogus"), gh
    # The console script (not only the in-process runner) prints the JSON document.
    js = run_hubgen(["--format", "json", "deploy"], cwd=repo)
    assert js.rc == 2 and json.loads(js.stdout)["usageError"]["message"] == "Missing argument 'ENV'."


# --- user text is printed as written -------------------------------------------------------------------------------

NASTY = ":x: [red]boom[/red] :smile: [bold]"


def test_user_text_is_never_an_emoji_nor_markup(tmp_path: Path):
    repo = _copy(tmp_path, "repo")
    spec = repo / "environments/dev/environment.yaml"
    spec.write_text(spec.read_text().replace("\ntier: staging\n", f"\ntier: staging\n{json.dumps(NASTY)}: 1\n"))
    r = run_hubgen(["validate", "dev"], cwd=repo)
    assert r.rc == 1, r
    assert f"unknown field '{NASTY}'" in r.stdout, r
    assert "\u274c" not in r.output and "\U0001f604" not in r.output  # no ❌, no 😄

    prod = repo / "environments/prod/environment.yaml"
    text = prod.read_text()
    client = re.search(r"clientId: (\S+)", text).group(1)
    prod.write_text(text.replace(f"clientId: {client}", f"clientId: {json.dumps(NASTY)}", 1))
    r = run_hubgen(["new", "qa", "--from", "prod", "--no-input", "--no-secrets"], cwd=repo)
    assert r.rc == 0, r
    assert f"OAuth client {NASTY} (copied from prod)" in r.stdout, r
    assert "\u274c" not in r.output and "\U0001f604" not in r.output
