"""A quick start: what `hubgen --help`, `--version` and the commands import, typer's values without pydantic, and
shell completion.

Which modules a process imports is deterministic, so these tests assert on that, never on time (the benchmark,
bench/run.py, measures the time).
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, make_repo

#: Heavy dependencies a command imports only when it uses them (and pydantic, which typer would import to convert
#: parameter values: generator/cli/base.py converts them itself).
HEAVY = ("rich", "jsonschema", "referencing", "cfnlint", "boto3", "botocore", "cookiecutter", "moto",
         "kubernetes_validate", "pydantic", "yaml", "click", "multiprocessing", "concurrent")


def imported(args: list[str], cwd: Path | None = None) -> set[str]:
    """Top-level names of the modules a `hubgen ARGS` process imports (``python -X importtime``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBGEN_", "_TYPER"))}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "HUBGEN_OFFLINE": "1"})
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "generator", *args], cwd=cwd or REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "generator" in names, proc.stderr[-2000:]
    return names


def test_importing_the_cli_imports_no_heavy_dependency():
    code = "import json, sys; import generator.cli.app; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    modules = {m.split(".")[0] for m in json.loads(proc.stdout)}
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["validate", "--help"], ["hook", "all", "-h"]])
def test_help_and_version_import_no_heavy_dependency(args):
    found = imported(args)
    assert not found & set(HEAVY), sorted(found & set(HEAVY))


def test_commands_import_only_what_they_use(tmp_path):
    repo = make_repo(tmp_path / "repo")
    assert not imported(["checks"]) & set(HEAVY)
    validate = imported(["--repo", str(repo), "-f", "json", "validate", "dev"])
    assert {"jsonschema", "yaml"} <= validate
    assert not validate & {"rich", "cfnlint", "boto3", "cookiecutter", "moto", "kubernetes_validate", "pydantic",
                           "multiprocessing"}
    text = imported(["--repo", str(repo), "validate", "dev"])
    assert "rich" in text and not text & {"cfnlint", "boto3", "cookiecutter", "pydantic"}


# ----------------------------------------------------------------- parameter values without pydantic
def _params():
    from typer.main import get_command

    from generator.cli.app import app

    root = get_command(app)
    out = []

    def walk(cmd, path):
        for p in cmd.params:
            out.append((" ".join(path) or "hubgen", cmd, p))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return out


def _samples(descriptor) -> list:
    from typer._param_types import lenient_issubclass

    annotation = descriptor.annotation
    if descriptor.is_list:
        (item,) = annotation.__args__
        return [[], (), *[[v] for v in _leaf_samples(item, lenient_issubclass)],
                [v for v in _leaf_samples(item, lenient_issubclass)], "not-a-list"]
    return _leaf_samples(annotation, lenient_issubclass)


def _leaf_samples(annotation, lenient_issubclass) -> list:
    if lenient_issubclass(annotation, enum.Enum):
        members = list(annotation)
        return [*[m.value for m in members], *members, members[0].value.upper(), "bogus", "", 3]
    if annotation is str:
        return ["", "dev", "environments/dev/environment.yaml", "é x", "--weird", "a\0b", b"bytes", 3]
    if annotation is bool:
        return [True, False, "true", "no", ""]
    if lenient_issubclass(annotation, Path):
        return ["x", ".", "/", "/nonexistent/deep/path", "a/../b", "/x//y/", "", "~", Path("p"), "a\0b", 3]
    return ["1", "0.05", "12.5", "-3", "x", 2, 1.5]


def _outcome(fn):
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001
        return ("error", type(e).__name__, str(e))
    return ("value", type(value).__name__, value)


