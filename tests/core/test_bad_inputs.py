"""Bad input: every way a spec can be wrong, with the exact code and file:line:column hubgen must report.

Each case is a mutation of the committed dev example (or raw file content, or a second environment), and
names what hubgen must say: code, file and position -- the position computed by searching the mutated text
for the offending key or value, never hard-coded, so a case cannot silently go stale when the example
changes (``replace_once`` also fails loudly when its anchor text disappears).

For every case, on a fresh copy of the repository, both ``hubgen validate`` (text output) and ``hubgen
render`` (JSON output) must:

* exit 1 (0 when the case only produces warnings),
* report every expected problem as ``file:line:column: severity CODE`` and, unless a case says otherwise,
  no other problem codes (no noise),
* never show a traceback,
* leave every file of the repository exactly as it was (whole tree hashed before and after; for a
  warning-only case `render` writes, but only that environment's generated files).

The suite runs the CLI in-process (typer's CliRunner, ``invoke_hubgen``) for speed; the loader-level cases
(the nasty byte streams) additionally go through the real console script in a subprocess.

``CASES`` is imported by tests/core/test_docs.py: every HG2xx/HG3xx code must be exercised here, so a new
check without a bad-input case fails the suite.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.loader import MAX_DEPTH
from generator.paths import GENERATED_DIRS

from .badinput import (ACCOUNT, AWS_SECRET, BILLION_LAUGHS, Case, DEV, DEV2, DEV_SECRET, EXTRA_SECRET, Expect,
                       GITHUB_TOKEN, OAUTH_BLOCK, PLAIN_SECRET, PNG, PRIVATE_KEY, STACK_LINE, _invalid_utf8, at, chain,
                       dev, dev_hubs, dev_text, insert_after, replace_line, second_env, start, sub)
from .specs import REPO_ROOT, replace_once



def _acknowledged(text: str) -> str:
    """The hubs :func:`badinput.hub` adds log in with the shared password and name admins: acknowledge that
    (HG241), as the dev hub does, so that each case reports only the rule it is about."""
    return text.replace("        key: password\n      admins:\n",
                        "        key: password\n      allowSharedPasswordAdmins: true\n      admins:\n")


def more_hubs(*hubs: dict, edit=None):
    """:func:`badinput.dev_hubs`, with the added hubs' shared-password admins acknowledged."""
    return dev_hubs(*hubs, edit=chain(_acknowledged, edit) if edit else _acknowledged)

