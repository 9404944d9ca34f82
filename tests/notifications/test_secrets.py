"""The notifiers' Secrets through `hubgen secrets` and `hubgen validate`: listed beside the hubs', a missing or
plain-text one reported like a hub's (HG305, HG304) in flux-system with the key its provider type reads, and
`hubgen secrets create ENV --notifications` writing them sops-encrypted (real sops and age)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.secrets.tools import ToolMissing, find_tool
from tests.conftest import hubgen_command

PROD_SECRET = "environments/prod/secrets/notifications.secret.yaml"  # pragma: allowlist secret


def _tool(name: str) -> Path:
    try:
        return find_tool(name, Path(__file__).resolve().parents[2])
    except ToolMissing as e:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(str(e))
        pytest.skip(str(e))


def test_list_shows_the_notifier_secrets(repo: Path, invoke_hubgen) -> None:
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "list", "prod"])
    assert r.rc == 0, r
    rows = [row for row in json.loads(r.stdout)["secrets"] if row["notifier"]]
    assert [(row["notifier"], row["secret"], row["key"], row["file"], row["state"]) for row in rows] == [
        ("github", "flux-system/github-commit-status", "token", PROD_SECRET, "ok"),
        ("slack", "flux-system/slack-webhook", "address", PROD_SECRET, "ok")]


def test_missing_notifier_secret_is_hg305(repo: Path, invoke_hubgen) -> None:
    (repo / PROD_SECRET).unlink()
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "check", "prod"])
    assert r.rc == 1, r
    problems = [p for p in json.loads(r.stdout)["problems"]]
    assert {(p["code"], p["path"]) for p in problems} == {("HG305", "/notifications/github/secret"),
                                                          ("HG305", "/notifications/slack/secret")}, problems
    slack = next(p for p in problems if p["path"] == "/notifications/slack/secret")
    assert slack["message"] == ("the slack notifier reads the Slack incoming webhook URL from Secret "
                                f"flux-system/slack-webhook key 'address', but {PROD_SECRET} does not exist")
    assert "hubgen secrets create prod --notifications --from-stdin < values.txt" in slack["hint"]
    text = (repo / "environments/prod/environment.yaml").read_text().splitlines()
    assert text[slack["line"] - 1].strip() == "slack:"
    r = invoke_hubgen(["--repo", repo, "validate", "prod"])
    assert r.rc == 1 and r.stdout.count("HG305") == 2, r


def test_notifier_secret_in_another_namespace(repo: Path, invoke_hubgen) -> None:
    path = repo / PROD_SECRET
    path.write_text(path.read_text().replace("namespace: flux-system", "namespace: course", 1))
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "check", "prod"])
    assert r.rc == 1, r
    [p] = json.loads(r.stdout)["problems"]
    assert p["code"] == "HG305" and "exists only in another namespace (course in " in p["message"]
    assert "notification-controller reads it from namespace 'flux-system'" in p["message"]


def test_plain_text_notifier_secret_is_hg304(repo: Path, invoke_hubgen) -> None:
    (repo / PROD_SECRET).write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "flux-system"},
         "stringData": {key: "not-encrypted"}}
        for name, key in (("github-commit-status", "token"), ("slack-webhook", "address"))]))
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "check", "prod"])
    assert r.rc == 1, r
    codes = sorted((p["code"], p["file"]) for p in json.loads(r.stdout)["problems"])
    assert codes == [("HG304", PROD_SECRET)] * 2, codes


@pytest.mark.parametrize("args, message", [
    (["prod"], "name a HUB, or pass --notifications"),
    (["prod", "course", "--notifications"], "name a HUB, or pass --notifications"),
])
def test_create_names_a_hub_or_the_notifiers(repo: Path, invoke_hubgen, args, message) -> None:
    r = invoke_hubgen(["--repo", repo, "secrets", "create", *args])
    assert r.rc == 2 and message in r.stderr, r


def test_create_without_notifiers(repo: Path, invoke_hubgen) -> None:
    spec = repo / "environments/dev/environment.yaml"
    spec.write_text(re.sub(r"\nnotifications:\n  github:\n    repository: \S+\n", "\n", spec.read_text()))
    r = invoke_hubgen(["--repo", repo, "secrets", "create", "dev", "--notifications"])
    assert r.rc == 2 and "environment 'dev' has no notifiers" in r.stderr, r


def test_create_writes_the_notifier_secrets_encrypted(repo: Path, run_hubgen, tmp_path: Path) -> None:
    """The values come from stdin, one per notifier in the spec's order; only ciphertext reaches the disk; sops
    (with the test's age key) gives back two Secrets in flux-system with the keys the providers read."""
    sops, keygen = _tool("sops"), _tool("age-keygen")
    key = tmp_path / "age.key"
    subprocess.run([str(keygen), "-o", str(key)], check=True, capture_output=True)
    recipient = re.search(r"public key: (age1\w+)", key.read_text()).group(1)
    (repo / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: ^environments/prod/secrets/.*\\.secret\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n")
    token, url = "tok-" + "q" * 36, "https://hooks.example.org/services/T0/B0/xyz"
    r = subprocess.run([*hubgen_command(), "secrets", "create", "prod", "--notifications", "--force", "--from-stdin"],
                       cwd=repo, input=f"{token}\n{url}\n", capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if not k.startswith("HUBGEN_")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Secret flux-system/github-commit-status key 'token'" in r.stdout
    assert "Secret flux-system/slack-webhook key 'address'" in r.stdout
    text = (repo / PROD_SECRET).read_text()
    assert token not in text and url not in text and token not in r.stdout + r.stderr and url not in r.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(key)
    plain = subprocess.run([str(sops), "decrypt", "--input-type", "yaml", "--output-type", "yaml", str(repo / PROD_SECRET)],
                           capture_output=True, text=True, env=env, check=True).stdout
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(plain)}
    assert docs["github-commit-status"]["metadata"]["namespace"] == "flux-system"
    assert docs["github-commit-status"]["stringData"] == {"token": token}
    assert docs["slack-webhook"]["stringData"] == {"address": url}
    assert run_hubgen(["secrets", "check", "prod"], cwd=repo).rc == 0
