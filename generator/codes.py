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
"""

from __future__ import annotations

from dataclasses import dataclass

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
HG201 = _code("HG201", E, "Auto Scaling group sizes inconsistent",
              "Set minSize <= desiredCapacity < maxSize.",
              "The node group must satisfy min <= desired <= max, and max must be above desired so that a rolling update can add a node (the seed's own rule: 'Set to at least 1 greater than desired').")
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
              "`0.0.0.0/0` or `::/0` in the load balancer's allowed CIDRs must be acknowledged explicitly with `public: true`.")
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
HG217 = _code("HG217", E, "Admin principal listed twice",
              "List each IAM principal once.",
              "An IAM principal appears more than once in cluster admins (or is the deploy role).")

# --- HG3xx: secrets and security --------------------------------------------
HG301 = _code("HG301", E, "Plaintext secret in spec",
              "Move the value into a sops-encrypted file under environments/<env>/secrets/ and reference it.",
              "A key or value in the spec looks like a password, token, private key or AWS secret access key. Secrets never live in plain text in git.")
HG302 = _code("HG302", E, "Static AWS credentials for notebooks",
              "Remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and set `singleuser.awsRoleArn` (IRSA) instead.",
              "Notebook pods get AWS access through IAM Roles for Service Accounts, never through static keys in environment variables.")
HG303 = _code("HG303", E, "Plaintext secret in generated file",
              "This is a hubgen bug or a hand edit; re-render and report it.",
              "A generated file contains something that looks like a secret.")
HG304 = _code("HG304", E, "Secret file not encrypted",
              "Encrypt it: `sops --encrypt --in-place <file>` (or create it with `hubgen secrets create`).",
              "A `*.secret.yaml` file lacks sops metadata or has unencrypted values.")
HG305 = _code("HG305", E, "Referenced secret missing",
              "Create it with `hubgen secrets create <env> <hub>`.",
              "A hub references a secret file that does not exist.")

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
HG504 = _code("HG504", W, "Chart values schema unavailable",
              "Run `hubgen lint` on a networked machine once to fill the chart cache, or point HUBGEN_CHART_CACHE at a copy.",
              "hubgen could not find the values schema of the pinned chart version, so the values were not checked.")
HG505 = _code("HG505", E, "Parameter not accepted by the template",
              "Fix the spec value (or the template's constraint) named in the message.",
              "A generated stack parameter is not declared by the template, a required parameter is missing, or a value fails the template's Type, AllowedValues, AllowedPattern, Min/MaxValue or Min/MaxLength.")
HG506 = _code("HG506", E, "Engine unavailable",
              "Install it with `bash .ci/install-tools` (or see the README).",
              "An external engine (kubeconform, schema directory) could not be run, so its checks did not happen.")


def get(code_id: str) -> Code:
    return CODES[code_id]


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
        lines.append(f"| [{code.id}](#{code.id.lower()}) | {code.severity.value} | {code.title} | {code.hint} |")
    lines.append("")
    for code in CODES.values():
        lines += [f"## {code.id}", "", f"**{code.title}** ({code.severity.value})", "", code.doc, "", f"Fix: {code.hint}", ""]
    return "\n".join(lines)