CASES: list[Case] = [
    # --- HG0xx: reading the file ------------------------------------------------------------------------------
    Case("yaml-syntax-error", dev(sub("  stackName: jupyter-dev\n", "  stackName: jupyter-dev: x\n")),
         (Expect("HG001", at(": x", within="  stackName: jupyter-dev: x\n"), contains=("mapping values",)),),
         subprocess=True),
    Case("control-character", dev(sub("description: ASF JupyterHub", "description: ASF Jupyter\x07Hub")),
         (Expect("HG001", at("\x07"), contains=("U+0007",)),)),
    Case("non-string-key", dev(insert_after("tags:\n", "  2024: x\n")),
         (Expect("HG001", at("2024"), contains=("quote it",)),)),
    Case("nesting-too-deep", dev(sub("\ntags:\n", "\nx: " + "[" * 150 + "]" * 150 + "\ntags:\n")),
         (Expect("HG001", at("[", within="\nx: [", shift=MAX_DEPTH - 1), contains=("nesting too deep",)),),
         subprocess=True),
    Case("duplicate-key-top", dev(insert_after("tier: staging\n", "tier: production\n")),
         (Expect("HG002", at("tier: production"), contains=("duplicate key 'tier'",)),)),
    Case("duplicate-key-nested", dev(insert_after("      maxSize: 4\n", "      maxSize: 5\n")),
         (Expect("HG002", at("maxSize: 5"), contains=("first defined at line",)),), subprocess=True),
    Case("anchor-and-alias", dev(sub("  project: asf-jupyter-hub\n", "  project: &p asf-jupyter-hub\n  owner: *p\n")),
         (Expect("HG003", at("&p"), contains=("anchor '&p'",)), Expect("HG003", at("*p"), contains=("alias",)))),
    Case("anchor-on-mapping", dev(sub("  nodeGroups:\n", "  nodeGroups: &groups\n")),
         (Expect("HG003", at("&groups")),)),
    Case("merge-key", dev(insert_after("tags:\n", "  <<: {a: b}\n")), (Expect("HG003", at("<<")),)),
    Case("python-tag", dev(sub("  vpcId: vpc-4da21e37", '  vpcId: !!python/object/apply:os.system ["echo hi"]')),
         (Expect("HG003", at("!!python"), contains=("explicit tag",)),), subprocess=True),
    Case("billion-laughs", lambda: {DEV: BILLION_LAUGHS}, (Expect("HG003", at("&a")),), subprocess=True),
    Case("tab-indentation", dev(sub("      maxSize: 4\n", "    \t  maxSize: 4\n")),
         (Expect("HG004", at("\t")),), subprocess=True),
    Case("top-level-list", lambda: {DEV: "- name: dev\n- tier: staging\n"},
         (Expect("HG005", start(), contains=("a list",)),), subprocess=True),
    Case("empty-file", lambda: {DEV: ""}, (Expect("HG005", start(), contains=("empty",)),), subprocess=True),
    Case("comments-only", lambda: {DEV: "# yaml-language-server: $schema=x\n# nothing yet\n"},
         (Expect("HG005", start(), contains=("empty",)),)),
    Case("two-documents", dev(lambda t: t + "---\nname: other\n"),
         (Expect("HG006", at("---", within="\n---\nname: other")),), subprocess=True),
    Case("file-300-kib", dev(lambda t: t + "# " + "x" * (300 * 1024) + "\n"),
         (Expect("HG007", start(), contains=("256 KiB",)),), subprocess=True),
    Case("binary-png", lambda: {DEV: PNG}, (Expect("HG008", start(), contains=("0x89",)),), subprocess=True),
    Case("invalid-utf8", dev(_invalid_utf8), (Expect("HG008", at("\ufffd"), contains=("0xff",)),),
         subprocess=True),
    Case("nul-byte", dev(lambda t: t.encode().replace(b"\ntags:\n", b"\ntags:\x00\n")),
         (Expect("HG008", at("\x00"), contains=("NUL",)),)),
    Case("utf16", dev(lambda t: t.encode("utf-16")), (Expect("HG008", start(), contains=("UTF-16",)),)),
    # --- HG1xx: schema ---------------------------------------------------------------------------------------
    Case("string-for-int", dev(sub("      minSize: 1\n", '      minSize: "1"\n')),
         (Expect("HG103", at('"1"'), contains=("must be of type integer", "got string")),)),
    Case("int-for-string-account-id", dev(sub(f'  accountId: "{ACCOUNT}"', f"  accountId: {ACCOUNT}")),
         (Expect("HG103", at(ACCOUNT, within=f"  accountId: {ACCOUNT}\n"), contains=("got integer", "quote")),)),
    Case("string-for-bool", dev(sub("      enabled: true\n", '      enabled: "on"\n')),
         (Expect("HG103", at('"on"'), contains=("boolean",)),)),
    Case("list-for-object", dev(sub("tags:\n  project: asf-jupyter-hub\n  environment: dev\n",
                                    "tags: [asf-jupyter-hub, dev]\n")),
         (Expect("HG103", at("[asf-jupyter-hub"), contains=("object",)),)),
    Case("missing-top-level-field", dev(sub("tier: staging\n", "")),
         (Expect("HG101", at("specVersion: 2\n"), contains=("'tier'",)),)),
    Case("missing-nested-field", dev(sub("  vpcId: vpc-4da21e37\n", "")),
         (Expect("HG101", at("cluster:"), contains=("'vpcId'", "in cluster")),)),
    Case("missing-field-in-list-item", dev(sub("        tag: build.23\n", "")),
         (Expect("HG101", at("image:", within="      image:\n"), contains=("'tag'", "hubs[0].singleuser.image")),)),
    Case("unknown-key-top-level", dev(insert_after("tier: staging\n", "descripton: typo\n")),
         (Expect("HG102", at("descripton"), contains=("did you mean 'description'",)),)),
    Case("unknown-key-nested", dev(insert_after("      diskSize: 100\n", "      diskSzie: 100\n")),
         (Expect("HG102", at("diskSzie"), contains=("did you mean 'diskSize'",)),)),
    Case("unknown-key-list-item", dev(sub("      availabilityZone: us-east-1b\n",
                                          "      availabilityzone: us-east-1b\n")),
         (Expect("HG102", at("availabilityzone"), contains=("cluster.subnets[1].availabilityzone",
                                                             "did you mean 'availabilityZone'")),)),
    Case("unknown-key-in-hub", dev(insert_after("    nodePort: 30052\n", "    colour: blue\n")),
         (Expect("HG102", at("colour"), contains=("hubs[0].colour", "Allowed here: ")),)),
    Case("bad-role-arn", dev(sub(f"deployRoleArn: arn:aws:iam::{ACCOUNT}:role/jupyter-hub-build",
                                 f"deployRoleArn: arn:aws:iam::{ACCOUNT}:jupyter-hub-build")),
         (Expect("HG104", at(f"arn:aws:iam::{ACCOUNT}:jupyter-hub-build"), contains=("IAM role ARN",)),)),
    Case("bad-vpc-id", dev(sub("vpc-4da21e37", "vpc-4da21e3")), (Expect("HG104", at("vpc-4da21e3")),)),
    Case("bad-subnet-id-second-item", dev(sub("subnet-4388e824", "subnet-4388e82x")),
         (Expect("HG104", at("subnet-4388e82x"), contains=("cluster.subnets[1].id",)),)),
    Case("bad-cidr", dev(sub("      - 0.0.0.0/0\n", "      - 10.0.0.0/33\n")),
         (Expect("HG104", at("10.0.0.0/33"), contains=("CIDR",)),)),
    Case("bad-account-id", dev(sub(f'  accountId: "{ACCOUNT}"', '  accountId: "55377889097"')),
         (Expect("HG104", at('"55377889097"'), contains=("12-digit",)),)),
    Case("namespace-not-dns1123", dev(sub("    namespace: dev\n", "    namespace: Dev_NS\n")),
         (Expect("HG104", at("Dev_NS"), contains=("DNS-1123",)),)),
    Case("chart-version-wildcard", dev(sub("      version: 4.4.0\n", "      version: 4.x\n")),
         (Expect("HG211", at("4.x"), contains=("exact",)),)),
    Case("chart-version-range", dev(sub("      version: 4.4.0\n", '      version: "^4.4.0"\n')),
         (Expect("HG211", at('"^4.4.0"'), contains=("4.4.0",)),)),
    Case("tier-enum", dev(sub("tier: staging\n", "tier: prodution\n")),
         (Expect("HG105", at("prodution"), contains=("Did you mean 'production'",)),)),
    Case("auth-type-enum", dev(sub("      type: dummy\n", "      type: oauth\n")),
         (Expect("HG105", at("oauth", within="      type: oauth\n"), contains=("dummy, github, generic-oauth",)),)),
    Case("node-port-below-range", dev(sub("    nodePort: 30052\n", "    nodePort: 29999\n")),
         (Expect("HG106", at("29999"), contains=("30000",)),)),
    Case("node-port-above-range", dev(sub("    nodePort: 30052\n", "    nodePort: 32768\n")),
         (Expect("HG106", at("32768"), contains=("32767",)),)),
    Case("disk-size-too-small", dev(sub("      diskSize: 100\n", "      diskSize: 10\n")),
         (Expect("HG106", at("10", within="      diskSize: 10\n"), contains=("20",)),)),
    Case("too-many-cidrs", dev(sub("      - 0.0.0.0/0\n", "      - 0.0.0.0/0\n      - 10.0.0.0/8\n      - 10.1.0.0/16\n"
                                   "      - 10.2.0.0/16\n")),
         (Expect("HG106", at("- 0.0.0.0/0"), contains=("too long",)),)),
    Case("oauth-with-dummy-auth", dev(insert_after("        key: password\n", OAUTH_BLOCK)),
         (Expect("HG107", at("oauth:"), contains=("'oauth' is not allowed",)),)),
    Case("duplicate-list-item", dev(sub("      allowedUsers:\n        - admin\n",
                                        "      allowedUsers:\n        - admin\n        - admin\n")),
         (Expect("HG107", at("- admin", within="      allowedUsers:\n        - admin\n        - admin\n"),
                 contains=("unique",)),)),
    # --- HG2xx: semantic checks --------------------------------------------------------------------------------
    Case("node-group-min-above-max", dev(sub("      minSize: 1\n", "      minSize: 5\n")),
         (Expect("HG201", at("5", within="      minSize: 5\n"),
                 contains=("node group 'core': minSize (5) is greater than maxSize (4)", "maxSize to at least 5")),)),
    Case("node-port-clash", more_hubs(dict(name="second", port=30052)),
         (Expect("HG202", at("30052", 2), contains=("already used by hub 'dev'",)),)),
    Case("namespace-clash", more_hubs(dict(name="second", namespace="dev")),
         (Expect("HG203", at("dev", within="    namespace: dev\n", within_occurrence=2),
                 contains=("namespace 'dev'",)),)),
    Case("reserved-namespace",
         lambda: {DEV: replace_once(dev_text(), "    namespace: dev\n", "    namespace: kube-system\n"),
                  DEV_SECRET: replace_once((REPO_ROOT / DEV_SECRET).read_text(), "namespace: dev\n",
                                           "namespace: kube-system\n")},
         (Expect("HG203", at("kube-system"), contains=("reserved",)),)),
    Case("stack-name-clash-same-region", second_env(lambda t: t),
         (Expect("HG204", at("jupyter-dev", within=STACK_LINE), file=DEV2,
                 contains=("already deployed by environment 'dev'",)),)),
    Case("stack-name-clash-other-region", second_env(lambda t: t.replace("us-east-1", "us-west-2")),
         (Expect("HG204", at("jupyter-dev", within=STACK_LINE), file=DEV2, contains=("IAM names are global",)),)),
    Case("folder-differs-from-name", dev(sub("\nname: dev\n", "\nname: dev-x\n")),
         (Expect("HG205", at("dev-x"), contains=("folder 'dev'",)),)),
    Case("admin-not-allowed-second-item", dev(sub("      admins:\n        - admin\n",
                                                  "      admins:\n        - admin\n        - root\n")),
         (Expect("HG206", at("root"), contains=("admin 'root'",)),)),
    Case("certificate-other-region", dev(sub(f"arn:aws:acm:us-east-1:{ACCOUNT}", f"arn:aws:acm:us-west-2:{ACCOUNT}")),
         (Expect("HG207", at("arn:aws:acm:us-west-2"), contains=("us-west-2", "us-east-1")),)),
    Case("arn-in-other-account-is-a-warning", dev(sub(f"arn:aws:iam::{ACCOUNT}:role/jupyter-dev-notebook",
                                                      "arn:aws:iam::210987654321:role/jupyter-dev-notebook")),
         (Expect("HG208", at("arn:aws:iam::210987654321"), contains=("account 210987654321",)),),
         warning_only=True),
    Case("open-load-balancer-second-cidr",
         dev(chain(sub("    public: true\n", ""),
                   sub("      - 0.0.0.0/0\n", "      - 10.0.0.0/8\n      - 0.0.0.0/0\n"))),
         (Expect("HG209", at("0.0.0.0/0"), contains=("public: true",)),)),
    Case("latest-image-tag", dev(sub("        tag: build.23\n", "        tag: latest\n")),
         (Expect("HG210", at("latest"), contains=("mutable",)),)),
    Case("subnets-in-one-zone",
         dev(sub("      availabilityZone: us-east-1b\n", "      availabilityZone: us-east-1a\n")),
         (Expect("HG212", at("- id: subnet-39a09073"), contains=("two availability zones",)),)),
    Case("zone-not-in-region-second-subnet", dev(sub("      availabilityZone: us-east-1b\n",
                                                     "      availabilityZone: us-west-2b\n")),
         (Expect("HG213", at("us-west-2b"), contains=("us-west-2b", "subnet-4388e824")),)),
    Case("hub-name-clash", more_hubs(dict(name="dev", namespace="dev2", port=30053, host="two.example.org")),
         (Expect("HG214", at("dev", within="  - name: dev\n", within_occurrence=2), contains=("hubs[0]",)),)),
    Case("second-hub-without-host", more_hubs(dict(name="second", host=None)),
         (Expect("HG215", at("second", within="  - name: second\n"), contains=("needs a `host`",)),)),
    Case("duplicate-host-third-hub", more_hubs(dict(name="second", port=30053, host="hub.example.org"),
                                              dict(name="third", port=30054, host="hub.example.org")),
         (Expect("HG215", at("hub.example.org", 2), contains=("already used by hub 'second'",)),)),
    Case("duplicate-subnet", dev(sub("    - id: subnet-4388e824\n", "    - id: subnet-39a09073\n")),
         (Expect("HG216", at("subnet-39a09073", 2), contains=("listed twice",)),)),
    Case("deploy-role-as-admin", dev(sub("    - arn: arn:aws:iam::553778890976:role/jupyter-hub-admin\n",
                                         "    - arn: arn:aws:iam::553778890976:role/jupyter-hub-build\n")),
         (Expect("HG217", at("arn:aws:iam::553778890976:role/jupyter-hub-build", 2), contains=("deploy role",)),)),
    Case("admin-listed-twice", dev(insert_after("      username: jupyter-hub-admin\n",
                                                f"    - arn: arn:aws:iam::{ACCOUNT}:role/jupyter-hub-admin\n"
                                                "      username: other-name\n")),
         (Expect("HG217", at(f"arn:aws:iam::{ACCOUNT}:role/jupyter-hub-admin", 2), contains=("more than once",)),)),
    # --- HG3xx: secrets -------------------------------------------------------------------------------------
    Case("password-in-values", dev(lambda t: t + "    values:\n      hub:\n        config:\n"
                                              "          DummyAuthenticator:\n            password: hunter2\n"),
         (Expect("HG301", at("hunter2"), contains=("hubs[0].values.hub.config.DummyAuthenticator.password",)),
          Expect("HG218", at("password", within="            password: hunter2\n")))),
    Case("secret-token-in-values", dev(lambda t: t + "    values:\n      proxy:\n        secretToken: 0123abcd\n"),
         (Expect("HG301", at("0123abcd")),)),
    Case("aws-secret-key-value", dev(insert_after("        capacity: 10Gi\n",
                                                  f"      extraEnv:\n        S3_HELPER: {AWS_SECRET}\n")),
         (Expect("HG301", at(AWS_SECRET), contains=("AWS secret access key",)),)),
    Case("private-key-block", dev(replace_line("description: ", f'description: "{PRIVATE_KEY} MIIEowIBAAKCAQEA"')),
         (Expect("HG301", at(f'"{PRIVATE_KEY}'), contains=("private key",)),)),
    Case("github-token", dev(insert_after("  environment: dev\n", f"  note: {GITHUB_TOKEN}\n")),
         (Expect("HG301", at(GITHUB_TOKEN), contains=("GitHub token",)),)),
    Case("aws-access-key-in-extra-env",
         dev(insert_after("        capacity: 10Gi\n",
                          "      extraEnv:\n        AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n")),  # pragma: allowlist secret
         (Expect("HG302", at("AWS_ACCESS_KEY_ID"), contains=("awsRoleArn",)),)),
    Case("aws-keys-in-values-extra-env", dev(lambda t: t + "    values:\n      singleuser:\n        extraEnv:\n"
                                                        "          AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n"  # pragma: allowlist secret
                                                        f"          AWS_SECRET_ACCESS_KEY: {AWS_SECRET}\n"),
         (Expect("HG302", at("AWS_ACCESS_KEY_ID")), Expect("HG302", at("AWS_SECRET_ACCESS_KEY")))),
    # --- HG304-HG307: secret files beside the spec (read by `validate`; `render` reads only the spec) -----------
    Case("referenced-secret-missing", dev(sub("        name: hub-auth\n", "        name: hub-login\n")),
         (Expect("HG305", at("hub-login"), contains=("does not define a Secret 'hub-login'",)),), files_only=True),
    Case("referenced-secret-key-missing", dev(sub("        key: password\n", "        key: passwd\n")),
         (Expect("HG305", at("passwd"), contains=("key 'passwd'",)),), files_only=True),
    Case("secret-file-not-encrypted", lambda: {EXTRA_SECRET: PLAIN_SECRET},
         (Expect("HG304", at("s3cr3t-value"), file=EXTRA_SECRET, contains=("not sops-encrypted",)),),
         files_only=True),
    # --- HG308: the team's own manifests (environments/<env>/extra/), read by `validate` -----------------------
    Case("plaintext-secret-in-extra-manifests", lambda: {"environments/dev/extra/team.yaml": PLAIN_SECRET},
         (Expect("HG308", start(), file="environments/dev/extra/team.yaml", contains=("Secret in plain text",)),
          Expect("HG308", at("s3cr3t-value"), file="environments/dev/extra/team.yaml", contains=("token",))),
         files_only=True),
    Case("unusable-file-in-extra-manifests", lambda: {"environments/dev/extra/team.yaml": b"kind: \xff\n"},
         (Expect("HG409", start(), file="environments/dev/extra/team.yaml", contains=("not UTF-8",)),),
         files_only=True),
    Case("plain-value-in-encrypted-file",
         lambda: {DEV_SECRET: re.sub(r"password: ENC\[[^\]]*\]", "password: hunter2",
                                     (REPO_ROOT / DEV_SECRET).read_text(encoding="utf-8"))},
         (Expect("HG304", at("hunter2"), file=DEV_SECRET, contains=("plain text inside a sops-encrypted file",)),),
         files_only=True),
    Case("secret-file-malformed", lambda: {EXTRA_SECRET: "- just\n- a list\n"},
         (Expect("HG306", start(), file=EXTRA_SECRET),), files_only=True),
    Case("secret-not-decryptable-by-cluster", dev(sub("  provider: age\n", "  provider: kms\n")),
         (Expect("HG307", at("apiVersion"), file=DEV_SECRET, contains=("kms",)),), files_only=True),
    # --- errors in later list items are all reported (not only the first; the 2i2c mistake) -----------------
    Case("schema-errors-in-second-and-third-hub",
         more_hubs(dict(name="second", port=39999), dict(name="third", namespace="Third_NS", port=30061)),
         (Expect("HG106", at("39999"), contains=("hubs[1].nodePort",)),
          Expect("HG104", at("Third_NS"), contains=("hubs[2].namespace",)))),
    Case("semantic-errors-in-second-and-third-hub",
         more_hubs(dict(name="second", port=30052), dict(name="third", port=30061, tag="latest")),
         (Expect("HG202", at("30052", 2), contains=("hub 'dev'",)), Expect("HG210", at("latest")))),
    Case("errors-in-second-and-third-subnet",
         dev(sub("    - id: subnet-4388e824\n      availabilityZone: us-east-1b\n",
                 "    - id: subnet-4388e8\n      availabilityZone: us-east-1b\n"
                 "    - id: subnet-12345678\n      availabilityZone: us-east-1\n")),
         (Expect("HG104", at("subnet-4388e8\n"), contains=("subnets[1].id",)),
          Expect("HG104", at("us-east-1\n", within="      availabilityZone: us-east-1\n"),
                 contains=("subnets[2].availabilityZone",)))),
    Case("admins-not-allowed-in-second-and-third-hub",
         more_hubs(dict(name="second", port=30053, admins=("admin", "eve")),
                  dict(name="third", port=30054, admins=("mallory",))),
         (Expect("HG206", at("eve", within="        - eve\n"), contains=("hub 'second'",)),
          Expect("HG206", at("mallory"), contains=("hub 'third'",)))),
]

