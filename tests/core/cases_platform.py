"""Bad-input cases: what the cluster runs. The Kubernetes version against EKS's calendar, node groups and their
instance types, storage classes, profiles and whether they fit their nodes, authenticator settings and
operators (HG201, HG226-HG243, and HG208/HG210/HG217/HG221 on the new fields). Concatenated into
test_bad_inputs.CASES.

Cases that need user node groups or profiles start from the dev spec with a user group added (warning-only
cases must: `render` then writes dev's files), or from the prod spec, which has them.
"""

from __future__ import annotations

from generator.platform import eks_versions

from .badinput import ACCOUNT, Case, Expect, at, chain, dev, insert_after, sub
from .specs import example_text, replace_once, spec_path

PROD = spec_path("prod")

VERSION_LINE = '  kubernetesVersion: "1.35"\n'
CORE_TYPES = "      instanceTypes: [m5.xlarge]\n"
CORE_END = "      diskSize: 100\n"
USER_GROUP = ("    - name: user\n      purpose: user\n      instanceTypes: [m6i.2xlarge]\n"
              "      minSize: 0\n      maxSize: 4\n")
WITH_USER_GROUP = insert_after(CORE_END, USER_GROUP)
STORAGE_BEFORE = "  loadBalancer:\n"
HOME = "        capacity: 10Gi\n"
ACK = "      allowSharedPasswordAdmins: true\n"
COURSE_OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/jupyter-course-ta"
RESEARCH_OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/jupyter-research-lead"
KMS_KEY = "key/0123abcd-4567-89ab-cdef-0123456789ab"


def prod(mutate):
    return lambda: {PROD: mutate(example_text("prod"))}


def profiles(block: str):
    """Append ``block`` (profile items, indented by six spaces) as the dev hub's `profiles`."""
    return lambda text: text + "    profiles:\n" + block


def profile(name: str = "standard", group: str = "user", extra: str = "") -> str:
    return f"      - name: {name}\n        displayName: {name.title()}\n        nodeGroup: {group}\n" + extra


def storage(block: str):
    """Insert ``block`` (StorageClass items, indented by six spaces) as cluster.storage.classes."""
    return sub(STORAGE_BEFORE, "  storage:\n    classes:\n" + block + STORAGE_BEFORE)


def _version(status: str) -> eks_versions.Version | None:
    """The newest calendar version with ``status`` today (cases follow the calendar as days pass)."""
    today = eks_versions.today()
    found = [v for v in eks_versions.CALENDAR if eks_versions.support(v.version, today).status == status]
    return found[-1] if found else None


def with_version(v: eks_versions.Version | None):
    def edit(text: str) -> str:
        assert v is not None, "no EKS version has this support status today: tests/platform/test_tables.py says " \
                              "why (the calendar is out of date)"
        return replace_once(text, VERSION_LINE, f'  kubernetesVersion: "{v.version}"\n')
    return edit


ENDED = _version(eks_versions.ENDED)
EXTENDED = _version(eks_versions.EXTENDED)


def _quoted(v: eks_versions.Version | None) -> str:
    return f'"{v.version}"' if v else '"?"'


