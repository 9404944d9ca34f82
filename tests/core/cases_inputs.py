"""Bad-input cases: inputs AWS or EKS would refuse (or silently misread), and environment names.
Concatenated into test_bad_inputs.CASES."""

from __future__ import annotations

from .badinput import ACCOUNT, Case, Expect, at, chain, dev, dev_text, start, sub
from .specs import replace_once, spec_path

NOT_PUBLIC = sub("    public: true\n", "")
CIDR_LINE = "      - 0.0.0.0/0\n"
NOTEBOOK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/jupyter-dev-notebook"
ADMIN_LINE = f"    - arn: arn:aws:iam::{ACCOUNT}:role/jupyter-hub-admin\n"
TAG_LINE = "  environment: dev\n"
LONG_NAME = "a" * 45
LONG_SPEC = spec_path(LONG_NAME)
UPPER_SPEC = spec_path("Dev2")


def _in_govcloud(text: str) -> str:
    """The dev spec moved to us-gov-west-1 with every ARN in the aws-us-gov partition except the deploy role's."""
    text = text.replace("us-east-1", "us-gov-west-1").replace("arn:aws:", "arn:aws-us-gov:")
    return replace_once(text, "deployRoleArn: arn:aws-us-gov:", "deployRoleArn: arn:aws:")


def _other_folder(folder: str, name: str):
    """A copy of dev in environments/<folder>/ declaring ``name`` (its own stack name)."""
    def files() -> dict[str, str | bytes]:
        text = replace_once(dev_text(), "\nname: dev\n", f"\nname: {name}\n")
        return {spec_path(folder): replace_once(text, "  stackName: jupyter-dev\n", "  stackName: jupyter-other\n")}
    return files


