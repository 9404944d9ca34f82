"""Secrets checks: plaintext in specs (HG301), static AWS keys (HG302), secret files (HG304-HG307).

The same scanner (:func:`find_secrets`) is applied to generated files by the
render stage (HG303, :func:`generator.generate.scan_rendered`), so a secret cannot
leak through either door. What counts as a secret:

* a scalar under a key that *names* a secret (``password``, ``secretToken``,
  ``client_secret``, ``apiKey``, ``AWS_SECRET_ACCESS_KEY``, ``privateKey``...), unless
  the key only *refers* to one (``passwordSecret: {name, key}``, ``tokenUrl``,
  ``existingSecret``, ``passwordFile``);
* a Kubernetes-style environment entry ``{name: DB_PASSWORD, value: ...}``;
* a value that looks like a credential wherever it is, keys included: AWS access key
  ids and secret access keys, private keys (PEM/OpenSSH/PGP), age secret keys,
  GitHub/GitLab/Slack/Google/npm/PyPI/Stripe tokens, JWTs, URLs with a password,
  ``Authorization: Basic/Bearer ...`` values, ``--password=...``-style assignments,
  and bare 32/64-digit hex tokens (``openssl rand -hex``: z2jh's ``proxy.secretToken``).

Secret *files* (``environments/<env>/secrets/``) are inspected without sops or keys:
see :mod:`generator.secrets.inventory`.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register

#: Words that make a scalar a secret when they end a key name.
SECRET_WORDS = {"password", "passwd", "pwd", "pass", "pw", "secret", "token", "credential", "credentials",
                "passphrase", "passcode", "apikey"}
#: "key" is a secret when preceded by one of these (api key, private key, access key...).
KEY_QUALIFIERS = {"private", "api", "access", "secret", "signing", "encryption", "auth", "master", "client",
                  "session", "license", "deploy", "ssh", "hmac", "crypt"}
#: Key names written as one word that end in a secret (``apikey``, ``secretkey``, ``clientsecret``...).
COMPOUND_ENDINGS = ("apikey", "accesskey", "secretkey", "privatekey", "signingkey", "authkey", "authtoken",
                    "accesstoken", "apitoken", "bearertoken", "refreshtoken", "sessiontoken", "clientsecret",
                    "password", "passwd", "passphrase", "secrettoken")
#: Words before "secret" that make the key name a Secret rather than hold a value (z2jh ``existingSecret``,
#: hubgen's own ``passwordSecret: {name, key}``).
REFERENCE_PREFIXES = {"existing", "use", "create", "password"}

VALUE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS access key id", re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("an age secret key", re.compile(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a PyPI token", re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
    ("a Stripe secret key", re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{24,}")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a URL with an embedded password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("an HTTP Authorization credential",
     re.compile(r"(?i:authorization)\s*[:=]\s*(?:Basic|Bearer|Token)\s+[A-Za-z0-9._~+/=-]{8,}")),
    # `--password=...`, `PASSWORD=...`, `token:...` (no blank after the = or :, so prose and
    # `client_secret = os.environ[...]` code do not match), unless the value is a reference.
    ("a password or key assigned inline", re.compile(
        r"(?i)(?<![A-Za-z0-9:/])(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
        r"|client[_-]?secret)[=:][\"']?(?![$<{%*]|https?://|os\.|env\b|getenv|process\.env)[^\s\"'&;,]{6,}")),
]
#: Whole-value patterns: strings that are, in their entirety, a key or token.
WHOLE_VALUE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS secret access key", re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9/+]{40}$")),
    ("a random hex token", re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{64}$")),
]

#: Environment variables that carry static AWS credentials (boto3/CLI names and the legacy ones).
AWS_KEY_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY",
                "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN"}


def _words(key: str) -> list[str]:
    key = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    key = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", key.lower()) if w]


@functools.lru_cache(maxsize=8192)  # pure; keys repeat across files and environments
def secret_key_name(key: str) -> bool:
    """Whether a mapping key names a secret value (``password``, ``secretToken``, ``AWS_SECRET_ACCESS_KEY``)."""
    words = _words(key)
    if not words:
        return False
    last = words[-1]
    prev = words[-2] if len(words) > 1 else ""
    if last == "secret" and prev in REFERENCE_PREFIXES:
        return False
    if last in SECRET_WORDS:
        return True
    if last == "key" and prev in KEY_QUALIFIERS:
        return True
    return any("".join(words).endswith(c) for c in COMPOUND_ENDINGS)


@functools.lru_cache(maxsize=65536)  # pure; most values repeat across environments
def value_secret_kind(value: str) -> str | None:
    """What kind of secret a string value looks like, or None."""
    for name, pattern in VALUE_PATTERNS:
        if pattern.search(value):
            return name
    stripped = value.strip()
    for name, pattern in WHOLE_VALUE_PATTERNS:
        if pattern.match(stripped):
            return name
    return None


def scalar_secret_reason(key: str | None, value: Any) -> str | None:
    """Why the scalar ``value`` (under mapping key ``key``, if any) is a plaintext secret, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if key is not None and isinstance(value, (str, int, float)) and secret_key_name(key) and str(value).strip():
        return f"'{key}' holds a plaintext value"
    if isinstance(value, str):
        kind = value_secret_kind(value)
        if kind:
            return f"the value looks like {kind}"
    return None


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