from .cases_inputs import CASES as _INPUT_CASES  # noqa: E402
from .cases_values import CASES as _VALUE_CASES  # noqa: E402
from .cases_loader import CASES as _LOADER_CASES  # noqa: E402
from .cases_platform import CASES as _PLATFORM_CASES  # noqa: E402
from .cases_costs import CASES as _COSTS_CASES  # noqa: E402
from .cases_notifications import CASES as _NOTIFICATIONS_CASES  # noqa: E402

CASES += (_INPUT_CASES + _VALUE_CASES + _LOADER_CASES + _PLATFORM_CASES + _COSTS_CASES
          + _NOTIFICATIONS_CASES)


def _ids() -> list[str]:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return ids


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _expected(case: Case, root: Path) -> list[tuple[str, str, int, int]]:
    """(code, file, line, column) of every expected problem, located in the files as written."""
    out = []
    for e in case.expect:
        text = (root / e.file).read_bytes().decode("utf-8", "replace")  # U+FFFD keeps columns of bad bytes
        line, col = e.locate(text)
        out.append((e.code, e.file, line, col))
    return out


TEXT_PROBLEM = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning) (?P<code>HG\d{3}) ", re.M)


def _check_text_output(case: Case, r, expected) -> None:
    severity = "warning" if case.warning_only else "error"
    for code, file, line, col in expected:
        assert f"{file}:{line}:{col}: {severity} {code} " in r.stdout, f"expected {file}:{line}:{col} {code}\n{r}"
    if case.exact:
        assert {m["code"] for m in TEXT_PROBLEM.finditer(r.stdout)} == {e.code for e in case.expect}, r


