"""`hubgen new ENV --from SRC`: the source spec is read only when it is a regular file inside the repository, and
.sops.yaml gets a creation rule for the new environment with the source's keys, so its secrets are encrypted at
once and `hubgen validate ENV` passes.

Real CLI runs on real files: temporary repositories copied from the examples, real sops encryptions for
throwaway age keys (the pinned age-keygen), and a fresh `git clone` of the example repository whose .sops.yaml
(age + AWS KMS) is used unchanged, its KMS keys served by a local moto server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

from .util import ROOT, run, supply_notifier_token

SECRET = "environments/qa/secrets/qa.secret.yaml"  # pragma: allowlist secret
ACCOUNT = "553778890976"  # the examples' account
EXAMPLE_KMS = {"us-east-1": "62d742f4-b62b-401e-ab6a-478cb787903d", "us-west-2": "fc1388cc-2767-4238-aa07-9d9efedb0ec1"}


def _keygen(where: Path) -> tuple[str, Path]:
    keygen = ROOT / ".tools" / "bin" / "age-keygen"
    if not keygen.exists():
        pytest.skip("age-keygen not installed (run `bash .ci/install-tools`)")
    where.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(keygen), "-o", str(where)], check=True, capture_output=True)
    public = next(line.split(": ", 1)[1].strip() for line in where.read_text().splitlines()
                  if line.startswith("# public key: "))
    return public, where


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[str, Path]]:
    """Three throwaway age keys: dev's, prod's and a catch-all's."""
    return {name: _keygen(tmp_path / "keys" / f"{name}.txt") for name in ("dev", "prod", "other")}


def per_environment_config(keys, *, catch_all_first: bool = False) -> str:
    """Per-environment rules as people write them: comments, a quoted regex with a trailing comment, a folded
    recipient; optionally a catch-all in front of them."""
    catch_all = ("  # everything else: the platform team's key\n"
                 "  - path_regex: ^environments/[q-z][^/]*/secrets/\n"
                 f"    age: {keys['other'][0]}  # pragma: allowlist secret\n")
    return ("# sops creation rules (a person's file: these comments must survive)\n"
            "creation_rules:\n"
            + (catch_all if catch_all_first else "")
            + "  # dev: the team's key\n"
              "  - path_regex: '^environments/dev/secrets/.*\\.secret\\.yaml$'   # quoted on purpose\n"
              "    encrypted_regex: ^(data|stringData)$\n"
              f"    age: >-\n      {keys['dev'][0]}\n"
              "  - path_regex: ^environments/prod/secrets/.*\\.secret\\.yaml$\n"
              "    encrypted_regex: ^(data|stringData)$\n"
              f"    age: {keys['prod'][0]}\n"
            + ("" if catch_all_first else catch_all))


def dev_rule_copy(keys) -> str:
    """The rule `hubgen new qa --from dev` adds: dev's lines, path_regex renamed, under a comment."""
    return ("  # qa: the keys of dev (added by `hubgen new qa --from dev`)\n"
            "  - path_regex: '^environments/qa/secrets/.*\\.secret\\.yaml$'   # quoted on purpose\n"
            "    encrypted_regex: ^(data|stringData)$\n"
            f"    age: >-\n      {keys['dev'][0]}\n")


def _decrypt(repo: Path, relpath: str, key: Path) -> subprocess.CompletedProcess:
    from generator.secrets.tools import find_tool

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(key)
    return subprocess.run([str(find_tool("sops", ROOT)), "--config", str(repo / ".sops.yaml"), "decrypt",
                           str(repo / relpath)], capture_output=True, text=True, env=env, cwd=repo)


# --- item 7: the source spec is repository content ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["link-outside", "link-inside", "folder-link"])
def test_from_refuses_a_linked_source_spec_and_never_shows_its_content(repo: Path, snapshot, how):
    evil = repo / "environments/evil"
    if how == "folder-link":
        evil.symlink_to(repo / "environments/dev", target_is_directory=True)
    else:
        evil.mkdir()
        target = Path("/etc/passwd") if how == "link-outside" else repo / "environments/dev/environment.yaml"
        (evil / "environment.yaml").symlink_to(target)
    before = snapshot(repo)
    for fmt in ("text", "json"):
        r = run(["--repo", repo, "--format", fmt, "new", "qa", "--from", "evil", "--no-input"])
        assert r.rc == 1, r
        assert "HG009" in r.output and "nothing was written" in r.stderr
        assert "symbolic link" in r.output
        assert "root:" not in r.output and "daemon" not in r.output  # /etc/passwd is never read
        assert "stackName" not in r.output  # nor dev's spec through a link
    assert snapshot(repo) == before


def test_from_reads_a_regular_source_spec(repo: Path):
    r = run(["--repo", repo, "new", "qa", "--from", "dev", "--no-input", "--no-render", "--no-secrets"])
    assert r.rc == 0, r
    assert "stackName: jupyter-qa" in (repo / "environments/qa/environment.yaml").read_text()


# --- item 13: .sops.yaml gets the new environment's rule --------------------------------------------------------