def test_fast_coercion_equals_typers_on_every_parameter():
    """Every parameter of every command, with good and bad values: the conversion in generator/cli/base.py returns
    what typer's own (pydantic) conversion returns, or fails with its error."""
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from generator.cli.base import _FastCoercion

    checked = 0
    for where, command, param in _params():
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None:
            continue
        fast = _FastCoercion(descriptor)
        slow = build_runtime_param(descriptor)
        for value in [None, *_samples(descriptor)]:
            ctx = Context(command)
            got = _outcome(lambda: fast.coerce(value, param, ctx))
            want = _outcome(lambda: slow.coerce(value, param=param, ctx=ctx))
            assert got == want, (where, param.name, value)
            checked += 1
    assert checked > 200


def test_the_fast_coercion_is_installed_on_every_simple_parameter():
    from generator.cli.base import _FastCoercion

    for where, _command, param in _params():
        runtime = getattr(param, "_runtime_param", None)
        if param.name in ("install_completion", "show_completion"):
            continue  # added by typer after the commands are built; converted at parse time (make_context)
        if param.type_descriptor.annotation is float:
            assert runtime is None, (where, param.name)  # deploy's --timeout: typer's own conversion
        else:
            assert isinstance(runtime, _FastCoercion), (where, param.name)


# ----------------------------------------------------------------- help
def test_help_lists_every_command_with_its_one_line_help(run_hubgen, tmp_path):
    from typer.main import get_command

    from generator.cli.app import app
    from generator.cli.base import GLOBAL_PANEL, short_help

    r = run_hubgen(["--help"], cwd=tmp_path)
    assert r.rc == 0 and r.stdout.startswith("Usage: hubgen [OPTIONS] COMMAND [ARGS]...")
    flat = " ".join(r.stdout.split())
    for name, cmd in get_command(app).commands.items():
        assert f" {name} {short_help(cmd)}" in flat, name
    r = run_hubgen(["validate", "--help"], cwd=tmp_path)
    sections = [line for line in r.stdout.splitlines() if line and not line.startswith(" ")]
    assert sections[1:] == ["Arguments:", "Options:", f"{GLOBAL_PANEL}:"], r.stdout
    assert "--repo" in r.stdout.split(GLOBAL_PANEL)[1]


def test_no_arguments_print_the_help(run_hubgen, tmp_path):
    r = run_hubgen([], cwd=tmp_path)
    assert r.rc == 2 and r.stdout.startswith("Usage: hubgen [OPTIONS] COMMAND") and "validate" in r.stdout
    r = run_hubgen(["secrets"], cwd=tmp_path)
    assert r.rc == 2 and r.stdout.startswith("Usage: hubgen secrets [OPTIONS] COMMAND") and "check" in r.stdout


# ----------------------------------------------------------------- shell completion
def _complete(words: str, cwd: Path, shell: str = "bash") -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBGEN_", "_TYPER"))}
    env.update({"_HUBGEN_COMPLETE": f"complete_{shell}", "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))})
    hubgen = Path(sys.executable).parent / "hubgen"
    proc = subprocess.run([str(hubgen)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o default -F _hubgen_completion hubgen"),
                                           ("zsh", "#compdef hubgen"), ("fish", "complete --command hubgen")])
def test_show_completion_prints_the_script(run_hubgen, tmp_path, shell, marker):
    r = run_hubgen(["--show-completion", shell], cwd=tmp_path,
                   env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert r.rc == 0, r
    assert marker in r.stdout and f"_HUBGEN_COMPLETE=complete_{shell}" in r.stdout


def test_completion_completes_commands_options_and_environments(tmp_path):
    if not (Path(sys.executable).parent / "hubgen").exists():
        pytest.skip("the hubgen console script is not installed")
    repo = make_repo(tmp_path / "repo", git=False)
    assert _complete("hubgen val", tmp_path) == ["validate"]
    assert _complete("hubgen hook ", tmp_path) == ["all", "validate", "render-check", "lint", "secrets"]
    assert "--check" in _complete("hubgen render --", tmp_path)
    assert _complete("hubgen validate ", repo) == ["dev", "prod"]
    assert _complete("hubgen deploy p", repo / "environments") == ["prod"]
    assert _complete(f"hubgen --repo {repo} new qa --from d", tmp_path) == ["dev"]
