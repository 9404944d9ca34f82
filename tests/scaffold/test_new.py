"""`hubgen new`: prompts (stdin), --no-input/--set, --from, and refused inputs that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .util import VALID_SETS, set_args, supply_notifier_token

SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/environment.schema.json\n"


def spec_of(repo: Path, env: str) -> dict:
    return yaml.safe_load((repo / "environments" / env / "environment.yaml").read_text(encoding="utf-8"))


def problems(hubgen_fast, repo: Path, *envs: str) -> list[dict]:
    r = hubgen_fast(["--repo", repo, "--format", "json", "validate", *envs])
    assert r.rc in (0, 1), r
    return json.loads(r.stdout)["problems"]


# --- the --no-input path --------------------------------------------------------------------------


def test_no_input_writes_commented_spec_validates_and_renders(hubgen_fast, sops_repo: Path):
    r = hubgen_fast(["--repo", sops_repo, "new", "stage", "--no-input", *set_args()])
    assert r.rc == 0, r
    spec_file = sops_repo / "environments/stage/environment.yaml"
    text = spec_file.read_text(encoding="utf-8")
    assert text.startswith(SCHEMA_LINE)
    # Every field line of the file is explained by a comment somewhere above it in its block.
    assert text.count("\n#") + text.count("  # ") >= 40
    spec = spec_of(sops_repo, "stage")
    assert spec["aws"]["accountId"] == "123456789012"  # a string, not a number
    assert spec["cluster"]["subnets"] == [{"id": "subnet-0123abcd", "availabilityZone": "us-east-1a"},
                                          {"id": "subnet-4567abcd", "availabilityZone": "us-east-1b"}]
    # A version 2 spec: a small core group for the hub and add-ons, a user group that scales from zero in
    # the first subnet's zone, the default StorageClass, the autoscaler, access entries only; no AMI id.
    assert spec["specVersion"] == 2
    cluster = spec["cluster"]
    assert cluster["kubernetesVersion"] == "1.35" and cluster["authenticationMode"] == "API"
    assert cluster["nodeGroups"] == [
        {"name": "core", "purpose": "core", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 3,
         "diskSize": 50},
        {"name": "user", "purpose": "user", "instanceTypes": ["m6i.xlarge"], "capacityType": "on-demand",
         "minSize": 0, "maxSize": 10, "diskSize": 100, "availabilityZone": "us-east-1a"}]
    assert cluster["storage"] == {"classes": [{"name": "gp3", "volumeType": "gp3", "default": True}]}
    assert cluster["autoscaler"] == {"enabled": True}
    assert "nodes" not in cluster and "imageId" not in text
    # Defaults for what has a safe one.
    hub = spec["hubs"][0]
    assert (hub["name"], hub["namespace"], hub["nodePort"]) == ("stage", "stage", 30080)
    assert hub["chart"]["version"] == "4.4.0"
    assert hub["auth"]["allowedUsers"] == ["alice"]
    assert hub["auth"]["allowSharedPasswordAdmins"] is True
    assert spec["cluster"]["stackName"] == "jupyterhub-stage"
    assert spec["tags"] == {"environment": "stage"}
    assert spec["secrets"] == {"provider": "age"}  # what this repository's .sops.yaml encrypts for
    # The shared password was created, encrypted, and the environment validates and is rendered.
    secret = (sops_repo / "environments/stage/secrets/stage.secret.yaml").read_text()
    assert "ENC[AES256_GCM" in secret and "sops:" in secret
    assert problems(hubgen_fast, sops_repo, "stage") == []
    assert (sops_repo / "environments/stage/hubs/stage/helmrelease.yaml").is_file()
    check = hubgen_fast(["--repo", sops_repo, "render", "--check", "stage"])
    assert check.rc == 0, check


def test_set_accepts_any_schema_field_with_its_type(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "new", "typed", "--no-input", "--no-render", *set_args({
        "tags.cost-center": "4711",
        "cluster.nodeGroups.1.maxSize": "6",
        "cluster.nodeGroups.1.instanceTypes": "m6i.2xlarge,m6a.2xlarge",
        "cluster.nodeGroups.1.capacityType": "spot",
        "cluster.nodeGroups.0.imageId": "ami-0123456789abcdef0",
        "cluster.loadBalancer.allowedCidrs": "0.0.0.0/0",
        "cluster.loadBalancer.public": "yes",
        "hubs.0.singleuser.extraEnv.JUPYTER_ENABLE_LAB": "yes",
        "hubs.0.values": "{singleuser: {defaultUrl: /lab}, hub: {config: {x: '{{ not jinja }}'}}}",
        "hubs.0.singleuser.cpu.limit": "1.5",
        "cluster.admins": "arn:aws:iam::123456789012:role/ops,arn:aws:iam::123456789012:user/me",
    })])
    assert r.rc == 0, r
    assert "render it with: hubgen render typed" in r.stdout
    spec = spec_of(repo, "typed")
    assert spec["tags"]["cost-center"] == "4711"
    user = spec["cluster"]["nodeGroups"][1]
    assert (user["maxSize"], user["instanceTypes"], user["capacityType"]) == (6, ["m6i.2xlarge", "m6a.2xlarge"],
                                                                              "spot")
    assert spec["cluster"]["nodeGroups"][0]["imageId"] == "ami-0123456789abcdef0"
    assert spec["cluster"]["loadBalancer"] == {
        "certificateArn": VALID_SETS["cluster.loadBalancer.certificateArn"], "allowedCidrs": ["0.0.0.0/0"],
        "public": True}
    hub = spec["hubs"][0]
    assert hub["singleuser"]["extraEnv"] == {"JUPYTER_ENABLE_LAB": "yes"}
    assert hub["singleuser"]["cpu"] == {"limit": 1.5}
    assert hub["values"] == {"singleuser": {"defaultUrl": "/lab"}, "hub": {"config": {"x": "{{ not jinja }}"}}}
    assert [a["arn"] for a in spec["cluster"]["admins"]] == ["arn:aws:iam::123456789012:role/ops",
                                                             "arn:aws:iam::123456789012:user/me"]
    assert not (repo / "environments/typed/hubs").exists()  # --no-render


def test_switching_auth_type_brings_its_own_fields(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "new", "gh", "--no-input", *set_args({
        "hubs.0.host": "hub.example.org", "hubs.0.auth.type": "github", "hubs.0.auth.oauth.clientId": "Iv1.abc"},
        without=["hubs.0.auth.allowSharedPasswordAdmins"])])
    assert r.rc == 0, r
    auth = spec_of(repo, "gh")["hubs"][0]["auth"]
    assert "passwordSecret" not in auth
    assert auth["oauth"] == {"clientId": "Iv1.abc", "clientSecret": {"name": "gh-oauth", "key": "client-secret"},
                             "callbackUrl": "https://hub.example.org/hub/oauth_callback"}
    # An OAuth client secret is never generated: the person is told how to add it.
    assert "hubgen secrets create gh gh" in r.stdout


def test_json_output(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "--format", "json", "new", "js", "--no-input", *set_args()])
    assert r.rc == 0, r
    doc = json.loads(r.stdout)
    assert doc["command"] == "new" and doc["environments"] == ["js"]
    assert doc["created"][0] == "environments/js/environment.yaml"
    assert "environments/js/hubs/js/helmrelease.yaml" in doc["created"]


def test_set_value_of_a_whole_list_is_final(hubgen_fast, repo: Path):
    """`--set cluster.nodeGroups=[...]` is the whole list: no default group is added to it (a single-group
    environment, like dev, where notebook servers share the core nodes)."""
    only_core = "[{name: main, purpose: core, instanceTypes: [m5.xlarge], minSize: 1, maxSize: 4}]"
    r = hubgen_fast(["--repo", repo, "new", "single", "--no-input", "--no-render",
                     *set_args({"cluster.nodeGroups": only_core})])
    assert r.rc == 0, r
    assert spec_of(repo, "single")["cluster"]["nodeGroups"] == [
        {"name": "main", "purpose": "core", "instanceTypes": ["m5.xlarge"], "minSize": 1, "maxSize": 4}]


def test_generic_oauth_asks_for_scopes_and_groups(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "new", "oidc", "--no-input", "--no-render", *set_args({
        "hubs.0.host": "hub.example.org", "hubs.0.auth.type": "generic-oauth", "hubs.0.auth.oauth.clientId": "hub",
        "hubs.0.auth.oauth.authorizeUrl": "https://id.example.org/auth",
        "hubs.0.auth.oauth.tokenUrl": "https://id.example.org/token",
        "hubs.0.auth.oauth.userdataUrl": "https://id.example.org/userinfo",
        "hubs.0.auth.oauth.groups.allowed": "staff,students", "hubs.0.auth.oauth.groups.admin": "hub-admins",
    }, without=["hubs.0.auth.allowSharedPasswordAdmins"])])
    assert r.rc == 0, r
    auth = spec_of(repo, "oidc")["hubs"][0]["auth"]
    assert auth["oauth"]["scope"] == ["openid", "profile", "email"]
    assert auth["oauth"]["groups"] == {"allowed": ["staff", "students"], "admin": ["hub-admins"]}
    assert "allowSharedPasswordAdmins" not in auth  # only for the shared-password login


# --- prompts on stdin -------------------------------------------------------------------------------


def test_prompts_from_stdin_reask_bad_answers(hubgen, repo: Path):
    answers = [
        "",  # tier [staging]
        "Course hub for 2027",  # description
        "12345",  # account id: refused (not 12 digits), asked again
        "123456789012",
        "us-east-1",
        "arn:aws:iam::123456789012:role/hub-deploy",
        "",  # stack name [jupyterhub-course]
        "",  # kubernetes version [default]
        "vpc-0123abcd",
        "subnet-0123abcd:us-east-1a",  # one subnet only: refused (at least 2)
        "subnet-0123abcd:us-east-1a,subnet-zzz:us-east-1b",  # invalid id: refused
        "subnet-0123abcd:us-east-1a,subnet-4567abcd:us-east-1b",
        "",  # core instance type [m6i.large]
        "m6i.2xlarge,m6a.2xlarge",  # user instance types
        "spot",  # user capacity type [on-demand]
        "twenty",  # user max size: refused (not an integer), asked again
        "20",
        "us-east-1b",  # user nodes' zone [us-east-1a]
        "arn:aws:acm:us-east-1:123456789012:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5",
        "0.0.0.0/0",  # open to the internet...
        "no",  # ...not acknowledged: HG209 after the last answer, asked again below
        "",  # cluster admins (optional)
        "",  # secrets provider [kms]
        "",  # host (optional)
        "",  # login [dummy]
        "alice,bob",  # hub admins
        "yes",  # shared-password admins acknowledged [no]
        "carol",  # allowed users without the admins: HG206 after the last answer
        "",  # image name
        "",  # image tag
        "",  # IRSA role (optional)
        "https://github.com/example/notebooks.git",  # gitpuller repo
        "",  # branch [main]
        # -- answered again after the whole-spec validation:
        "203.0.113.0/24",  # allowed CIDRs
        "alice,bob,carol",  # allowed users
    ]
    r = hubgen(["--repo", repo, "new", "course"], input="\n".join(answers) + "\n")
    assert r.rc == 0, r
    assert "invalid aws.accountId: '12345' is not valid" in r.stderr
    assert "invalid cluster.subnets: at least 2 entries, got 1" in r.stderr
    assert "'subnet-zzz' is not valid" in r.stderr
    assert "invalid cluster.nodeGroups.1.maxSize: 'twenty' is not of type integer" in r.stderr
    assert "AMI" not in r.stderr  # AMIs come from AWS's public SSM parameters for the version
    assert "HG209" in r.stderr and "HG206" in r.stderr and "Please answer again" in r.stderr
    spec = spec_of(repo, "course")
    assert spec["description"] == "Course hub for 2027"
    assert spec["aws"]["accountId"] == "123456789012"
    assert [s["id"] for s in spec["cluster"]["subnets"]] == ["subnet-0123abcd", "subnet-4567abcd"]
    core, user = spec["cluster"]["nodeGroups"]
    assert (core["name"], core["instanceTypes"], core["minSize"], core["maxSize"]) == ("core", ["m6i.large"], 1, 3)
    assert (user["instanceTypes"], user["capacityType"], user["minSize"], user["maxSize"],
            user["availabilityZone"]) == (["m6i.2xlarge", "m6a.2xlarge"], "spot", 0, 20, "us-east-1b")
    assert spec["hubs"][0]["auth"]["allowSharedPasswordAdmins"] is True
    assert spec["cluster"]["loadBalancer"]["allowedCidrs"] == ["203.0.113.0/24"]
    assert "public" not in spec["cluster"]["loadBalancer"]
    assert spec["hubs"][0]["auth"]["allowedUsers"] == ["alice", "bob", "carol"]
    assert spec["hubs"][0]["singleuser"]["gitpuller"] == {
        "repo": "https://github.com/example/notebooks.git", "branch": "main", "targetDir": "notebooks"}
    assert (repo / "environments/course/hubs/course/helmrelease.yaml").is_file()


def test_prompts_end_of_input_writes_nothing(hubgen, repo: Path, snapshot):
    before = snapshot(repo)
    r = hubgen(["--repo", repo, "new", "eof"], input="\n\n123456789012\nus-east-1\n")
    assert r.rc == 1, r
    assert "aborted; nothing was written" in r.stderr
    assert snapshot(repo) == before


# --- refused inputs: nothing is written ------------------------------------------------------------


@pytest.mark.parametrize("case, args, rc, expect", [
    ("invalid subnet id", ["new", "x", "--no-input", *set_args({"cluster.subnets":
                                                                 "subnet-0123abcd:us-east-1a,subnet-12:us-east-1b"})],
     1, ["HG104", "cluster.subnets[1].id", "nothing was written"]),
    ("subnet without zone", ["new", "x", "--no-input", *set_args({"cluster.subnets": "subnet-0123abcd,subnet-4567abcd"})],
     1, ["HG101", "availabilityZone"]),
    ("duplicate environment name", ["new", "dev", "--no-input", *set_args()],
     2, ["environment 'dev' already exists"]),
    ("stack name clash, same account and region", ["new", "x", "--no-input", *set_args({
        "aws.accountId": "553778890976", "cluster.stackName": "jupyter-dev",
        "aws.deployRoleArn": "arn:aws:iam::553778890976:role/hub-deploy",
        "cluster.loadBalancer.certificateArn":
            "arn:aws:acm:us-east-1:553778890976:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5"})],
     1, ["HG204", "already deployed by environment 'dev'"]),
    ("stack name clash across regions (IAM names are global)", ["new", "x", "--no-input", *set_args({
        "aws.accountId": "553778890976", "cluster.stackName": "JUPYTER-PROD",
        "aws.deployRoleArn": "arn:aws:iam::553778890976:role/hub-deploy",
        "cluster.loadBalancer.certificateArn":
            "arn:aws:acm:us-east-1:553778890976:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5"})],
     1, ["HG204", "environment 'prod'"]),
    ("certificate in another region", ["new", "x", "--no-input", *set_args({
        "cluster.loadBalancer.certificateArn":
            "arn:aws:acm:eu-west-1:123456789012:certificate/862ecb20-8df6-458a-b45d-bc03b9b02af5"})],
     1, ["HG207"]),
    ("invalid environment name", ["new", "Bad_Name", "--no-input", *set_args()], 2, ["not a valid environment name"]),
    ("unknown --set key", ["new", "x", "--no-input", *set_args({"cluster.vpcid": "vpc-0123abcd"})],
     2, ["did you mean 'cluster.vpcId'"]),
    ("missing values", ["new", "x", "--no-input", *set_args(without=["aws.accountId", "cluster.vpcId"])],
     2, ["no value for: aws.accountId", "cluster.vpcId"]),
    ("unknown --from", ["new", "x", "--from", "nope", "--no-input"], 2, ["no environment 'nope'"]),
    ("version 1 key", ["new", "x", "--no-input", *set_args({"cluster.nodes.imageId": "ami-0123abcd"})],
     2, ["no 'nodes' in cluster; did you mean 'cluster.nodeGroups'"]),
    ("node group zone without a subnet", ["new", "x", "--no-input", *set_args({
        "cluster.nodeGroups.1.availabilityZone": "us-east-1c"})], 1, ["HG234"]),
])
def test_refused_input_writes_nothing(hubgen_fast, repo: Path, snapshot, case, args, rc, expect):
    before = snapshot(repo)
    r = hubgen_fast(["--repo", repo, *args])
    assert r.rc == rc, r
    for text in expect:
        assert text in r.output, (case, r)
    assert "Traceback" not in r.output
    assert snapshot(repo) == before, case


# --- --from ------------------------------------------------------------------------------------------


def test_from_dev_makes_what_must_differ_unique(hubgen_fast, sops_repo: Path):
    before = problems(hubgen_fast, sops_repo)
    r = hubgen_fast(["--repo", sops_repo, "new", "a", "--from", "dev", "--no-input"])
    assert r.rc == 0, r
    dev, a = spec_of(sops_repo, "dev"), spec_of(sops_repo, "a")
    assert a["name"] == "a" and a["tier"] == dev["tier"]
    assert a["cluster"]["stackName"] == "jupyter-a"
    assert a["tags"]["environment"] == "a"
    assert (a["hubs"][0]["name"], a["hubs"][0]["namespace"]) == ("a", "a")
    # Everything else is the source's.
    assert a["cluster"]["subnets"] == dev["cluster"]["subnets"]
    assert a["hubs"][0]["singleuser"] == dev["hubs"][0]["singleuser"]
    assert a["aws"] == dev["aws"]
    after = problems(hubgen_fast, sops_repo)
    # No collisions: nothing new on the existing environments, no cross-environment problem, and the
    # newcomer has at most what its source has itself in this copy (e.g. a missing secret file).
    assert [p for p in after if p["environment"] != "a"] == before
    assert not [p for p in after if p["code"].startswith("HG2")]
    dev_codes = {p["code"] for p in before if p["environment"] == "dev"}
    # ... apart from the github notifier's token, which only a person can supply (the one thing left to do).
    newcomer = [p for p in after if p["environment"] == "a"]
    assert {p["code"] for p in newcomer if "notifier" not in p["message"]} <= dev_codes
    assert [p["code"] for p in newcomer if "notifier" in p["message"]] in ([], ["HG305"])
    if not before:
        supply_notifier_token(sops_repo, "a")
        assert hubgen_fast(["--repo", sops_repo, "validate"]).rc == 0
    assert hubgen_fast(["--repo", sops_repo, "render", "--check"]).rc == 0


def test_from_prod_changes_hosts_and_callbacks_and_says_what_to_do(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "new", "b", "--from", "prod", "--no-input"])
    assert r.rc == 0, r
    prod, b = spec_of(repo, "prod"), spec_of(repo, "b")
    assert b["cluster"]["stackName"] == "jupyter-b"
    hosts = [h["host"] for h in b["hubs"]]
    assert hosts == ["course-b.jupyter.asf.alaska.edu", "research-b.jupyter.asf.alaska.edu"]
    assert not set(hosts) & {h["host"] for h in prod["hubs"]}
    assert [h["auth"]["oauth"]["callbackUrl"] for h in b["hubs"]] == [
        f"https://{h}/hub/oauth_callback" for h in hosts]
    # Namespaces and node ports are per cluster: the new environment is its own cluster, they stay.
    assert [(h["namespace"], h["nodePort"]) for h in b["hubs"]] == [(h["namespace"], h["nodePort"])
                                                                     for h in prod["hubs"]]
    assert b["hubs"][1]["values"] == prod["hubs"][1]["values"]
    assert "must accept the callback URL https://course-b.jupyter.asf.alaska.edu/hub/oauth_callback" in r.stdout
    assert "hubgen secrets create b course" in r.stdout
    assert not [p for p in problems(hubgen_fast, repo) if p["code"].startswith("HG2")]


def test_from_keeps_stack_names_unique_in_the_account(hubgen_fast, repo: Path):
    # A third environment already uses the name `--from dev` would derive for "x".
    other = (repo / "environments/dev/environment.yaml").read_text().replace("jupyter-dev", "jupyter-x")
    other = other.replace("name: dev\n", "name: other\n").replace("  - name: dev\n    namespace: dev\n",
                                                                   "  - name: other\n    namespace: other\n")
    (repo / "environments/other").mkdir()
    (repo / "environments/other/environment.yaml").write_text(other)
    r = hubgen_fast(["--repo", repo, "new", "x", "--from", "dev", "--no-input", "--no-render"])
    assert r.rc == 0, r
    assert spec_of(repo, "x")["cluster"]["stackName"] == "jupyter-x-2"
    assert not [p for p in problems(hubgen_fast, repo) if p["code"] == "HG204"]


def test_from_with_set_overrides(hubgen_fast, repo: Path):
    r = hubgen_fast(["--repo", repo, "new", "c", "--from", "prod", "--no-input", "--no-render",
                     "--set", "tier=staging", "--set", "hubs.1.nodePort=30090", "--set", "hubs.0.auth.type=dummy",
                     "--set", "hubs.0.auth.allowSharedPasswordAdmins=yes"])
    assert r.rc == 0, r
    c = spec_of(repo, "c")
    assert c["tier"] == "staging" and c["hubs"][1]["nodePort"] == 30090
    assert c["hubs"][0]["auth"]["passwordSecret"] == {"name": "hub-auth", "key": "password"}
    assert "oauth" not in c["hubs"][0]["auth"]


def test_from_switching_to_the_shared_password_asks_for_the_admin_acknowledgement(hubgen_fast, repo: Path, snapshot):
    """The copy gains the acknowledgement field (the source's github login had none), set to no: the admins
    of a shared-password hub are refused until someone says yes (HG241), and nothing is written."""
    before = snapshot(repo)
    r = hubgen_fast(["--repo", repo, "new", "c", "--from", "prod", "--no-input", "--set", "hubs.0.auth.type=dummy"])
    assert r.rc == 1, r
    assert "HG241" in r.output and "nothing was written" in r.output
    assert snapshot(repo) == before


def test_from_copies_the_version_2_platform_as_it_is(hubgen_fast, repo: Path):
    """Node groups, storage, access mode, profiles and operators are per cluster: the copy keeps them all,
    and gains no default it did not have (no user group for dev, no capacityType for prod's groups)."""
    for source in ("dev", "prod"):
        r = hubgen_fast(["--repo", repo, "new", f"copy-{source}", "--from", source, "--no-input", "--no-render"])
        assert r.rc == 0, r
        src, copy = spec_of(repo, source), spec_of(repo, f"copy-{source}")
        assert copy["specVersion"] == 2
        for key in ("kubernetesVersion", "authenticationMode", "nodeGroups", "storage", "autoscaler"):
            assert copy["cluster"].get(key) == src["cluster"].get(key), (source, key)
        for mine, theirs in zip(copy["hubs"], src["hubs"]):
            assert (mine.get("profiles"), mine.get("operators")) == (theirs.get("profiles"), theirs.get("operators"))
            assert mine["auth"].get("allowSharedPasswordAdmins") == theirs["auth"].get("allowSharedPasswordAdmins")
            assert mine["auth"].get("oauth", {}).get("scope") == theirs["auth"].get("oauth", {}).get("scope")


@pytest.mark.parametrize("version, code, says", [
    (None, "HG011", "`hubgen upgrade old`"),
    (1, "HG011", "`hubgen upgrade old`"),
    (3, "HG012", "newer than this hubgen"),
])
def test_from_a_spec_of_another_version_is_refused(hubgen_fast, repo: Path, snapshot, version, code, says):
    """--from copies a spec of this version only: a version 1 spec (its `cluster.nodes`) is upgraded first."""
    text = (repo / "environments/dev/environment.yaml").read_text()
    assert text.count("specVersion: 2\n") == 1
    text = text.replace("specVersion: 2\n", "" if version is None else f"specVersion: {version}\n")
    (repo / "environments/old").mkdir()
    (repo / "environments/old/environment.yaml").write_text(text.replace("name: dev\n", "name: old\n", 1))
    before = snapshot(repo)
    r = hubgen_fast(["--repo", repo, "new", "x", "--from", "old", "--no-input"])
    assert r.rc == 1, r
    assert code in r.output and says in r.output and "nothing was written" in r.output
    assert snapshot(repo) == before