def test_from_adds_a_rule_with_the_source_keys_and_the_secret_is_encrypted_at_once(repo: Path, keys):
    config = per_environment_config(keys)
    (repo / ".sops.yaml").write_text(config)
    r = run(["--repo", repo, "--format", "json", "new", "qa", "--from", "dev", "--no-input"])
    assert r.rc == 0, r
    doc = json.loads(r.stdout)
    assert ".sops.yaml" in doc["created"] and SECRET in doc["created"]
    assert any(n.startswith(".sops.yaml: added a creation rule for environments/qa/secrets/") for n in doc["notes"])

    # Right after dev's rule; every other byte of the file as it was.
    prod = "  - path_regex: ^environments/prod/"
    assert (repo / ".sops.yaml").read_text() == config.replace(prod, dev_rule_copy(keys) + prod)

    # Encrypted for dev's key (and only it): dev's key decrypts it, the others cannot.
    ok = _decrypt(repo, SECRET, keys["dev"][1])
    assert ok.returncode == 0, ok.stderr
    assert "name: hub-auth" in ok.stdout and "namespace: qa" in ok.stdout
    assert _decrypt(repo, SECRET, keys["other"][1]).returncode != 0
    # dev's github notifier: its token is the one value a person must supply, and the output says how.
    assert any("hubgen secrets create qa --notifications" in n for n in doc["notes"]), doc["notes"]
    supply_notifier_token(repo, "qa")
    assert run(["--repo", repo, "validate", "qa"]).rc == 0
    assert run(["--repo", repo, "validate"]).rc == 0


def test_the_rule_goes_before_a_catch_all_that_would_win(repo: Path, keys):
    config = per_environment_config(keys, catch_all_first=True)
    (repo / ".sops.yaml").write_text(config)
    r = run(["--repo", repo, "new", "qa", "--from", "dev", "--no-input"])
    assert r.rc == 0, r
    # In front of the catch-all and of the comment that introduces it.
    catch_all = "  # everything else"
    assert (repo / ".sops.yaml").read_text() == config.replace(catch_all, dev_rule_copy(keys) + catch_all)
    assert "placed before creation rule #1" in r.stdout and "which would otherwise match first" in r.stdout
    # sops picked the copy, not the catch-all: dev's key decrypts, the catch-all's does not.
    assert _decrypt(repo, SECRET, keys["dev"][1]).returncode == 0
    assert _decrypt(repo, SECRET, keys["other"][1]).returncode != 0
    supply_notifier_token(repo, "qa")
    assert run(["--repo", repo, "validate", "qa"]).rc == 0


def test_a_rule_that_already_covers_the_new_environment_with_the_same_keys_is_kept(sops_repo: Path):
    before = (sops_repo / ".sops.yaml").read_bytes()  # one rule for every environment
    r = run(["--repo", sops_repo, "new", "qa", "--from", "dev", "--no-input"])
    assert r.rc == 0, r
    assert "already encrypts environments/qa/secrets/ for the same keys; nothing to add" in r.stdout
    assert (sops_repo / ".sops.yaml").read_bytes() == before
    supply_notifier_token(sops_repo, "qa")
    assert (sops_repo / SECRET).exists() and run(["--repo", sops_repo, "validate", "qa"]).rc == 0


@pytest.mark.parametrize("config, reason", [
    (None, "there is no .sops.yaml at the repository root"),
    ("creation_rules:\n  - path_regex: [unclosed\n", ".sops.yaml is not valid YAML at line 3, column 1"),
    ("creation_rules: []\n", ".sops.yaml has an empty creation_rules list"),
    ("creation_rules:\n  - path_regex: ^environments/prod/\n    age: age1qqqq\n",
     ".sops.yaml has no creation rule matching environments/dev/secrets/dev.secret.yaml"),
])
def test_unusable_sops_config_is_explained_and_left_alone(repo: Path, config, reason):
    path = repo / ".sops.yaml"
    if config is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(config)
    r = run(["--repo", repo, "new", "qa", "--from", "dev", "--no-input"])
    assert r.rc == 0, r  # the environment is created; its secret is what is left to do
    assert f".sops.yaml not changed: {reason}" in r.stdout, r
    assert "add a creation rule for environments/qa/secrets/ to .sops.yaml" in r.stdout
    assert path.read_text() == config if config is not None else not path.exists()
    # The secret's note says why it was not created; never an empty reason.
    line = next(l for l in r.stdout.splitlines() if "was not created:" in l)
    reason_text = line.split("was not created:", 1)[1]
    assert reason_text.strip() and not reason_text.lstrip().startswith(";"), line
    assert "created environments/qa/environment.yaml" in r.stdout


