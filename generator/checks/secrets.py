"""Plaintext secret detection in specs (HG301, HG302).

The same scanner (:func:`find_secrets`) is applied to generated files by the
drift/artifact stage (HG303), so a secret cannot leak through either door.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register

#: Key words that make a scalar value a secret when they end a key name.
SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "passphrase"}
#: "key" is a secret when preceded by one of these (api key, private key, access key...).
KEY_QUALIFIERS = {"private", "api", "access", "secret", "signing", "encryption", "auth", "master"}
#: Words after which a key is not a secret itself but refers to one (tokenUrl, passwordFile...).
REFERENCE_WORDS = {"url", "uri", "endpoint", "file", "path", "ref", "name", "id", "key", "length", "class",
                   "type", "enabled", "length", "ttl", "lifetime", "expiry", "prefix", "header", "claim"}

VALUE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS access key id", re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a URL with an embedded password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
]
#: Whole-value patterns: strings that are, in their entirety, a key or token.
WHOLE_VALUE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS secret access key", re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9/+]{40}$")),
    ("a random hex token", re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{64}$")),
]

AWS_KEY_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def _words(key: str) -> list[str]:
    key = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", key.lower()) if w]


def secret_key_name(key: str) -> bool:
    """Whether a mapping key names a secret value (``password``, ``secretToken``, ``AWS_SECRET_ACCESS_KEY``)."""
    words = _words(key)
    if not words:
        return False
    last = words[-1]
    if last in SECRET_WORDS:
        return True
    if last == "key" and len(words) > 1 and words[-2] in KEY_QUALIFIERS:
        return True
    if last in ("id",) and words[-2:] == ["key", "id"]:
        return False
    return False


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


def find_secrets(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (path, reason) for every plaintext secret in a parsed document."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = str(k)
            p = path + (k,)
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and secret_key_name(key):
                if str(v).strip():
                    yield p, f"'{key}' holds a plaintext value"
                    continue
            yield from find_secrets(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from find_secrets(v, path + (i,))
    elif isinstance(node, str):
        kind = value_secret_kind(node)
        if kind:
            yield path, f"the value looks like {kind}"


def _describe(path: tuple) -> str:
    from generator.validate.schema import _describe as describe

    return describe(path)


@register
class StaticAwsCredentials(EnvironmentCheck):
    code = codes.HG302

    def check(self, env: EnvContext):
        for i, hub in enumerate(env.spec.get("hubs", [])):
            envs = [("hubs", i, "singleuser", "extraEnv")]
            for base in envs + [("hubs", i, "values", "singleuser", "extraEnv"), ("hubs", i, "values", "hub", "extraEnv")]:
                node = env.spec
                for p in base:
                    node = node.get(p) if isinstance(node, dict) else (node[p] if isinstance(node, list) else None)
                    if node is None:
                        break
                if not isinstance(node, dict):
                    continue
                for var in node:
                    if str(var) in AWS_KEY_VARS:
                        yield env.problem(self.code, f"{_describe(base + (var,))}: static AWS credentials for "
                                          "notebooks are not allowed", base + (var,), key=True)


@register
class PlaintextSecrets(EnvironmentCheck):
    code = codes.HG301

    def check(self, env: EnvContext):
        for path, reason in find_secrets(env.spec):
            if len(path) >= 2 and str(path[-1]) in AWS_KEY_VARS and "extraEnv" in map(str, path):
                continue  # reported as HG302 with the IRSA hint
            yield env.problem(self.code, f"{_describe(path)}: {reason}; secrets never live in the spec", path)