def find_secrets(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (path, reason) for every plaintext secret in a parsed document."""
    stack: list[tuple[tuple, Any]] = [(path, node)]
    while stack:
        p, n = stack.pop()
        if isinstance(n, dict):
            env_name = n.get("name")
            if isinstance(env_name, str) and _scalar(n.get("value")) and str(n["value"]).strip() \
                    and secret_key_name(env_name):
                yield p + ("value",), f"environment variable '{env_name}' holds a plaintext value"
            items = list(n.items())
            for k, v in reversed(items):
                key = str(k)
                kind = value_secret_kind(key)
                if kind:
                    yield p + (k,), f"the key looks like {kind}"
                if _scalar(v):
                    if isinstance(n.get("name"), str) and key == "value" and secret_key_name(n["name"]):
                        continue  # reported above as an environment entry
                    reason = scalar_secret_reason(key, v)
                    if reason:
                        yield p + (k,), reason
                else:
                    stack.append((p + (k,), v))
        elif isinstance(n, list):
            for i in range(len(n) - 1, -1, -1):
                stack.append((p + (i,), n[i]))
        elif isinstance(n, str):
            reason = scalar_secret_reason(None, n)
            if reason:
                yield p, reason


def _describe(path: tuple) -> str:
    from generator.validate.schema import _describe as describe

    return describe(path)


def aws_key_env_paths(spec: dict) -> list[tuple[tuple, str]]:
    """(path, variable) of every AWS credential environment variable anywhere in a hub.

    Both forms count: a mapping key (``extraEnv: {AWS_SECRET_ACCESS_KEY: ...}``) and a
    Kubernetes env entry (``env: [{name: AWS_ACCESS_KEY_ID, value: ...}]``), in the hub's
    settings and in its raw ``values``, whether the value is literal or ``valueFrom``.
    """
    out: list[tuple[tuple, str]] = []
    hubs = spec.get("hubs") if isinstance(spec, dict) else None
    if not isinstance(hubs, list):
        return out
    for i, hub in enumerate(hubs):
        stack: list[tuple[tuple, Any]] = [(("hubs", i), hub)]
        while stack:
            p, n = stack.pop()
            if isinstance(n, dict):
                if isinstance(n.get("name"), str) and n["name"] in AWS_KEY_VARS:
                    out.append((p + ("name",), n["name"]))
                for k, v in n.items():
                    if str(k) in AWS_KEY_VARS:
                        out.append((p + (k,), str(k)))
                    else:
                        stack.append((p + (k,), v))
            elif isinstance(n, list):
                stack.extend((p + (j,), v) for j, v in enumerate(n))
    return sorted(out, key=lambda t: [str(x) for x in t[0]])


@register
class StaticAwsCredentials(EnvironmentCheck):
    code = codes.HG302

    def check(self, env: EnvContext):
        for path, var in aws_key_env_paths(env.spec):
            hub = path[1]
            irsa = f"hubs[{hub}].singleuser.awsRoleArn"
            has_role = bool(env.spec["hubs"][hub].get("singleuser", {}).get("awsRoleArn"))
            then = (f"{irsa} is already set: remove the variable" if has_role else
                    f"set {irsa} to an IAM role instead (IRSA: notebook pods assume it through the cluster's "
                    "OIDC provider)")
            yield env.problem(self.code, f"{_describe(path)}: {var} passes static AWS credentials to notebooks; "
                                         f"{then}", path, key=path[-1] != "name",
                              hint=f"Remove {var} and set `{irsa}: arn:aws:iam::<account>:role/<name>` (IRSA); "
                                   "the role's trust policy trusts the stack output OIDCProviderArn.")


def _names_a_secret(path: tuple, spec: dict) -> bool:
    """Whether ``path`` is a notifier's ``secret`` holding a name (of a Secret in flux-system), not a value: the
    key-name rule does not apply there, the value-shape rules (a token pasted in by mistake) still do."""
    if len(path) != 3 or path[0] != "notifications" or path[2] != "secret":
        return False
    value = (spec.get("notifications", {}).get(path[1]) or {}).get("secret")
    return isinstance(value, str) and value_secret_kind(value) is None


@register
class PlaintextSecrets(EnvironmentCheck):
    code = codes.HG301

    def check(self, env: EnvContext):
        aws = [p[:-1] if p[-1] == "name" else p for p, _ in aws_key_env_paths(env.spec)]
        for path, reason in find_secrets(env.spec):
            if any(path[:len(a)] == a for a in aws):
                continue  # reported as HG302 with the IRSA hint
            if _names_a_secret(path, env.spec):
                continue  # a Secret's name, unless the value itself looks like a credential
            yield env.problem(self.code, f"{_describe(path)}: {reason}; secrets never live in the spec", path)


def _secret_file_problems(env: EnvContext) -> list:
    if env.root is None:  # spec-only validation (render, candidates): the files are not looked at
        return []
    if env.model.name != env.folder:  # HG205: the inventory's paths derive from the name, not the folder
        return []
    from generator.secrets.inventory import inventory, requirement_problems

    inv = inventory(env.root, env.model)
    return inv.file_problems + requirement_problems(inv, env.loaded.locate, env.paths.spec, env.loaded.locate_key)


@register
class SecretFilesEncrypted(EnvironmentCheck):
    """HG304 (plus HG306/HG307): every manifest under environments/<env>/secrets/ is sops-encrypted,
    well-formed and decryptable by the cluster. Reads the YAML only; needs neither sops nor keys."""

    code = codes.HG304

    def check(self, env: EnvContext):
        return [p for p in _secret_file_problems(env) if p.code != codes.HG305.id]


@register
class ReferencedSecretsExist(EnvironmentCheck):
    """HG305: every Secret/key a hub references is defined in the environment's secrets folder."""

    code = codes.HG305

    def check(self, env: EnvContext):
        return [p for p in _secret_file_problems(env) if p.code == codes.HG305.id]
