"""Output at scale: the JSON report is the documented interface (docs/output.schema.json), the
summary table ends text runs over many environments, and the progress bar appears only on a
terminal (never with --quiet, --format json or a pipe)."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO_ROOT, _clean_env, hubgen_command, run_hubgen

from .synthetic import make_multi_repo

SCHEMA = json.loads((REPO_ROOT / "docs" / "output.schema.json").read_text())
MANY = 20  # the progress bar's threshold (generator.output.progress.MIN_ENVIRONMENTS)


def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _report(repo: Path, *args: str) -> dict:
    result = run_hubgen(["--format", "json", *args], cwd=repo)
    assert result.rc in (0, 1), result
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, (args, [f"{list(e.absolute_path)}: {e.message}" for e in errors])
    assert doc["summary"]["errors"] == sum(p["severity"] == "error" for p in doc["problems"])
    assert doc["summary"]["warnings"] == sum(p["severity"] == "warning" for p in doc["problems"])
    assert (result.rc == 1) == (doc["summary"]["errors"] > 0 or args[:2] == ("render", "--check")
                                and bool(doc["problems"]))
    return doc


def test_json_reports_match_the_documented_schema(repo: Path) -> None:
    clean = _report(repo, "validate")
    assert clean["command"] == "validate" and clean["environments"] == ["dev", "prod"]
    assert _report(repo, "render", "--check")["problems"] == []
    # Problems of every kind of source: schema, semantic, drift, engines.
    spec = repo / "environments" / "dev" / "environment.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("minSize: 1", "minSize: 5").replace("vpcId: vpc-4da21e37", "vpcId: vpc-4da21e37\n  vpcIdd: x"))
    broken = _report(repo, "validate", "dev")
    assert {p["code"] for p in broken["problems"]} >= {"HG102"}
    spec.write_text(text.replace("minSize: 1", "minSize: 5"))
    semantic = _report(repo, "validate", "dev")
    assert [p["code"] for p in semantic["problems"]] == ["HG201"]
    assert semantic["problems"][0]["path"] == "/cluster/nodeGroups/0/minSize" and semantic["problems"][0]["line"] > 0
    spec.write_text(text.replace("nodePort: 30052", "nodePort: 30053"))
    drift = _report(repo, "render", "--check")
    assert {p["code"] for p in drift["problems"]} == {"HG401"}
    hook = _report(repo, "hook", "render-check", "environments/dev/environment.yaml")
    assert hook["fix"] == "hubgen render dev"
    lint = _report(repo, "lint", "--engine", "params")
    assert set(lint["engines"]) == {"params"} and lint["skipped"] == []


def test_json_reports_are_deterministic(repo: Path) -> None:
    spec = repo / "environments" / "dev" / "environment.yaml"
    spec.write_text(spec.read_text().replace("nodePort: 30052", "nodePort: 30053"))
    first = run_hubgen(["--format", "json", "render", "--check"], cwd=repo)
    second = run_hubgen(["--format", "json", "render", "--check"], cwd=repo)
    assert first.rc == second.rc == 1
    assert first.stdout == second.stdout


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    root = make_multi_repo(tmp_path_factory.mktemp("many") / "repo", MANY, "A")
    assert run_hubgen(["render"], cwd=root).rc == 0
    return root


def test_summary_table_at_scale(many: Path, tmp_path: Path) -> None:
    clean = run_hubgen(["validate"], cwd=many)
    assert clean.rc == 0, clean
    lines = clean.stdout.strip().splitlines()
    assert lines[-2].startswith(f"{MANY} environments checked in ") and lines[-2].endswith(" s")
    assert lines[-1] == f"validate: {MANY} environments, no problems"
    # Three environments with an inconsistent Auto Scaling group, one with an ARN in another account.
    broken = tmp_path / "broken"
    shutil.copytree(many, broken)
    for i in (1, 2, 3):
        spec = broken / "environments" / f"env{i:02d}" / "environment.yaml"
        spec.write_text(spec.read_text().replace("minSize: 1", "minSize: 5"))
    spec = broken / "environments" / "env04" / "environment.yaml"
    spec.write_text(spec.read_text().replace("arn:aws:iam::553778890976:role/jupyter-dev-notebook",
                                             "arn:aws:iam::111122223333:role/jupyter-dev-notebook"))
    result = run_hubgen(["validate"], cwd=broken)
    assert result.rc == 1, result
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("HG")
            and "  " in line and ":" not in line.split()[0]}
    assert rows["HG201"][1] == "error" and rows["HG201"][-2:] == ["3", "3"], result.stdout
    assert rows["HG208"][1] == "warning" and rows["HG208"][-2:] == ["1", "1"], result.stdout
    total = next(line for line in result.stdout.splitlines() if line.startswith("total"))
    assert f"{MANY} environments checked in" in total and total.split()[-2:] == ["4", "4"], total
    assert result.stdout.strip().splitlines()[-1] == f"validate: {MANY} environments, 3 error(s), 1 warning(s)"
    # --quiet: only the problems.
    quiet = run_hubgen(["--quiet", "validate"], cwd=broken)
    assert "total" not in quiet.stdout and "checked in" not in quiet.stdout
    # Small runs keep their one-line summary.
    one = run_hubgen(["validate", "env01"], cwd=broken)
    assert "checked in" not in one.stdout and one.stdout.strip().splitlines()[-1].startswith("validate: 1 environment,")


def _run_on_terminal(repo: Path, *args: str) -> tuple[int, str, bytes]:
    """Run hubgen with stderr on a pseudo-terminal (stdout a pipe): rc, stdout, raw terminal bytes."""
    master, slave = pty.openpty()
    env = _clean_env({"TERM": "xterm-256color", "COLUMNS": "120"})
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*hubgen_command(), *args], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    raw = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("hubgen hung")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        raw += chunk
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(timeout=60), out, raw


def test_progress_bar_only_on_a_terminal(many: Path) -> None:
    rc, out, raw = _run_on_terminal(many, "render", "--check")
    assert rc == 0, (out, raw)
    assert f"/{MANY}".encode() in raw and "━".encode() in raw, raw[:500]  # "n/20" and the bar
    assert b"validate" in raw and b"render" in raw
    assert "━" not in out and out.strip().endswith(f"render --check: {MANY} environments, no problems")
    for args in (["--quiet", "render", "--check"], ["--format", "json", "validate"],
                 ["--format", "github", "validate"]):
        rc, out, raw = _run_on_terminal(many, *args)
        assert rc == 0, (args, out, raw)
        assert "━".encode() not in raw and f"/{MANY}".encode() not in raw, (args, raw[:300])
    # stderr not a terminal: no bar either.
    piped = run_hubgen(["render", "--check"], cwd=many)
    assert piped.rc == 0 and "━" not in piped.stderr and piped.stderr == ""


def test_progress_bar_not_for_small_runs(many: Path) -> None:
    rc, out, raw = _run_on_terminal(many, "validate", "env01", "env02")
    assert rc == 0, (out, raw)
    assert "━".encode() not in raw