def _check_json_problems(case: Case, problems: list[dict], expected) -> None:
    got = {(p["code"], p["file"], p["line"], p["column"]) for p in problems}
    for want in expected:
        assert want in got, f"missing {want}; got {sorted(got)}"
    for e, want in zip(case.expect, expected):
        p = next(p for p in problems if (p["code"], p["file"], p["line"], p["column"]) == want)
        text = p["message"] + "\n" + p["hint"]
        for s in e.contains:
            assert s in text, f"{want}: {s!r} not in {text!r}"
    for p in problems:
        assert p["line"] >= 1 and p["column"] >= 1, p
        assert p["message"] and p["hint"], p
    if case.exact:
        assert {p["code"] for p in problems} == {e.code for e in case.expect}, sorted(got)
    if case.warning_only:
        assert all(p["severity"] == "warning" for p in problems)


def _only_generated_files_changed(before: dict[str, str], after: dict[str, str], env: str = "dev") -> None:
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    generated = tuple(f"environments/{env}/{g}/" for g in GENERATED_DIRS)
    assert all(p.startswith(generated) for p in changed), sorted(changed)


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_bad_input(case: Case, repo: Path, invoke_hubgen, tree_hashes) -> None:
    _write(repo, case.files())
    expected = _expected(case, repo)
    before = tree_hashes(repo)

    r = invoke_hubgen(["--repo", repo, "validate"])
    assert r.rc == (0 if case.warning_only else 1), r
    assert "Traceback" not in r.output, r
    _check_text_output(case, r, expected)
    assert tree_hashes(repo) == before, "validate changed files"

    r = invoke_hubgen(["--repo", repo, "--format", "json", "render"])
    assert "Traceback" not in r.output, r
    after = tree_hashes(repo)
    if case.files_only:
        # render reads only the spec (the secret files are `validate`'s job): it renders as usual.
        assert r.rc == 0, r
        assert json.loads(r.stdout)["summary"]["errors"] == 0
        _only_generated_files_changed(before, after)
        return
    assert r.rc == (0 if case.warning_only else 1), r
    _check_json_problems(case, json.loads(r.stdout)["problems"], expected)
    if case.warning_only:
        _only_generated_files_changed(before, after)
        assert after != before, "a warning does not stop render"
    else:
        assert after == before, "render changed files although the spec is invalid"


