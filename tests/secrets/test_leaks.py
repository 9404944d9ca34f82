"""Secret leaks: every way a secret can end up in plain text in the repository, rejected with file:line:column.

Two families, each case a mutation of the committed dev example on a fresh repository copy:

* **spec cases** - a secret in ``environment.yaml``, in the hub settings or the raw ``values``
  escape hatch (HG301), or static AWS keys for notebooks (HG302, pointing at the IRSA field);
* **file cases** - the sops-encrypted files under ``environments/dev/secrets/``: plain text,
  values edited without sops, secrets outside ``data``/``stringData``, missing Secrets/keys,
  files the cluster cannot decrypt, malformed files (HG304-HG307).

For every case ``hubgen validate dev`` exits 1 and reports exactly the expected codes at the
expected positions (computed by searching the mutated text, never hard-coded), and never
repeats the secret value in its output. File cases are also run through ``hubgen secrets
check`` with the file path, as the pre-commit hook calls it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from hubgen_secrets_support import fake

DEV = "environments/dev/environment.yaml"
DEV_SOPS = "environments/dev/secrets/dev.secret.yaml"
DEV_NOTIFIER_SOPS = "environments/dev/secrets/notifications.secret.yaml"  # the github notifier's token


def pos(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    idx = -1
    for _ in range(occurrence):
        idx = text.find(needle, idx + 1)
        assert idx >= 0, f"{needle!r} not in the mutated file"
    line = text.count("\n", 0, idx) + 1
    return line, idx - (text.rfind("\n", 0, idx) + 1) + 1


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


@dataclass(frozen=True)
class Expect:
    code: str
    file: str
    #: text searched in the mutated ``file`` for the expected position
    needle: str
    contains: tuple[str, ...] = ()
    occurrence: int = 1
    #: columns to move right from the needle's start
    shift: int = 0


@dataclass(frozen=True)
class Case:
    id: str
    #: (spec text, secret file text) -> {relpath: new content or None to delete}
    mutate: Callable[[str, str], dict[str, str | None]]
    expect: tuple[Expect, ...]
    #: the secret value that must not be echoed
    secret: str = ""


def spec(edit: Callable[[str], str]) -> Callable[[str, str], dict[str, str | None]]:
    return lambda s, f: {DEV: edit(s)}


def secret_file(edit: Callable[[str], str | None], path: str = DEV_SOPS) -> Callable[[str, str], dict]:
    return lambda s, f: {path: edit(f)}


def values(block: str) -> Callable[[str], str]:
    """Append a raw `values` block (indented YAML below `values:`) to the dev hub."""
    return lambda s: s + "    values:\n" + "".join(f"      {line}\n" for line in block.splitlines())


def extra_env(name: str, value: str) -> Callable[[str], str]:
    return lambda s: replace_once(s, "        capacity: 10Gi\n",
                                  f"        capacity: 10Gi\n      extraEnv:\n        {name}: \"{value}\"\n")


PW = fake("word", 1)
HEX = fake("hex64")
AWS_ID = fake("aws-key-id")
AWS_SECRET = fake("aws-secret")
PEM = fake("pem")
AGE_SECRET = fake("age-secret")
JWT = fake("jwt")
WEBHOOK = fake("slack-webhook")
GH = fake("github")

SPEC_CASES = [
    Case("dummy-password-in-values",
         spec(values(f"hub:\n  config:\n    DummyAuthenticator:\n      password: {PW}")),
         (Expect("HG301", DEV, PW, ("hubs[0].values.hub.config.DummyAuthenticator.password",)),
          # and the password is hubgen's to place (from the Secret): owned
          Expect("HG218", DEV, f"password: {PW}", ("auth.passwordSecret",))), PW),
    Case("proxy-secret-token-in-values",
         spec(values(f"proxy:\n  secretToken: \"{HEX}\"")),
         (Expect("HG301", DEV, f'"{HEX}"', ("hubs[0].values.proxy.secretToken",)),), HEX),
    Case("cookie-secret-in-values",
         spec(values(f"hub:\n  cookieSecret: {PW}")),
         (Expect("HG301", DEV, PW, ("cookieSecret",)),), PW),
    Case("oauth-client-secret-in-values",
         spec(values(f"hub:\n  config:\n    GitHubOAuthenticator:\n      client_secret: {PW}")),
         (Expect("HG301", DEV, PW, ("client_secret",)), Expect("HG218", DEV, f"client_secret: {PW}")), PW),
    Case("aws-secret-key-under-innocent-name",
         spec(extra_env("S3_HELPER", AWS_SECRET)),
         (Expect("HG301", DEV, f'"{AWS_SECRET}"', ("AWS secret access key",)),), AWS_SECRET),
    Case("aws-access-key-id-in-description",
         spec(lambda s: re.sub(r"^description: .*$", f"description: ops key {AWS_ID} for the hub", s, flags=re.M)),
         (Expect("HG301", DEV, "ops key", ("AWS access key id",)),), AWS_ID),
    Case("private-key-block-in-values",
         spec(values("hub:\n  extraFiles:\n    tls:\n      mountPath: /etc/tls/key.pem\n      stringData: |\n"
                     + "".join(f"        {line}\n" for line in PEM.splitlines()))),
         (Expect("HG301", DEV, "|\n", ("private key",), occurrence=1),), PEM.splitlines()[1]),
    Case("age-secret-key-in-tags",
         spec(lambda s: replace_once(s, "  environment: dev\n", f"  environment: dev\n  backup: {AGE_SECRET}\n")),
         (Expect("HG301", DEV, AGE_SECRET, ("age secret key",)),), AGE_SECRET),
    Case("git-url-with-password-in-values",
         spec(values(f"singleuser:\n  lifecycleHooks:\n    postStart:\n      exec:\n        command:\n"
                     f"        - git\n        - clone\n        - https://bot:{PW}@github.com/asfadmin/x.git")),
         (Expect("HG301", DEV, "https://bot:", ("URL with an embedded password",)),
          Expect("HG218", DEV, "postStart:", ("gitpuller",))), PW),
    Case("kubernetes-env-entry-with-password",
         spec(values(f"hub:\n  extraEnv:\n  - name: DB_PASSWORD\n    value: {PW}")),
         (Expect("HG301", DEV, PW, ("DB_PASSWORD",)),), PW),
    Case("password-flag-in-a-command",
         spec(values(f"singleuser:\n  cmd:\n  - jupyterhub-singleuser\n  - --password={PW}")),
         (Expect("HG301", DEV, f"--password={PW}", ("assigned inline",)),), PW),
    Case("jwt-as-service-api-token",
         spec(values(f"hub:\n  services:\n    grader:\n      apiToken: {JWT}")),
         (Expect("HG301", DEV, JWT, ("apiToken",)),), JWT),
    Case("slack-webhook-in-extra-env",
         spec(extra_env("NOTIFY_URL", WEBHOOK)),
         (Expect("HG301", DEV, f'"{WEBHOOK}"', ("Slack webhook",)),), WEBHOOK.rsplit("/", 1)[1]),
    Case("github-token-in-gitpuller-url",
         spec(lambda s: replace_once(s, "asf-jupyter-notebooks.git\n", f"asf-jupyter-notebooks.git?access={GH}\n")),
         (Expect("HG301", DEV, "https://github.com/asfadmin/asf-jupyter-notebooks.git?", ("GitHub token",)),), GH),
    Case("aws-secret-key-env-with-irsa-role",
         spec(extra_env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)),
         (Expect("HG302", DEV, "AWS_SECRET_ACCESS_KEY",
                 ("hubs[0].singleuser.awsRoleArn is already set", "IRSA")),), AWS_SECRET),
    Case("aws-key-id-from-a-secret-without-irsa-role",
         spec(lambda s: values("hub:\n  extraEnv:\n  - name: AWS_ACCESS_KEY_ID\n    valueFrom:\n      secretKeyRef:\n"
                               "        name: aws\n        key: id")(
             re.sub(r"^      # Replaces the seed's.*\n      awsRoleArn: .*\n", "", s, flags=re.M))),
         (Expect("HG302", DEV, "AWS_ACCESS_KEY_ID",
                 ("set hubs[0].singleuser.awsRoleArn to an IAM role", "IRSA")),)),
]


def _plain_secret(value: str, name: str = "hub-auth") -> str:
    return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: dev\n"
            f"type: Opaque\nstringData:\n  password: {value}\n")


def _enc_value(text: str) -> str:
    m = re.search(r"password: (ENC\[[^\]]+\])", text)
    assert m
    return m.group(1)


FILE_CASES = [
    Case("plaintext-secret-file",
         secret_file(lambda f: _plain_secret(PW)),
         (Expect("HG304", DEV_SOPS, PW, ("not sops-encrypted", "stringData.password")),), PW),
    Case("value-edited-to-plaintext-in-a-sops-file",
         secret_file(lambda f: f.replace(_enc_value(f), PW)),
         (Expect("HG304", DEV_SOPS, PW, ("plain text inside a sops-encrypted file",)),), PW),
    Case("stray-plaintext-manifest-in-secrets-folder",
         lambda s, f: {"environments/dev/secrets/extra.yaml": _plain_secret(PW, "extra")},
         (Expect("HG304", "environments/dev/secrets/extra.yaml", PW, ("Secret dev/extra",)),), PW),
    Case("password-in-a-readable-annotation",
         secret_file(lambda f: replace_once(f, "    labels:\n",
                                            f"    annotations:\n        db-password: {PW}\n    labels:\n")),
         (Expect("HG304", DEV_SOPS, PW, ("metadata.annotations.db-password", "outside data/stringData")),), PW),
    Case("sops-metadata-without-mac",
         secret_file(lambda f: re.sub(r"^    mac: .*\n", "", f, flags=re.M)),
         (Expect("HG304", DEV_SOPS, "apiVersion", ("no encrypted MAC",)),)),
    Case("secret-file-missing",
         secret_file(lambda f: None),
         (Expect("HG305", DEV, "hub-auth", ("dev.secret.yaml does not exist",)),)),
    Case("secret-in-another-namespace",
         secret_file(lambda f: replace_once(f, "    namespace: dev\n", "    namespace: default\n")),
         (Expect("HG305", DEV, "hub-auth", ("another namespace", "default")),)),
    Case("secret-without-the-referenced-key",
         secret_file(lambda f: replace_once(f, "    password: ENC", "    passwd: ENC")),
         (Expect("HG305", DEV, "key: password", ("no key 'password'", "passwd"), shift=len("key: ")),)),
    Case("encrypted-for-age-but-cluster-uses-kms",
         lambda s, f: {DEV: replace_once(s, "  provider: age\n", "  provider: kms\n")},
         (Expect("HG307", DEV_SOPS, "apiVersion", ("encrypted for age only", "kms")),
          Expect("HG307", DEV_NOTIFIER_SOPS, "apiVersion", ("encrypted for age only", "kms")))),
    Case("metadata-encrypted-too",
         secret_file(lambda f: replace_once(f, "    name: hub-auth\n",
                                            "    name: ENC[AES256_GCM,data:aGk=,iv:aXY=,tag:dGFn,type:str]\n")),
         (Expect("HG306", DEV_SOPS, "apiVersion", ("kind/metadata are encrypted",)),
          Expect("HG305", DEV, "hub-auth", ("does not define a Secret 'hub-auth'",)))),
    Case("secret-file-not-yaml",
         secret_file(lambda f: replace_once(f, "type: Opaque\n", "type: Opaque: yes\n")),
         (Expect("HG306", DEV_SOPS, "Opaque: yes", ("not valid YAML",), shift=len("Opaque")),
          Expect("HG305", DEV, "hub-auth", ("does not define a Secret 'hub-auth'",)))),
]


def _apply(repo: Path, case: Case) -> tuple[dict[str, str], list[str]]:
    """Mutate the repository copy; (texts of the files after the mutation, changed paths)."""
    spec_text = (repo / DEV).read_text()
    file_text = (repo / DEV_SOPS).read_text()
    texts = {DEV: spec_text, DEV_SOPS: file_text, DEV_NOTIFIER_SOPS: (repo / DEV_NOTIFIER_SOPS).read_text()}
    changes = case.mutate(spec_text, file_text)
    for rel, content in changes.items():
        if content is None:
            (repo / rel).unlink()
        else:
            (repo / rel).write_text(content)
        texts[rel] = content
    return texts, list(changes)


def _located(texts: dict[str, str], e: Expect) -> tuple[str, int, int]:
    line, col = pos(texts[e.file], e.needle, e.occurrence)
    return e.file, line, col + e.shift


def _check(result, texts: dict[str, str], case: Case, codes_filter=None) -> None:
    assert result.rc == 1, result
    assert "Traceback" not in result.output
    found = json.loads(result.stdout)["problems"]
    expected = [e for e in case.expect if codes_filter is None or e.code in codes_filter]
    got = sorted((p["code"], p["file"], p["line"], p["column"]) for p in found if p["severity"] == "error")
    want = sorted((e.code, *_located(texts, e)) for e in expected)
    assert got == want, f"{case.id}: {json.dumps(found, indent=1)}"
    for e in expected:
        p = next(p for p in found if (p["code"], p["file"], p["line"], p["column"]) == (e.code, *_located(texts, e)))
        for s in e.contains:
            assert s in p["message"] + p["hint"], (s, p)
    if case.secret:
        assert case.secret not in result.output, "the secret value is echoed"


@pytest.mark.parametrize("case", SPEC_CASES + FILE_CASES, ids=lambda c: c.id)
def test_leak_is_rejected_with_location(repo: Path, invoke_hubgen, case: Case) -> None:
    texts, _ = _apply(repo, case)
    _check(invoke_hubgen(["--repo", repo, "--format", "json", "validate", "dev"]), texts, case)


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_secrets_check_hook_rejects_file_leaks(repo: Path, invoke_hubgen, case: Case) -> None:
    """The pre-commit form: `hubgen secrets check <changed files>` reports the same file problems."""
    texts, changed = _apply(repo, case)
    # pre-commit passes the staged paths that still exist; a deletion shows up as the spec's check
    changed = [rel for rel in changed if (repo / rel).exists()] or [DEV]
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "check", *[str(repo / c) for c in changed]])
    _check(r, texts, case, codes_filter={"HG304", "HG305", "HG306", "HG307"})


def test_there_are_at_least_ten_leak_cases_of_each_family() -> None:
    assert len(SPEC_CASES) >= 10 and len(FILE_CASES) >= 10
    assert len({c.id for c in SPEC_CASES + FILE_CASES}) == len(SPEC_CASES + FILE_CASES)


def test_examples_are_clean(repo: Path, invoke_hubgen) -> None:
    """The unmutated copy passes: the cases above fail because of their mutation, not the baseline."""
    r = invoke_hubgen(["--repo", repo, "--format", "json", "validate"])
    assert r.rc == 0, r
    r = invoke_hubgen(["--repo", repo, "--format", "json", "secrets", "check"])
    assert r.rc == 0, r
