"""A real secret scanner agrees: detect-secrets (pinned in the test extra) finds nothing in the repository.

Scanned: every file git tracks plus every untracked file it does not ignore (what the next
commit could contain), regular files only (symlinks point at scanned files). One exclusion:

* ``environments/<env>/secrets/*.secret.yaml`` - sops ciphertext. ``ENC[AES256_GCM,data:...]``
  values are high-entropy by design and sit under keys like ``password``, so every heuristic
  plugin fires on them. That exclusion is only sound because hubgen proves each of those files
  is encrypted (HG304: sops metadata, MAC, every data/stringData value ``ENC[...]``, nothing
  secret-looking outside) - asserted below with ``hubgen secrets check`` on the same files.

No baseline file is used: the expected result is simply zero findings. Test fixtures that must
contain secret-shaped strings either build them at run time (tests/secrets) or carry the
scanner's inline ``pragma: allowlist secret`` marker on that line, so every exception is visible
in review.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from hubgen_secrets_support import REPO_ROOT, fake

SCANNER = Path(sys.executable).parent / "detect-secrets"
#: sops ciphertext (see the module docstring); anchored, so nothing else under environments/ is skipped.
EXCLUDE_FILES = r"^environments/[a-z0-9][-a-z0-9]*/secrets/[^/]+\.secret\.yaml$"


def repository_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout.decode()
    files = sorted({f for f in out.split("\0") if f})
    return [f for f in files if (root / f).is_file() and not (root / f).is_symlink()]


def scan(root: Path, files: list[str]) -> dict[str, list[dict]]:
    assert SCANNER.exists(), f"{SCANNER} missing: pip install -e '.[test]'"
    proc = subprocess.run([str(SCANNER), "scan", "--exclude-files", EXCLUDE_FILES, *files], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["results"]


def test_detect_secrets_finds_nothing_in_the_repository() -> None:
    files = repository_files(REPO_ROOT)
    assert len(files) > 50 and "generator/checks/secrets.py" in files
    results = scan(REPO_ROOT, files)
    findings = [f"{name}:{r['line_number']}: {r['type']}" for name, rs in results.items() for r in rs]
    assert not findings, ("detect-secrets findings (remove the secret; for a deliberate test fixture build the "
                          "value at run time or add `# pragma: allowlist secret` to the line):\n"
                          + "\n".join(findings))


def test_the_only_excluded_files_are_encrypted_secret_files(invoke_hubgen) -> None:
    excluded = [f for f in repository_files(REPO_ROOT) if re.match(EXCLUDE_FILES, f)]
    assert excluded, "the examples' encrypted secret files are expected to be excluded"
    r = invoke_hubgen(["--repo", REPO_ROOT, "--format", "json", "secrets", "check", *excluded])
    assert r.rc == 0, r
    assert json.loads(r.stdout)["problems"] == []


def test_the_scan_would_catch_a_leak(tmp_path: Path) -> None:
    """The same scan, on a copy with a committed credential, reports it (this test can fail)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={fake('aws-key-id')}\n")
    secret_dir = tmp_path / "environments" / "dev" / "secrets"
    secret_dir.mkdir(parents=True)
    # A plaintext "secret file" is not sops ciphertext; the exclusion keys on the path, so hubgen's
    # HG304 (see test_leaks.py) is what stops it - the scanner alone would not.
    (secret_dir / "dev.secret.yaml").write_text(f"stringData:\n  password: {fake('word')}\n")
    results = scan(tmp_path, repository_files(tmp_path))
    assert set(results) == {"deploy.env"}
    assert any(r["type"] == "AWS Access Key" for r in results["deploy.env"])