@pytest.mark.parametrize("case", [c for c in CASES if c.subprocess], ids=lambda c: c.id)
def test_bad_input_real_cli(case: Case, repo: Path, run_hubgen, tree_hashes) -> None:
    """The nastiest byte streams once more through the installed console script (a real process)."""
    _write(repo, case.files())
    expected = _expected(case, repo)
    before = tree_hashes(repo)
    r = run_hubgen(["validate", "dev"], cwd=repo)
    assert r.rc == 1, r
    assert "Traceback" not in r.output, r
    _check_text_output(case, r, expected)
    assert tree_hashes(repo) == before


def test_case_list_is_broad() -> None:
    assert len(CASES) >= 40
    assert sum(c.subprocess for c in CASES) >= 8


# --- HG303: a renderer that leaks a secret is stopped before anything is written --------------------------------

#: Codes exercised by a test in this module outside ``CASES`` (tests/core/test_docs.py counts them).
EXERCISED_OUTSIDE_CASES = {
    "HG303": "test_secret_leaking_from_a_renderer_is_hg303 (no spec can make a correct renderer emit a secret)",
}


def test_secret_leaking_from_a_renderer_is_hg303(repo: Path, invoke_hubgen, tree_hashes, monkeypatch) -> None:
    import generator.generate as generate
    from generator.artifacts import Kind, RenderedFile
    from generator.render.common import with_header

    real = generate.render_environment
    leak = "environments/dev/hubs/leak.yaml"

    def leaky(env, **kw):
        files = real(env, **kw)
        if env.name == "dev":
            body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  password: hunter2\n"
            files.append(RenderedFile(leak, with_header(body, DEV, "dev"), Kind.K8S_MANIFEST, "dev"))
        return files

    monkeypatch.setattr(generate, "render_environment", leaky)
    before = tree_hashes(repo)
    for args in (["render"], ["render", "--check"], ["render", "dev"]):
        r = invoke_hubgen(["--repo", repo, "--format", "json", *args])
        assert r.rc == 1, r
        assert "Traceback" not in r.output, r
        problems = json.loads(r.stdout)["problems"]
        assert [(p["code"], p["file"]) for p in problems] == [("HG303", leak)], problems
        assert "password" in problems[0]["message"]
        assert tree_hashes(repo) == before