def test_new_without_from_adds_a_rule_when_the_repository_has_one_set_of_keys(repo: Path, keys):
    config = ("creation_rules:\n"
              "  - path_regex: ^environments/dev/secrets/\n"
              f"    age: {keys['dev'][0]}\n"
              "  - path_regex: ^environments/prod/secrets/\n"
              f"    age: {keys['dev'][0]}\n")
    (repo / ".sops.yaml").write_text(config)
    from .util import set_args

    r = run(["--repo", repo, "new", "fresh", "--no-input", *set_args({"secrets.provider": "age"})])
    assert r.rc == 0, r
    assert (repo / ".sops.yaml").read_text() == config + (
        "  # fresh: the repository's keys (added by `hubgen new fresh`)\n"
        "  - path_regex: '^environments/fresh/secrets/.*\\.secret\\.yaml$'\n"
        f"    age: {keys['dev'][0]}\n")
    assert _decrypt(repo, "environments/fresh/secrets/fresh.secret.yaml", keys["dev"][1]).returncode == 0
    assert run(["--repo", repo, "validate", "fresh"]).rc == 0


def test_new_without_from_explains_what_to_add_when_the_keys_differ(repo: Path, keys):
    config = per_environment_config(keys)
    config = config[:config.index("  # everything else")]  # dev's key and prod's key: two sets
    (repo / ".sops.yaml").write_text(config)
    from .util import set_args

    r = run(["--repo", repo, "new", "fresh", "--no-input", *set_args({"secrets.provider": "age"})])
    assert r.rc == 0, r
    assert ".sops.yaml not changed: .sops.yaml has 2 different sets of keys, so hubgen cannot tell which ones " \
           "fresh's secrets need; add a creation rule for environments/fresh/secrets/ to .sops.yaml" in r.stdout
    assert (repo / ".sops.yaml").read_text() == config


def test_sops_config_is_restored_when_the_environment_cannot_be_written(repo: Path, keys, monkeypatch):
    from generator.scaffold import environment as E
    from generator.writer import WriteError

    from .util import run_fast

    config = per_environment_config(keys)
    (repo / ".sops.yaml").write_text(config)

    def failing_write(*args, **kwargs):
        raise WriteError("disk full (simulated)")

    monkeypatch.setattr(E, "write", failing_write)
    r = run_fast(["--repo", repo, "new", "qa", "--from", "dev", "--no-input"])
    assert r.rc == 1 and "nothing was written" in r.stderr, r
    assert (repo / ".sops.yaml").read_text() == config
    assert not (repo / "environments/qa").exists()


def test_a_linked_sops_config_is_never_written_through(repo: Path, keys, tmp_path: Path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(per_environment_config(keys))
    (repo / ".sops.yaml").unlink(missing_ok=True)
    (repo / ".sops.yaml").symlink_to(outside)
    r = run(["--repo", repo, "new", "qa", "--from", "dev", "--no-input", "--no-secrets"])
    assert r.rc == 0, r
    assert ".sops.yaml not changed: refusing to read .sops.yaml: it is a symbolic link" in r.stdout
    assert outside.read_text() == per_environment_config(keys)


# --- the fresh clone: the example repository as a team gets it ----------------------------------------------------


@pytest.fixture
def kms_url():
    """A local moto server holding the examples' two KMS keys (same account, region and key id), so that sops can
    encrypt for the example .sops.yaml exactly as it is committed."""
    moto_server = pytest.importorskip("moto.server")
    from moto.kms.models import kms_backends

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            import boto3

            for region, key_id in EXAMPLE_KMS.items():
                kms = boto3.client("kms", endpoint_url=f"http://{host}:{port}", region_name=region,
                                   aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
                made = kms.create_key(Description="stand-in for the example key")["KeyMetadata"]["KeyId"]
                backend = kms_backends[ACCOUNT][region]
                key = backend.keys.pop(made)
                key.id = key_id  # the committed .sops.yaml names this id
                key.arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"
                backend.keys[key_id] = key
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def test_fresh_clone_new_from_dev_validates_at_once(tmp_path: Path, kms_url: str):
    origin = make_repo(tmp_path / "origin")
    git(origin, "add", "-A")
    git(origin, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "the example repository")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    before = (clone / ".sops.yaml").read_text()
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": kms_url,  # noqa
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_EC2_METADATA_DISABLED": "true"}

    r = run(["new", "qa", "--from", "dev", "--no-input"], cwd=clone, env=aws)
    assert r.rc == 0, r
    assert "was not created" not in r.stdout, r
    supply_notifier_token(clone, "qa", env=aws)
    v = run(["validate", "qa"], cwd=clone, env=aws)
    assert v.rc == 0, v
    assert run(["validate"], cwd=clone).rc == 0

    # Every comment and line of the committed file kept; dev's rule copied right after it, renamed.
    prod = before.index("  - path_regex: ^environments/prod/")
    dev_rule = before[before.index("  - path_regex: ^environments/dev/"):prod]
    assert (clone / ".sops.yaml").read_text() == before[:prod] + (
        "  # qa: the keys of dev (added by `hubgen new qa --from dev`)\n"
        + dev_rule.replace("environments/dev/", "environments/qa/")) + before[prod:]
    status = git(clone, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert " M .sops.yaml" in status
    assert all(line == " M .sops.yaml" or line.startswith("?? environments/qa/") for line in status), status
    assert f"?? {SECRET}" in status
    shutil.rmtree(clone / "environments/qa")  # the clone is thrown away with tmp_path anyway
