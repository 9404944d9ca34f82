"""Helpers for the scaffolding tests (`hubgen new`, `hubgen init`); fixtures are in conftest.py.

* ``hubgen(args, input=None, cwd=None)`` -- the real CLI in a subprocess, with text on its stdin
  (how the prompts are driven); ``hubgen_fast`` -- the same CLI in-process (typer's CliRunner) for
  the many non-interactive cases. Both return the shared ``Result``.
* ``age_key`` -- an age key pair made once per session with the pinned ``age-keygen``
  (``.tools/bin``, from ``bash .ci/install-tools``); tests that encrypt skip without it.
* ``sops_repo`` -- the shared ``repo`` copy plus a ``.sops.yaml`` encrypting for that age key, so
  `hubgen new` can create the hubs' encrypted password Secrets like in a real repository.
* ``snapshot(root)`` -- path -> sha256 of every file under ``root`` (``.git`` aside; ``.hubgen/``
  included): "a refused input writes nothing" means this does not change at all.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence


ROOT = Path(__file__).resolve().parents[2]
HUBGEN = Path(sys.executable).parent / "hubgen"

#: --set arguments for a complete, valid new environment in a fresh account.
VALID_SETS = {
    "aws.accountId": "123456789012",
    "aws.region": "us-east-1",
    "aws.deployRoleArn": "arn:aws:iam::123456789012:role/hub-deploy",
    "cluster.vpcId": "vpc-0123abcd",
    "cluster.subnets": "subnet-0123abcd:us-east-1a,subnet-4567abcd:us-east-1b",
    "cluster.loadBalancer.certificateArn":
        "arn:aws:acm:us-east-1:123456789012:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5",
    "cluster.loadBalancer.allowedCidrs": "10.0.0.0/8",
    "hubs.0.auth.admins": "alice",
    # The default login is the shared-password (dummy) one: admins there need this acknowledgement (HG241).
    "hubs.0.auth.allowSharedPasswordAdmins": "yes",  # pragma: allowlist secret
}


#: Where the CI of a repository made by `hubgen init` installs hubgen from (this checkout is an editable install,
#: which gives no default: every `init` in the tests names one).
SOURCE = "hubgen @ git+https://github.com/example/hubgen@0123456789abcdef0123456789abcdef01234567"


def set_args(overrides: dict[str, str] | None = None, *, without: Sequence[str] = ()) -> list[str]:
    values = {**VALID_SETS, **(overrides or {})}
    out: list[str] = []
    for k, v in values.items():
        if k not in without:
            out += ["--set", f"{k}={v}"]
    return out


class Result:
    def __init__(self, args: Sequence[str], rc: int, stdout: str, stderr: str):
        self.args, self.rc, self.stdout, self.stderr = tuple(args), rc, stdout, stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"hubgen {' '.join(self.args)} -> rc={self.rc}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBGEN_", "FORCE_COLOR", "CLICOLOR"))}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8",
                "HUBGEN_TOOLS_BIN": str(ROOT / ".tools" / "bin"),
                "PATH": f"{HUBGEN.parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    return env


def run(args: Sequence[str], *, input: str | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> Result:
    args = [str(a) for a in args]
    cmd = [str(HUBGEN)] if HUBGEN.exists() else [sys.executable, "-m", "generator"]
    proc = subprocess.run([*cmd, *args], input=input, cwd=cwd, env={**_env(), **(env or {})}, capture_output=True,
                          text=True, timeout=300)
    return Result(args, proc.returncode, proc.stdout, proc.stderr)


def supply_notifier_token(repo: Path, env_name: str, *, env: dict[str, str] | None = None) -> None:
    """What a person does after `hubgen new --from` a source with a github notifier: its token (never
    generated) goes into the new environment's sops-encrypted notifications Secret."""
    r = run(["--repo", repo, "secrets", "create", env_name, "--notifications", "--from-stdin"],
            input="github_pat_for_tests\n", env=env)
    assert r.rc == 0, r


def run_fast(args: Sequence[str], *, input: str | None = None) -> Result:
    import traceback

    from typer.testing import CliRunner

    from generator.cli.app import app

    args = [str(a) for a in args]
    old = os.environ.get("HUBGEN_TOOLS_BIN")
    os.environ["HUBGEN_TOOLS_BIN"] = str(ROOT / ".tools" / "bin")
    try:
        r = CliRunner().invoke(app, args, input=input, catch_exceptions=True, color=False,
                               env={"NO_COLOR": "1", "COLUMNS": "200"})
    finally:
        if old is None:
            os.environ.pop("HUBGEN_TOOLS_BIN", None)
        else:
            os.environ["HUBGEN_TOOLS_BIN"] = old
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(r.exception))
    return Result(args, r.exit_code, r.stdout, stderr)


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = "link:" + os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    # Empty folders count too (a half-made environment folder is a write).
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        if not dirnames and not filenames:
            out[Path(dirpath).relative_to(root).as_posix() + "/"] = "dir"
    return out


def write_sops_config(root: Path, recipient: str) -> None:
    (root / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^environments/[^/]+/secrets/[^/]+\\.secret\\.yaml$\n"
        "    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {recipient}\n", encoding="utf-8")
