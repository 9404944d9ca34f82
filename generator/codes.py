"""The catalogue of every problem code hubgen can report.

This is the single source of truth for codes: their severity, title, fix hint
and documentation. ``docs/checks.md`` is generated from it
(``hubgen checks --markdown``) and a test fails when the two disagree, so a
code cannot ship undocumented.

Numbering (like cfn-lint's rule ids, stable forever once released):

* HG0xx  reading the spec file (YAML syntax and the strict loader's rules)
* HG1xx  JSON Schema violations
* HG2xx  semantic checks on one environment or across environments
* HG3xx  secrets and security
* HG4xx  generated files out of date (drift)
* HG5xx  external engines (cfn-lint, kubeconform, chart values schema, template parameters)
* HG6xx  deploying a stack (CloudFormation change sets and stack operations)
* HG7xx  the running cluster (hubgen verify)
* HG8xx  version bumps (hubgen bump)
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.paths import ENV_NAME_MAX_LENGTH
from generator.problems import Location, Problem, Severity

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True)
class Code:
    id: str
    severity: Severity
    title: str
    hint: str
    doc: str

    def problem(
        self,
        message: str,
        location: Location,
        *,
        hint: str | None = None,
        environment: str = "",
        path: str = "",
        severity: Severity | None = None,
        source: str = "hubgen",
    ) -> Problem:
        return Problem(
            code=self.id,
            severity=severity or self.severity,
            message=message,
            location=location,
            hint=self.hint if hint is None else hint,
            environment=environment,
            path=path,
            source=source,
        )


CODES: dict[str, Code] = {}


def _code(id: str, severity: Severity, title: str, hint: str, doc: str) -> Code:
    if id in CODES:
        raise ValueError(f"duplicate problem code {id}")
    code = Code(id, severity, title, hint, " ".join(doc.split()))
    CODES[id] = code
    return code


# --- HG0xx: reading the spec -------------------------------------------------
HG001 = _code("HG001", E, "YAML syntax error",
              "Fix the YAML syntax at the reported position.",
              "The file is not well-formed YAML. The message is the parser's, positioned at the offending character.")
HG002 = _code("HG002", E, "Duplicate key",
              "Remove one of the two keys; YAML silently keeps only the last one.",
              "A mapping repeats a key. Plain YAML parsers keep the last value without a word, which hides mistakes; hubgen refuses.")
HG003 = _code("HG003", E, "YAML anchor, alias or tag",
              "Write the value out in full; the spec needs no anchors, aliases or custom tags.",
              "Anchors and aliases (`&a`, `*a`) allow exponential expansion (the 'billion laughs' attack) and make reviews harder; custom tags (`!!python/...`) can construct arbitrary objects. The spec needs none of them.")
HG004 = _code("HG004", E, "Tab character in indentation",
              "Indent with spaces only.",
              "YAML forbids tabs for indentation and editors render them inconsistently; a tab anywhere in leading whitespace is refused.")
HG005 = _code("HG005", E, "Document is not a mapping",
              "The spec must be a YAML mapping (key: value) at the top level.",
              "The top level of `environment.yaml` is a list, a scalar or empty.")
HG006 = _code("HG006", E, "More than one YAML document",
              "Keep exactly one document per file; remove the extra `---`.",
              "An environment spec is one document. A second document would be ignored by most tools, so hubgen refuses it.")
HG007 = _code("HG007", E, "File too large",
              "A spec is a few kilobytes; split generated data out of it.",
              "Files over the size limit (256 KiB) are refused before parsing, so a runaway or malicious file cannot exhaust memory.")
HG008 = _code("HG008", E, "Not UTF-8 text",
              "Save the file as UTF-8 without NUL bytes.",
              "The file contains bytes that are not valid UTF-8, or NUL bytes (a binary file).")
HG009 = _code("HG009", E, "Cannot read spec",
              "Check that the file exists, is a regular file inside the repository and is readable.",
              "The spec file is missing, unreadable, a directory, or a symbolic link that leads outside the repository.")
HG010 = _code("HG010", E, "Ambiguous plain scalar",
              'Quote the value if it is text ("yes", "072600", "1:20"); otherwise write the spelling every YAML '
              "reader agrees on (true/false, a plain decimal number).",
              "An unquoted value that YAML 1.2 (what editors, yaml-language-server and hubgen read) and YAML 1.1 "
              "(PyYAML, go-yaml v2 as used by Helm and much Kubernetes tooling) read differently: `yes`, `no`, `on`, "
              "`off`, `y`, `n` (booleans in YAML 1.1, strings in YAML 1.2), `072600` (octal in YAML 1.1), `1:20` "
              "(sexagesimal 80 in YAML 1.1), `1_000`, `0b101`, or `1e3` and `0o17` (strings in YAML 1.1, numbers in "
              "YAML 1.2). hubgen reads plain scalars by the YAML 1.2 core schema and refuses these, so a spec means "
              "the same to every tool and to the person who wrote it. Quoted values are always strings.")

HG011 = _code("HG011", E, "Spec written for an older hubgen",
              "Run `hubgen upgrade ENV` (add --check to preview): it rewrites the spec to the current version and keeps "
              "its comments; then run `hubgen render ENV`.",
              "The spec has no `specVersion`, or an older one than this hubgen reads. Each version's shape is fixed; "
              "`hubgen upgrade` applies the ordered migrations between versions (version 1 -> 2: the single "
              "`cluster.nodes` block becomes `cluster.nodeGroups`).")
HG012 = _code("HG012", E, "Spec written for a newer hubgen",
              "Upgrade hubgen to a release that reads this spec version (see `hubgen --version`).",
              "The spec's `specVersion` is newer than this hubgen understands, so its fields may mean something "
              "this hubgen does not know.")

# --- HG1xx: schema -----------------------------------------------------------
HG101 = _code("HG101", E, "Missing required field",
              "Add the field; `hubgen schema` shows what it expects.",
              "A required property is absent.")
HG102 = _code("HG102", E, "Unknown field",
              "Remove the field or fix its spelling (see the suggestion).",
              "A property that the schema does not define. Every object in the spec rejects unknown keys, so typos never pass silently.")
HG103 = _code("HG103", E, "Wrong type",
              "Use the type the schema expects (quote numbers that are identifiers, such as account ids).",
              "A value has the wrong JSON type, e.g. a string where a number is expected.")
HG104 = _code("HG104", E, "Invalid format",
              "Correct the value to the expected format shown in the message.",
              "A string does not match its required format: ARN, VPC/subnet id, CIDR, AWS account id, DNS-1123 name, semantic version, and so on.")
HG105 = _code("HG105", E, "Value not allowed",
              "Use one of the listed values.",
              "A value is not among the allowed values (enum/const).")
HG106 = _code("HG106", E, "Value out of range",
              "Use a value within the documented bounds.",
              "A number, string length or list length is outside its minimum/maximum.")
HG107 = _code("HG107", E, "Invalid value",
              "Check the field against `hubgen schema`.",
              "A schema rule not covered by a more specific code (for example duplicate list items or a failed combination of conditions).")

# --- HG2xx: semantics --------------------------------------------------------
HG201 = _code("HG201", E, "Node group sizes inconsistent",
              "Set minSize <= maxSize (and maxSize above minSize for the core group).",
              "A node group's minSize is above its maxSize, or the core group's maxSize equals its minSize (its "
              "rolling update adds a node before removing one, so CloudFormation could never replace a node). The cluster-autoscaler moves each group's size between "
              "the two; the stack sets no desired size, so a stack update never resets what the autoscaler chose.")
HG202 = _code("HG202", E, "Node port clash",
              "Give every hub on the cluster its own nodePort in 30000-32767.",
              "Two hubs on one cluster use the same proxy node port; the load balancer and kube-proxy cannot tell them apart.")
HG203 = _code("HG203", E, "Namespace clash",
              "Give every hub on the cluster its own namespace.",
              "Two hubs on one cluster share a namespace: their Helm releases would overwrite each other ('grave consequences').")
HG204 = _code("HG204", E, "Stack name clash",
              "Pick a stack name that is unique within the account and region.",
              "Two environments deploy a stack with the same name into the same account and region: the second deploy would clobber the first.")
HG205 = _code("HG205", E, "Folder name differs from environment name",
              "Rename the folder or change `name` so they match.",
              "`environments/<folder>/environment.yaml` must declare `name: <folder>`; everything else (paths, plans, stack tags) relies on it.")
HG206 = _code("HG206", E, "Admin not an allowed user",
              "Add the admin to allowedUsers, or remove it from admins.",
              "Every hub admin must also be on the allow-list; otherwise the admin cannot log in.")
HG207 = _code("HG207", E, "Certificate in another region",
              "Use an ACM certificate from the stack's region.",
              "A load balancer can only use an ACM certificate from its own region.")
HG208 = _code("HG208", W, "ARN in another account",
              "Check the account id; cross-account references are allowed but usually a copy-paste mistake.",
              "An ARN in the spec names an account other than the environment's `aws.accountId`.")
HG209 = _code("HG209", E, "Load balancer open to the internet without acknowledgement",
              "Restrict allowedCidrs, or set `loadBalancer.public: true` to acknowledge an internet-facing hub.",
              "`0.0.0.0/0` or `::/0` in the load balancer's allowed CIDRs, or CIDRs that together cover every address "
              "(`0.0.0.0/1` and `128.0.0.0/1`), must be acknowledged explicitly with `public: true`.")
HG210 = _code("HG210", E, "Mutable image tag",
              "Pin the single-user image to an immutable tag (a build number or digest), not `latest`.",
              "`latest` (or a missing tag) makes deployments irreproducible: two nodes may run different images.")
HG211 = _code("HG211", E, "Chart version not exact",
              "Pin an exact chart version such as 4.4.0.",
              "Ranges and wildcards let Flux upgrade the hub without a reviewed change.")
HG212 = _code("HG212", E, "Subnets in fewer than two availability zones",
              "List subnets in at least two distinct availability zones.",
              "Amazon EKS requires cluster subnets in at least two availability zones.")
HG213 = _code("HG213", E, "Availability zone not in region",
              "Use availability zones of the environment's region (e.g. us-east-1a for us-east-1).",
              "A subnet's availability zone belongs to another region than `aws.region`.")
HG214 = _code("HG214", E, "Hub name clash",
              "Give every hub of an environment a unique name.",
              "Hub names must be unique within an environment; they name generated files and Kubernetes objects.")
HG215 = _code("HG215", E, "Hub host missing or duplicated",
              "With several hubs, give each hub after the first its own `host` name.",
              "The load balancer routes additional hubs by host name; without a unique host a hub is unreachable.")
HG216 = _code("HG216", E, "Duplicate subnet",
              "List each subnet once.",
              "A subnet id appears twice.")
HG217 = _code("HG217", E, "IAM principal given access twice",
              "List each IAM principal once: in cluster.admins or in one hub's operators.",
              "An IAM principal appears more than once in cluster admins (or is the deploy role), is listed as an "
              "operator twice, or is both an admin and an operator. Each is one EKS access entry, and EKS allows "
              "one access entry per principal and cluster, so the stack would fail.")
HG218 = _code("HG218", E, "Chart value owned by the spec",
              "Set the spec field the message names instead; `values` is for chart values hubgen does not derive.",
              "A hub's raw `values` sets a chart value that hubgen derives from the spec or fixes to keep a guarantee "
              "(access only through the stack's load balancer and `cluster.loadBalancer.allowedCidrs`, only for the "
              "listed users, TLS at the load balancer, AWS only through IRSA, secrets only from Secrets), sets a key "
              "below one, or replaces a mapping holding one with null, a scalar or a list (merged last, it would "
              "replace or delete them). Examples: `proxy.service.type: LoadBalancer` (a second, unrestricted load "
              "balancer), `proxy.service.nodePorts.http` (set `nodePort`), "
              "`hub.config.Authenticator.allow_all` (set `auth.allowedUsers`), `singleuser.image.tag` (set "
              "`singleuser.image.tag`, which HG210 checks), `ingress.enabled`, `proxy: null`. The full list, with the "
              "reason for each, is `OWNED_VALUES` in generator/render/values.py.")

HG219 = _code("HG219", E, "Load balancer CIDR is not a network address",
              "Write the network address the message names (10.0.0.0/16 for 10.0.0.1/16).",
              "An allowed CIDR has bits set after its prefix (`10.0.0.1/16`). EC2 keeps such a security group rule "
              "under its network address (`10.0.0.0/16`), so the deployed rule never equals the spec, and two "
              "entries of the same network are a duplicate rule EC2 refuses.")
HG220 = _code("HG220", E, "Load balancer CIDRs overlap",
              "Remove the narrower CIDR: the wider one already allows it.",
              "One allowed CIDR lies inside another, or both are the same network. The narrower one adds nothing "
              "but a redundant security group rule (the same network twice is refused by EC2: 'the same "
              "permission must not appear multiple times') and takes one of the three CIDR slots.")
HG221 = _code("HG221", E, "ARN in another partition",
              "Use the ARN of the region's partition: arn:aws for commercial regions, arn:aws-us-gov for "
              "us-gov-*, arn:aws-cn for cn-*.",
              "An ARN in the spec (deploy role, certificate, cluster admins, hub operators, notebook roles, storage KMS "
              "keys, or any ARN in a hub's `values`) names another AWS partition than the one `aws.region` belongs to. Partitions are "
              "separate: a role, user or certificate of one cannot be used from another, so IAM, EKS and the load "
              "balancer refuse it.")
HG222 = _code("HG222", E, "Certificate in another account",
              "Request or import the certificate in the environment's account and region, and use its ARN.",
              "The load balancer's ACM certificate belongs to another account than `aws.accountId`. ACM "
              "certificates are not shared across accounts: an HTTPS listener can only use a certificate of its "
              "own account (and region), so the stack would fail.")
HG223 = _code("HG223", E, "Tag AWS refuses",
              "Use only letters, digits, spaces and _ . : / = + - @ in tag keys and values, and no `aws:` prefix.",
              "A key or value under `tags` has a character AWS does not allow in tags (a line break, a tab, a NUL or "
              "other control character, `#`, `,`, `*`, an emoji...) or starts with `aws:`, which AWS reserves. "
              "Stack tags are copied to every resource of the stack, whose services allow only Unicode letters, "
              "digits and space separators and `_ . : / = + - @` (`^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$`); the "
              "lengths (keys 1-128, values 0-256 characters) are the schema's (HG106).")
HG224 = _code("HG224", E, "Reserved hubgen: tag",
              "Rename the tag: keys starting with `hubgen:` belong to hubgen.",
              "hubgen tags every stack with `hubgen:*` tags of its own (`hubgen:environment` names the environment "
              "a stack belongs to; `hubgen deploy` relies on it). A spec tag with that prefix would be overwritten "
              "or mistaken for hubgen's, so it is refused.")
HG225 = _code("HG225", E, "Invalid environment folder name",
              "Rename the folder (and `name` in its spec) to lower-case letters, digits and '-', starting and ending "
              f"with a letter or digit, at most {ENV_NAME_MAX_LENGTH} characters.",
              "A folder under environments/ holding a spec has a name that is not a valid environment name. The "
              "name becomes Kubernetes label values and object names (`<env>-secrets`, `<env>-hubs`), the default "
              f"stack name `jupyterhub-<env>` and stack tags, so it is a DNS-1123 label of at most {ENV_NAME_MAX_LENGTH} "
              "characters. "
              "The environment is not checked further until the folder is renamed; the other environments are.")

HG226 = _code("HG226", E, "Kubernetes version past EKS extended support",
              "Move `cluster.kubernetesVersion` to a version in standard support (one minor version at a time on a "
              "running cluster; see docs/platform.md).",
              "EKS no longer offers the version: new clusters cannot be created with it, and EKS upgrades existing "
              "ones automatically. Dates come from hubgen's dated EKS version calendar "
              "(generator/platform/eks_versions.py).")
HG227 = _code("HG227", W, "Kubernetes version in EKS extended support",
              "Plan the move to a version in standard support before the date in the message.",
              "The version is past the end of EKS standard support. Extended support costs USD 0.60 per cluster "
              "hour instead of 0.10 (about USD 365 more per cluster and month) until it ends, when EKS upgrades the "
              "cluster itself.")
HG228 = _code("HG228", E, "Kubernetes version EKS does not offer",
              "Use a version listed in the message.",
              "The version is not in hubgen's dated EKS version calendar: it does not exist, EKS never offered it, "
              "or it is newer than the calendar (then upgrade hubgen).")
HG229 = _code("HG229", E, "Settings of a node group's purpose",
              "Follow the rule in the message: one on-demand instance type without GPUs and `imageId` for the "
              "core group; `releaseVersion` (of the cluster's version), `availabilityZone` and spot for user groups.",
              "The core group is a self-managed Auto Scaling group that the load balancer targets (one instance "
              "type, on-demand, optional pinned AMI); user groups are EKS managed node groups (several types, spot, "
              "a pinned AMI release, one zone). A setting of the other kind would be ignored or refused by AWS.")
HG230 = _code("HG230", E, "Not exactly one core node group",
              "Declare one node group with `purpose: core`, with `minSize` of at least 1.",
              "The hub, the proxy, CoreDNS and the cluster add-ons run on core nodes, and the load balancer targets "
              "them: an environment needs exactly one core group, and it cannot scale to zero (the autoscaler "
              "that would scale it up runs on it).")
HG231 = _code("HG231", E, "Name used twice",
              "Give each node group, storage class and profile (within a hub) its own name.",
              "Node group names become node labels and EKS node group names; storage class names and profile "
              "slugs are keys: each must be unique.")
HG232 = _code("HG232", E, "Instance type does not exist",
              "Use a size the family has (the message lists them).",
              "The instance family is in hubgen's instance-type table but has no such size, so EC2 would refuse "
              "it.")
HG233 = _code("HG233", W, "Instance type unknown to hubgen",
              "Check the type's spelling; if it is right, hubgen's table (generator/platform/instance_types.py) is "
              "older than the type. Profiles on it are not checked for fit.",
              "hubgen's dated instance-type table does not know the family, so it cannot check that profiles fit "
              "the nodes, nor tell whether they have GPUs (the group gets the standard AMI).")
HG234 = _code("HG234", E, "Node group zone has no subnet",
              "Use the zone of one of `cluster.subnets`, or add a subnet in that zone.",
              "A node group's `availabilityZone` is not the zone of any subnet of the cluster, so its nodes would "
              "have nowhere to start.")
HG235 = _code("HG235", E, "Profile on a missing or core node group",
              "Name a node group with `purpose: user` (the message lists them).",
              "A profile's `nodeGroup` is not a declared node group, or it is the core group, which is reserved for "
              "the hub, the proxy and the cluster add-ons (and carries no user taint a profile could select).")
HG236 = _code("HG236", E, "GPU profile on a node group without GPUs",
              "Put the profile on a node group of GPU instance types (g5, g6, p4d...), or remove `gpus`.",
              "A profile asks for more NVIDIA GPUs than an instance type of its node group has (none, for types "
              "without GPUs; a type hubgen does not know counts as none, since its group gets the standard AMI "
              "without NVIDIA drivers), so its servers could not be scheduled there.")
HG237 = _code("HG237", E, "Profile does not fit its node group",
              "Lower the guarantee, or use larger instance types.",
              "A CPU or memory guarantee is more than a node of the group can allocate (the instance's vCPUs and "
              "memory less what EKS AL2023 nodes reserve: kube-reserved CPU and 255 MiB + 11 MiB per pod, and the "
              "100 MiB eviction threshold; see docs/platform.md), so the server would stay Pending. Each resource "
              "is compared with the group's smallest instance type for it (the autoscaler may start any of them); "
              "a profile inherits what it does not set from the hub's `singleuser`. A hub without profiles is "
              "checked against the user groups its servers can run on (the core group when there are none). A "
              "limit above the node's capacity is only a warning. Groups with a type hubgen does not know (HG233) "
              "are not checked.")
HG238 = _code("HG238", E, "StorageClass not rendered",
              "Use a class of `cluster.storage.classes` (or add one there).",
              "A hub asks for a StorageClass (user homes in `singleuser.storage.storageClass`, the hub database "
              "in `values.hub.db.pvc.storageClassName`) that the environment does not render. EKS clusters have "
              "no StorageClass of their own since 1.30, so the claim would stay Pending.")
HG239 = _code("HG239", E, "Not exactly one default StorageClass",
              "Mark exactly one of `cluster.storage.classes` with `default: true`.",
              "Claims without a class (the hub database, any chart's volumes) use the default StorageClass; with "
              "none they stay Pending, with two Kubernetes picks the newest.")
HG240 = _code("HG240", E, "Setting meaningless for the authenticator",
              "Remove the setting, or use the authenticator the message names.",
              "`allowedOrganizations` means something only for github (GitHub organizations and teams); "
              "`groups` and `scope` only for generic-oauth; `allowSharedPasswordAdmins` only for dummy. "
              "The authenticator would ignore them silently.")
HG241 = _code("HG241", E, "Admins on a shared-password hub",
              "Use an OAuth authenticator (github, generic-oauth), or acknowledge with "
              "`auth.allowSharedPasswordAdmins: true` (a development hub).",
              "With the dummy authenticator everyone who knows the shared password can log in under any allowed "
              "name, including an admin's: admin rights (every user's server, the admin panel) are as secret as "
              "the one password.")
HG242 = _code("HG242", E, "More than one default profile",
              "Mark at most one profile of the hub with `default: true`.",
              "KubeSpawner pre-selects the default profile; with two it picks the first silently.")
HG243 = _code("HG243", E, "Too many entries for the stack's slots",
              "Remove entries; the limit and why are in the message.",
              "The cluster template has fixed parameter slots (CloudFormation cannot loop over a list without a "
              "transform cfn-lint cannot evaluate): at most five namespace operators in the whole environment.")
HG244 = _code("HG244", E, "Guarantee above its limit",
              "Lower the guarantee to at most the limit (or raise the limit).",
              "A CPU or memory guarantee (a Kubernetes request) is larger than the limit of the same server "
              "(the hub's `singleuser` or a profile, which inherits what it does not set). Kubernetes refuses "
              "such a pod, so the server could never start.")
HG245 = _code("HG245", E, "Operators on a CONFIG_MAP cluster",
              "Move `cluster.authenticationMode` to API_AND_CONFIG_MAP or API, or give the principal access "
              "through aws-auth by hand (hubgen does not render namespace-scoped RBAC).",
              "Hub operators get namespace-scoped EKS access policies, which are access entries; a cluster in "
              "CONFIG_MAP mode has none (EKS refuses them), so the operators would have no access at all.")
HG246 = _code("HG246", E, "Allocation tag not in `tags`",
              "Add the tag under `tags` (with its value), or remove the key from `costs.allocationTags`.",
              "`costs.allocationTags` names the stack tags that also go on what the stack creates indirectly (the "
              "node groups' instances, root volumes and network interfaces) and on user volumes; their values come "
              "from `tags`. A key that `tags` does not have has no value to put there (docs/costs.md).")
HG247 = _code("HG247", E, "Too many tags for the allocation tag slots",
              "List at most eight keys of `tags` in `costs.allocationTags` (those your cost reports group by).",
              "Without `costs.allocationTags` every key of `tags` is an allocation tag, and the cluster template "
              "carries them to instances, volumes and network interfaces in eight fixed parameter slots "
              "(CloudFormation cannot loop over a list). With more than eight tags, choose which ones; the others "
              "still reach every resource CloudFormation creates as stack tags (docs/costs.md).")
HG248 = _code("HG248", E, "Budget without a subscriber",
              "Add `emails` (up to three addresses) or `snsTopicArn` to `costs.budget`.",
              "An AWS Budget notification needs at least one subscriber: AWS Budgets refuses a notification "
              "without one, so the stack update would fail. The budget notifies `emails` and `snsTopicArn` "
              "(docs/costs.md).")
HG250 = _code("HG250", E, "Two notifiers read the same Secret value",
              "Give `notifications.slack.secret` and `notifications.webhook.secret` different names.",
              "The Slack and the webhook notifier both read key `address` of the Secret they name in flux-system; "
              "with the same `secret` they read the same value, so both would post to one address (Slack's "
              "formatted messages to a generic webhook, or generic JSON to Slack) and the other one nowhere.")
HG251 = _code("HG251", E, "Notifier Secret is one Flux itself uses",
              "Name another Secret in `notifications.<kind>.secret` (the defaults: github-commit-status, "
              "slack-webhook, notifications-webhook).",
              "Notifier Secrets live in flux-system, beside the Secrets Flux itself reads there: `flux-system` (the "
              "git credentials `flux bootstrap` creates for the GitRepository) and `sops-age` (the age key "
              "kustomize-controller decrypts with). A notifier Secret of the same name, applied by "
              "`<env>-secrets`, would replace it: Flux could no longer fetch the repository or decrypt any secret, "
              "and could not apply the fix either.")
HG252 = _code("HG252", W, "Environments report to different GitHub repositories",
              "Set the same `notifications.github.repository` in every environment: the repository their files are "
              "in, which Flux fetches.",
              "Every environment of this repository is applied from the same git repository, so the commit Flux "
              "applied exists only there; a github notifier naming another repository sets statuses on a commit "
              "that repository does not have, and GitHub refuses them (notification-controller logs the error, "
              "nobody sees a status).")

# --- HG3xx: secrets and security --------------------------------------------
HG301 = _code("HG301", E, "Plaintext secret in spec",
              "Move the value into a sops-encrypted file under environments/<env>/secrets/ and reference it.",
              "A key or value in the spec - the hub settings and the raw `values` escape hatch alike - looks like a password, token, private key, age secret key or AWS secret access key: a key that names a secret (`password`, `secretToken`, `client_secret`, `apiKey`...) with a literal value, a `{name: DB_PASSWORD, value: ...}` environment entry, or a value shaped like a credential (AWS key ids, PEM private keys, GitHub/GitLab/Slack tokens, JWTs, URLs with a password, `--password=...`). Secrets never live in plain text in git: hubs read them from Kubernetes Secrets through Flux `valuesFrom`.")
HG302 = _code("HG302", E, "Static AWS credentials for notebooks",
              "Remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and set `singleuser.awsRoleArn` (IRSA) instead.",
              "Notebook pods get AWS access through IAM Roles for Service Accounts (the hub's `singleuser.awsRoleArn`: hubgen annotates the notebook service account, the stack's OIDC provider lets pods assume the role), never through static keys in environment variables - whether in `singleuser.extraEnv` or the raw `values`, literal or from a Secret.")
HG303 = _code("HG303", E, "Plaintext secret in generated file",
              "This is a hubgen bug or a hand edit; re-render and report it.",
              "A generated file contains something that looks like a secret (the HG301 rules, applied to every rendered file before it is written).")
HG304 = _code("HG304", E, "Secret file not encrypted",
              "Encrypt it: `sops --encrypt --in-place <file>` (or create it with `hubgen secrets create`).",
              "A manifest under `environments/<env>/secrets/` lacks sops metadata, has plain-text values under `data`/`stringData` (edited without sops), has sops metadata without a key or MAC, or keeps something secret-looking outside `data`/`stringData` (which sops leaves readable). Flux applies everything in that folder, so every file there must be encrypted. Checked from the YAML structure: no sops binary or key needed.")
HG305 = _code("HG305", E, "Referenced secret missing",
              "Create it with `hubgen secrets create <env> <hub>` (a notifier's: `hubgen secrets create <env> --notifications`).",
              "A hub references a Secret (`auth.passwordSecret`, `auth.oauth.clientSecret`), or a notifier (`notifications.<kind>.secret`, in flux-system), that no file under `environments/<env>/secrets/` defines in that namespace, or that lacks the referenced key. Names, namespaces and keys stay readable in sops files, so this is checked without decrypting.")
HG306 = _code("HG306", E, "Secret file malformed",
              "Keep one or more Kubernetes Secrets per file, encrypted by sops with `encrypted_regex: ^(data|stringData)$`.",
              "A file under `environments/<env>/secrets/` cannot be read (not UTF-8, not YAML, anchors/aliases, a symbolic link, over 1 MiB), a document is not a mapping, or sops encrypted the metadata too (no `encrypted_regex`), so neither reviewers nor hubgen can see which Secret it is.")
HG307 = _code("HG307", E, "Secret file not decryptable by the cluster",
              "Add the cluster's key with `sops updatekeys <file>` after fixing .sops.yaml, or change `secrets.provider`.",
              "The spec's `secrets.provider` says how Flux decrypts (`kms`: the kustomize-controller's AWS identity; `age`: the private key in the `flux-system/sops-age` Secret), but the file's sops metadata lists no key of that type, so the `<env>-secrets` Kustomization would fail to decrypt it.")
HG308 = _code("HG308", E, "Plaintext secret in the team's manifests",
              "Encrypt the file with sops (`sops --encrypt --in-place <file>`, .sops.yaml needs a creation rule for "
              "environments/<env>/extra/), or move the Secret to environments/<env>/secrets/.",
              "A manifest under `environments/<env>/extra/` holds a Kubernetes Secret, or something that looks like a "
              "password, token or key (the HG301 rules), in plain text. Flux applies that folder (the `<env>-extra` "
              "Kustomization decrypts sops files like `<env>-secrets` does), so secrets there are sops-encrypted like "
              "everywhere else.")

# --- HG4xx: drift -------------------------------------------------------------
HG401 = _code("HG401", E, "Generated file out of date",
              "Run `hubgen render <env>` and commit the result.",
              "A generated file differs from what its spec renders to.")
HG402 = _code("HG402", E, "Generated file edited by hand",
              "Edit environment.yaml instead, then run `hubgen render <env>`.",
              "A generated file's content no longer matches the hash hubgen recorded when it wrote it.")
HG403 = _code("HG403", E, "Stale generated file",
              "Run `hubgen render` to remove it (or delete it), and commit.",
              "A file in a generated folder that no environment produces any more.")
HG404 = _code("HG404", E, "Generated file missing",
              "Run `hubgen render <env>` and commit the result.",
              "A file the spec renders to does not exist.")
HG405 = _code("HG405", E, "Managed file out of date",
              "Run `hubgen init --update` to bring it to the installed hubgen's version, review the diff, commit.",
              "A file hubgen manages in a generated repository (stack templates, schema, workflows, pre-commit "
              "configuration; see docs/scaffolding.md) differs from the one the installed hubgen ships, is missing, "
              "or is no longer shipped.")
HG406 = _code("HG406", E, "Generated path is a symbolic link",
              "Replace the link with a real folder (or delete it) and run `hubgen render <env>`.",
              "A generated folder or file of an environment is a symbolic link. hubgen never writes through "
              "links: one leading outside the repository would write there, one leading to another environment "
              "would let two environments overwrite each other's files.")
HG407 = _code("HG407", E, "Folder in the way of a generated file",
              "Move the folder's content somewhere else (your own manifests belong in environments/<env>/extra/), "
              "remove the folder, then run `hubgen render <env>`.",
              "A generated file's path is taken by a folder (or another non-file). hubgen never deletes a folder it "
              "did not make, so it writes nothing until the folder is gone.")
HG408 = _code("HG408", W, "File hubgen did not write in a generated folder",
              "Move it to environments/<env>/extra/ (applied by Flux and checked by hubgen), or delete it.",
              "A file in cloudformation/, cluster/, platform/ or hubs/ that carries no hubgen header. hubgen never deletes or "
              "overwrites it, but Flux may apply it (cluster/ is the bootstrap path) without hubgen having checked "
              "it. The supported place for a team's own manifests is environments/<env>/extra/.")
HG409 = _code("HG409", E, "Unusable file among the team's manifests",
              "Replace a link with the file itself; keep manifests as UTF-8 YAML files under 1 MiB.",
              "A file under `environments/<env>/extra/` is a symbolic link (Flux would apply whatever it points to, "
              "hubgen refuses to read through it), not a regular file, not UTF-8, or larger than 1 MiB.")

# --- HG5xx: engines -----------------------------------------------------------
HG501 = _code("HG501", E, "cfn-lint finding",
              "See the cfn-lint rule in the message.",
              "cfn-lint reported a problem in a stack template, or in a template evaluated with an environment's parameters. Severity follows cfn-lint (E = error, W = warning).")
HG502 = _code("HG502", E, "kubeconform finding",
              "Fix the manifest field named in the message (usually via the spec or the `values` escape hatch).",
              "kubeconform (strict mode, offline schemas including Flux CRDs) rejected a generated manifest.")
HG503 = _code("HG503", E, "Chart values schema violation",
              "Fix the value in the hub's settings or its `values` escape hatch.",
              "A HelmRelease's values, merged over the chart's default values as Helm does, violate the chart's own values.schema.json.")
HG504 = _code("HG504", W, "Chart unavailable, not checked",
              "Run `hubgen lint` on a networked machine once to fill the chart cache, or point HUBGEN_CHART_CACHE at a copy.",
              "hubgen could not get the pinned chart version (offline and not in the chart cache, a network error, a "
              "package without values.schema.json), so what needs it was not checked: the values against the chart's "
              "schema (`values` engine), or the rendered chart (`chart` engine).")
HG505 = _code("HG505", E, "Parameter not accepted by the template",
              "Fix the spec value (or the template's constraint) named in the message.",
              "A generated stack parameter is not declared by the template, a required parameter is missing, or a value fails the template's Type, AllowedValues, AllowedPattern, Min/MaxValue or Min/MaxLength.")
HG506 = _code("HG506", E, "Engine unavailable",
              "Install it with `bash .ci/install-tools` (or see the README).",
              "An external engine (kubeconform, schema directory) could not be run, so its checks did not happen.")
HG507 = _code("HG507", E, "Chart version not in the chart repository",
              "Pin a chart version the repository publishes (see https://hub.jupyter.org/helm-chart/).",
              "The chart repository's index has no such version of the chart, so Flux could never install the hub. "
              "Only detected when hubgen fetches the chart's schema (not offline).")

HG508 = _code("HG508", E, "Chart does not support the cluster's Kubernetes version",
              "Pick a chart version whose `kubeVersion` admits the cluster's version, or move the cluster.",
              "The chart's Chart.yaml `kubeVersion` range excludes `cluster.kubernetesVersion`: Helm (and so Flux) "
              "refuses to install it. Only detected when the chart is in hubgen's chart cache.")
HG509 = _code("HG509", E, "Chart does not render",
              "Fix the value Helm names, usually in the hub's `values`.",
              "`helm template` of a HelmRelease's chart at its pinned version, with the release's values (and a "
              "placeholder string at each `valuesFrom` target), the release's namespace and the cluster's Kubernetes "
              "version, fails: helm-controller would fail the same way and the release would never install. Reported "
              "by the `chart` engine of `hubgen lint`.")
HG510 = _code("HG510", E, "Volume asks for a StorageClass the environment does not render",
              "Name one of `cluster.storage.classes`, or add the class there.",
              "A PersistentVolumeClaim or StatefulSet volumeClaimTemplate of a chart (its `storageClassName` or the "
              "`volume.beta.kubernetes.io/storage-class` annotation), or the home volume KubeSpawner claims for a hub's "
              "users (`singleuser.storage.dynamic.storageClass`, a profile's `storage_class`), names a StorageClass "
              "no file of the environment renders, or names none while no rendered class is the default: the volume "
              "stays Pending, and so does the pod that needs it.")
HG511 = _code("HG511", E, "Proxy Service does not match the load balancer",
              "Set the port only through the hub's `nodePort`; keep the template's target group on its parameter.",
              "A hub's rendered `proxy-public` Service is not a NodePort Service on the port the stack's target group "
              "for that hub (`Hub<n>TargetGroup` in the cluster template, evaluated with the environment's "
              "parameters) forwards to, or the chart renders no such Service: the load balancer would reach no "
              "proxy.")
HG512 = _code("HG512", E, "Pod fits no node group",
              "Change the node selector, affinity or tolerations (in the hub's `values`), or declare a node group that "
              "matches them.",
              "A chart's pod template, or a notebook server KubeSpawner starts (a profile's node selector, the chart's "
              "user-pod affinity and tolerations), has a node selector or required node affinity no declared node "
              "group's labels satisfy, or matches only node groups whose NoSchedule/NoExecute taints it does not "
              "tolerate: its pods would stay Pending, and the autoscaler adds no node for them. Labels are hubgen's "
              "(`hub.jupyter.org/node-purpose`, `hubgen.dev/node-group`, `hubgen.dev/gpu`) plus what the kubelet and "
              "EKS set on every node (os, arch, instance type, zone, region, managed group name and capacity type).")
HG513 = _code("HG513", E, "Service account or its IAM role not provided",
              "Give notebooks AWS access with the hub's `singleuser.awsRoleArn` only; keep service account names as "
              "the chart and the stack render them.",
              "A ServiceAccount's IRSA annotation (`eks.amazonaws.com/role-arn`) names a role the spec does not declare "
              "(`singleuser.awsRoleArn`), or one declared for another hub's service account, or the stack has no IAM "
              "OIDC provider; or a platform chart that calls AWS (cluster-autoscaler) runs as a service account no "
              "EKS Pod Identity association of the stack names; or a pod runs as a service account nothing renders.")
HG514 = _code("HG514", E, "Secret read but not provided",
              "Create it with `hubgen secrets create` (sops-encrypted in environments/<env>/secrets/), or correct the "
              "name.",
              "A pod (env `secretKeyRef`, `envFrom`, a secret volume), a notebook server (`singleuser.extraEnv`, "
              "`singleuser.storage.extraVolumes`) or a HelmRelease (`valuesFrom`) reads a Secret, or a key of one, "
              "that no chart renders (hooks included), no hubgen file or `extra/` manifest defines, and no "
              "sops-encrypted file of `environments/<env>/secrets/` holds: the pod would not start, the release "
              "would not install. A Secret in `secrets/` in plain text is reported too.")
HG515 = _code("HG515", E, "Flux Kustomization does not build",
              "Fix the files of the folder the message names (the team's are in extra/; a failure in hubgen's own "
              "files is a hubgen bug).",
              "`kustomize build` of a Flux Kustomization's path (and of the bootstrap path "
              "`environments/<env>/cluster`) fails when run the way kustomize-controller runs it: a "
              "`kustomization.yaml` generated where the folder has none, listing every YAML file below it, "
              "`spec.targetNamespace`, `patches` and `images` applied, no load restrictions. Flux would report the "
              "Kustomization not Ready and apply nothing of it.")

# --- HG6xx: deploy ------------------------------------------------------------
HG601 = _code("HG601", E, "Stack deployment failed",
              "Fix what the reason names (a spec value, the template, or the AWS account), run `hubgen render <env>`, "
              "commit, and deploy again.",
              "CloudFormation rejected the change set, or the stack operation failed and rolled back. `hubgen deploy` "
              "reports one problem per failing resource with its ResourceStatusReason, located at the resource in the "
              "stack template.")
HG602 = _code("HG602", E, "Stack cannot be deployed in its current state",
              "Follow the step in the message (delete a stack whose creation failed, continue a failed rollback, or wait "
              "for the running operation), then deploy again. hubgen never deletes stacks.",
              "The stack exists in a state CloudFormation does not accept updates in, such as ROLLBACK_COMPLETE after a "
              "failed creation, UPDATE_ROLLBACK_FAILED, or an operation still in progress.")
HG603 = _code("HG603", E, "Stack belongs to something else",
              "Choose another `cluster.stackName`, or pass `--adopt` to let hubgen manage a stack created without it.",
              "A stack with the environment's name exists but carries no `hubgen:environment` tag (created by hand or by "
              "another tool) or the tag of another environment, so deploying would clobber it.")
HG604 = _code("HG604", E, "Credentials for another AWS account",
              "Use credentials of the spec's `aws.accountId` (AWS_PROFILE, or the CI role of this environment).",
              "The AWS credentials in use belong to an account other than the environment's `aws.accountId`.")
HG605 = _code("HG605", E, "AWS request failed",
              "Check credentials, permissions, region and network; the message is AWS's own.",
              "A call to AWS (STS, S3 or CloudFormation) failed before CloudFormation could evaluate the change.")
HG606 = _code("HG606", E, "Timed out waiting for the stack",
              "The operation continues in CloudFormation: watch it in the console, raise `--timeout`, or run "
              "`hubgen deploy` again once it has finished.",
              "`hubgen deploy` stopped waiting before the stack operation reached a final state.")
HG607 = _code("HG607", E, "Uncommitted changes",
              "Commit the listed files (`git add ... && git commit`) and deploy again, or pass `--allow-dirty` to "
              "deploy the working tree as it is (reported as a warning).",
              "`hubgen deploy` deploys committed files only: the environment's spec, its generated files "
              "(cloudformation/, cluster/, platform/, hubs/) and the stack template must be exactly what git has at HEAD, so "
              "that every stack matches a commit that CI, a reviewer or a rollback can reproduce. A file that is "
              "modified (staged or not), deleted, untracked or ignored by git is refused, and so is a repository "
              "that is not a git working tree. `--allow-dirty` deploys anyway and reports each such file as a "
              "warning.")

# --- HG7xx: the running cluster (`hubgen verify`) -----------------------------------------------------------
HG701 = _code("HG701", E, "Flux Kustomization not ready",
              "Run `flux get kustomizations` for the whole story; fix what the message names, commit, and verify again "
              "(`--wait` gives Flux time to reconcile).",
              "A Flux Kustomization the environment renders (environments/<env>/cluster/) is missing, not Ready (a "
              "build, decryption, apply or health check failed, or a dependency is not ready), has not reconciled its "
              "latest generation, or has not applied the commit `--revision` names.")
HG702 = _code("HG702", E, "HelmRelease not ready",
              "Read helm-controller's reason in the message (`flux get helmreleases -A`): a value the API server "
              "refused, a hook that did not complete, a timeout; fix it in the spec, render, commit.",
              "A HelmRelease the environment renders (platform/, hubs/) is missing or not Ready at its latest "
              "generation, or its latest Helm release is not deployed at the pinned chart version (a failed or "
              "rolled-back upgrade, a pending install).")
HG703 = _code("HG703", E, "Hub or proxy not available",
              "Look at the Deployment's pods (`kubectl -n <namespace> get pods`, `describe`): Pending pods name what "
              "they wait for (a node, a volume), crashing pods their logs.",
              "A hub's `hub` or `proxy` Deployment (found by the chart's `release` and `component` labels) is missing, "
              "not Available, or has replicas not yet updated to its latest template.")
HG704 = _code("HG704", E, "Hub database volume not bound",
              "Check the StorageClass exists and its provisioner (the EBS CSI driver add-on) runs; "
              "`kubectl -n <namespace> describe pvc hub-db-dir` says what it waits for.",
              "A hub's database PersistentVolumeClaim (`hub.db.type: sqlite-pvc`, the chart's default) is missing, not "
              "Bound, or bound to another StorageClass than the one its values name or, naming none, the class the "
              "environment renders as default.")
HG705 = _code("HG705", E, "Proxy nodePort is not the load balancer's",
              "Set the port only through the hub's `nodePort` (never in `values`), render, commit; deploy the stack "
              "if its parameters are not yet applied.",
              "A hub's `proxy-public` Service is missing or its `http` nodePort is not the one the stack's load balancer "
              "forwards to (`NodeProxyPort`, `Hub2NodeProxyPort`, ... in cloudformation/cluster.template-configuration.json): "
              "the hub is unreachable from outside.")
HG706 = _code("HG706", E, "Node group has no ready node",
              "Check the node group in the EC2 and EKS consoles (instances failing to join, capacity, AMI); "
              "`kubectl get nodes -L hubgen.dev/node-group`.",
              "A node group whose `minSize` is at least 1 has no Ready node carrying its labels "
              "(`hub.jupyter.org/node-purpose`, `hubgen.dev/node-group`): what the group should run stays Pending.")
HG707 = _code("HG707", E, "Cluster unreachable",
              "Check the kubeconfig (`aws eks update-kubeconfig --name <cluster>` writes one), its context and your "
              "credentials; `kubectl version` should work with the same file.",
              "`hubgen verify` could not use the kubeconfig (missing, unreadable, an unknown context, a credential "
              "plugin that failed) or the cluster refused or did not answer its requests, so nothing was checked.")

# --- HG8xx: version bumps (`hubgen bump`) ---------------------------------------------------------------------
HG801 = _code("HG801", E, "Chart repository index unreadable",
              "Check that this machine reaches the chart repository, or read its index from a mirror "
              "(HUBGEN_CHART_REPOSITORY for the JupyterHub chart, HUBGEN_CHART_MIRRORS='URL=MIRROR' for any); "
              "`--only kubernetes --only images` bumps the rest without it.",
              "`hubgen bump` could not read the `index.yaml` of a chart's Helm repository (unreachable, an HTTP "
              "error, not a Helm repository index, or no such chart in it), so it cannot say which versions exist. "
              "Nothing is written and the exit code is 2.")
HG802 = _code("HG802", E, "Image tag list unusable",
              "Give `--image-tags` a readable UTF-8 file with one `repository:tag` per line (`#` comments and blank "
              "lines allowed).",
              "A file given with `--image-tags` cannot be read, or one of its lines is no image reference "
              "(`repository:tag`, a repository as the spec's `image.name` accepts it and a tag as `image.tag` "
              "does). Nothing is written and the exit code is 2.")
HG803 = _code("HG803", E, "Spec cannot be rewritten safely",
              "Write the version in the block style (`key: value` lines) and run `hubgen bump` again, or edit it by "
              "hand.",
              "`hubgen bump` edits a spec's text in place, keeping comments and formatting, and writes the result "
              "only if it loads to exactly the spec with the new versions. This spec's version is written in a form "
              "it cannot edit (a block scalar, a part that is not a mapping), or the edit would have meant "
              "something else; the environment is not bumped.")
HG804 = _code("HG804", W, "Newer version available",
              "Run `hubgen bump` (or let the scheduled bump workflow open its pull request), review the upgrade "
              "notes it lists, merge.",
              "`hubgen bump --check` found a newer version of something the spec pins: a chart in its Helm "
              "repository, the next EKS Kubernetes version in hubgen's calendar, or an image tag in a list given "
              "with `--image-tags`.")

def get(code_id: str) -> Code:
    return CODES[code_id]


def _cell(text: str) -> str:
    """Text for a markdown table cell: a bare '|' would end the cell (GFM wants it escaped, even in code)."""
    return text.replace("|", "\\|")


def markdown() -> str:
    """The checks reference, as committed in docs/checks.md."""
    lines = [
        "# hubgen checks",
        "",
        "<!-- Generated by `hubgen checks --markdown` from generator/codes.py. Do not edit. -->",
        "",
        "Every problem hubgen reports has a stable code, a severity, a location (`file:line:column`) and a fix hint.",
        "Errors make `hubgen validate`, `render` and `lint` exit 1; warnings are reported but do not fail.",
        "",
        "| code | severity | title | fix |",
        "|---|---|---|---|",
    ]
    for code in CODES.values():
        lines.append(f"| [{code.id}](#{code.id.lower()}) | {code.severity.value} | {_cell(code.title)} | "
                     f"{_cell(code.hint)} |")
    lines.append("")
    for code in CODES.values():
        lines += [f"## {code.id}", "", f"**{code.title}** ({code.severity.value})", "", code.doc, "", f"Fix: {code.hint}", ""]
    return "\n".join(lines)
