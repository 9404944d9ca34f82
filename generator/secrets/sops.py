"""Creating sops-encrypted secret files (``hubgen secrets create``).

The plaintext manifest only ever exists in this process's memory and in the pipe
to sops's standard input: it is never written to disk, inside the repository or
anywhere else. sops picks the keys from the repository's ``.sops.yaml`` creation
rules (``--filename-override`` names the target path, so ``path_regex`` applies);
``--encrypted-regex ^(data|stringData)$`` is always passed so that names,
namespaces and keys stay reviewable whatever the rule says. The encrypted output
is verified (every value encrypted, the plaintext nowhere in it) before it
atomically replaces the target file.
"""

from __future__ import annotations

import os
import secrets as _random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.secrets.files import ENCRYPTED_REGEX, read_secret_file
from generator.secrets.inventory import Requirement
from generator.secrets.tools import find_tool

SOPS_CONFIG = ".sops.yaml"
#: sops reads these to override the creation rules' keys; hubgen always uses the rules.
_KEY_OVERRIDE_VARS = ("SOPS_AGE_RECIPIENTS", "SOPS_KMS_ARN", "SOPS_PGP_FP", "SOPS_GCP_KMS_IDS",
                      "SOPS_AZURE_KEYVAULT_URLS", "SOPS_VAULT_URIS", "SOPS_HUAWEICLOUD_KMS_IDS")
SOPS_TIMEOUT = 120


class SopsError(Exception):
    """sops failed or produced something that is not a properly encrypted file."""


def random_value() -> str:
    """A fresh random secret: 32 bytes from the OS CSPRNG, URL-safe base64 (43 characters)."""
    return _random.token_urlsafe(32)


@dataclass(frozen=True)
class Encrypted:
    text: str
    age_recipients: tuple[str, ...]
    kms_arns: tuple[str, ...]


def secret_manifest(requirements: list[Requirement], values: dict[tuple[str, str], str]) -> str:
    """The plaintext YAML of the Secrets holding ``values`` ((secret name, key) -> value), one per name."""
    docs = []
    by_name: dict[tuple[str, str], dict[str, str]] = {}
    for r in requirements:
        by_name.setdefault((r.namespace, r.name), {})[r.key] = values[(r.name, r.key)]
    for (namespace, name), data in by_name.items():
        docs.append({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "hubgen"}},
            "type": "Opaque",
            "stringData": data,
        })
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=4096)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _KEY_OVERRIDE_VARS}
    env.setdefault("SOPS_DISABLE_VERSION_CHECK", "1")
    return env


def encrypt(root: Path, relpath: str, plaintext: str, secret_values: list[str]) -> Encrypted:
    """Encrypt ``plaintext`` for ``relpath`` (repository-relative) with the repository's creation rules."""
    config = root / SOPS_CONFIG
    if not config.is_file():
        raise SopsError(f"no {SOPS_CONFIG} at the repository root ({root}); it holds the creation rules that say "
                        "which KMS keys / age recipients secret files are encrypted for (see docs/secrets.md)")
    sops = find_tool("sops", root)
    cmd = [str(sops), "--config", str(config), "encrypt", "--encrypted-regex", ENCRYPTED_REGEX,
           "--filename-override", relpath, "--input-type", "yaml", "--output-type", "yaml"]
    try:
        proc = subprocess.run(cmd, input=plaintext, capture_output=True, text=True, cwd=root, env=_env(),
                              timeout=SOPS_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        raise SopsError(f"sops did not finish within {SOPS_TIMEOUT} s (is a KMS endpoint unreachable?)") from e
    except OSError as e:
        raise SopsError(f"cannot run {sops}: {e.strerror or e}") from e
    if proc.returncode != 0:
        detail = _redact(proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}", secret_values)
        if "no matching creation rules" in detail:
            detail += (f"\n{SOPS_CONFIG} has no creation rule whose path_regex matches {relpath}; add one "
                       "(see docs/secrets.md)")
        raise SopsError(f"sops could not encrypt {relpath}:\n{detail}")
    text = proc.stdout
    return _verified(root, relpath, text, secret_values)


def _redact(text: str, values: list[str]) -> str:
    for v in values:
        if v:
            text = text.replace(v, "<redacted>")
    return text


def _verified(root: Path, relpath: str, text: str, secret_values: list[str]) -> Encrypted:
    if any(v and v in text for v in secret_values):
        raise SopsError(f"sops output for {relpath} contains a secret value in plain text; nothing was written")
    with tempfile.TemporaryDirectory(prefix="hubgen-verify-") as d:
        probe = Path(d) / "probe.secret.yaml"
        probe.write_text(text, encoding="utf-8")  # ciphertext only
        f = read_secret_file(probe, relpath)
    if f.problems or not f.docs:
        raise SopsError(f"sops output for {relpath} is not a readable YAML file; nothing was written")
    age: list[str] = []
    kms: list[str] = []
    for doc in f.docs:
        if doc.sops is None or not doc.sops.has_mac or not doc.sops.has_keys:
            raise SopsError(f"sops output for {relpath} lacks complete sops metadata; nothing was written")
        if not all(v.encrypted for v in doc.values) or doc.metadata_encrypted:
            raise SopsError(f"sops output for {relpath} is not encrypted as {ENCRYPTED_REGEX} requires; "
                            "nothing was written")
        age.extend(a for a in doc.sops.age_recipients if a not in age)
        kms.extend(k for k in doc.sops.kms_arns if k not in kms)
    return Encrypted(text, tuple(age), tuple(kms))


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (temporary file in the same folder, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # ciphertext, meant to be committed
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
