"""Round trip with the real sops binary and an age key made by the test.

`hubgen secrets create` writes an encrypted file; the pre-commit hook (`hubgen secrets check`)
and `hubgen validate` accept it; a copy edited back to plain text is rejected with its
location; the rendered HelmRelease references the Secret through `valuesFrom` and the value
appears nowhere in the repository, the rendered tree or hubgen's output.

The repository copy gets a `.sops.yaml` whose rules name the test's age recipient; the private
key stays in a temporary folder outside the repository and is only used to decrypt (to memory).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from hubgen_secrets_support import AgeKey, hubgen, sops_decrypt, write_sops_config

DEV_SOPS = "environments/dev/secrets/dev.secret.yaml"
COURSE_SOPS = "environments/prod/secrets/course.secret.yaml"
RELEASE = "environments/dev/hubs/dev/helmrelease.yaml"


def _files_containing(root: Path, needle: str) -> list[str]:
    data = needle.encode()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and data in p.read_bytes())


def test_create_check_render_round_trip(repo: Path, tmp_path: Path, sops_bin: Path, age_key: AgeKey) -> None:
    write_sops_config(repo, age_key.recipient)
    target = repo / DEV_SOPS
    example = target.read_bytes()

    # The example file exists: no overwrite without --force.
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev"])
    assert r.rc == 2, r
    assert "already exists" in r.stderr and "--force" in r.stderr
    assert target.read_bytes() == example

    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev", "--force"], subprocess_=True)
    assert r.rc == 0, r
    text = target.read_text()
    assert text != example.decode()
    value = yaml.safe_load(sops_decrypt(sops_bin, age_key, target))["stringData"]["password"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), "32 random bytes, URL-safe base64"
    assert value not in r.output, "the value is never echoed"
    # Only the value is encrypted; name, namespace and key stay reviewable.
    doc = yaml.safe_load(text)
    assert doc["metadata"] == {"name": "hub-auth", "namespace": "dev",
                               "labels": {"app.kubernetes.io/managed-by": "hubgen"}}
    assert doc["stringData"]["password"].startswith("ENC[AES256_GCM,")
    assert [a["recipient"] for a in doc["sops"]["age"]] == [age_key.recipient]
    assert doc["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert not list(target.parent.glob(".*.tmp")), "no temporary file left behind"

    # The pre-commit hook (file argument, as pre-commit passes it) and validate accept it.
    r = hubgen(["secrets", "check", DEV_SOPS], cwd=repo)
    assert r.rc == 0, r
    r = hubgen(["--repo", repo, "validate"])
    assert r.rc == 0, r

    # The rendered HelmRelease reads the Secret through valuesFrom ...
    r = hubgen(["--repo", repo, "render"])
    assert r.rc == 0, r
    release = yaml.safe_load((repo / RELEASE).read_text().split("\n", 3)[3])
    assert {"kind": "Secret", "name": "hub-auth", "valuesKey": "password",
            "targetPath": "hub.config.DummyAuthenticator.password"} in release["spec"]["valuesFrom"]
    assert "password" not in release["spec"]["values"]["hub"]["config"].get("DummyAuthenticator", {})
    # ... and the value is nowhere: not in the repository (encrypted file, rendered tree, hubgen's
    # state folder), not anywhere under the test's temporary folder (no plaintext temp files).
    assert _files_containing(repo, value) == []
    assert _files_containing(tmp_path, value) == []

    # A copy edited back to plain text (what `sops decrypt --in-place` leaves) is rejected, located.
    plain = repo / "environments/dev/secrets/dev-plain.secret.yaml"
    plain.write_text(sops_decrypt(sops_bin, age_key, target))
    line = next(i for i, t in enumerate(plain.read_text().splitlines(), 1) if value in t)
    col = plain.read_text().splitlines()[line - 1].index(value) + 1
    for args in (["secrets", "check", plain.relative_to(repo).as_posix()], ["validate", "dev"]):
        r = hubgen(["--format", "json", *args], cwd=repo)
        assert r.rc == 1, r
        found = [(p["code"], p["file"], p["line"], p["column"]) for p in json.loads(r.stdout)["problems"]]
        assert ("HG304", plain.relative_to(repo).as_posix(), line, col) in found, found
        assert value not in r.output

    # --force rotates the value.
    plain.unlink()
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev", "--force"])
    assert r.rc == 0, r
    rotated = yaml.safe_load(sops_decrypt(sops_bin, age_key, target))["stringData"]["password"]
    assert rotated != value


def test_oauth_client_secret_from_stdin(repo: Path, sops_bin: Path, age_key: AgeKey) -> None:
    write_sops_config(repo, age_key.recipient)
    target = repo / COURSE_SOPS
    target.unlink()
    supplied = "oauth-" + "x7Q" * 10  # what a person pastes from the OAuth app's settings
    r = hubgen(["--repo", repo, "--format", "json", "secrets", "create", "prod", "course", "--from-stdin"],
               stdin=supplied + "\n")
    assert r.rc == 0, r
    assert supplied not in r.output
    doc = json.loads(r.stdout)
    assert doc["file"] == COURSE_SOPS and doc["replaced"] is False
    assert doc["secrets"] == [{"namespace": "course", "name": "course-oauth", "key": "client-secret",
                               "purpose": "OAuth client secret", "value": "supplied"}]
    assert doc["recipients"] == {"age": [age_key.recipient], "kms": []}
    decrypted = yaml.safe_load(sops_decrypt(sops_bin, age_key, target))
    assert decrypted["metadata"]["namespace"] == "course"
    assert decrypted["stringData"] == {"client-secret": supplied}
    r = hubgen(["--repo", repo, "--format", "json", "secrets", "list", "prod"])
    assert r.rc == 0, r
    rows = {(x["hub"], x["state"]) for x in json.loads(r.stdout)["secrets"] if not x["notifier"]}
    assert rows == {("course", "ok"), ("research", "ok")}


def test_oauth_client_secret_is_never_generated(repo: Path, sops_bin: Path, age_key: AgeKey,
                                                tree_state) -> None:
    write_sops_config(repo, age_key.recipient)
    (repo / COURSE_SOPS).unlink()
    before = tree_state(repo)
    # stdin is not a terminal and --from-stdin is missing: no prompt possible, nothing invented.
    r = hubgen(["--repo", repo, "secrets", "create", "prod", "course"])
    assert r.rc == 2, r
    assert "never generated" in r.stderr
    r = hubgen(["--repo", repo, "secrets", "create", "prod", "course", "--from-stdin"], stdin="\n")
    assert r.rc == 2, r
    assert "is empty" in r.stderr
    assert tree_state(repo) == before


def test_create_refuses_without_tool_or_rule(repo: Path, age_key: AgeKey, tree_state) -> None:
    target = repo / DEV_SOPS
    target.unlink()
    (repo / ".sops.yaml").unlink(missing_ok=True)  # the repository's own names KMS keys (unreachable here)
    before = tree_state(repo)
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev"])
    assert r.rc == 1, r
    assert "no .sops.yaml" in r.stderr and "nothing was written" in r.stderr
    write_sops_config(repo, age_key.recipient, envs=("prod",))
    before = tree_state(repo)
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev"])
    assert r.rc == 1, r
    assert "no creation rule" in r.stderr and DEV_SOPS in r.stderr
    write_sops_config(repo, age_key.recipient)
    before = tree_state(repo)
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev"], env={"HUBGEN_SOPS": str(repo / "no-sops")})
    assert r.rc == 1, r
    assert "HUBGEN_SOPS" in r.stderr and "not an executable" in r.stderr
    assert tree_state(repo) == before
    assert not target.exists()


def test_create_usage_errors(repo: Path) -> None:
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "nohub"])
    assert r.rc == 2 and "has no hub 'nohub'" in r.stderr, r
    r = hubgen(["--repo", repo, "secrets", "create", "staging", "dev"])
    assert r.rc == 2 and "no environment 'staging'" in r.stderr, r


def test_key_rotation_with_sops_updatekeys(repo: Path, sops_bin: Path, age_key: AgeKey, age_keygen_bin: Path,
                                           tmp_path: Path) -> None:
    """docs/secrets.md's key rotation: add the new recipient to .sops.yaml, `sops updatekeys`, drop the old."""
    import os
    import subprocess

    new_path = tmp_path / "new-key.txt"
    subprocess.run([str(age_keygen_bin), "-o", str(new_path)], check=True, capture_output=True)
    new = AgeKey(new_path, re.search(r"^# public key: (age1[0-9a-z]+)$", new_path.read_text(), re.M).group(1))
    write_sops_config(repo, age_key.recipient)
    r = hubgen(["--repo", repo, "secrets", "create", "dev", "dev", "--force"])
    assert r.rc == 0, r
    target = repo / DEV_SOPS
    value = yaml.safe_load(sops_decrypt(sops_bin, age_key, target))["stringData"]["password"]

    def updatekeys(identity: AgeKey) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env["SOPS_AGE_KEY_FILE"] = str(identity.path)
        proc = subprocess.run([str(sops_bin), "updatekeys", "--yes", DEV_SOPS], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr

    # 1. both recipients in the rule; re-wrap the data key (needs a current key: the old one).
    (repo / ".sops.yaml").write_text((repo / ".sops.yaml").read_text().replace(
        f"age: {age_key.recipient}", f"age: {age_key.recipient},{new.recipient}"))
    updatekeys(age_key)
    assert yaml.safe_load(sops_decrypt(sops_bin, new, target))["stringData"]["password"] == value
    # 2. the old recipient leaves the rule; only the new key decrypts.
    write_sops_config(repo, new.recipient)
    updatekeys(new)
    doc = yaml.safe_load(target.read_text())
    assert [a["recipient"] for a in doc["sops"]["age"]] == [new.recipient]
    assert yaml.safe_load(sops_decrypt(sops_bin, new, target))["stringData"]["password"] == value
    r = hubgen(["--repo", repo, "secrets", "check", "dev"])
    assert r.rc == 0, r