CASES: list[Case] = [
    # --- load balancer CIDRs (HG209, HG219, HG220) ---------------------------------------------------------------
    Case("cidrs-together-cover-ipv4-without-public",
         dev(chain(NOT_PUBLIC, sub(CIDR_LINE, "      - 0.0.0.0/1\n      - 128.0.0.0/1\n"))),
         (Expect("HG209", at("- 0.0.0.0/1"), contains=("0.0.0.0/1, 128.0.0.0/1 together cover every IPv4 address",
                                                         "public: true")),)),
    Case("cidr-with-host-bits", dev(sub(CIDR_LINE, "      - 10.0.0.1/16\n")),
         (Expect("HG219", at("10.0.0.1/16"), contains=("host bits", "Write 10.0.0.0/16.")),)),
    Case("cidr-inside-another",
         dev(sub(CIDR_LINE, "      - 10.0.0.0/8\n      - 137.229.0.0/16\n      - 10.1.0.0/16\n")),
         (Expect("HG220", at("10.1.0.0/16"), contains=("lies inside 10.0.0.0/8 (allowedCidrs[0])",
                                                         "Remove 10.1.0.0/16.")),)),
    Case("cidr-same-network-with-host-bits", dev(sub(CIDR_LINE, "      - 10.0.0.0/16\n      - 10.0.1.0/16\n")),
         (Expect("HG219", at("10.0.1.0/16"), contains=("Write 10.0.0.0/16.",)),
          Expect("HG220", at("10.0.1.0/16"), contains=("is the same network as 10.0.0.0/16",)))),
    # --- ARNs: partition and certificate account (HG221, HG222) ----------------------------------------------------
    Case("arn-in-other-partition", dev(sub(NOTEBOOK_ROLE, f"arn:aws-cn:iam::{ACCOUNT}:role/jupyter-dev-notebook")),
         (Expect("HG221", at("arn:aws-cn:"), contains=("partition aws-cn", "region us-east-1 is in partition aws",
                                                        NOTEBOOK_ROLE)),)),
    Case("commercial-arn-in-govcloud", dev(_in_govcloud),
         (Expect("HG221", at(f"arn:aws:iam::{ACCOUNT}:role/jupyter-hub-build"),
                 contains=("partition aws,", "us-gov-west-1 is in partition aws-us-gov")),)),
    Case("arn-in-other-partition-in-values",
         dev(lambda t: t + "    values:\n      singleuser:\n        extraAnnotations:\n"
                           f"          example.org/role: arn:aws-us-gov:iam::{ACCOUNT}:role/reader\n"),
         (Expect("HG221", at("arn:aws-us-gov:"), contains=("partition aws-us-gov",)),)),
    Case("certificate-in-other-account",
         dev(sub(f"arn:aws:acm:us-east-1:{ACCOUNT}", "arn:aws:acm:us-east-1:210987654321")),
         (Expect("HG222", at("arn:aws:acm:us-east-1:210987654321"),
                 contains=("belongs to account 210987654321", f"in account {ACCOUNT} (us-east-1)")),)),
    # --- tags (HG223, HG224; lengths are the schema's HG106) ------------------------------------------------------
    Case("tag-value-with-newline", dev(sub(TAG_LINE, '  environment: "dev\\nprod"\n')),
         (Expect("HG223", at('"dev\\nprod"'), contains=("value of tag 'environment'", "line break (U+000A)")),)),
    Case("tag-value-with-nul", dev(sub(TAG_LINE, '  environment: "dev\\0"\n')),
         (Expect("HG223", at('"dev\\0"'), contains=("NUL character (U+0000)",)),)),
    Case("tag-value-with-emoji", dev(sub(TAG_LINE, "  environment: dev \U0001F680\n")),
         (Expect("HG223", at("dev \U0001F680"), contains=("U+1F680 ROCKET",)),)),
    Case("tag-key-with-refused-character", dev(sub(TAG_LINE, TAG_LINE + '  "cost#center": "4711"\n')),
         (Expect("HG223", at('"cost#center"'), contains=("tag key 'cost#center'", "'#'")),)),
    Case("tag-key-aws-prefix", dev(sub(TAG_LINE, TAG_LINE + "  AWS:owner: ops\n")),
         (Expect("HG223", at("AWS:owner"), contains=("starts with 'AWS:'",)),)),
    Case("tag-value-too-long", dev(sub(TAG_LINE, f"  environment: {'x' * 257}\n")),
         (Expect("HG106", at("x" * 257), contains=("too long",)),)),
    Case("tag-hubgen-prefix", dev(sub(TAG_LINE, TAG_LINE + "  hubgen:owner: ops\n")),
         (Expect("HG224", at("hubgen:owner"), contains=("reserves for the tags it adds", "e.g. to 'owner'")),)),
    # --- cluster admins: reserved user names (schema, HG104) and one role under two paths (HG217) ------------------
    Case("admin-username-reserved-prefix",
         dev(sub("      username: jupyter-hub-admin\n", "      username: system:node:ip-10-0-0-1\n")),
         (Expect("HG104", at("system:node:ip-10-0-0-1"), contains=("may not start with system:",)),)),
    Case("admin-role-under-two-paths",
         dev(sub(ADMIN_LINE, f"    - arn: arn:aws:iam::{ACCOUNT}:role/team/jupyter-hub-admin\n" + ADMIN_LINE)),
         (Expect("HG217", at(f"arn:aws:iam::{ACCOUNT}:role/jupyter-hub-admin"),
                 contains=("names the same role as", "whatever the path")),)),
    # --- environment names (HG225, and the schema's `name`) --------------------------------------------------------
    Case("environment-folder-name-too-long", _other_folder(LONG_NAME, LONG_NAME),
         (Expect("HG225", start(), file=LONG_SPEC, contains=("45 characters, at most 44",
                                                              f"environments/{'a' * 44}/")),)),
    Case("environment-folder-name-upper-case", _other_folder("Dev2", "dev2"),
         (Expect("HG225", start(), file=UPPER_SPEC, contains=("'D'", "environments/dev2/")),)),
    Case("environment-name-too-long", dev(sub("\nname: dev\n", f"\nname: {LONG_NAME}\n")),
         (Expect("HG106", at(LONG_NAME), contains=("too long",)),)),
]