CASES: list[Case] = [
    # --- the Kubernetes version against the dated EKS calendar (HG226, HG227, HG228) -------------------------
    Case("kubernetes-version-past-extended-support", dev(with_version(ENDED)),
         (Expect("HG226", at(_quoted(ENDED)),
                 contains=(f"left EKS extended support on {ENDED.end_of_extended if ENDED else ''}",
                           "in standard support")),)),
    Case("kubernetes-version-in-extended-support", dev(with_version(EXTENDED)),
         (Expect("HG227", at(_quoted(EXTENDED)),
                 contains=(f"until {EXTENDED.end_of_extended if EXTENDED else ''}", "about USD 365 more a month")),),
         warning_only=True),
    Case("kubernetes-version-eks-never-offered", dev(sub(VERSION_LINE, '  kubernetesVersion: "1.39"\n')),
         (Expect("HG228", at('"1.39"'), contains=("Kubernetes 1.39 is not a version EKS offers",
                                                   f"dated {eks_versions.CALENDAR_DATE}")),)),
    # --- node groups: purpose, the one core group, names, zones (HG229, HG230, HG231, HG234) -----------------
    Case("core-group-two-instance-types", dev(sub(CORE_TYPES, "      instanceTypes: [m5.xlarge, m5a.xlarge]\n")),
         (Expect("HG229", at("m5a.xlarge"), contains=("lists 2 instance types", "instanceTypes: [m5.xlarge]")),)),
    Case("core-group-spot", dev(insert_after(CORE_TYPES, "      capacityType: spot\n")),
         (Expect("HG229", at("spot", within="      capacityType: spot\n"), contains=("two minutes' notice",)),)),
    Case("core-group-release-version-and-zone",
         dev(insert_after(CORE_TYPES, "      releaseVersion: 1.35.0-20260120\n      availabilityZone: us-east-1a\n")),
         (Expect("HG229", at("releaseVersion"), contains=("sets `releaseVersion`",)),
          Expect("HG229", at("availabilityZone", within="      availabilityZone: us-east-1a\n      minSize"),
                 contains=("sets `availabilityZone`", "zone outage")))),
    Case("user-group-image-id", dev(insert_after(CORE_END, USER_GROUP + "      imageId: ami-0123456789abcdef0\n")),
         (Expect("HG229", at("imageId"), contains=("user node group 'user' sets `imageId`", "releaseVersion")),)),
    Case("core-group-gpu-types", dev(sub(CORE_TYPES, "      instanceTypes: [g5.xlarge]\n")),
         (Expect("HG229", at("g5.xlarge"), contains=("has GPU instance types (g5.xlarge)",)),)),
    Case("user-group-release-of-another-version",
         dev(insert_after(CORE_END, USER_GROUP + "      releaseVersion: 1.34.2-20260120\n")),
         (Expect("HG229", at("1.34.2-20260120"), contains=("pins AMI release 1.34.2-20260120",
                                                             "the cluster's 1.35")),)),
    Case("core-group-max-equals-min", dev(sub("      maxSize: 4\n", "      maxSize: 1\n")),
         (Expect("HG201", at("1", within="      maxSize: 1\n"), contains=("maxSize (1) equals minSize",)),)),
    Case("no-core-group", dev(sub("      purpose: core\n", "      purpose: user\n")),
         (Expect("HG230", at("- name: core"), contains=("no node group has `purpose: core`",)),)),
    Case("second-core-group",
         dev(insert_after(CORE_END, "    - name: extra\n      purpose: core\n      instanceTypes: [m5.large]\n"
                                    "      minSize: 1\n      maxSize: 2\n")),
         (Expect("HG230", at("core", within="      purpose: core\n", within_occurrence=2),
                 contains=("'extra' is a second core group (the first is 'core')",)),)),
    Case("core-group-scales-to-zero", dev(sub("      minSize: 1\n", "      minSize: 0\n")),
         (Expect("HG230", at("0", within="      minSize: 0\n"), contains=("minSize 0",)),)),
    Case("node-group-name-twice", dev(insert_after(CORE_END, USER_GROUP.replace("name: user", "name: core"))),
         (Expect("HG231", at("core", within="    - name: core\n", within_occurrence=2),
                 contains=("node group name 'core' is already used by nodeGroups[0]",)),)),
    Case("storage-class-and-profile-names-twice",
         dev(chain(WITH_USER_GROUP,
                   storage("      - name: gp3\n        default: true\n      - name: gp3\n"),
                   profiles(profile() + profile()))),
         (Expect("HG231", at("gp3", within="      - name: gp3\n", within_occurrence=2),
                 contains=("StorageClass name 'gp3' is already used by classes[0]",)),
          Expect("HG231", at("standard", within="      - name: standard\n", within_occurrence=2),
                 contains=("profile name 'standard' is already used by profiles[0] of hub 'dev'",)))),
    Case("user-group-zone-without-subnet",
         dev(insert_after(CORE_END, USER_GROUP + "      availabilityZone: us-east-1c\n")),
         (Expect("HG234", at("us-east-1c"), contains=("no subnet of the cluster is in us-east-1c",
                                                       "us-east-1a, us-east-1b")),)),
    # --- instance types against the dated table (HG232, HG233) ----------------------------------------------
    Case("instance-size-does-not-exist", dev(sub(CORE_TYPES, "      instanceTypes: [m5.3xlarge]\n")),
         (Expect("HG232", at("m5.3xlarge"), contains=("m5.3xlarge does not exist", "large, xlarge, 2xlarge, 4xlarge",
                                                      "e.g. m5.2xlarge")),)),
    Case("instance-family-unknown", dev(sub(CORE_TYPES, "      instanceTypes: [x9z.large]\n")),
         (Expect("HG233", at("x9z.large"), contains=("not in hubgen's instance-type table",)),), warning_only=True),
    # --- profiles: node group, GPUs, fit (HG235, HG236, HG237, HG242, HG210) --------------------------------
    Case("profile-on-missing-node-group", dev(chain(WITH_USER_GROUP, profiles(profile(group="gpu")))),
         (Expect("HG235", at("gpu", within="        nodeGroup: gpu\n"),
                 contains=("'gpu', which the cluster does not declare", "the cluster has 'user'")),)),
    Case("profile-on-core-group", dev(chain(WITH_USER_GROUP, profiles(profile(group="core")))),
         (Expect("HG235", at("core", within="        nodeGroup: core\n"), contains=("the core node group",)),)),
    Case("gpu-profile-on-group-without-gpus",
         dev(chain(WITH_USER_GROUP, profiles(profile(extra="        gpus: 1\n")))),
         (Expect("HG236", at("1", within="        gpus: 1\n"), contains=("asks for 1 GPU", "m6i.2xlarge has 0")),)),
    Case("profile-guarantee-does-not-fit",
         dev(chain(WITH_USER_GROUP, profiles(profile(extra="        cpu:\n          guarantee: 8\n"
                                                            "        memory:\n          guarantee: 64G\n")))),
         (Expect("HG237", at("8", within="          guarantee: 8\n"),
                 contains=("guarantees 8 CPU", "7.91 CPU of 8 CPU")),
          Expect("HG237", at("64G"), contains=("guarantees 64G memory", "31775 MiB of 32768 MiB",
                                                "at most 31775 MiB")))),
    Case("profile-limit-above-node", dev(chain(WITH_USER_GROUP,
                                               profiles(profile(extra="        cpu:\n          limit: 16\n")))),
         (Expect("HG237", at("16", within="          limit: 16\n"), contains=("limits 16 CPU", "has (8 CPU)")),),
         warning_only=True),
    Case("profile-inherits-a-guarantee-that-does-not-fit",
         dev(chain(WITH_USER_GROUP, insert_after(HOME, "      memory:\n        guarantee: 40G\n"),
                   profiles(profile()))),
         (Expect("HG237", at("40G"), contains=("profile 'standard' of hub 'dev' guarantees 40G memory (the hub's "
                                                "singleuser.memory.guarantee)", "(m6i.2xlarge)")),)),
    Case("hub-guarantee-does-not-fit-core-nodes",
         dev(insert_after(HOME, "      memory:\n        guarantee: 20G\n")),
         (Expect("HG237", at("20G"), contains=("hub 'dev' guarantees 20G memory",
                                                "a node of node group 'core' (m5.xlarge)")),)),
    Case("hub-guarantee-above-its-limit",
         dev(insert_after(HOME, "      cpu:\n        guarantee: 2\n        limit: 1\n")),
         (Expect("HG244", at("2", within="        guarantee: 2\n"),
                 contains=("hub 'dev' guarantees 2 CPU but limits 1 CPU",)),)),
    Case("profile-guarantee-above-the-hubs-limit",
         prod(insert_after("        nodeGroup: user-spot\n", "        cpu:\n          guarantee: 3\n")),
         (Expect("HG244", at("3", within="          guarantee: 3\n"), file=PROD,
                 contains=("profile 'spot' of hub 'course' guarantees 3 CPU but limits 2 CPU "
                           "(the hub's singleuser.cpu.limit)",)),)),
    Case("operators-on-a-config-map-cluster",
         prod(insert_after('  kubernetesVersion: "1.35"\n', "  authenticationMode: CONFIG_MAP\n")),
         (Expect("HG245", at(COURSE_OPERATOR), file=PROD, contains=("needs an EKS access entry",)),
          Expect("HG245", at(RESEARCH_OPERATOR), file=PROD))),
    Case("profile-image-latest",
         prod(insert_after("        nodeGroup: user-spot\n",
                           "        image:\n          name: quay.io/jupyter/base-notebook\n          tag: latest\n")),
         (Expect("HG210", at("latest"), file=PROD, contains=("profile 'spot' of hub 'course' is mutable",)),)),
    Case("two-default-profiles",
         prod(insert_after("        displayName: Large memory (24 GB guaranteed)\n", "        default: true\n")),
         (Expect("HG242", at("true", within="(24 GB guaranteed)\n        default: true\n"), file=PROD,
                 contains=("profile 'large' of hub 'research' is a second default (the first is 'cpu')",)),)),
    # --- storage (HG238, HG239) -------------------------------------------------------------------------------
    Case("home-storage-class-not-rendered", dev(insert_after(HOME, "        storageClass: gp2\n")),
         (Expect("HG238", at("gp2"), contains=("StorageClass 'gp2' for user homes", "renders only gp3")),)),
    Case("hub-database-storage-class-not-rendered",
         dev(lambda t: t + "    values:\n      hub:\n        db:\n          pvc:\n"
                           "            storageClassName: fast\n"),
         (Expect("HG238", at("fast"), contains=("StorageClass 'fast' for the hub database",)),)),
    Case("no-default-storage-class", dev(storage("      - name: gp3\n      - name: io2\n        volumeType: io2\n")),
         (Expect("HG239", at("- name: gp3"), contains=("no StorageClass of gp3, io2 is the default",)),)),
    Case("two-default-storage-classes",
         dev(storage("      - name: gp3\n        default: true\n      - name: fast\n        default: true\n")),
         (Expect("HG239", at("true", within="      - name: fast\n        default: true\n"),
                 contains=("'fast' is a second default (the first is 'gp3')",)),)),
    # --- authenticators (HG240, HG241) ----------------------------------------------------------------------
    Case("organizations-on-generic-oauth",
         prod(insert_after("        usernameClaim: preferred_username\n",
                           "        allowedOrganizations: [asfadmin]\n")),
         (Expect("HG240", at("allowedOrganizations", within="        allowedOrganizations: [asfadmin]\n"), file=PROD,
                 contains=("generic-oauth authenticator", "means something only to github")),)),
    Case("generic-oauth-and-dummy-settings-on-github",
         prod(chain(insert_after("      type: github\n", ACK),
                    insert_after("callbackUrl: https://course.jupyter.asf.alaska.edu/hub/oauth_callback\n",
                                 "        scope: [read:user]\n        groups:\n          allowed: [staff]\n"))),
         (Expect("HG240", at("allowSharedPasswordAdmins"), file=PROD, contains=("only to dummy",)),
          Expect("HG240", at("scope", within="        scope: [read:user]\n"), file=PROD,
                 contains=("`auth.oauth.scope`", "only to generic-oauth")),
          Expect("HG240", at("groups", within="        groups:\n          allowed: [staff]\n"), file=PROD,
                 contains=("`auth.oauth.groups`",)))),
    Case("shared-password-admins-not-acknowledged", dev(sub(ACK, "")),
         (Expect("HG241", at("admins", within="      admins:\n        - admin\n"),
                 contains=("everyone who knows the password can log in as an admin", "allowSharedPasswordAdmins")),)),
    # --- operators (HG243, HG217, HG208, HG221) -------------------------------------------------------------
    Case("too-many-operators",
         prod(insert_after("        access: view\n", "".join(
             f"      - arn: arn:aws:iam::{ACCOUNT}:role/ta-{n}\n        access: view\n" for n in range(4)))),
         (Expect("HG243", at("arn", within=f"      - arn: {RESEARCH_OPERATOR}\n"), file=PROD,
                 contains=("operator number 6 of 6", "5 operator slots")),)),
    Case("operator-in-two-hubs", prod(sub(RESEARCH_OPERATOR, COURSE_OPERATOR)),
         (Expect("HG217", at(COURSE_OPERATOR, 2), file=PROD,
                 contains=("hub 'research' is already an operator (of hub 'course')",)),)),
    Case("operator-is-cluster-admin", prod(sub(RESEARCH_OPERATOR, f"arn:aws:iam::{ACCOUNT}:user/platform-oncall")),
         (Expect("HG217", at(f"arn:aws:iam::{ACCOUNT}:user/platform-oncall", 2), file=PROD,
                 contains=("is also the cluster admin",)),)),
    Case("operator-in-other-account",
         dev(lambda t: t + "    operators:\n      - arn: arn:aws:iam::210987654321:role/teaching\n"
                           "        access: view\n"),
         (Expect("HG208", at("arn:aws:iam::210987654321"), contains=("account 210987654321",)),),
         warning_only=True),
    Case("kms-key-and-operator-in-other-partition",
         dev(chain(storage(f"      - name: gp3\n        default: true\n"
                           f"        kmsKeyArn: arn:aws-cn:kms:us-east-1:{ACCOUNT}:{KMS_KEY}\n"),
                   lambda t: t + f"    operators:\n      - arn: arn:aws-us-gov:iam::{ACCOUNT}:role/teaching\n"
                                 "        access: view\n")),
         (Expect("HG221", at("arn:aws-cn:kms"), contains=("partition aws-cn",)),
          Expect("HG221", at("arn:aws-us-gov:iam"), contains=("partition aws-us-gov",)))),
]
