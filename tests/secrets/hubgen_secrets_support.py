"""Helpers of the secrets suite (imported by its tests as ``support``; fixtures are in conftest.py).

This folder deliberately has no ``__init__.py``: pytest would import it as a package named
``secrets`` and shadow the standard library module of that name (which hubgen itself uses to
generate passwords). Without it, pytest puts this folder on ``sys.path`` and its modules have
unique top-level names.

Fake secrets used by the tests are assembled at run time (see :func:`fake`), so the test
sources themselves contain nothing a secret scanner (detect-secrets, GitHub push protection)
would flag.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.secrets.tools import ToolMissing, find_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = "environments/{}/environment.yaml"


def need_tool(name: str) -> Path:
    try:
        return find_tool(name, REPO_ROOT)
    except ToolMissing as e:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{e} (CI is set: the secrets round trip must run; install the tools)")
        pytest.skip(str(e))


@dataclass(frozen=True)
class AgeKey:
    path: Path  # the identity file (private key), outside the repository
    recipient: str  # the public key


def write_sops_config(root: Path, recipient: str, *, kms: str | None = None, envs=("dev", "prod")) -> Path:
    """A .sops.yaml like the repository's, with the test's age recipient (and optionally a KMS key)."""
    lines = ["creation_rules:"]
    for env in envs:
        lines += [f"  - path_regex: ^environments/{env}/secrets/.*\\.secret\\.yaml$",
                  "    encrypted_regex: ^(data|stringData)$",
                  f"    age: {recipient}"]
        if kms:
            lines.append(f"    kms: {kms}")
    path = root / ".sops.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def sops_decrypt(sops: Path, key: AgeKey, file: Path) -> str:
    """Decrypt to memory (never to disk)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(key.path)
    proc = subprocess.run([str(sops), "decrypt", "--input-type", "yaml", "--output-type", "yaml", str(file)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def problems(result) -> list[dict]:
    """Problems of a `--format json` run."""
    doc = json.loads(result.stdout)
    return doc["problems"]


def fake(kind: str, seed: int = 0) -> str:
    """A credential-shaped string of ``kind``, built at run time (deterministic per seed)."""
    rnd = random.Random(f"{kind}-{seed}")
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digits = "0123456789"
    alnum = upper + upper.lower() + digits

    def pick(chars: str, n: int) -> str:
        return "".join(rnd.choice(chars) for _ in range(n))

    if kind == "aws-key-id":
        return "AK" + "IA" + pick(upper + digits, 16)
    if kind == "aws-secret":
        return pick(alnum, 18) + "/" + "aB3" + pick(alnum, 18)
    if kind == "hex64":
        return pick("0123456789abcdef", 64)
    if kind == "github":
        return "gh" + "p_" + pick(alnum, 36)
    if kind == "age-secret":
        bech32 = ("qpzry9x8gf2tvdw0" + "s3jn54khce6mua7l").upper()  # split: no high-entropy literal
        return "AGE-" + "SECRET-KEY-1" + pick(bech32, 58)
    if kind == "jwt":
        return "ey" + "J" + pick(alnum, 20) + ".ey" + "J" + pick(alnum, 30) + "." + pick(alnum, 30)
    if kind == "pem":
        return "-----BEGIN " + "RSA PRIVATE KEY-----\n" + pick(alnum, 64) + "\n-----END RSA PRIVATE KEY-----\n"
    if kind == "slack-webhook":
        return "https://hooks.slack.com/services/T" + pick(upper, 8) + "/B" + pick(upper, 8) + "/" + pick(alnum, 24)
    if kind == "word":
        return pick(alnum, 14)
    raise ValueError(kind)


@dataclass(frozen=True)
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"rc={self.rc}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def hubgen(args: list, *, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
           subprocess_: bool = False) -> Run:
    """Run the CLI with optional standard input (never a terminal) and environment.

    In-process (typer's CliRunner, fast) by default; ``subprocess_=True`` runs the real console
    script. Either way sops and age run as real subprocesses.
    """
    import contextlib
    import sys
    import traceback

    clean = {k: None for k in os.environ if k.startswith(("HUBGEN_", "SOPS_"))}
    extra = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", **(env or {})}
    if subprocess_:
        script = Path(sys.executable).parent / "hubgen"
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "generator"]
        full_env = {k: v for k, v in os.environ.items() if k not in clean}
        full_env.update(extra)
        proc = subprocess.run([*cmd, *map(str, args)], input=stdin if stdin is not None else "",
                              capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)
        return Run(proc.returncode, proc.stdout, proc.stderr)
    from typer.testing import CliRunner

    from generator.cli.app import app

    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = CliRunner().invoke(app, [str(a) for a in args], input=stdin if stdin is not None else "",
                                    env={**clean, **extra}, catch_exceptions=True, color=False)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return Run(result.exit_code, result.stdout, stderr)
